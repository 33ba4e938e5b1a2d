"""Reads of the catalogue and stock tuned for the API: each list loads its related rows in fixed queries."""

from django.db.models import Prefetch, QuerySet

from inventory.models import Product, StockLevel, StockMovement, Variant


def product_list() -> QuerySet[Product]:
    variants = Variant.objects.order_by("pk")
    return Product.objects.select_related("product_group").prefetch_related(Prefetch("variants", queryset=variants))


def variant_list() -> QuerySet[Variant]:
    return Variant.objects.select_related("product")


def stock_level_list() -> QuerySet[StockLevel]:
    return StockLevel.objects.select_related("variant", "warehouse").order_by("pk")


def stock_movement_list() -> QuerySet[StockMovement]:
    """The ledger, newest first."""
    return StockMovement.objects.select_related("variant", "warehouse", "user").order_by("-created_at", "-pk")
