"""Vendloop POS (seed 001) at `/compat/vendloop/`: list, fetch, create and delete sales as the document shows them.

Reads go through `sale_scope` and `SaleFilter`; a create is translated into the body of `/api/v1/sales/`,
validated by v1's own serializer and handed to `sale_create`; a delete is `sale_delete`.
"""

from decimal import Decimal, InvalidOperation

from django.http import QueryDict
from django_filters.utils import translate_validation
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from compat.base import CompatView, json_value, parse_id
from compat.vendloop import render
from compat.vendloop import schema as doc
from sales import selectors, services
from sales.api.serializers import SaleCreateSerializer
from sales.filters import SaleFilter
from sales.models import Sale, TaxRate
from salesproject.api.idempotency import IdempotentMixin
from salesproject.errors import NotFound, PermissionDenied, ValidationError

SOURCE = "compat-vendloop"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_REFERENCE = 100  # Sale.reference

# Query parameters of the list → the v1 list filters (SaleFilter).
LIST_FILTERS = {
    "customer_id": "customer",
    "product_id": "product",
    "variant_id": "variant",
    "user_id": "seller",
    "start_date": "start_date",
    "end_date": "end_date",
    "reference": "reference",  # a parameter of the document's fetch, for a client that sends no id
}
# Fields of the create body → v1's (SaleCreateSerializer); the rest of the body is not read.
SALE_FIELDS = {
    "user_id": "seller",
    "customer_id": "customer",
    "reference": "reference",
    "date": "sold_at",
    "discount": "discount",
    "discount_type": "discount_type",
    "note": "note",
}
ITEM_FIELDS = {
    "product_id": "product",
    "variant_id": "variant",
    "price": "unit_price",
    "discount": "discount",
    "discount_type": "discount_type",
    "quantity": "quantity",
}
PAYMENT_FIELDS = {"reference": "reference", "amount": "amount", "date": "received_at", "note": "note"}
AMOUNTS = frozenset({"discount", "unit_price", "amount"})
# v1's names in an error's path → the document's, so a message names what the client sent.
ATTR_NAMES = {
    **{v1: ours for table in (SALE_FIELDS, ITEM_FIELDS, PAYMENT_FIELDS) for ours, v1 in table.items()},
    "tax": "tax_id", "tax_included": "tax_method", "method": "paid_by", "status": "status", "items": "items",
    "payments": "payments",
}
# Statuses the create answers with 400 "Failed to add sale" (the document's one failure), whatever v1 says.
CREATE_FAILURES = frozenset({400, 404, 409, 422})


class VendloopView(CompatView):
    dialect = "vendloop"
    attr_names = ATTR_NAMES

    def error_body(self, status: int, code: str, message: str) -> dict:
        return {"status": False, "message": message}


@extend_schema(tags=["compat-vendloop"])
class SalesView(IdempotentMixin, VendloopView):
    """List sales (GET) or create one (POST)."""

    @extend_schema(operation_id="vendloop_sales_list", **doc.LIST)
    def get(self, request):
        params = request.query_params
        limit = _position(params.get("limit"), DEFAULT_LIMIT, "limit")
        start = _position(params.get("start"), 1, "start")
        limit = min(limit, MAX_LIMIT)
        query = QueryDict(mutable=True)
        for ours, v1 in LIST_FILTERS.items():
            if params.get(ours) not in (None, ""):
                query[v1] = params[ours]
        filterset = SaleFilter(query, queryset=selectors.sale_scope(user=request.user))
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        matches = filterset.qs.order_by("-sold_at", "-id")
        total = matches.count()
        page = list(render.sales_for_answer(matches)[start - 1 : start - 1 + limit]) if total >= start else []
        if not page:
            raise NotFound("Sale records not found")
        return Response({
            "status": True,
            "message": "Sale records found",
            "data": [render.render_sale(sale) for sale in page],
            "metadata": {"limit": limit, "start": start, "total": total},
        })

    @extend_schema(operation_id="vendloop_sales_create", **doc.CREATE)
    def post(self, request):
        body = request.data
        if not isinstance(body, dict):
            raise ValidationError("Send the sale's fields as an object.", code="parse_error")
        seller = body.get("user_id")
        if seller not in (None, "") and parse_id(seller) != request.user.pk and not request.user.is_staff:
            raise PermissionDenied("Only staff may record a sale for another user.", attr="user_id")
        serializer = SaleCreateSerializer(data=v1_sale(body), context={"request": request, "view": self})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        seller = data.pop("seller", None) or request.user
        items = [services.ItemData(**item) for item in data.pop("items")]
        for_users = [_payment_user(request, payment) for payment in _list(body.get("payments"), "payments")]
        payments = [
            services.NewPayment(**payment, for_user=for_user)
            for payment, for_user in zip(data.pop("payments", []), for_users, strict=False)
        ]
        sale = services.sale_create(
            seller=seller, data=services.NewSale(items=items, payments=payments, source=SOURCE, **data),
            user=request.user,
        )
        sale = render.sales_for_answer(Sale.objects.filter(pk=sale.pk)).get()
        return Response(
            {"status": True, "message": "Sale record added", "data": render.render_sale(sale, created=True)},
            status=status.HTTP_201_CREATED,
        )

    def failure(self, status_code: int, message: str) -> tuple[int, str]:
        if self.request.method == "POST" and status_code in CREATE_FAILURES:
            return status.HTTP_400_BAD_REQUEST, f"Failed to add sale: {message}"
        return status_code, message


