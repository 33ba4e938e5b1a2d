"""Reads of sales tuned for the API and the admin: scope, related rows, aggregates."""

from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from payments.models import Payment
from sales.models import REVENUE_STATUSES, Sale, SaleEvent, SaleItem, SaleStatus

ZERO = Decimal("0.00")


def sale_scope(*, user) -> QuerySet[Sale]:
    """The sales a user may see: staff see all; anyone else only the sales they sold."""
    queryset = Sale.objects.all()
    if not user.is_staff:
        queryset = queryset.filter(seller=user)
    return queryset


def sale_with_related(queryset: QuerySet[Sale], *, payments: bool = False) -> QuerySet[Sale]:
    """Load what a sale's representation shows in a fixed number of queries."""
    items = SaleItem.objects.select_related("warehouse", "carrier", "product_group").order_by("pk")
    queryset = queryset.select_related("seller", "customer", "channel", "warehouse", "tax").prefetch_related(
        Prefetch("items", queryset=items)
    )
    if payments:
        queryset = queryset.prefetch_related(
            Prefetch("payments", queryset=Payment.objects.select_related("user").order_by("pk"))
        )
    return queryset


def sale_summary(*, queryset: QuerySet[Sale]) -> dict:
    """Counts and totals of the matching sales; revenue counts confirmed, shipped and completed ones."""
    queryset = queryset.order_by()
    totals = queryset.aggregate(
        total_sales=Count("pk"),
        total_revenue=Sum("grand_total", filter=Q(status__in=REVENUE_STATUSES), default=ZERO),
        total_paid=Sum("paid_total", default=ZERO),
    )
    by_status = {status: {"count": 0, "total": ZERO} for status in SaleStatus.values}
    for row in queryset.values("status").annotate(count=Count("pk"), total=Sum("grand_total")):
        by_status[row["status"]] = {"count": row["count"], "total": row["total"] or ZERO}
    return {**totals, "by_status": by_status}


def sale_activity(*, sale: Sale) -> QuerySet[SaleEvent]:
    return sale.events.select_related("user").order_by("pk")
