"""The body of `POST` / `PUT /v1/sales.json` (seed 003): the document's camelCase fields, each checked here and
turned into the product's values (`mapping.request_to_product`).

Fields the document lists that the product derives (totals, statuses, tax rates) or does not keep (reseller,
dropship, ShipStation, Intercom, …) are declared read-only: a client sending the object back is not refused
for them, and they are ignored. Anything else unknown is a 400, as on `/api/v1/`.
"""

from collections.abc import Callable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from compat.base import parse_id
from compat.orders import mapping
from customers.models import Customer
from inventory.models import Variant, Warehouse
from sales.api.exchange_rates import RateField
from sales.models import CancellationStatus, CancelReason, Channel, CloneReason, PriceList, Promotion, TaxCalculation
from salesproject.api.fields import AmountField, StrictIntegerField, StrictPrimaryKeyRelatedField
from salesproject.api.serializers import StrictSerializer

STATUS_WORDS = mapping.STATUS_WORDS
CURRENCY_BY_NUMBER, CURRENCY_NUMBER = mapping.CURRENCY_BY_NUMBER, mapping.CURRENCY_NUMBER


@extend_schema_field({"type": "integer", "nullable": True})
class IdOrCodeField(serializers.Field):
    """Reference data named by its integer id, or by its code (compat.md, "Identifiers")."""

    default_error_messages = {
        "does_not_exist": "Unknown {kind} {value}.",
        "invalid": "Expected the {kind}'s id (a whole number) or its code.",
    }

    def __init__(self, *, queryset: QuerySet, **kwargs):
        self.queryset = queryset
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Model:
        kind = self.queryset.model._meta.verbose_name
        number = parse_id(data)
        if number is not None:
            lookup = {"pk": number}
        elif isinstance(data, str) and data.strip() and "\x00" not in data and len(data) <= 100:
            lookup = {"code": data.strip()}
        else:
            self.fail("invalid", kind=kind)
        found = self.queryset.filter(**lookup).first()
        if found is None:
            self.fail("does_not_exist", kind=kind, value=data if number is not None else f'"{data}"')
        return found


@extend_schema_field({"type": "integer", "nullable": True})
class CurrencyIdField(serializers.Field):
    """`currencyId`: an ISO 4217 numeric code (978 EUR, 840 USD); the alphabetic code is read as well."""

    default_error_messages = {"invalid": "Expected an ISO 4217 numeric currency code such as 978 (EUR) or 840 (USD)."}

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, data) -> str:
        number = parse_id(data)
        if number in CURRENCY_BY_NUMBER:
            return CURRENCY_BY_NUMBER[number]
        if isinstance(data, str) and data.strip().upper() in CURRENCY_NUMBER:
            return data.strip().upper()
        self.fail("invalid")


@extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
class DateOrderedField(serializers.DateTimeField):
    """An ISO date-time; `{}` (the document's placeholder), `null` or `""` mean "not given" (now, on create)."""

    def validate_empty_values(self, data):
        if data in ({}, None, ""):
            return True, None
        return super().validate_empty_values(data)

    def to_internal_value(self, value) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601")
        return super().to_internal_value(value)


class ItemSerializer(StrictSerializer):
    """One line (this dialect's extension: the document shows no lines)."""

    variantId = StrictPrimaryKeyRelatedField(queryset=Variant.objects.select_related("product__product_group"))
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000)
    price = AmountField(min_value=0, required=False, allow_null=True, help_text="Default: the catalogue's price.")


def _text(max_length: int = 255, **kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, allow_null=True, allow_blank=True, **kwargs)


def _address_fields(prefix: str, *, names: bool) -> dict[str, serializers.Field]:
    parts = {"AddressLineOne": 255, "AddressLineTwo": 255, "City": 100, "State": 100, "Zip": 20, "Name": 255}
    if names:
        parts |= {"FirstName": 120, "LastName": 120}
    fields = {f"{prefix}{part}": _text(length) for part, length in parts.items()}
    fields[f"{prefix}Country"] = _text(2, help_text="ISO 3166 alpha-2 code, e.g. IT.")
    return fields


@extend_schema_field({"type": "string", "nullable": True})
class FullNameField(serializers.JSONField):
    """`billingFullName` / `shippingFullName`: the name as a text. The document's sample sends `{}` there, a
    placeholder that is accepted and ignored, so the field reads JSON; the schema declares the text."""


