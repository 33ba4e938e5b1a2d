"""Filters of the sales list (and summary). A malformed value or an unknown code is a 400."""

import re

import django_filters
import iso4217
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db.models import Exists, OuterRef, Q
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory.models import Warehouse
from sales.models import Channel, PaymentStatus, Sale, SaleItem, SaleStatus, Store
from sales.selectors import sale_search
from salesproject.filters import DateBoundFilter, IntegerFilter, MetadataFilter, MoneyFilter
from salesproject.metadata import json_contains
from salesproject.ordering import OrderingFilter

COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")
CURRENCY_RE = re.compile(r"^[A-Za-z]{3}$")


def validate_currency(value: str) -> None:
    """Refuse anything but an ISO 4217 currency code (400, as any unknown code)."""
    try:
        if not CURRENCY_RE.match(value):
            raise ValueError(value)
        iso4217.Currency(value.upper())
    except (ValueError, KeyError):
        # The value as a parameter, never in the message itself: django-filter formats messages with `%`.
        raise ValidationError(
            '"%(value)s" is not an ISO 4217 code such as EUR.', code="invalid", params={"value": value}
        ) from None


class TagField(django_filters.fields.MultipleChoiceField):
    """Any tag (as a sale stores it: 1 to 50 characters), repeated."""

    default_error_messages = {"invalid_choice": "A tag is 1 to 50 characters; %(value)s is not."}

    def valid_value(self, value) -> bool:
        return 0 < len(value) <= 50 and "\x00" not in value


@extend_schema_field(serializers.CharField(min_length=1, max_length=50))  # each value; repeatable
class TagFilter(django_filters.MultipleChoiceFilter):
    field_class = TagField


class SaleFilter(django_filters.FilterSet):
    # Columns of the sale itself: no join can repeat a row, so no DISTINCT (which would defeat the indexes).
    status = django_filters.MultipleChoiceFilter(choices=SaleStatus.choices, distinct=False)
    payment_status = django_filters.MultipleChoiceFilter(choices=PaymentStatus.choices, distinct=False)
    customer = IntegerFilter(field_name="customer_id")
    seller = IntegerFilter(field_name="seller_id")
    product = IntegerFilter(method="filter_product")
    variant = IntegerFilter(method="filter_variant")
    channel = django_filters.ModelChoiceFilter(queryset=Channel.objects.all(), to_field_name="code")
    warehouse = django_filters.ModelChoiceFilter(
        queryset=Warehouse.objects.all(), to_field_name="code", method="filter_warehouse"
    )
    country = django_filters.CharFilter(
        method="filter_country",
        validators=[RegexValidator(COUNTRY_RE, "Use an ISO 3166 alpha-2 code such as IT.")],
        help_text="Shipping country, ISO 3166 alpha-2 (e.g. IT).",
    )
    currency = django_filters.CharFilter(
        method="filter_currency",
        validators=[validate_currency],
        help_text="ISO 4217 currency code of the sales (e.g. EUR).",
    )
    store = django_filters.ModelChoiceFilter(
        queryset=Store.objects.all(), to_field_name="code", help_text="The store's code."
    )
    device = django_filters.CharFilter(field_name="device", max_length=64, help_text="The POS terminal id.")
    reference = django_filters.CharFilter(field_name="reference")
    external_id = django_filters.CharFilter(field_name="external_id")
    created_after = DateBoundFilter(field_name="created_at", upper=False)
    created_before = DateBoundFilter(field_name="created_at", upper=True)
    # The sale date (records.md): a bare date is the whole day in TIME_ZONE. start_date / end_date are seed 001's
    # names for the same bounds (they meant created_at before round 2).
    sold_after = DateBoundFilter(field_name="sold_at", upper=False, label="From this sale date (sold_at).")
    sold_before = DateBoundFilter(field_name="sold_at", upper=True, label="Up to this sale date (sold_at).")
    start_date = DateBoundFilter(field_name="sold_at", upper=False, label="Alias of sold_after.")
    end_date = DateBoundFilter(field_name="sold_at", upper=True, label="Alias of sold_before.")
    customer_reference = django_filters.CharFilter(
        field_name="customer_reference", max_length=100, help_text="The buyer's reference (PO number), exact."
    )
    tag = TagFilter(method="filter_tag", help_text="Repeatable: the sales carrying every tag given (`tag=a&tag=b`).")
    metadata = MetadataFilter()
    total_min = MoneyFilter(field_name="grand_total", lookup_expr="gte")
    total_max = MoneyFilter(field_name="grand_total", lookup_expr="lte")
    search = django_filters.CharFilter(method="filter_search", max_length=200)
    ordering = OrderingFilter(
        fields=(
            ("created_at", "created_at"), ("sold_at", "sold_at"), ("grand_total", "grand_total"), ("number", "number")
        )
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

    def filter_currency(self, qs, name, value):
        return qs.filter(currency=value.upper())

    def filter_tag(self, qs, name, value):
        # Containment (`tags @> [...]`): all the tags at once, through the GIN index on PostgreSQL.
        return json_contains(qs, "tags", list(dict.fromkeys(value))) if value else qs

    def filter_search(self, qs, name, value):
        return sale_search(qs, value)