@extend_schema(tags=["compat-vendloop"])
class SalesSlashView(SalesView):
    """The same with the trailing slash of the document's curl line."""

    @extend_schema(operation_id="vendloop_sales_list_slash", **doc.LIST)
    def get(self, request):
        return super().get(request)

    @extend_schema(operation_id="vendloop_sales_create_slash", **doc.CREATE)
    def post(self, request):
        return super().post(request)


@extend_schema(tags=["compat-vendloop"])
class SaleDetailView(VendloopView):
    """One sale by its id, or by its reference when `{id}` is not a number."""

    @extend_schema(
        operation_id="vendloop_sales_retrieve",
        summary="Fetch a single sale",
        parameters=[
            OpenApiParameter("id", str, OpenApiParameter.PATH, description="The sale's id, or its reference."),
            OpenApiParameter("reference", str, description="Ignored: the id in the path wins, as documented."),
        ],
        responses={200: doc.VendloopDetailAnswer, **doc.errors(401, 404)},
    )
    def get(self, request, id):
        key = id.rstrip("/")
        scope = selectors.sale_scope(user=request.user)
        number = parse_id(key)
        if number is not None:
            scope = scope.filter(pk=number)
        elif key and len(key) <= MAX_REFERENCE and "\x00" not in key:
            scope = scope.filter(reference=key)
        else:
            scope = scope.none()
        sale = render.sales_for_answer(scope).first()
        if sale is None:
            raise NotFound("Sale record not found")
        return Response({"status": True, "message": "Sale record found", "data": render.render_sale(sale)})


@extend_schema(tags=["compat-vendloop"])
class SaleDeleteView(VendloopView):
    """Delete a sale named by the `id` field (form, multipart or JSON)."""

    @extend_schema(
        operation_id="vendloop_sales_delete",
        summary="Delete a single sale",
        request=doc.DELETE_REQUEST,
        responses={200: doc.VendloopDeleteAnswer, **doc.errors(400, 401, 404, 409)},
    )
    def post(self, request):
        body = request.data if isinstance(request.data, dict) else {}
        value = body.get("id")
        number = parse_id(value.strip().strip('"') if isinstance(value, str) else value)  # curl -F 'id="12"'
        sale = selectors.sale_scope(user=request.user).filter(pk=number).first() if number else None
        if sale is None:
            raise NotFound("Sale record not found")
        services.sale_delete(sale=sale, user=request.user)
        return Response({"status": True, "message": "Sale record deleted"})


# --- translation of the create body ------------------------------------------------------------


