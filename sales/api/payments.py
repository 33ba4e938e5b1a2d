"""`/api/v1/payments/`: record transactions (on a sale or unassigned) and match them to sales.

The list and detail come from `payments.api.views.PaymentReadViewSet`; recording on a sale and
assigning need the sale services, so the routed view set lives here, above both apps.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from payments import services as payment_services
from payments.api.serializers import PaymentAssignSerializer, PaymentCreateSerializer, PaymentSerializer
from payments.api.views import PaymentReadViewSet
from sales import services
from sales.api.detail_rows import render_sale
from sales.api.serializers import SaleSerializer
from sales.models import Sale
from sales.selectors import sale_scope, sale_with_related
from salesproject.api.idempotency import IdempotentMixin
from salesproject.api.permissions import IsStaff


class PaymentViewSet(IdempotentMixin, PaymentReadViewSet):
    def get_permissions(self):
        if self.action == "assign":
            return [IsStaff()]
        return super().get_permissions()

    @extend_schema(request=PaymentCreateSerializer, responses={201: PaymentSerializer})
    def create(self, request, *args, **kwargs):
        serializer = PaymentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        sale_id = data.pop("sale", None)
        if sale_id is not None:
            sale = sale_scope(user=request.user).filter(pk=sale_id).first()
            if sale is None:
                raise ValidationError({"sale": ["No such sale."]}, code="does_not_exist")
            payment = services.sale_record_payment(sale=sale, user=request.user, **data)
        elif not request.user.is_staff:
            raise PermissionDenied("Only staff may record transactions that are not on a sale.")
        else:
            payment = payment_services.payment_record(user=request.user, **data)
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PaymentAssignSerializer, responses=SaleSerializer)
    @action(detail=False, methods=["post"])
    def assign(self, request):
        """Assign a transaction to a sale (recording it first if it is unknown). Staff only."""
        serializer = PaymentAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lookup = {"pk": data["sale"]} if data.get("sale") else {"reference": data["reference"]}
        sale = Sale.objects.filter(**lookup).first()
        if sale is None:
            attr = "sale" if data.get("sale") else "reference"
            raise ValidationError({attr: ["No such sale."]}, code="does_not_exist")
        services.sale_assign_payment(
            sale=sale,
            transaction_reference=data["transaction_reference"],
            user=request.user,
            amount=data.get("amount"),
            method=data.get("method"),
        )
        sale = sale_with_related(Sale.objects.filter(pk=sale.pk), payments=True).get()
        return Response(render_sale(sale, user=request.user))  # the sales endpoints' renderer (SaleSerializer's JSON)
