"""`/api/v1/payments/`: record transactions (on sales or unassigned), match them to sales, move their status.

The list and detail come from `payments.api.views.PaymentReadViewSet`; recording on sales, assigning
and moving a status need the sale services, so the routed view set lives here, above both apps.
"""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from payments import services as payment_services
from payments.api.serializers import (
    PaymentAssignSerializer,
    PaymentCreateSerializer,
    PaymentSerializer,
    PaymentStatusSerializer,
)
from payments.api.views import PaymentReadViewSet
from payments.services import AllocationData
from sales.api.detail_rows import render_sale
from sales.api.serializers import SaleSerializer
from sales.models import Sale
from sales.selectors import sale_scope, sale_with_related
from sales.services.payments import (
    sale_assign_payment,
    sale_payment_set_status,
    sale_record_allocated_payment,
    sale_record_payment,
)
from salesproject.api.idempotency import IdempotentMixin
from salesproject.api.permissions import IsStaff
from salesproject.errors import ValidationError


def _for_user(request, user_id: int | None):
    """The user a transaction is recorded for: the requester unless staff name another (seed 001 `user_id`).

    Someone else's id from a non-staff user is a 400 `permission` on `user`, as `seller` on a new sale.
    """
    if user_id is None or user_id == request.user.pk:
        return None
    if not request.user.is_staff:
        raise ValidationError("Only staff may record a transaction for another user.", code="permission",
                              attr="user")
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise ValidationError(f"Unknown user {user_id}.", code="does_not_exist", attr="user")
    return user


def _allocations(request, rows) -> list[AllocationData]:
    """The body's allocations with their sales, each one the user may see (else 400 on `allocations.N.sale`)."""
    wanted = {row["sale"] for row in rows}
    visible = {sale.pk: sale for sale in sale_scope(user=request.user).filter(pk__in=wanted)}
    allocations = []
    for index, row in enumerate(rows):
        sale = visible.get(row["sale"])
        if sale is None:
            raise ValidationError(f"Unknown sale {row['sale']}.", code="does_not_exist",
                                  attr=f"allocations.{index}.sale")
        allocations.append(AllocationData(sale=sale, amount=row["amount"]))
    return allocations


def _check_named_sale(sale: Sale | None, allocations: list[AllocationData], attr: str) -> None:
    """`sale` (or `reference`) beside `allocations` must be one of their sales."""
    if sale is not None and all(allocation.sale.pk != sale.pk for allocation in allocations):
        raise ValidationError("The sale named is not one of the allocations' sales.", attr=attr)


class PaymentViewSet(IdempotentMixin, PaymentReadViewSet):
    def get_permissions(self):
        if self.action == "assign":
            return [IsStaff()]
        return super().get_permissions()

    @extend_schema(request=PaymentCreateSerializer, responses={201: PaymentSerializer})
    def create(self, request, *args, **kwargs):
        """Record a payment or refund: on one sale (`sale`), spread over several (`allocations`, adding up to
        `amount`, every sale in the transaction's currency), or unassigned (staff). Staff may record it for
        another `user`."""
        serializer = PaymentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        sale_id = data.pop("sale", None)
        rows = data.pop("allocations", None)
        for_user = _for_user(request, data.pop("user", None))
        sale = None
        if sale_id is not None:
            sale = sale_scope(user=request.user).filter(pk=sale_id).first()
            if sale is None:
                raise ValidationError("No such sale.", code="does_not_exist", attr="sale")
        if rows is not None:
            allocations = _allocations(request, rows)
            _check_named_sale(sale, allocations, "sale")
            payment = sale_record_allocated_payment(allocations=allocations, user=request.user, for_user=for_user,
                                                    **data)
        elif sale is not None:
            payment = sale_record_payment(sale=sale, user=request.user, for_user=for_user, **data)
        elif not request.user.is_staff:
            raise PermissionDenied("Only staff may record transactions that are not on a sale.")
        else:
            payment = payment_services.payment_record(user=request.user, for_user=for_user, **data)
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PaymentAssignSerializer, responses=SaleSerializer)
    @action(detail=False, methods=["post"])
    def assign(self, request):
        """Assign a transaction to a sale, or spread it over several (`allocations`), recording it first if it
        is unknown. Answers the sale named by `sale` / `reference`, else the first allocation's. Staff only."""
        serializer = PaymentAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sale = None
        if data.get("sale") or data.get("reference"):
            lookup = {"pk": data["sale"]} if data.get("sale") else {"reference": data["reference"]}
            sale = Sale.objects.filter(**lookup).first()
            if sale is None:
                attr = "sale" if data.get("sale") else "reference"
                raise ValidationError("No such sale.", code="does_not_exist", attr=attr)
        allocations = None
        if data.get("allocations") is not None:
            allocations = _allocations(request, data["allocations"])
            _check_named_sale(sale, allocations, "sale" if data.get("sale") else "reference")
        sale_assign_payment(
            sale=sale,
            allocations=allocations,
            transaction_reference=data["transaction_reference"],
            user=request.user,
            amount=data.get("amount"),
            method=data.get("method"),
            for_user=_for_user(request, data.get("user")),
        )
        shown = sale if sale is not None else allocations[0].sale
        shown = sale_with_related(Sale.objects.filter(pk=shown.pk), payments=True).get()
        return Response(render_sale(shown, user=request.user))  # the sales endpoints' renderer (SaleSerializer's JSON)

    @extend_schema(
        request=PaymentStatusSerializer,
        responses=PaymentSerializer,
        summary="Move a pending transaction to successful or failed",
    )
    @action(detail=True, methods=["post"], url_path="status")
    def status(self, request, pk=None):
        """Move a pending payment or refund to `successful` or `failed` (409 `invalid_transition` from any other
        status); its sales' paid totals and payment statuses follow at once. Staff, or the seller of every sale
        it is on; a refund that succeeds needs the refund permission and never takes a sale's paid total below
        zero (409 `refund_exceeds_paid`)."""
        payment = self.get_object()  # 404 outside the user's scope
        serializer = PaymentStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = sale_payment_set_status(
            payment=payment, status=serializer.validated_data["status"], user=request.user,
            note=serializer.validated_data.get("note", ""),
        )
        return Response(PaymentSerializer(payment).data)
