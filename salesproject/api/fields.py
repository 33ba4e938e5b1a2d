"""Serializer fields shared by every app's API."""

import re

from rest_framework import serializers

MONEY = {"max_digits": 14, "decimal_places": 2}
# Database ids are positive 64-bit integers: anything beyond names no row (and some databases refuse the number).
MAX_ID = 2**63 - 1
_WHOLE = re.compile(r"[+-]?[0-9]+")


def whole_number(data) -> int | None:
    """`data` as an int when it is a JSON integer or a string of ASCII digits (sign allowed), else None.

    Never truncates: 4.9, 4.0, 1e3 (JSON numbers with a fraction or an exponent), "4.0",
    true/false, "٤" (non-ASCII digits) and " 4" are all None.
    """
    if isinstance(data, bool):
        return None
    if isinstance(data, int):
        return data
    if isinstance(data, str) and len(data) <= serializers.IntegerField.MAX_STRING_LENGTH and _WHOLE.fullmatch(data):
        return int(data)
    return None


class MoneyField(serializers.DecimalField):
    """A money amount: a decimal string with two places out; a number or a string in.

    An amount with more whole digits than the column holds is `amount_too_large` (not
    DRF's `max_digits`); too many decimal places stays `max_decimal_places`; NaN and
    infinities stay `invalid`.
    """

    default_error_messages = {"amount_too_large": "Too large: amounts are stored up to {max_amount}."}

    def __init__(self, **kwargs):
        super().__init__(**{**MONEY, "coerce_to_string": True, **kwargs})

    def validate_precision(self, value):
        _sign, digits, exponent = value.as_tuple()
        whole_digits = max(len(digits) + exponent, 0)
        if whole_digits > self.max_whole_digits and any(digits):
            self.fail("amount_too_large", max_amount=f"{'9' * self.max_whole_digits}.{'9' * self.decimal_places}")
        if exponent < -self.decimal_places:
            self.fail("max_decimal_places", max_decimal_places=self.decimal_places)
        return value


class StrictIntegerField(serializers.IntegerField):
    """A whole number (a quantity): a JSON integer or a string of digits; never a number with a fraction.

    DRF's IntegerField reads 4.0 and "4.0" as 4; here they are `invalid` like 4.9 and true.
    """

    def to_internal_value(self, data):
        value = whole_number(data)
        if value is None:
            self.fail("invalid")
        return super().to_internal_value(value)


class IdField(StrictIntegerField):
    """The id of a row the view looks up itself (within the user's scope): a positive 64-bit integer."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A row named by its integer id. Never truncates: 4.9 is refused, not read as 4.

    A JSON integer or a string of ASCII digits; anything else (a number with a fraction,
    even 4.0, a boolean, "4.0", "x", NUL) is `incorrect_type`. A whole number outside
    1..2**63-1 names no row: `does_not_exist`, without asking the database.
    """

    def to_internal_value(self, data):
        value = whole_number(data)
        if value is None:
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 0 < value <= MAX_ID:
            self.fail("does_not_exist", pk_value=value)
        return super().to_internal_value(value)


class CodeRelatedField(serializers.SlugRelatedField):
    """Reference data (warehouse, channel, carrier, tax, product group) named by its code."""

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "code")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        # Refuse non-strings and NUL before the lookup: PostgreSQL cannot even compare text holding NUL.
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        if "\x00" in str(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value="\\x00")
        return super().to_internal_value(str(data))