class _SaleFields(StrictSerializer):
    status = serializers.ChoiceField(choices=STATUS_WORDS, required=False)
    items = ItemSerializer(many=True, required=False, max_length=1000, help_text="Extension: the sale's lines.")
    customerId = StrictPrimaryKeyRelatedField(queryset=Customer.objects.all(), required=False, allow_null=True)
    channelId = IdOrCodeField(queryset=Channel.objects.all())
    warehouseId = IdOrCodeField(queryset=Warehouse.objects.all())
    priceListId = IdOrCodeField(queryset=PriceList.objects.all())
    saleDiscountCodeId = IdOrCodeField(queryset=Promotion.objects.all(), help_text="A promotion's id, or its code.")
    currencyId = CurrencyIdField()
    exchangeRate = RateField(required=False, allow_null=True)
    dateOrdered = DateOrderedField(required=False, allow_null=True)
    discounts = AmountField(min_value=0, required=False, allow_null=True, help_text="The order discount (fixed).")
    tax = AmountField(min_value=0, required=False, allow_null=True, help_text="The tax when taxCalculation is custom.")
    taxCalculation = serializers.ChoiceField(choices=TaxCalculation.values, required=False)
    taxIncluded = serializers.BooleanField(required=False)
    taxShipping = serializers.BooleanField(required=False)
    externalId = _text(100)
    customerReference = _text(100)
    reference = _text(100)
    notes = _text(5000)
    internalNotes = _text(5000)
    adminNotes = _text(5000, help_text="Staff only.")
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), max_length=50, required=False, allow_null=True
    )
    userId = StrictPrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False, allow_null=True, help_text="The seller; staff only."
    )
    cancelled = serializers.BooleanField(required=False, help_text="PUT: true cancels the sale.")
    cancelReason = serializers.ChoiceField(choices=CancelReason.values, required=False, allow_null=True)
    billingFullName = FullNameField(required=False, allow_null=True, help_text="A text is the name.")
    shippingFullName = FullNameField(required=False, allow_null=True, help_text="A text is the name.")


# The whole body: the fields above, the three addresses' parts, and the document's other fields read-only.
SaleRequestSerializer = type(
    "OrdersSaleRequestSerializer",
    (_SaleFields,),
    {
        "__doc__": None,
        "__module__": __name__,
        **_address_fields("billing", names=True),
        **_address_fields("shipping", names=True),
        **_address_fields("receiver", names=False),
        **{name: serializers.JSONField(read_only=True) for name in mapping.READ_ONLY},
    },
)


def _choice(values, *, null: bool = False) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=list(values), allow_null=null)


def _number() -> serializers.FloatField:
    return serializers.FloatField(allow_null=True)


# The answer's JSON types (for the schema; `mapping.answer` writes it): a nullable string unless named here.
_INTEGERS = ("adjustmentReasonId", "channelId", "currencyId", "customerId", "priceListId", "resellerId",
             "saleDiscountCodeId", "saleId", "userId", "warehouseId")
_COUNTS = ("id", "lastFulfillmentReference", "lastPurchaseReference", "lastSaleReturnReference", "quantity", "weight")
_NUMBERS = ("cityTaxRate", "combinedTaxRate", "countyTaxRate", "districtTaxRate", "stateTaxRate", "exchangeRate",
            "paid", "discounts", "subtotal", "tax", "total")
_BOOLEANS = ("cancelled", "finalized", "invalidShippingAddress", "locked", "muteError", "shippingAddressMessage",
             "taxIncluded", "taxShipping")
_TIMES = ("cancelledAt", "channelCancelledAt", "createdAt", "updatedAt", "dateOrdered")
_ANSWER_FIELDS: dict[str, Callable[[], serializers.Field]] = {
    **{name: (lambda: serializers.IntegerField(allow_null=True)) for name in _INTEGERS},
    **{name: serializers.IntegerField for name in _COUNTS},
    **{name: _number for name in _NUMBERS},
    **{name: serializers.BooleanField for name in _BOOLEANS},
    **{name: (lambda: serializers.DateTimeField(allow_null=True)) for name in _TIMES},
    "status": lambda: _choice(STATUS_WORDS),
    "cancellationStatus": lambda: _choice(CancellationStatus.values),
    "cancelReason": lambda: _choice(CancelReason.values, null=True),
    "cloneReason": lambda: _choice(CloneReason.values, null=True),
    "inventoryStatus": lambda: _choice(mapping.INVENTORY_STATUS_WORDS),
    "invoiceStatus": lambda: _choice(mapping.INVOICE_STATUS_WORDS),
    "paymentStatus": lambda: _choice(mapping.PAYMENT_STATUS_WORDS),
    "returnStatus": lambda: _choice(mapping.RETURN_STATUS_WORDS),
    "resellerPayee": lambda: _choice(("reseller", "customer")),
    "taxCalculation": lambda: _choice(TaxCalculation.values),
    "tags": lambda: serializers.ListField(child=serializers.CharField()),
    "paymentProviderIds": lambda: serializers.ListField(child=serializers.JSONField()),
    "dropshipProblems": serializers.JSONField,
    "saleReturnProblems": serializers.JSONField,
}
SaleSerializer = type(
    "OrdersSaleSerializer",
    (serializers.Serializer,),
    {
        "__doc__": None,
        "__module__": __name__,
        **{
            name: _ANSWER_FIELDS.get(name, lambda: serializers.CharField(allow_null=True))()
            for name in sorted({*mapping.ANSWER, *mapping.DEFAULTS})
        },
    },
)


class OrdersErrorSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status.")
    error = serializers.CharField(help_text="A code: not_found, invalid, insufficient_stock, sale_locked, …")
    message = serializers.CharField()