def v1_sale(body: dict) -> dict:
    """The create body in v1's words. Values are passed on as sent (v1 validates them), only reformatted."""
    sale = {v1: _value(v1, body[ours]) for ours, v1 in SALE_FIELDS.items() if body.get(ours) not in (None, "")}
    if "customer" in sale:
        sale["customer"] = _id(sale["customer"])
    if "seller" in sale:
        sale["seller"] = _id(sale["seller"])
    word = body.get("status")
    if word in (None, ""):
        raise ValidationError("This field is required: completed or pending.", code="required", attr="status")
    if not isinstance(word, str) or word not in render.CREATE_STATUS:
        raise ValidationError("Use completed or pending.", code="invalid_choice", attr="status")
    sale["status"] = render.CREATE_STATUS[word]
    if body.get("tax_id") not in (None, ""):
        sale["tax"] = _tax_code(body["tax_id"])
    items = _list(body.get("items"), "items")
    if not items:
        raise ValidationError("This field is required: a JSON encoded list of lines.", code="required", attr="items")
    sale["items"] = [_v1_item(line) for line in items]
    payments = _list(body.get("payments"), "payments")
    if payments:
        sale["payments"] = [_v1_payment(payment) for payment in payments]
    return sale


def _v1_item(line) -> dict:
    if not isinstance(line, dict):
        return line  # v1 refuses it, naming the line
    item = {v1: _value(v1, line[ours]) for ours, v1 in ITEM_FIELDS.items() if line.get(ours) not in (None, "")}
    for name in ("product", "variant"):
        if name in item:
            item[name] = _id(item[name])
    if line.get("tax_id") not in (None, ""):
        item["tax"] = _tax_code(line["tax_id"])
        # The method of the line's own tax. A line without one is taxed by the sale's tax, which the document
        # always adds to the total after the order discount: its method stays the sale's (addition).
        method = line.get("tax_method")
        if method not in (None, ""):
            if not isinstance(method, str) or method not in render.TAX_INCLUDED:
                raise ValidationError("Use addition or subtraction.", code="invalid_choice", attr="items.tax_method")
            item["tax_included"] = render.TAX_INCLUDED[method]
    return item


def _v1_payment(payment) -> dict:
    if not isinstance(payment, dict):
        return payment
    out = {v1: _value(v1, payment[ours]) for ours, v1 in PAYMENT_FIELDS.items() if payment.get(ours) not in (None, "")}
    paid_by = payment.get("paid_by")
    if paid_by not in (None, ""):
        out["method"] = render.PAID_BY.get(paid_by.lower(), paid_by.lower()) if isinstance(paid_by, str) else paid_by
    return out


def _payment_user(request, payment):
    """Who a payment is recorded for (`user_id`): the caller, or anyone when the caller is staff (else 403)."""
    if not isinstance(payment, dict) or payment.get("user_id") in (None, ""):
        return None
    number = parse_id(payment["user_id"])
    if number == request.user.pk:
        return None
    if not request.user.is_staff:
        raise PermissionDenied("Only staff may record a payment for another user.", attr="payments.user_id")
    user = type(request.user).objects.filter(pk=number).first() if number else None
    if user is None:
        raise ValidationError(f"Unknown user {payment['user_id']!r}.", code="does_not_exist",
                              attr="payments.user_id")
    return user


def _list(value, attr: str) -> list:
    """A field documented as a JSON encoded list: a string, an array, or PHP's `items[0][x]` form keys."""
    value = json_value(value)
    if value in (None, ""):
        return []
    if isinstance(value, dict):  # a single line, or form keys without an index
        value = [value]
    if not isinstance(value, list):
        raise ValidationError("Expected a JSON encoded list.", code="not_a_list", attr=attr)
    return value


def _value(name: str, value):
    """A document value in v1's form: `"100.0000"` → `"100"` for amounts, `"2.0000"` → `"2"` for quantities."""
    if name in AMOUNTS or name == "quantity":
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            return value
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return value
        if not number.is_finite() or abs(number.adjusted()) > 30:  # v1 refuses it as sent
            return value
        if name == "quantity":
            return int(number) if number == number.to_integral_value() else value
        return format(number.normalize(), "f")
    return value


def _id(value):
    number = parse_id(value)
    return number if number is not None else value


def _tax_code(value):
    """A tax named by id or by code (the document names it by id): its code, as v1 takes it."""
    number = parse_id(value)
    if number is not None:
        code = TaxRate.objects.filter(pk=number).values_list("code", flat=True).first()
        if code is not None:
            return code
    return value


def _position(value, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    number = parse_id(value)
    if number is None or number > 10**9:
        raise ValidationError(f"{name} must be a whole number of at least 1.", attr=name)
    return number

