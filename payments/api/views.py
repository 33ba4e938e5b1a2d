"""Payments endpoints owned by the payments app: list and read transactions.

Recording one (on a sale or not) and assigning one to a sale need the sale services, which sit
above `payments`: `sales.api.payments.PaymentViewSet` adds those two operations to this view set
and is the one routed at `/api/v1/payments/` (`sales/api/payment_urls.py`).
"""

from rest_framework import mixins, viewsets

from payments.api.serializers import PaymentSerializer
from payments.filters import PaymentFilter
from payments.models import Payment
from payments.selectors import payment_scope


class PaymentReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter

    lookup_value_regex = r"[0-9]+"
    queryset = Payment.objects.none()  # for the schema; get_queryset scopes by user

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Payment.objects.none()
        return payment_scope(user=self.request.user)
