"""Seed 000, cart sales (`/compat/cart/`): `sells` of the caller, created pending, confirmed or cancelled.

A translation of the product's sales: reads through `sales.selectors`, writes through `sales.services`.
"""

from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Sum
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from compat.base import CompatView, parse_id
from compat.cart import schema as s
from inventory.models import Product, Variant
from sales import selectors, services
from sales.models import Sale, SaleItem, SaleStatus
from salesproject.api.fields import AmountField, StrictIntegerField
from salesproject.api.idempotency import IdempotentMixin
from salesproject.money import quantize

DIALECT = "cart"
SOURCE = "compat-cart"

# The document's three status words for the product's eight statuses.
STATUS_WORDS = {
    SaleStatus.DRAFT: "pending",
    SaleStatus.PENDING: "pending",
    SaleStatus.CONFIRMED: "confirmed",
    SaleStatus.IN_DELIVERY: "confirmed",
    SaleStatus.COMPLETED: "confirmed",
    SaleStatus.CANCELLED: "cancelled",
    SaleStatus.REJECTED: "cancelled",
    SaleStatus.REFUNDED: "cancelled",
}
NOT_REVENUE = [status for status, word in STATUS_WORDS.items() if word == "cancelled"]
# Id prefixes of the document (`sell_789`, `usr_123456`, `prod_123`, `var_001`); accepted with or without.
PREFIX = {"sell": "sell_", "user": "usr_", "product": "prod_", "variant": "var_"}
MESSAGES = {"confirmed": "Sale confirmed successfully", "cancelled": "Sale cancelled successfully"}
# The product's names of a line's fields (in the services' error messages) as the document names them.
LINE_FIELDS = {"product": "productId", "variant": "variantId", "unit_price": "price"}
OPTIONAL = ("variantId", "price")  # a line's fields that may be left empty
SELL_ID = OpenApiParameter("sellId", str, OpenApiParameter.PATH, description="`sell_<id>` or the bare id.")


def money(value: Decimal) -> float:
    """Money as the document writes it: a JSON number (already rounded to the currency's minor units)."""
    return float(value)


def timestamp(moment: datetime | None) -> str | None:
    """A moment as the document writes it: UTC, to the second, with `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


# --- input -------------------------------------------------------------------------------------------


class PrefixedRelatedField(serializers.Field):
    """A catalogue row named by the document's id: `prod_123`, `"123"` or `123`."""

    def __init__(self, *, model, prefix: str, **kwargs):
        self.model, self.prefix = model, prefix
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        pk = parse_id(data, prefix=self.prefix)
        row = self.model.objects.filter(pk=pk).first() if pk is not None else None
        if row is None:
            kind = self.model._meta.verbose_name
            raise serializers.ValidationError(f"Unknown {kind} {str(data)[:100]!r}.", code="does_not_exist")
        return row


class ProductLineSerializer(serializers.Serializer):
    productId = PrefixedRelatedField(model=Product, prefix=PREFIX["product"])
    variantId = PrefixedRelatedField(model=Variant, prefix=PREFIX["variant"], required=False, allow_null=True)
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000)
    price = AmountField(min_value=0, required=False, allow_null=True)

    def to_internal_value(self, data):
        """An empty optional field is no value (a form's `variantId=`, the JS sample's unset `item.variantId`)."""
        if isinstance(data, dict):
            data = {key: value for key, value in data.items() if not (key in OPTIONAL and value in ("", None))}
        return super().to_internal_value(data)


class SellCreateSerializer(serializers.Serializer):
    products = ProductLineSerializer(many=True, allow_empty=False, max_length=1000)


# --- output ------------------------------------------------------------------------------------------


def multi_variant_products(sales) -> set[int]:
    """Ids of the products of these sales' lines that have several variants (their lines name the variant)."""
    ids = {item.product_id for sale in sales for item in sale.items.all()}
    if not ids:
        return set()
    rows = Variant.objects.filter(product_id__in=ids).values("product_id").annotate(n=Count("pk")).filter(n__gt=1)
    return {row["product_id"] for row in rows}


def render_line(item: SaleItem, *, variant_named: bool, image: bool) -> dict:
    line = {
        "productId": f"{PREFIX['product']}{item.product_id}",
        "name": item.name,
        "quantity": item.quantity,
        "price": money(item.unit_price),
        "subtotal": money(item.subtotal),
    }
    if variant_named:
        line["variantId"] = f"{PREFIX['variant']}{item.variant_id}"
    if image:
        line["image"] = item.image_url or None
    return line


def render_sell(sale: Sale, *, named: set[int], image: bool = False, variants_given: set[int] = frozenset()) -> dict:
    """The document's sell: `named` products with several variants, `variants_given` variants the request named."""
    sell = {
        "id": f"{PREFIX['sell']}{sale.pk}",
        "userId": f"{PREFIX['user']}{sale.seller_id}",
        "products": [
            render_line(item, variant_named=item.product_id in named or item.variant_id in variants_given, image=image)
            for item in sale.items.all()
        ],
        "total": money(sale.grand_total),
        "status": STATUS_WORDS[sale.status],
        "createdAt": timestamp(sale.created_at),
    }
    if sale.confirmed_at:
        sell["confirmedAt"] = timestamp(sale.confirmed_at)
    return sell


