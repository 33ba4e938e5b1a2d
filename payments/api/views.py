"""Payments endpoints: record transactions (assigned or not) and match them to sales."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from payments import services
from payments.api.serializers import PaymentAssignSerializer, PaymentCreateSerializer, PaymentSerializer
from payments.filters import PaymentFilter
from payments.models import Payment
from payments.selectors import payment_scope
from sales.api.serializers import SaleSerializer
from sales.models import Sale
from sales.selectors import sale_scope, sale_with_related
from salesproject.api.idempotency import IdempotentMixin
from salesproject.api.permissions import IsStaff


class PaymentViewSet(IdempotentMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter

    lookup_value_regex = r"[0-9]+"
    queryset = Payment.objects.none()  # for the schema; get_queryset scopes by user

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Payment.objects.none()
        return payment_scope(user=self.request.user)

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
        sale = None
        if sale_id is not None:
            sale = sale_scope(user=request.user).filter(pk=sale_id).first()
            if sale is None:
                raise ValidationError({"sale": ["No such sale."]}, code="does_not_exist")
        elif not request.user.is_staff:
            raise PermissionDenied("Only staff may record transactions that are not on a sale.")
        payment = services.payment_record(sale=sale, user=request.user, **data)
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
        services.payment_assign(
            sale=sale, transaction_reference=data["transaction_reference"], user=request.user,
            amount=data.get("amount"), method=data.get("method"),
        )
        sale = sale_with_related(Sale.objects.filter(pk=sale.pk), payments=True).get()
        return Response(SaleSerializer(sale, context=self.get_serializer_context()).data)
