"""Seed 003 (order management, `/v1/sales.json`): list, create, read, change and delete sales.

Reads go through `sales.selectors` (scoped as `/api/v1/`), writes through the same services; `mapping` turns
the document's camelCase object into service input and the sale back into that object.
"""

from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from compat.base import CompatView, parse_id
from compat.orders import mapping
from compat.orders.serializers import IdOrCodeField, OrdersErrorSerializer, SaleRequestSerializer, SaleSerializer
from sales import selectors, services
from sales.errors import InvalidTransition
from sales.models import Channel, Promotion, Sale, TaxComponent
from sales.services import NewSale
from salesproject.api.idempotency import IdempotentMixin
from salesproject.api.renderers import JSONRenderer
from salesproject.errors import DomainError, NotFound, PermissionDenied, ValidationError

SOURCE = "compat-orders"
MAX_LIMIT = 250


def _errors(*codes: int) -> dict:
    error = OpenApiResponse(OrdersErrorSerializer, description="An error in this API's envelope.")
    return dict.fromkeys(codes, error)


class ListQuerySerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=10**9, required=False, default=1)
    limit = serializers.IntegerField(
        min_value=1, max_value=10**9, required=False, default=50, help_text=f"At most {MAX_LIMIT} (more is capped)."
    )
    status = serializers.ChoiceField(choices=mapping.STATUS_WORDS, required=False)
    customerId = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    channelId = IdOrCodeField(queryset=Channel.objects.all(), allow_null=False)
    externalId = serializers.CharField(max_length=100, required=False)


class OrdersView(CompatView):
    dialect = "orders"
    renderer_classes = [JSONRenderer]

    def error_body(self, status: int, code: str, message: str) -> dict:
        return {"status": status, "error": code, "message": message}

    def handle_exception(self, exc):
        if isinstance(exc, DomainError):  # a service's field names in this document's words
            exc.attr = mapping.camel_attr(exc.attr) if exc.attr else exc.attr
            exc.detail = mapping.camel_text(exc.detail)
        return super().handle_exception(exc)

    def answers(self, sales: list[Sale]) -> list[dict]:
        user = self.request.user
        codes = {sale.discount_code for sale in sales if sale.discount_code}
        promotions = dict(Promotion.objects.filter(code__in=codes).values_list("code", "pk")) if codes else {}
        reader = mapping.Reader(staff=user.is_staff, promotion_ids=promotions)
        return [mapping.answer(sale, reader) for sale in sales]

    def loaded(self, queryset):
        components = Prefetch("tax__components", queryset=TaxComponent.objects.order_by("pk"))
        return selectors.sale_with_related(queryset).prefetch_related(components)

    def body(self) -> dict:
        serializer = SaleRequestSerializer(data=self.request.data, context={"request": self.request})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def one(self, sale_id: int) -> Sale:
        sale = self.loaded(selectors.sale_scope(user=self.request.user).filter(pk=sale_id)).first()
        if sale is None:
            raise NotFound(f"Sale {sale_id} not found.")
        return sale


