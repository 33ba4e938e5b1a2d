"""Seed 004, sale transactions (`/compat/transactions/`): assign a transaction to a sale, as v1's
`POST /api/v1/payments/assign/` does (staff only, through `sale_assign_payment`)."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from compat.base import CompatView, parse_id
from compat.transactions import render
from compat.transactions import schema as s
from compat.transactions.authentication import ApiKeyAuthentication
from payments.models import PaymentMethod
from sales import selectors, services
from sales.models import Sale
from salesproject.api.authentication import BearerTokenAuthentication
from salesproject.api.fields import AmountField, invalid_choice
from salesproject.api.permissions import IsStaff

# The document's payment method words for the product's methods.
METHODS = {method.upper(): method for method in PaymentMethod.values}
# The product's input names (in its error messages) as the document names them.
FIELD_NAMES = {"transaction_reference": "transactionReference", "method": "paymentMethod", "sale": "saleId"}
MESSAGE = "Transaction assigned to sale successfully"


class PaymentMethodField(serializers.CharField):
    def to_internal_value(self, data):
        word = super().to_internal_value(data)
        if word.upper() not in METHODS:
            raise serializers.ValidationError(invalid_choice(word, METHODS), code="invalid_choice")
        return METHODS[word.upper()]


class AssignSerializer(serializers.Serializer):
    amount = AmountField(min_value=Decimal("0.001"), required=False, allow_null=True)
    paymentMethod = PaymentMethodField(required=False, allow_null=True, max_length=50)
    saleId = serializers.CharField(max_length=100)
    transactionReference = serializers.CharField(max_length=100)


class TransactionsView(CompatView):
    dialect = "transactions"
    authentication_classes = [BearerTokenAuthentication, ApiKeyAuthentication]
    permission_classes = [IsStaff]

    def error_body(self, status: int, code: str, message: str) -> dict:
        field, sep, rest = message.partition(": ")
        if sep and field in FIELD_NAMES:
            message = f"{FIELD_NAMES[field]}: {rest}"
        return {"message": message, "error": code}

    @extend_schema(
        summary="Assign a transaction to a sale (staff)",
        request=s.TransactionAssign,
        responses={201: s.TransactionAssigned, **s.errors(400, 401, 403, 404, 409)},
    )
    def patch(self, request):
        """Assign the transaction `transactionReference` to the sale `saleId`: an unknown reference is recorded
        (amount and paymentMethod needed), a known one must have this amount and be on no sale yet (409).
        Staff only; `Authorization: Bearer <token>` or `ApiKey: <token>`."""
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sale = self.find_sale(data["saleId"])
        payment = services.sale_assign_payment(
            sale=sale, transaction_reference=data["transactionReference"], user=request.user,
            amount=data.get("amount"), method=data.get("paymentMethod"),
        )
        sale = selectors.sale_with_related(Sale.objects.filter(pk=sale.pk)).prefetch_related("items__product").get()
        body = {"message": MESSAGE, "data": render.render(sale, payment), "meta": render.META}
        return Response(body, status=status.HTTP_201_CREATED)

    def find_sale(self, sale_id: str) -> Sale:
        """The sale by id (`12`, `"12"`), else by reference."""
        pk = parse_id(sale_id)
        scope = selectors.sale_scope(user=self.request.user)
        sale = scope.filter(pk=pk).first() if pk is not None else scope.filter(reference=sale_id).first()
        if sale is None:
            raise NotFound("Sale not found.")
        return sale


class UnknownRouteView(TransactionsView):
    """Any other path under the prefix: a 404 in the document's envelope, not the site's."""

    permission_classes = []
    schema = None

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise NotFound(f"No route {request.method} {request.path}.")

    get = post = put = patch = delete = http_method_not_allowed
