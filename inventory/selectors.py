"""Reads of the catalogue and stock tuned for the API: each list loads its related rows in fixed queries."""

from django.db.models import Prefetch, Q, QuerySet

from inventory.models import MANUAL_MOVEMENT_KINDS, Product, StockLevel, StockMovement, Variant


def product_list() -> QuerySet[Product]:
    variants = Variant.objects.order_by("pk")
    return Product.objects.select_related("product_group").prefetch_related(Prefetch("variants", queryset=variants))


def variant_list() -> QuerySet[Variant]:
    return Variant.objects.select_related("product")


def stock_level_list() -> QuerySet[StockLevel]:
    return StockLevel.objects.select_related("variant", "warehouse").order_by("pk")


def stock_movement_list(*, user=None) -> QuerySet[StockMovement]:
    """The ledger, newest first; a non-staff `user` sees stock booked by hand and by their own sales (and those
    of the stores they manage) only.

    Ownership is the seller copied onto each row, not a join to the sale: the rows of a deleted
    sale stay its seller's.
    """
    queryset = StockMovement.objects.select_related("variant", "warehouse", "user").order_by("-created_at", "-pk")
    if user is not None and not user.is_staff:
        own_sales = Q(pk__in=[])
        if user.is_authenticated:
            # And those of the sales of a store they manage (sales.selectors.sale_scope), by relation: inventory
            # imports no sales code.
            managed = StockMovement.objects.filter(
                sale__store__memberships__user=user, sale__store__memberships__role="manager"
            ).values("pk")
            own_sales = Q(sale_seller_id=user.pk) | Q(pk__in=managed)
        queryset = queryset.filter(Q(kind__in=MANUAL_MOVEMENT_KINDS, sale__isnull=True) | own_sales)
    return queryset