def render_confirmed(sale: Sale) -> dict:
    return {
        "id": f"{PREFIX['sell']}{sale.pk}",
        "status": STATUS_WORDS[sale.status],
        "confirmedAt": timestamp(sale.confirmed_at),
        "products": [
            {"productId": f"{PREFIX['product']}{item.product_id}", "quantity": item.quantity,
             "price": money(item.unit_price)}
            for item in sale.items.all()
        ],
        "total": money(sale.grand_total),
    }


# --- views -------------------------------------------------------------------------------------------


class CartView(CompatView):
    dialect = DIALECT
    # A service's line fields (`items.0.variant`) in the document's words (`products.0.variantId`).
    attr_names = {"items": "products", **LINE_FIELDS}

    def error_body(self, status: int, code: str, message: str) -> dict:
        return {"error": code, "message": message}

    def scope(self, *, replica: bool = False):
        return selectors.sale_scope(user=self.request.user, replica=replica)

    def get_sale(self, sell_id: str) -> Sale:
        pk = parse_id(sell_id, prefix=PREFIX["sell"])
        sale = self.scope().filter(pk=pk).first() if pk is not None else None
        if sale is None:
            raise NotFound("Sale not found.")
        return sale

    def cancel(self, sell_id: str) -> Response:
        """Both of the document's cancels: the sale is cancelled (kept), its stock back."""
        sale = services.sale_cancel(sale=self.get_sale(sell_id), user=self.request.user)
        return Response({"message": MESSAGES["cancelled"], "sellId": f"{PREFIX['sell']}{sale.pk}"})


class SellsView(IdempotentMixin, CartView):
    @extend_schema(
        summary="Create a sale (pending, stock reserved)",
        request=s.CartSellCreate,
        responses={201: s.CartSellEnvelope, **s.errors(400, 401, 409)},
    )
    def post(self, request):
        """Sell `products` as a pending sale of the caller (their stock reserved): 409 when stock is short."""
        serializer = SellCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lines = serializer.validated_data["products"]
        items = [
            services.ItemData(
                product=line["productId"], variant=line.get("variantId"), quantity=line["quantity"],
                unit_price=line.get("price"),
            )
            for line in lines
        ]
        data = services.NewSale(items=items, status=SaleStatus.PENDING, source=SOURCE)
        sale = services.sale_create(seller=request.user, data=data, user=request.user)
        given = {line["variantId"].pk for line in lines if line.get("variantId")}
        body = {"sell": render_sell(sale, named=multi_variant_products([sale]), variants_given=given)}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(summary="The caller's sales, newest first", responses={200: s.CartSellList, **s.errors(401)})
    def get(self, request):
        """The caller's sales (staff: all), newest first, with their count and revenue (not cancelled ones)."""
        scope = self.scope(replica=True)  # a list, as v1's: from the read replica when there is one
        sales = list(selectors.sale_with_related(scope).order_by("-created_at", "-pk"))
        revenue = scope.exclude(status__in=NOT_REVENUE).aggregate(
            total=Sum(selectors.BaseAmount(F("grand_total")), default=Decimal(0))
        )["total"]
        named = multi_variant_products(sales)
        return Response({
            "sells": [render_sell(sale, named=named) for sale in sales],
            "totalSales": len(sales),
            "totalRevenue": money(quantize(revenue, settings.SALES_BASE_CURRENCY)),
        })


class SellDetailView(CartView):
    @extend_schema(summary="A sale, its products with their image", parameters=[SELL_ID],
                   responses={200: s.CartSellDetailEnvelope, **s.errors(401, 404)})
    def get(self, request, sellId):
        """One sale; `sellId` is `sell_<id>` or the bare id (another seller's sale: 404)."""
        sale = self.get_sale(sellId)
        sale = selectors.sale_with_related(Sale.objects.filter(pk=sale.pk)).get()
        return Response({"sell": render_sell(sale, named=multi_variant_products([sale]), image=True)})


class SellConfirmView(CartView):
    @extend_schema(summary="Confirm a pending sale (stock committed)", parameters=[SELL_ID], request=s.CartEmpty,
                   responses={200: s.CartConfirmEnvelope, **s.errors(401, 404, 409)})
    def put(self, request, sellId):
        """Confirm a pending sale: its reserved units leave the warehouse (409 from any other status)."""
        sale = services.sale_confirm(sale=self.get_sale(sellId), user=request.user)
        sale = selectors.sale_with_related(Sale.objects.filter(pk=sale.pk)).get()
        return Response({"message": MESSAGES["confirmed"], "sell": render_confirmed(sale)})


class SellCancelView(CartView):
    @extend_schema(summary="Cancel a sale (stock restored)", parameters=[SELL_ID], request=s.CartEmpty,
                   responses={200: s.CartCancelEnvelope, **s.errors(401, 404, 409)})
    def put(self, request, sellId):
        """Cancel a sale: its reservation is released, or its units put back if it was confirmed."""
        return self.cancel(sellId)


class SellDeleteView(CartView):
    @extend_schema(summary="Cancel a sale (the document's deleteSell)", parameters=[SELL_ID], request=None,
                   responses={200: s.CartCancelEnvelope, **s.errors(401, 404, 409)})
    def delete(self, request, sellId):
        """The document's `deleteSell`: cancels the sale (kept, as cancelled), exactly as `PUT /sells/cancel/:id`."""
        return self.cancel(sellId)



class UnknownRouteView(CartView):
    """Any other path under the prefix: the document's 404 in its envelope, not the site's."""

    permission_classes = []
    schema = None

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise NotFound(f"No route {request.method} {request.path}.")

    get = post = put = patch = delete = http_method_not_allowed
