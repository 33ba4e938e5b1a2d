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
