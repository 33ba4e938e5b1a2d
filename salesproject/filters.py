"""Filter pieces every list shares: a malformed value is a 400, never a silently ignored filter."""

from datetime import UTC, datetime, time, timedelta

import django_filters
from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field


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


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.NumberFilter):
    """A whole number: `1.5` or `abc` is a 400. For ids, a well-formed id that matches nothing gives an empty list."""

    field_class = forms.IntegerField
    # Beyond a 64-bit id nothing can match (and some databases refuse the number).
    MAX_ID = 2**63 - 1

    def filter(self, qs, value):
        if value is not None and not self.method and abs(value) > self.MAX_ID:
            return qs.none()
        return super().filter(qs, value)


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