class SalesView(IdempotentMixin, OrdersView):
    """Sales of the caller (a store's manager: its sales; staff: all), newest first."""

    @extend_schema(
        operation_id="compat_orders_sales_list",
        summary="List sales",
        parameters=[
            ListQuerySerializer,
            OpenApiParameter("X-Total-Count", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[200],
                             description="How many sales match."),
        ],
        responses={200: SaleSerializer(many=True), **_errors(400, 401)},
    )
    def get(self, request):
        query = ListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        sales = selectors.sale_scope(user=request.user, replica=True)
        if "status" in params:
            early = [status for status, word in mapping.STATUS_WORD.items() if word == params["status"]]
            sales = sales.filter(status__in=early) if early else sales.exclude(status__in=mapping.STATUS_WORD)
        if "customerId" in params:
            sales = sales.filter(customer_id=params["customerId"])
        if params.get("channelId") is not None:
            sales = sales.filter(channel=params["channelId"])
        if "externalId" in params:
            sales = sales.filter(external_id=params["externalId"])
        sales = sales.order_by("-created_at", "-id")
        limit = min(params["limit"], MAX_LIMIT)  # as v1 caps its page sizes
        start = (params["page"] - 1) * limit
        page = list(self.loaded(sales)[start : start + limit])
        response = Response(self.answers(page))
        response["X-Total-Count"] = str(sales.count())
        return response

    @extend_schema(
        operation_id="compat_orders_sales_create",
        summary="Create a sale",
        request=SaleRequestSerializer,
        responses={201: SaleSerializer, **_errors(400, 401, 403, 409, 415)},
    )
    def post(self, request):
        """A `pending` sale (stock reserved) unless `status` says `draft` or `finalized`; its lines are the
        extension field `items` (a draft may come without)."""
        data = self.body()
        if data.get("cancelled"):
            raise ValidationError("A sale cannot be created cancelled: create it, then PUT `cancelled: true`.",
                                  code="invalid", attr="cancelled")
        values = mapping.product_values(data, sale=None, staff=request.user.is_staff)
        seller = values.pop("seller", None) or request.user
        if seller != request.user and not request.user.is_staff:
            raise PermissionDenied("Only staff may sell on behalf of someone else (userId).")
        if "admin_note" in values and not request.user.is_staff:
            raise PermissionDenied("Only staff may write adminNotes.")
        command = NewSale(
            items=values.pop("items", ()),
            status=mapping.CREATE_STATUS[data.get("status", "pending")],
            tax_shipping=values.pop("tax_shipping", True),  # this API's default
            items_later=True,
            source=SOURCE,
            **values,
        )
        sale = services.sale_create(seller=seller, data=command, user=request.user)
        return Response(self.answers([self.one(sale.pk)])[0], status=status.HTTP_201_CREATED)


ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The sale's id.")


class SaleView(OrdersView):
    @extend_schema(
        operation_id="compat_orders_sales_retrieve",
        summary="Get a sale",
        parameters=[ID],
        responses={200: SaleSerializer, **_errors(401, 404)},
    )
    def get(self, request, id):
        return Response(self.answers([self.one(self.sale_id(id))])[0])

    @extend_schema(
        operation_id="compat_orders_sales_update",
        summary="Change a sale",
        parameters=[ID],
        request=SaleRequestSerializer,
        responses={200: SaleSerializer, **_errors(400, 401, 403, 404, 409, 415)},
    )
    def put(self, request, id):
        """Changes the fields the body carries (the others stay); `status` moves the sale forward and
        `cancelled: true` cancels it. What the sale's status no longer allows is a 409."""
        sale = self.one(self.sale_id(id))
        data = self.body()
        values = mapping.product_values(data, sale=sale, staff=request.user.is_staff)
        if "admin_note" in values and not request.user.is_staff:
            raise PermissionDenied("Only staff may write adminNotes.")
        with transaction.atomic():  # the edit and the status change together, or neither
            if values:
                sale = services.sale_update(sale=sale, user=request.user, data=values)
            if data.get("cancelled") and sale.status not in mapping.CLOSED_STATUSES:
                sale = services.sale_transition_to(
                    sale=sale, user=request.user, status="cancelled", reason=data.get("cancelReason") or ""
                )
            elif data.get("cancelled") is False and sale.status in mapping.CLOSED_STATUSES:
                raise InvalidTransition(
                    action="reopen", current=sale.status, allowed=sale.available_transitions_for(request.user)
                )
            elif "status" in data and data["status"] != mapping.status_word(sale):
                for target in mapping.STATUS_STEPS[data["status"]]:
                    if sale.status != target:
                        sale = services.sale_transition_to(sale=sale, user=request.user, status=target)
        return Response(self.answers([self.one(sale.pk)])[0])

    @extend_schema(
        operation_id="compat_orders_sales_destroy",
        summary="Delete a sale",
        parameters=[ID],
        request=None,
        responses={204: None, **_errors(401, 404, 409)},
    )
    def delete(self, request, id):
        """A draft, pending, cancelled or rejected sale without payments or documents (a pending sale's stock
        goes back); others are a 409."""
        services.sale_delete(sale=self.one(self.sale_id(id)), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @staticmethod
    def sale_id(value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise NotFound(f"Sale {value} not found.")
        return number


class UnknownRouteView(OrdersView):
    """Any other path under the prefix (`/v1/sales.json/`, `/v1/sales/1`): a 404 in this API's envelope."""

    schema = None
    permission_classes = []

    def dispatch_unknown(self, request, *args, **kwargs):
        raise NotFound(f"No route {request.method} {request.path}; this API serves /v1/sales.json and "
                       "/v1/sales/{id}.json.")

    get = post = put = patch = delete = dispatch_unknown
