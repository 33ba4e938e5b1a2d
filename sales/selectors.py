"""Reads of sales tuned for the API and the admin: scope, related rows, aggregates."""

from decimal import Decimal

from django.db.models import Count, Prefetch, QuerySet, Sum

from payments.models import Payment
from sales.models import REVENUE_STATUSES, Sale, SaleEvent, SaleItem, SaleStatus
from salesproject.db_router import on_replica

ZERO = Decimal("0.00")


def sale_scope(*, user, replica: bool = False) -> QuerySet[Sale]:
    """The sales a user may see: staff see all; anyone else only the sales they sold.

    `replica` reads them from the read replica when one is configured (lists and
    summaries, which may lag the primary by the replication delay).
    """
    queryset = on_replica(Sale.objects.all()) if replica else Sale.objects.all()
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
    """Counts and totals of the matching sales; revenue counts confirmed, shipped and completed ones.

    One pass grouped by status gives everything (the overall figures are sums of
    the per-status ones), and the (status) / (seller, status) indexes that
    include both totals answer it without reading the table.
    """
    rows = (
        queryset.order_by()
        .values("status")
        .annotate(count=Count("*"), total=Sum("grand_total", default=ZERO), paid=Sum("paid_total", default=ZERO))
    )
    by_status = {status: {"count": 0, "total": ZERO} for status in SaleStatus.values}
    total_paid = ZERO
    for row in rows:
        by_status[row["status"]] = {"count": row["count"], "total": row["total"]}
        total_paid += row["paid"]
    return {
        "total_sales": sum(entry["count"] for entry in by_status.values()),
        "total_revenue": sum((by_status[status]["total"] for status in REVENUE_STATUSES), ZERO),
        "total_paid": total_paid,
        "by_status": by_status,
    }


def sale_activity(*, sale: Sale) -> QuerySet[SaleEvent]:
    return sale.events.select_related("user").order_by("pk")
