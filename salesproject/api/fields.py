"""Serializer fields shared by every app's API."""

from rest_framework import serializers

MONEY = {"max_digits": 14, "decimal_places": 2}


class MoneyField(serializers.DecimalField):
    """A money amount: a decimal string with two places out; a number or a string in."""

    def __init__(self, **kwargs):
        super().__init__(**{**MONEY, "coerce_to_string": True, **kwargs})


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
