"""OpenAPI shapes of the sale-transactions dialect (seed 004), key for key as `render` writes them."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers


def text():
    return serializers.CharField(allow_null=True)


def number():
    return serializers.FloatField(allow_null=True)


def whole():
    return serializers.IntegerField(allow_null=True)


def flag():
    return serializers.BooleanField(allow_null=True)


def when():
    return serializers.DateTimeField(allow_null=True)


def texts():
    return serializers.ListField(child=serializers.CharField())


class TransactionsError(serializers.Serializer):
    message = serializers.CharField()
    error = serializers.CharField(help_text="The product's error code (`not_found`, `already_assigned`, …).")


ERROR_TEXT = {
    400: "Invalid body (a field missing or of the wrong kind, an amount that is not the transaction's)",
    401: "No token, or not a valid one (`Authorization: Bearer <token>` or `ApiKey: <token>`)",
    403: "Not staff",
    404: "No such sale",
    409: "The transaction is already assigned to a sale, or the sale cannot take it",
}


def errors(*codes: int) -> dict:
    return {code: OpenApiResponse(TransactionsError, description=ERROR_TEXT[code]) for code in codes}


class TransactionAssign(serializers.Serializer):
    amount = serializers.FloatField(required=False, allow_null=True,
                                    help_text="The transaction's amount (a number or a decimal string).")
    paymentMethod = serializers.CharField(
        required=False, allow_null=True,
        help_text="BANK_TRANSFER, WALLET_TRANSFER, USSD, CARD, CASH, DEPOSIT, OTHER; needed for an unknown reference.",
    )
    saleId = serializers.CharField(help_text="The sale's id (or its reference).")
    transactionReference = serializers.CharField()


class TxCodeName(serializers.Serializer):
    code = text()
    name = text()


class TxCountry(TxCodeName):
    currency = text()


class TxWallet(serializers.Serializer):
    virtualBankCode = text()


class TxPerson(serializers.Serializer):
    country = TxCountry()
    firstName = text()
    lastName = text()
    wallet = TxWallet()
    city = TxCodeName()
    phone = text()
    profileTenant = text()
    photo = text()
    get_id = text()
    state = TxCodeName()
    username = text()
    status = text()
    profileOwners = texts()
    address = text()
    fullName = text()


class TxOwner(serializers.Serializer):
    profileTenant = text()
    city = TxCodeName()
    country = TxCountry()
    firstName = text()
    lastName = text()
    phone = text()
    photo = text()
    state = TxCodeName()
    username = text()
    wallet = TxWallet()
    id = text()
    fullName = text()


class TxSellerAddress(serializers.Serializer):
    country = text()
    latitude = number()
    lga = text()
    name = text()
    state = text()
    longitude = number()


class TxSeller(serializers.Serializer):
    get_id = text()
    name = text()
    photo = text()
    wallet = serializers.DictField()
    address = TxSellerAddress(allow_null=True)
    location = serializers.DictField(allow_null=True)
    user = text()
    owner = TxOwner()
    businessHandle = text()
    shippingFee = number()
    phone = text()
    category = text()
    active = flag()
    acceptingOrder = flag()
    isDistributor = flag()
    isManufacturer = flag()


class TxProduct(serializers.Serializer):
    productId = text()
    productName = text()
    images = texts()
    quantity = whole()


class TxSaleRef(serializers.Serializer):
    id = serializers.CharField()


class TxPrice(serializers.Serializer):
    price = number()
    unitQuantity = whole()
    unitPrice = number()


class TxDetailProduct(serializers.Serializer):
    id = whole()
    uuid = text()
    createdAt = when()
    updatedAt = when()
    tenantId = text()
    merchantId = text()
    businessId = text()
    name = text()
    description = text()
    sku = text()
    category = text()
    subCategories = text()
    brand = text()
    countryCode = text()
    productPublicId = text()
    minimumOrderQuantity = whole()
    costPrice = TxPrice()
    sellingPrice = TxPrice()
    promotion = serializers.DictField(allow_null=True)
    quantityOnHand = whole()
    reorderLevel = whole()
    stockLevel = text()
    unit = text()
    weight = number()
    visibility = flag()
    images = texts()
    clusters = serializers.ListField(child=serializers.IntegerField())


class TxSaleDetail(serializers.Serializer):
    id = whole()
    uuid = text()
    createdAt = when()
    updatedAt = when()
    tenantId = text()
    merchantId = text()
    businessId = text()
    countryCode = text()
    product = TxDetailProduct()
    quantity = whole()
    unitPrice = number()
    amount = number()
    promotionDiscount = number()
    costPrice = number()
    totalCostPrice = number()
    profit = number()
    sellingPrice = TxPrice()
    quantityRemaining = whole()
    sale = TxSaleRef()
    parentSale = TxSaleRef(allow_null=True)


class TxSaleTransaction(serializers.Serializer):
    id = text()
    createdAt = when()
    updatedAt = when()
    amount = number()
    totalShippingFee = number()
    totalOrderAmount = number()
    sales = TxSaleRef(many=True)
    tenantId = text()
    countryCode = text()
    paymentStatus = text()
    paymentMethod = text()
    paymentMode = text()
    transactionReference = text()
    globalOrderNumber = text()


class TxTracking(serializers.Serializer):
    id = whole()
    uuid = text()
    createdAt = when()
    updatedAt = when()
    deliveryStatus = text()
    isDelayed = flag()
    merchantId = text()
    businessId = text()
    tenantId = text()
    sale = TxSaleRef()


class TxCommon(serializers.Serializer):
    shippingFee = number()
    orderAmount = number()
    totalAmount = number()
    discount = number()
    paymentMethod = text()
    paymentMode = text()
    paymentStatus = serializers.CharField(help_text="The assigned transaction's: PENDING, SUCCESSFUL or FAILED.")
    deliveryMode = text()
    deliveryStatus = text()
    orderNumber = text()
    totalQuantity = whole()
    deliveryAddress = text()


class TxSale(TxCommon):
    id = text()
    createdAt = when()
    updatedAt = when()
    tenantId = text()
    agentId = text()
    merchantId = text()
    businessId = text()
    customerId = text()
    requestId = text()
    transactionReference = text()
    paymentReference = text()
    countryCode = text()
    deliveryNote = text()
    globalOrderNumber = text()
    isPartialParent = flag()
    isPartial = flag()
    isUpdated = flag()
    totalPromotionDiscount = number()
    discountType = text()
    amountPaid = number()
    saleDetails = TxSaleDetail(many=True)
    saleTransaction = TxSaleTransaction()
    parentSale = TxSaleRef(allow_null=True)
    salesTracking = TxTracking(many=True)


class TxData(TxCommon):
    id = text()
    requestId = text()
    merchantId = text()
    customer = TxPerson(allow_null=True)
    agent = TxPerson(allow_null=True)
    seller = TxSeller()
    products = TxProduct(many=True)
    sale = TxSale()


class TransactionAssigned(serializers.Serializer):
    message = serializers.CharField()
    data = TxData()
    meta = inline_serializer(  # the sample's pagination block; one sale, no list: every key null
        "TxMeta", fields={key: whole() for key in ("currentPage", "from", "to", "perPage", "total", "lastPage")}
    )
