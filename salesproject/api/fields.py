"""Serializer fields shared by every app's API."""

import re
from collections.abc import Mapping

from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS

from salesproject.money import quantize, to_decimal

# Catalogue money (prices, costs, bounds): two decimals.
MONEY = {"max_digits": 14, "decimal_places": 2}
# An amount in a sale's or payment's currency: up to three decimals (KWD); the services refuse more decimals
# than that currency has (`"1.005"` USD, `"10.5"` JPY).
CURRENCY_AMOUNT = {"max_digits": 15, "decimal_places": 3}
# What a client sent, in JSON's words: DRF's messages name Python's types ("str", "NoneType").
_JSON_TYPES = {
    "str": "a string",
    "int": "a number",
    "float": "a number",
    "Decimal": "a number",
    "bool": "a boolean",
    "list": "an array",
    "dict": "an object",
    "NoneType": "null",
}
INVALID_CHOICE = '"{input}" is not a valid choice. Valid choices: {choices}.'
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


def json_type(data) -> str:
    """What `data` is, in JSON's words: "a string", "a number", "an array", "an object", "null"…"""
    return json_type_name(type(data).__name__)


def json_type_name(python_name: str) -> str:
    """A Python type's name ("str", "NoneType") in JSON's words ("a string", "null")."""
    return _JSON_TYPES.get(python_name, "a value of another kind")


def invalid_choice(value, choices) -> str:
    """`"bogus" is not a valid choice. Valid choices: draft, pending.` (the body's and the filters' wording)."""
    return INVALID_CHOICE.format(input=value, choices=", ".join(str(choice) for choice in choices))


def unknown_reference(kind: str, value, *, quote: bool = True) -> str:
    """`Unknown warehouse "NOPE".` (a code) or `Unknown customer 999.` (an id)."""
    return f'Unknown {kind} "{value}".' if quote else f"Unknown {kind} {value}."


def kind_of(field) -> str:
    """The verbose name of the model a related field refers to ("warehouse", "tax rate"), else its field name."""
    queryset = getattr(field, "queryset", None)
    model = getattr(queryset, "model", None)
    if model is not None:
        return str(model._meta.verbose_name)
    return str(field.field_name or "object").replace("_", " ")


def humanize(field) -> None:
    """Give a bound field the project's messages where DRF's say too little: a ChoiceField's `invalid_choice`
    lists the valid choices (its code unchanged). Called on every field of a strict input serializer."""
    child = getattr(field, "child", None)
    if isinstance(child, serializers.Field) and not isinstance(child, serializers.Serializer):
        humanize(child)  # a ListField / DictField of choices
    if isinstance(field, serializers.ChoiceField) and "invalid_choice" in field.error_messages:
        choices = [choice for choice in field.choice_strings_to_values if choice != ""]
        if choices:
            text = ", ".join(choices).replace("{", "{{").replace("}", "}}")  # the message is str.format()ted
            field.error_messages["invalid_choice"] = INVALID_CHOICE.replace("{choices}", text)


class MoneyField(serializers.DecimalField):
    """A money amount: a decimal string with two places out; a number or a string in.

    An amount with more whole digits than the column holds is `amount_too_large` (not
    DRF's `max_digits`); too many decimal places stays `max_decimal_places`; NaN and
    infinities stay `invalid`.
    """

    default_error_messages = {"amount_too_large": "Too large: amounts are stored up to {max_amount}."}

    def __init__(self, **kwargs):
        super().__init__(**{**MONEY, "coerce_to_string": True, **kwargs})

    def to_representation(self, value):
        # Out with two decimals (a catalogue price, a bound): money in a sale's currency is written by the
        # representation's CurrencyMoneyField instead.
        return format(quantize(to_decimal(value)), "f")

    def validate_precision(self, value):
        _sign, digits, exponent = value.as_tuple()
        whole_digits = max(len(digits) + exponent, 0)
        if whole_digits > self.max_whole_digits and any(digits):
            self.fail("amount_too_large", max_amount=f"{'9' * self.max_whole_digits}.{'9' * self.decimal_places}")
        if exponent < -self.decimal_places:
            self.fail("max_decimal_places", max_decimal_places=self.decimal_places)
        return value


class AmountField(MoneyField):
    """An amount in a sale's or payment's currency: up to three decimals in (the services check the currency's)."""

    def __init__(self, **kwargs):
        super().__init__(**{**CURRENCY_AMOUNT, **kwargs})


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


class StrictManyRelatedField(serializers.ManyRelatedField):
    """A list of related rows (`many=True`): a JSON object is `not_a_list` (DRF would read its keys as the list)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            self.fail("not_a_list", input_type=json_type(data))
        return super().to_internal_value(data)


class StrictManyMixin:
    @classmethod
    def many_init(cls, *args, **kwargs):
        many_kwargs = {key: value for key, value in kwargs.items() if key in MANY_RELATION_KWARGS}
        return StrictManyRelatedField(child_relation=cls(*args, **kwargs), **many_kwargs)


class StrictPrimaryKeyRelatedField(StrictManyMixin, serializers.PrimaryKeyRelatedField):
    """A row named by its integer id. Never truncates: 4.9 is refused, not read as 4.

    A JSON integer or a string of ASCII digits; anything else (a number with a fraction,
    even 4.0, a boolean, "4.0", "x", NUL) is `incorrect_type`. A whole number outside
    1..2**63-1 names no row: `does_not_exist`, without asking the database. The messages
    name the kind of row (the model's verbose name) and the id: `Unknown customer 999.`
    """

    default_error_messages = {
        "does_not_exist": "Unknown {kind} {pk_value}.",
        "incorrect_type": "Expected the {kind}'s id (a whole number), got {data_type}.",
    }

    def to_internal_value(self, data):
        value = whole_number(data)
        if value is None:
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 0 < value <= MAX_ID:
            self.fail("does_not_exist", pk_value=value)
        return super().to_internal_value(value)

    def fail(self, key, **kwargs):
        kwargs.setdefault("kind", kind_of(self))
        if "data_type" in kwargs:
            kwargs["data_type"] = json_type_name(kwargs["data_type"])  # DRF passes type(data).__name__
        super().fail(key, **kwargs)


class CodeRelatedField(StrictManyMixin, serializers.SlugRelatedField):
    """Reference data (warehouse, channel, carrier, tax, product group) named by its code.

    An unknown code is `does_not_exist`, naming the kind and the code (`Unknown warehouse "NOPE".`);
    anything but a string (or a number, read as its digits) is `invalid`.
    """

    default_error_messages = {
        "does_not_exist": 'Unknown {kind} "{value}".',
        "invalid": "Expected the {kind}'s code (a string), got {data_type}.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "code")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        # Refuse non-strings and NUL before the lookup: PostgreSQL cannot even compare text holding NUL.
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid", data_type=json_type(data))
        if "\x00" in str(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data).replace("\x00", "\\x00"))
        return super().to_internal_value(str(data))

    def fail(self, key, **kwargs):
        kwargs.setdefault("kind", kind_of(self))
        kwargs.setdefault("data_type", "something else")
        super().fail(key, **kwargs)
