"""Omnilabs channel sales (seed 002) at /compat/omnilabs/: its routes over the selectors and the sale services.

Reads are scoped like /api/v1/ (another seller's sale is Omnilabs' 404); writes run the same services
(transitions with their stock, `sale_update_item`, `sale_attach_invoice`), honour `Idempotency-Key` like v1's
POSTs, and answer the JSON string "ok". Errors: `{"statusCode", "message", "error"}`.
"""

import base64
import binascii
import math
from http import HTTPStatus

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from compat.base import CompatView, parse_id
from compat.omnilabs import representation as r
from compat.omnilabs import schema
from inventory.models import ProductGroup, Warehouse
from sales import selectors, services
from sales.errors import InvalidTransition
from sales.models import Carrier, FulfillmentLine, Sale, SaleEvent
from salesproject.api.fields import unknown_reference
from salesproject.api.idempotency import IdempotentMixin

OK = "ok"
MAX_TAKE = 100
ITEM_IDS = ("sale_id", "product_id")


class OmnilabsView(CompatView):
    dialect = "omnilabs"

    def error_body(self, status: int, code: str, message: str) -> dict:
        return {"statusCode": status, "message": message, "error": HTTPStatus(status).phrase}

    def sale(self, sale_id: str, load=lambda queryset: queryset) -> Sale:
        """The caller's sale by its id (its scope as in v1); anything else is a 404."""
        pk = parse_id(sale_id)
        sale = load(selectors.sale_scope(user=self.request.user).filter(pk=pk)).first() if pk else None
        if sale is None:
            raise exceptions.NotFound(f"Sale {sale_id} not found.")
        return sale

    def input(self, serializer_class: type[serializers.Serializer]) -> dict:
        data = self.request.data
        if not isinstance(data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Expected a JSON object."]}, code="invalid")
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class OmnilabsWriteView(IdempotentMixin, OmnilabsView):
    def acting_user(self, value):
        """The `user` a write names: the caller; staff may name another user, recorded as the one acting."""
        caller = self.request.user
        pk = parse_id(value) if value not in (None, "") else caller.pk
        if pk == caller.pk:
            return caller
        if not caller.is_staff:
            raise exceptions.PermissionDenied("You may not act as another user.")
        user = get_user_model().objects.filter(pk=pk).first() if pk else None
        if user is None:
            raise exceptions.ValidationError({"user": [unknown_reference("user", value)]}, code="does_not_exist")
        return user


def sale_detail_queryset(queryset: QuerySet[Sale]) -> QuerySet[Sale]:
    """What the Sale resource shows: lines with their fulfilments' carriers, and the activity log."""
    lines = FulfillmentLine.objects.select_related("fulfillment__carrier").order_by("pk")
    return selectors.sale_with_related(queryset).prefetch_related(
        Prefetch("items__fulfillment_lines", queryset=lines),
        Prefetch("events", queryset=SaleEvent.objects.order_by("pk")),
    )


class ListParams(serializers.Serializer):
    channel = serializers.CharField(required=False)
    country = serializers.CharField(required=False)
    status = serializers.CharField(required=False)
    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=1_000_000)
    take = serializers.IntegerField(required=False, default=10, min_value=1, max_value=MAX_TAKE)

    def validate_status(self, value: str) -> str:
        return status_word(value)


def status_word(value: str) -> str:
    word = value.strip().upper()
    if word not in r.WORDS:
        raise serializers.ValidationError(
            f'Unknown status "{value}". Valid: {", ".join(r.WORDS)}.', code="invalid_choice"
        )
    return word


