"""Filters of the sales list (and summary). A malformed value or an unknown code is a 400."""

import re
from datetime import UTC, datetime, time, timedelta

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from inventory.models import Warehouse
from sales.models import Channel, PaymentStatus, Sale, SaleItem, SaleStatus

COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")


class DateOrDateTimeField(forms.Field):
    """An ISO 8601 date (`2024-07-18`) or date-time (`2024-07-18T04:37:29Z`)."""

    default_error_messages = {"invalid": "Enter an ISO 8601 date or date-time."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        value = value.strip()
        try:
            moment = parse_datetime(value)
            if moment is not None:
                moment = moment if timezone.is_aware(moment) else timezone.make_aware(moment)
                # In UTC: PostgreSQL refuses offsets beyond ±15:59, and one that leaves the calendar is no time.
                return moment.astimezone(UTC)
            day = parse_date(value)
            if day is not None:
                datetime.combine(day, time.min).replace(tzinfo=UTC) + timedelta(days=1)
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


class SaleFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=SaleStatus.choices)
    payment_status = django_filters.MultipleChoiceFilter(choices=PaymentStatus.choices)
    customer = django_filters.NumberFilter(field_name="customer_id")
    seller = django_filters.NumberFilter(field_name="seller_id")
    product = django_filters.NumberFilter(method="filter_product")
    variant = django_filters.NumberFilter(method="filter_variant")
    channel = django_filters.ModelChoiceFilter(queryset=Channel.objects.all(), to_field_name="code")
    warehouse = django_filters.ModelChoiceFilter(
        queryset=Warehouse.objects.all(), to_field_name="code", method="filter_warehouse"
    )
    country = django_filters.CharFilter(
        method="filter_country",
        validators=[RegexValidator(COUNTRY_RE, "Use an ISO 3166 alpha-2 code such as IT.")],
        help_text="Shipping country, ISO 3166 alpha-2 (e.g. IT).",
    )
    reference = django_filters.CharFilter(field_name="reference")
    external_id = django_filters.CharFilter(field_name="external_id")
    created_after = DateBoundFilter(field_name="created_at", upper=False)
    created_before = DateBoundFilter(field_name="created_at", upper=True)
    start_date = DateBoundFilter(field_name="created_at", upper=False, label="Alias of created_after.")
    end_date = DateBoundFilter(field_name="created_at", upper=True, label="Alias of created_before.")
    total_min = django_filters.NumberFilter(field_name="grand_total", lookup_expr="gte")
    total_max = django_filters.NumberFilter(field_name="grand_total", lookup_expr="lte")
    search = django_filters.CharFilter(method="filter_search", max_length=200)
    ordering = django_filters.OrderingFilter(
        fields=(("created_at", "created_at"), ("grand_total", "grand_total"), ("number", "number"))
    )

    class Meta:
        model = Sale
        fields: list[str] = []

    def filter_product(self, qs, name, value):
        return qs.filter(Exists(SaleItem.objects.filter(sale=OuterRef("pk"), product_id=value)))

    def filter_variant(self, qs, name, value):
        return qs.filter(Exists(SaleItem.objects.filter(sale=OuterRef("pk"), variant_id=value)))

    def filter_warehouse(self, qs, name, value):
        return qs.filter(Q(warehouse=value) | Exists(SaleItem.objects.filter(sale=OuterRef("pk"), warehouse=value)))

    def filter_country(self, qs, name, value):
        return qs.filter(shipping_country=value.upper())

    def filter_search(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        items = SaleItem.objects.filter(sale=OuterRef("pk")).filter(Q(sku__icontains=value) | Q(name__icontains=value))
        return qs.filter(
            Q(reference__icontains=value)
            | Q(customer__name__icontains=value)
            | Q(customer__email__icontains=value)
            | Exists(items)
        )
