from django.db.models import QuerySet

from payments.models import Payment


def payment_scope(*, user) -> QuerySet[Payment]:
    """Staff see every transaction; a seller only the payments of their own sales (never unassigned ones)."""
    queryset = Payment.objects.select_related("user").order_by("-pk")
    if not user.is_staff:
        queryset = queryset.filter(sale__seller=user)
    return queryset