class SalesView(OmnilabsView):
    @schema.operation(
        "sales_list", "Get list of sales (Omnilabs)", schema.SalePage, parameters=schema.LIST_PARAMETERS, ids=()
    )
    def get(self, request):
        serializer = ListParams(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        params = serializer.validated_data
        queryset = selectors.sale_scope(user=request.user, replica=True).select_related("channel")
        if params.get("channel"):
            value = params["channel"]
            pk = parse_id(value)
            queryset = queryset.filter(Q(channel__code=value) | Q(channel_id=pk) if pk else Q(channel__code=value))
        if params.get("country"):
            code = r.country_code(params["country"])
            queryset = queryset.filter(shipping_country=code) if code else queryset.none()
        if params.get("status"):
            queryset = queryset.filter(status__in=r.WORD_STATUSES[params["status"]])
        page, take = params["page"], params["take"]
        total = queryset.count()
        rows = queryset.order_by("-created_at", "-id")[(page - 1) * take : page * take]
        return Response(
            {
                "data": [r.sale_row(sale) for sale in rows],
                "total": total,
                "take": take,
                "current_page": page,
                "last_page": max(1, math.ceil(total / take)),
            }
        )


class SaleView(OmnilabsView):
    @schema.operation("sale_get", "Get sale by ID (Omnilabs)", schema.Sale)
    def get(self, request, sale_id):
        return Response(r.sale_resource(self.sale(sale_id, load=sale_detail_queryset)))


class StatusesView(OmnilabsView):
    @schema.operation("sale_statuses", "Get available sale statuses (Omnilabs)", schema.Statuses)
    def get(self, request, sale_id):
        targets = self.sale(sale_id).available_transitions_for(request.user)
        return Response(list(dict.fromkeys(r.STATUS_WORDS[status] for status in targets)))


class ActivityView(OmnilabsView):
    @schema.operation("sale_activity", "Get sale activity (Omnilabs)", schema.ActivityLog)
    def get(self, request, sale_id):
        events = selectors.sale_activity(sale=self.sale(sale_id))
        return Response([r.activity(event, full=True) for event in events])


class StatusInput(serializers.Serializer):
    status = serializers.CharField()

    def validate_status(self, value: str) -> str:
        return status_word(value)


class StatusView(OmnilabsWriteView):
    @schema.operation(
        "sale_status", "Update sale status (Omnilabs)", schema.OK, request=schema.StatusRequest, write=True
    )
    def post(self, request, sale_id):
        sale = self.sale(sale_id)
        word = self.input(StatusInput)["status"]
        try:
            services.sale_transition_to(sale=sale, user=request.user, status=r.WORD_TARGETS[word])
        except InvalidTransition as exc:  # the same 409, told in Omnilabs' words
            allowed = ", ".join(dict.fromkeys(r.STATUS_WORDS[status] for status in exc.allowed)) or "none"
            exc.detail = (
                f"Sale {sale.pk} is {r.STATUS_WORDS[exc.current_status]}: it cannot become {word}. Allowed: {allowed}."
            )
            raise
        return Response(OK)


class ItemView(OmnilabsWriteView):
    """Set one reference of every line of a product (`{product_id}`: its id, or a line's sku) on the sale."""

    field = ""  # the line's field (`sale_update_item`'s)
    model = None  # what `<field>_id` names, by id or code
    nullable = True

    def update(self, sale_id: str, product_id: str) -> Response:
        sale = self.sale(sale_id)
        name = f"{self.field}_id"
        data = self.input(self.input_class())
        value = data[name]
        target = None if value in (None, "") else reference(self.model, value, attr=name)
        if target is None and not self.nullable:
            raise exceptions.ValidationError({name: ["This field may not be null."]}, code="null")
        user = self.acting_user(data.get("user"))
        items = sale_lines(sale, product_id)
        with transaction.atomic():  # every line of the product, or none
            for item in items:
                services.sale_update_item(item=item, user=user, data={self.field: target})
        return Response(OK)

    def input_class(self) -> type[serializers.Serializer]:
        fields = {
            f"{self.field}_id": serializers.CharField(allow_null=self.nullable, allow_blank=self.nullable),
            "user": serializers.CharField(required=False, allow_null=True, allow_blank=True),
        }
        return type(f"{type(self).__name__}Input", (serializers.Serializer,), fields)


def reference(model, value: str, *, attr: str):
    """Reference data by id, else by code (compat.md); unknown → 400 naming it."""
    pk = parse_id(value)
    found = (model.objects.filter(pk=pk).first() if pk else None) or model.objects.filter(code=value).first()
    if found is None:
        raise exceptions.ValidationError(
            {attr: [unknown_reference(str(model._meta.verbose_name), value)]}, code="does_not_exist"
        )
    return found


def sale_lines(sale: Sale, product_id: str) -> list:
    """The sale's lines of `product_id` (the product's id, or a line's sku); none → 404."""
    pk = parse_id(product_id)
    condition = Q(sku=product_id) | Q(product_id=pk) if pk else Q(sku=product_id)
    items = list(sale.items.filter(condition).order_by("pk")) if "\x00" not in product_id else []
    if not items:
        raise exceptions.NotFound(f"Product {product_id} is not on sale {sale.pk}.")
    return items


class WarehouseView(ItemView):
    field, model, nullable = "warehouse", Warehouse, False

    @schema.operation(
        "item_warehouse",
        "Update sale item warehouse (Omnilabs)",
        schema.OK,
        request=schema.WarehouseRequest,
        ids=ITEM_IDS,
        write=True,
    )
    def post(self, request, sale_id, product_id):
        return self.update(sale_id, product_id)


class CarrierView(ItemView):
    field, model = "carrier", Carrier

    @schema.operation(
        "item_carrier",
        "Update sale item carrier (Omnilabs)",
        schema.OK,
        request=schema.CarrierRequest,
        ids=ITEM_IDS,
        write=True,
    )
    def post(self, request, sale_id, product_id):
        return self.update(sale_id, product_id)


class ProductGroupView(ItemView):
    field, model = "product_group", ProductGroup

    @schema.operation(
        "item_product_group",
        "Update sale item product group (Omnilabs)",
        schema.OK,
        request=schema.ProductGroupRequest,
        ids=ITEM_IDS,
        write=True,
    )
    def post(self, request, sale_id, product_id):
        return self.update(sale_id, product_id)


class RawField(serializers.Field):
    """The value as the body decoded it (a string, or an uploaded file)."""

    def to_internal_value(self, data):
        return data


class InvoiceInput(serializers.Serializer):
    invoice = RawField()
    user = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class InvoiceView(OmnilabsWriteView):
    @schema.operation(
        "sale_invoice", "Upload sale invoice (Omnilabs)", schema.OK, request=schema.InvoiceRequest, write=True
    )
    def post(self, request, sale_id):
        sale = self.sale(sale_id)
        data = self.input(InvoiceInput)
        user = self.acting_user(data.get("user"))
        content = invoice_content(data["invoice"])
        services.sale_attach_invoice(sale=sale, user=user, content=content, filename="invoice", attr="invoice")
        return Response(OK)


def invoice_content(value) -> bytes:
    """The invoice's bytes: base64 text (line breaks and a `data:…;base64,` prefix allowed), or an uploaded file."""
    if isinstance(value, UploadedFile):
        if value.size > services.INVOICE_MAX_BYTES:
            raise exceptions.ValidationError({"invoice": ["The file is larger than 10 MB."]}, code="max_size")
        return value.read()
    if not isinstance(value, str):
        raise exceptions.ValidationError({"invoice": ["Expected base64 text."]}, code="invalid")
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise exceptions.ValidationError({"invoice": ["Not valid base64."]}, code="invalid") from None


@extend_schema(exclude=True)
class UnknownRouteView(OmnilabsView):
    """Any other path under the prefix: Omnilabs' 404 (`Cannot GET /x`), not the site's HTML page."""

    permission_classes = []

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise exceptions.NotFound(f"Cannot {request.method} {request.path}")

    get = post = put = patch = delete = http_method_not_allowed
