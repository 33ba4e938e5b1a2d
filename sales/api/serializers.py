"""Sale representations and the inputs of the sales endpoints. Validation only: rules live in services."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.models import Customer
from inventory.models import Product, ProductGroup, Variant, Warehouse
from payments.models import PaymentMethod, PaymentState
from sales.api.exchange_rates import RateField
from sales.api.representation import CUSTOMER_SUMMARY, ITEM, SALE, TAX_SUMMARY, USER_SUMMARY, SaleAddressSerializer
from sales.models import (
    CancelReason,
    Carrier,
    Channel,
    DeliveryMode,
    DiscountType,
    Invoice,
    PaymentMode,
    PriceList,
    Sale,
    SaleEvent,
    SaleStatus,
    Store,
    TaxCalculation,
    TaxRate,
)
from sales.services import CREATE_STATUSES
from salesproject.api.fields import (
    MAX_ID,
    AmountField,
    CodeRelatedField,
    IdField,
    StrictIntegerField,
    StrictPrimaryKeyRelatedField,
    whole_number,
)
from salesproject.api.representation import TableSerializer
from salesproject.api.serializers import StrictSerializer
from salesproject.metadata import MetadataField

# --- output -----------------------------------------------------------------------------
# Built from the field tables in sales.api.representation (the fast renderers and the CSV export read them too).

UserSummarySerializer = USER_SUMMARY.serializer()
CustomerSummarySerializer = CUSTOMER_SUMMARY.serializer()
TaxSummarySerializer = TAX_SUMMARY.serializer()
SaleItemSerializer = ITEM.serializer()


class SaleListSerializer(TableSerializer):
    """A sale with its items (the list); the detail adds payments."""

    table = SALE
    detail = False

    class Meta:
        model = Sale


class SaleSerializer(SaleListSerializer):
    detail = True


class SaleEventSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True, allow_null=True)
    data = serializers.JSONField(read_only=True)

    class Meta:
        model = SaleEvent
        fields = ["id", "type", "from_status", "to_status", "user", "data", "created_at"]
        read_only_fields = fields


# Sums over any number of sales: no digit limit of their own (a 15-digit column summed over a billion
# sales still fits the 28 digits of Python's decimal context), so no stored data can break the summary.
# No fixed places either: the selector quantizes each figure to its currency's minor units ("1500" JPY).
SUM = {"max_digits": None, "decimal_places": None}


class SaleSummaryStatusSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    total = serializers.DecimalField(
        **SUM, help_text="Net totals (grand total minus returns) in the base currency, each sale converted."
    )


class SaleSummaryCurrencySerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="The matching sales in this currency, every status.")
    total_revenue = serializers.DecimalField(
        **SUM, help_text="Net totals of its confirmed, in-delivery and completed sales, in this currency."
    )
    total_paid = serializers.DecimalField(**SUM, help_text="Paid totals of its sales, in this currency.")


class SaleSummarySerializer(serializers.Serializer):
    total_sales = serializers.IntegerField()
    total_revenue = serializers.DecimalField(
        **SUM,
        help_text="Net totals of the confirmed, in-delivery and completed sales in the base currency "
        "(`SALES_BASE_CURRENCY`): each sale converted with its own exchange rate and rounded, then added up.",
    )
    total_paid = serializers.DecimalField(**SUM, help_text="Paid totals in the base currency, converted per sale.")
    by_status = serializers.DictField(child=SaleSummaryStatusSerializer())
    by_currency = serializers.DictField(
        child=SaleSummaryCurrencySerializer(), help_text="Per currency code, in that currency's own money."
    )


class InvoiceSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = ["id", "number", "url"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, invoice: Invoice) -> str:
        request = self.context.get("request")
        path = f"/api/v1/sales/{invoice.sale_id}/invoice/"
        return request.build_absolute_uri(path) if request else path


# --- input ------------------------------------------------------------------------------------


class _Preloaded:
    """A related field that first looks its value up among the rows its list loaded for every line at once.

    Only well-formed values are preloaded; anything else (and a value that
    matches no row) goes through the field's own lookup, so errors read exactly
    as they would without the preloading.
    """

    lookup = "pk"

    def preload_key(self, value):
        raise NotImplementedError

    def to_internal_value(self, data):
        loaded = getattr(self.parent, "_preloaded", {}).get(self.field_name, {})
        key = self.preload_key(data)
        if key is not None and key in loaded:
            return loaded[key]
        return super().to_internal_value(data)


class PreloadedPrimaryKeyField(_Preloaded, StrictPrimaryKeyRelatedField):
    def preload_key(self, value) -> int | None:
        value = whole_number(value)
        return value if value is not None and 0 < value <= MAX_ID else None


class PreloadedCodeField(_Preloaded, CodeRelatedField):
    lookup = "code"

    def preload_key(self, value) -> str | None:
        if isinstance(value, str | int) and not isinstance(value, bool) and "\x00" not in str(value):
            return str(value)
        return None


class PreloadingListSerializer(serializers.ListSerializer):
    """Sale lines: one query per kind of reference (variants, products, warehouses…), not one per line."""

    def to_internal_value(self, data):
        if isinstance(data, list):
            self.child._preloaded = self._preload(data)
        try:
            return super().to_internal_value(data)
        finally:
            self.child._preloaded = {}

    def _preload(self, data: list) -> dict[str, dict]:
        preloaded = {}
        for name, field in self.child.fields.items():
            if not isinstance(field, _Preloaded):
                continue
            keys = {field.preload_key(line.get(name)) for line in data if isinstance(line, dict)} - {None}
            if keys:
                rows = field.get_queryset().filter(**{f"{field.lookup}__in": keys})
                preloaded[name] = {field.preload_key(getattr(row, field.lookup)): row for row in rows}
        return preloaded


class SaleItemInputSerializer(StrictSerializer):
    product = PreloadedPrimaryKeyField(
        queryset=Product.objects.select_related("product_group").prefetch_related("variants"),
        required=False, allow_null=True,
    )
    variant = PreloadedPrimaryKeyField(
        queryset=Variant.objects.select_related("product__product_group"), required=False, allow_null=True
    )
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000)
    unit_price = AmountField(min_value=0, required=False, allow_null=True)
    discount = AmountField(min_value=0, required=False, default=0)
    discount_type = serializers.ChoiceField(choices=DiscountType.choices, required=False, default=DiscountType.FIXED)
    warehouse = PreloadedCodeField(queryset=Warehouse.objects.all(), required=False, allow_null=True)
    carrier = PreloadedCodeField(queryset=Carrier.objects.all(), required=False, allow_null=True)
    tracking_code = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    tracking_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    product_group = PreloadedCodeField(queryset=ProductGroup.objects.all(), required=False, allow_null=True)
    tax = PreloadedCodeField(
        queryset=TaxRate.objects.prefetch_related("components"), required=False, allow_null=True,
        help_text="This line's own tax (code); null: the sale's.",
    )
    tax_included = serializers.BooleanField(
        required=False, allow_null=True, help_text="Whether this line's price includes its tax; null: the sale's."
    )

    class Meta:
        list_serializer_class = PreloadingListSerializer

    def validate(self, attrs):
        if not attrs.get("product") and not attrs.get("variant"):
            raise serializers.ValidationError({"product": ["Give a product or a variant."]}, code="required")
        return attrs


class PaymentInputSerializer(StrictSerializer):
    amount = AmountField(min_value=Decimal("0.001"))
    method = serializers.ChoiceField(choices=PaymentMethod.choices, default=PaymentMethod.CASH)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, allow_null=True)
    received_at = serializers.DateTimeField(required=False, allow_null=True)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=PaymentState.choices, default=PaymentState.SUCCESSFUL)


class SaleWriteSerializer(StrictSerializer):
    """Fields a client may set on a sale (create, and PATCH while it is open)."""

    customer = StrictPrimaryKeyRelatedField(queryset=Customer.objects.all(), required=False, allow_null=True)
    channel = CodeRelatedField(queryset=Channel.objects.all(), required=False, allow_null=True)
    warehouse = CodeRelatedField(queryset=Warehouse.objects.all(), required=False)
    external_id = serializers.CharField(max_length=100, required=False, allow_blank=True)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    exchange_rate = RateField(
        required=False, allow_null=True,
        help_text="Base-currency units per unit of `currency` (> 0, up to 8 decimals). Default: the rate valid at "
        "`sold_at` (400 `exchange_rate_missing` without one); 1 in the base currency. Taken again when a draft "
        "or pending sale's currency changes.",
    )
    sold_at = serializers.DateTimeField(required=False)
    items = SaleItemInputSerializer(many=True, allow_empty=False, max_length=1000)
    discount = AmountField(min_value=0, required=False)
    discount_type = serializers.ChoiceField(choices=DiscountType.choices, required=False)
    tax = CodeRelatedField(queryset=TaxRate.objects.all(), required=False, allow_null=True)
    prices_include_tax = serializers.BooleanField(required=False)
    shipping_cost = AmountField(min_value=0, required=False)
    tax_shipping = serializers.BooleanField(required=False)
    tax_calculation = serializers.ChoiceField(
        choices=TaxCalculation.choices, required=False,
        help_text="`custom`: the sale's tax is `tax_amount`, shared over the lines by their net.",
    )
    tax_amount = AmountField(min_value=0, required=False, allow_null=True, help_text="The custom tax.")
    price_list = CodeRelatedField(
        queryset=PriceList.objects.all(), required=False, allow_null=True,
        help_text="Prices the items sent without unit_price; null: the customer's, else the channel's list.",
    )
    discount_code = serializers.CharField(
        max_length=50, required=False, allow_blank=True,
        help_text="A promotion's code; 400 `invalid_discount_code` when it cannot apply.",
    )
    billing_address = SaleAddressSerializer(required=False)
    shipping_address = SaleAddressSerializer(required=False)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    staff_note = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    admin_note = serializers.CharField(
        max_length=5000, required=False, allow_blank=True,
        help_text="Staff only: a seller sending it gets 400 `permission`; editable in any status.",
    )
    tags = serializers.ListField(child=serializers.CharField(max_length=50), max_length=50, required=False)
    due_date = serializers.DateField(required=False, allow_null=True, help_text="Editable in any status.")
    customer_reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True,
        help_text="The buyer's own reference (PO number); editable in any status.",
    )
    metadata = MetadataField()
    delivery_mode = serializers.ChoiceField(
        choices=DeliveryMode.choices, required=False, help_text="`pickup` sales need no shipping address."
    )
    payment_mode = serializers.ChoiceField(
        choices=PaymentMode.choices, required=False, allow_null=True,
        help_text="Null: not stated. A `prepaid` sale is not fulfilled while money is due (409 `payment_required`).",
    )
    delivery_note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    store = CodeRelatedField(
        queryset=Store.objects.all(), required=False, allow_null=True,
        help_text="The store's code; default: the seller's only store. One the seller is not a member of is 400 "
        "`permission` (staff may name any).",
    )
    device = serializers.CharField(max_length=64, required=False, allow_blank=True, help_text="The POS terminal id.")

    def validate_admin_note(self, value: str) -> str:
        request = self.context.get("request")
        if request is not None and not request.user.is_staff:
            # As `seller` on a new sale: a staff-only field in a body the seller may send otherwise.
            raise serializers.ValidationError("Only staff may write the admin note.", code="permission")
        return value


class SaleCreateSerializer(SaleWriteSerializer):
    status = serializers.ChoiceField(choices=[(s, s) for s in CREATE_STATUSES], default=SaleStatus.PENDING)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    payments = PaymentInputSerializer(many=True, required=False, max_length=100)
    seller = StrictPrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False, help_text="Staff only; defaults to you."
    )

    def validate_seller(self, seller):
        request = self.context["request"]
        if seller != request.user and not request.user.is_staff:
            raise serializers.ValidationError("Only staff may sell on behalf of someone else.", code="permission")
        return seller


class SaleUpdateSerializer(SaleWriteSerializer):
    items = SaleItemInputSerializer(many=True, allow_empty=False, max_length=1000, required=False)


class SaleItemUpdateSerializer(StrictSerializer):
    warehouse = CodeRelatedField(queryset=Warehouse.objects.all(), required=False)
    carrier = CodeRelatedField(queryset=Carrier.objects.all(), required=False, allow_null=True)
    tracking_code = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tracking_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    product_group = CodeRelatedField(queryset=ProductGroup.objects.all(), required=False, allow_null=True)


class StatusChangeSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=SaleStatus.choices)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CancelSerializer(StrictSerializer):
    reason = serializers.ChoiceField(choices=CancelReason.choices, required=False, default=CancelReason.OTHER)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RejectSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ShipSerializer(StrictSerializer):
    carrier = CodeRelatedField(queryset=Carrier.objects.all(), required=False, allow_null=True)
    tracking_code = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    tracking_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")


class RefundSerializer(StrictSerializer):
    restock = serializers.BooleanField(default=False)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReturnItemSerializer(StrictSerializer):
    item = IdField(help_text="The id of one of the sale's items.")
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000)


class ReturnSerializer(StrictSerializer):
    items = ReturnItemSerializer(many=True, allow_empty=False, max_length=1000)
    restock = serializers.BooleanField(default=False)
    refund = serializers.BooleanField(default=False)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class InvoiceUploadSerializer(StrictSerializer):
    file = serializers.FileField(required=False, help_text="Multipart upload: PDF, PNG or JPEG, at most 10 MB.")
    invoice = serializers.CharField(required=False, help_text="Base64 content (JSON alternative to `file`).")
    filename = serializers.CharField(max_length=255, required=False, default="invoice")

    def validate(self, attrs):
        if not attrs.get("file") and not attrs.get("invoice"):
            raise serializers.ValidationError(
                {"file": ["Send a `file` (multipart) or `invoice` (base64)."]}, code="required"
            )
        return attrs
