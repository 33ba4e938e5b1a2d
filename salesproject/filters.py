"""Filter pieces every list shares: a malformed value is a 400, never a silently ignored filter."""

import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import django_filters
from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_filters.filters import FilterMethod
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from salesproject.metadata import json_contains, parse_pair


class StrictBooleanField(forms.Field):
    """`true`/`false` (also `1`/`0`, `yes`/`no`); anything else is invalid, never silently ignored."""

    widget = forms.TextInput
    default_error_messages = {"invalid": "Enter true or false."}
    TRUE = frozenset({"true", "1", "yes", "on"})
    FALSE = frozenset({"false", "0", "no", "off"})

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


_WHOLE = re.compile(r"[+-]?[0-9]{1,30}")
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})")


class WholeNumberField(forms.IntegerField):
    """ASCII digits with an optional sign: `4.0`, `4.9`, `1e3`, `٤` and 40-digit numbers are `invalid`.

    (Django's IntegerField reads `4.0` as 4 and any Unicode digit as a digit.)
    """

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not _WHOLE.fullmatch(text):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return int(text)


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.NumberFilter):
    """A whole number: `1.5` or `abc` is a 400. For ids, a well-formed id that matches nothing gives an empty list."""

    field_class = WholeNumberField
    # Beyond a 64-bit id nothing can match (and some databases refuse the number).
    MAX_ID = 2**63 - 1

    def filter(self, qs, value):
        if value is not None and abs(value) > self.MAX_ID:
            return qs.none()
        return super().filter(qs, value)

    @property
    def method(self):
        return self._method

    @method.setter
    def method(self, value):
        # As django-filter's own setter, but a `method=` filter gets the same 64-bit guard as a plain one.
        self._method = value
        if isinstance(self.filter, FilterMethod):
            del self.filter
        if value is not None:
            self.filter = _GuardedFilterMethod(self)


class _GuardedFilterMethod(FilterMethod):
    def __call__(self, qs, value):
        if value is not None and abs(value) > IntegerFilter.MAX_ID:
            return qs.none()
        return super().__call__(qs, value)


MONEY_MAX = Decimal("999999999999.99")  # what a money column (14 digits, 2 places) holds
MONEY_RANGE = f"between -{MONEY_MAX} and {MONEY_MAX}"


class MoneyFilterField(forms.Field):
    """An amount as plain decimal text (`10`, `10.5`, `-3.25`): at most 2 decimal places, within what a money
    column holds. NaN, infinities, exponents (`1e3`, `1e-999999`) and longer numbers are 400s, never
    handed to the database (where `1e-999999` could not even be rounded)."""

    default_error_messages = {
        "invalid": f"Enter an amount such as 10 or 10.50, {MONEY_RANGE}, without an exponent.",
        "max_decimal_places": f"Enter an amount with at most 2 decimal places, {MONEY_RANGE}.",
        "max_value": f"Enter an amount {MONEY_RANGE}.",
        "min_value": f"Enter an amount {MONEY_RANGE}.",
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not _PLAIN_DECIMAL.fullmatch(text):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        amount = Decimal(text)
        if amount > MONEY_MAX:
            raise forms.ValidationError(self.error_messages["max_value"], code="max_value")
        if amount < -MONEY_MAX:
            raise forms.ValidationError(self.error_messages["min_value"], code="min_value")
        if amount != amount.quantize(Decimal("0.01")):  # within range, so the quantize is exact
            raise forms.ValidationError(self.error_messages["max_decimal_places"], code="max_decimal_places")
        return amount


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$",
        "example": "100.00",
    }
)
class MoneyFilter(django_filters.Filter):
    """A money bound (`total_min=100`, `total_max=250.50`); see `MoneyFilterField` for what is refused."""

    field_class = MoneyFilterField


class DateOrDateTimeField(forms.Field):
    """An ISO 8601 date (`2024-07-18`) or date-time (`2024-07-18T04:37:29Z`)."""

    default_error_messages = {"invalid": "Enter an ISO 8601 date or date-time."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        value = value.strip()
        try:
            # A bare date first: Python's ISO parser would read it as midnight, and a day is not an instant.
            day = parse_date(value)
            if day is not None:
                datetime.combine(day, time.min).replace(tzinfo=UTC) + timedelta(days=1)
                return day
            moment = parse_datetime(value)
            if moment is not None:
                moment = moment if timezone.is_aware(moment) else timezone.make_aware(moment)
                # In UTC: PostgreSQL refuses offsets beyond ±15:59, and one that leaves the calendar is no time.
                return moment.astimezone(UTC)
        except (ValueError, OverflowError):
            day = None
        if day is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return day


@extend_schema_field(
    {
        "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
        "description": "An ISO 8601 date (the whole day, UTC) or date-time.",
    }
)
class DateBoundFilter(django_filters.Filter):
    """`created_after` (from the start of a date) or `created_before` (to the end of a date)."""

    field_class = DateOrDateTimeField

    def __init__(self, *args, upper: bool, **kwargs):
        self.upper = upper
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        if not isinstance(value, datetime):
            start = timezone.make_aware(datetime.combine(value, time.min))
            if self.upper:
                return qs.filter(**{f"{self.field_name}__lt": start + timedelta(days=1)})
            return qs.filter(**{f"{self.field_name}__gte": start})
        lookup = "lte" if self.upper else "gte"
        return qs.filter(**{f"{self.field_name}__{lookup}": value})


class MetadataPairField(forms.CharField):
    """`key:value` (split at the first colon): a metadata key (≤ 40 characters) and its value (≤ 500)."""

    default_error_messages = {
        "invalid": "Enter key:value, with a key of 1 to 40 characters and a value of at most 500."
    }

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return parse_pair(text)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


@extend_schema_field({"type": "string", "pattern": "^[^:]{1,40}:", "example": "erp_id:A-1042"})
class MetadataFilter(django_filters.Filter):
    """`metadata=key:value`: the rows whose metadata holds that pair (containment, so a GIN index serves it)."""

    field_class = MetadataPairField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("field_name", "metadata")
        kwargs.setdefault("help_text", "key:value — rows whose metadata has this key with this value.")
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        key, item = value
        return json_contains(qs, self.field_name, {key: item})
