from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from payments.models import Payment, PaymentAllocation


def payment_scope(*, user) -> QuerySet[Payment]:
    """Staff see every transaction; a seller the payments with an allocation on one of their own sales, or of
    a store they manage (never unassigned ones). Each comes with its user and its allocations."""
    queryset = (
        Payment.objects.select_related("user")
        .prefetch_related(Prefetch("allocations", queryset=PaymentAllocation.objects.order_by("pk")))
        .order_by("-pk")
    )
    if not user.is_staff:
        queryset = queryset.filter(
            Exists(PaymentAllocation.objects.filter(payment=OuterRef("pk"), sale__seller=user))
            # The sales scope (sales.selectors.sale_scope) by relation: payments import no sales code.
            | Exists(
                PaymentAllocation.objects.filter(
                    payment=OuterRef("pk"),
                    sale__store__memberships__user=user,
                    sale__store__memberships__role="manager",
                )
            )
        )
    return queryset


def payment_on_sale(*, sale_id: int):
    """The condition "has an allocation on this sale" (the `sale` filter)."""
    return Exists(PaymentAllocation.objects.filter(payment=OuterRef("pk"), sale_id=sale_id))


def payment_assigned():
    """The condition "has an allocation" (the `assigned` filter)."""
    return Exists(PaymentAllocation.objects.filter(payment=OuterRef("pk")))
