"""Filters of the catalogue and stock lists. A malformed value, an unknown code or an unknown ordering is a 400."""

import django_filters
from django.db.models import Q

from inventory.models import (
    LOW_STOCK_THRESHOLD,
    MovementKind,
    Product,
    ProductGroup,
    StockLevel,
    StockMovement,
    Variant,
    Warehouse,
)
from salesproject.filters import IntegerFilter, MetadataFilter, StrictBooleanFilter
from salesproject.ordering import OrderingFilter, ordering_filterset


def _code_filter(model, **kwargs) -> django_filters.ModelChoiceFilter:
    return django_filters.ModelChoiceFilter(queryset=model.objects.all(), to_field_name="code", **kwargs)


class ProductFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=200, help_text="In sku and name.")
    sku = django_filters.CharFilter(field_name="sku")
    product_group = _code_filter(ProductGroup)
    active = StrictBooleanFilter(field_name="active")
    metadata = MetadataFilter()
    ordering = OrderingFilter(fields=("id", "sku", "name", "price", "created_at"))

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(sku__icontains=value) | Q(name__icontains=value)) if value else queryset


class VariantFilter(django_filters.FilterSet):
    product = IntegerFilter(field_name="product_id")
    sku = django_filters.CharFilter(field_name="sku")
    search = django_filters.CharFilter(method="filter_search", max_length=200, help_text="In sku and name.")
    metadata = MetadataFilter()
    ordering = OrderingFilter(fields=("id", "sku", "name", "created_at"))

    class Meta:
        model = Variant
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(sku__icontains=value) | Q(name__icontains=value) | Q(product__name__icontains=value))


class StockLevelFilter(django_filters.FilterSet):
    warehouse = _code_filter(Warehouse)
    variant = IntegerFilter(field_name="variant_id")
    product = IntegerFilter(field_name="variant__product_id")
    low_stock = StrictBooleanFilter(
        method="filter_low_stock",
        help_text=f"true: available ≤ low_stock_threshold (default {LOW_STOCK_THRESHOLD}); false: above it.",
    )
    low_stock_threshold = IntegerFilter(
        method="filter_nothing",
        min_value=0,
        max_value=2_147_483_647,
        help_text=f"The threshold `low_stock` uses (default {LOW_STOCK_THRESHOLD}).",
    )
    ordering = OrderingFilter(fields=("id", "on_hand", "reserved"))

    class Meta:
        model = StockLevel
        fields: list[str] = []

    def filter_low_stock(self, queryset, name, value):
        threshold = self.form.cleaned_data.get("low_stock_threshold")
        return queryset.low(LOW_STOCK_THRESHOLD if threshold is None else threshold, low=value)

    def filter_nothing(self, queryset, name, value):
        return queryset  # read by filter_low_stock


class StockMovementFilter(django_filters.FilterSet):
    warehouse = _code_filter(Warehouse)
    variant = IntegerFilter(field_name="variant_id")
    product = IntegerFilter(field_name="variant__product_id")
    kind = django_filters.MultipleChoiceFilter(choices=MovementKind.choices)
    sale = IntegerFilter(field_name="sale_id")
    ordering = OrderingFilter(fields=("id", "created_at"))

    class Meta:
        model = StockMovement
        fields: list[str] = []


WarehouseFilter = ordering_filterset(Warehouse)
ProductGroupFilter = ordering_filterset(ProductGroup)
