"""OpenAPI shapes of the cart dialect (seed 000): what its views write, field for field (the schema only)."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

STATUS = ["pending", "confirmed", "cancelled"]
STATUS_CHOICES = [(word, word) for word in STATUS]  # ENUM_NAME_OVERRIDES["CartSellStatusEnum"]


class CartError(serializers.Serializer):
    error = serializers.CharField(help_text="The product's error code (`not_found`, `insufficient_stock`, …).")
    message = serializers.CharField()


ERROR_TEXT = {
    400: "Invalid request data",
    401: "Unauthorized",
    404: "Sale not found",
    409: "Insufficient stock, or the sale's status does not allow it",
}


def errors(*codes: int) -> dict:
    return {code: OpenApiResponse(CartError, description=ERROR_TEXT[code]) for code in codes}


class CartSellLine(serializers.Serializer):
    productId = serializers.CharField(help_text="`prod_<id>` or the bare id (a number is accepted too).")
    variantId = serializers.CharField(required=False, allow_null=True,
                                      help_text="`var_<id>`; needed when the product has several variants.")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    price = serializers.FloatField(required=False, allow_null=True, min_value=0,
                                   help_text="The unit price charged; default: the catalogue price.")


class CartSellCreate(serializers.Serializer):
    products = CartSellLine(many=True)


class CartEmpty(serializers.Serializer):
    pass


class CartSellProduct(serializers.Serializer):
    productId = serializers.CharField()
    variantId = serializers.CharField(help_text="When the request named one or the product has several variants.")
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    price = serializers.FloatField()
    subtotal = serializers.FloatField()


class CartSellDetailProduct(CartSellProduct):
    image = serializers.CharField(allow_null=True)


class CartSell(serializers.Serializer):
    id = serializers.CharField(help_text="`sell_<id>`")
    userId = serializers.CharField(help_text="`usr_<id>`: the seller")
    products = CartSellProduct(many=True)
    total = serializers.FloatField()
    status = serializers.ChoiceField(choices=STATUS)
    createdAt = serializers.DateTimeField()
    confirmedAt = serializers.DateTimeField(help_text="Once confirmed.")


class CartSellDetail(CartSell):
    products = CartSellDetailProduct(many=True)


class CartSellEnvelope(serializers.Serializer):
    sell = CartSell()


class CartSellDetailEnvelope(serializers.Serializer):
    sell = CartSellDetail()


class CartSellList(serializers.Serializer):
    sells = CartSell(many=True)
    totalSales = serializers.IntegerField()
    totalRevenue = serializers.FloatField(
        help_text="Sum of `total` of the listed sales not cancelled, in the base currency (each converted)."
    )


class CartConfirmedProduct(serializers.Serializer):
    productId = serializers.CharField()
    quantity = serializers.IntegerField()
    price = serializers.FloatField()


class CartConfirmedSell(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=STATUS)
    confirmedAt = serializers.DateTimeField()
    products = CartConfirmedProduct(many=True)
    total = serializers.FloatField()


class CartConfirmEnvelope(serializers.Serializer):
    message = serializers.CharField()
    sell = CartConfirmedSell()


class CartCancelEnvelope(serializers.Serializer):
    message = serializers.CharField()
    sellId = serializers.CharField()
