"""Sales, their items, activity log and invoices; channels, carriers and tax rates.

The sale's `status` is a django-fsm state machine: nothing sets it except a
transition method below, and `sales.services` runs every transition with the
sale row locked, inside one transaction, together with its stock and money
side effects.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_fsm import FSMField, FSMModelMixin, transition

from salesproject.models import MoneyField, TimeStampedModel

# Every money column holds three decimals, the most any ISO 4217 currency has (KWD, BHD, JOD, OMR, TND);
# amounts are quantized to their own currency's minor units (`salesproject.money`) before they are stored.
MONEY = {"max_digits": 15, "decimal_places": 3}  # MoneyField's; kept for the rollups' sums
# An exchange rate: one unit of a currency in the base currency.
RATE = {"max_digits": 18, "decimal_places": 8}


class ChannelKind(models.TextChoices):
    POS = "pos", "Point of sale"
    WEB = "web", "Web shop"
    MARKETPLACE = "marketplace", "Marketplace"
    PHONE = "phone", "Phone"
    OTHER = "other", "Other"


class Channel(TimeStampedModel):
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=ChannelKind.choices, default=ChannelKind.OTHER)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Carrier(TimeStampedModel):
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    # e.g. "https://track.example/{tracking_code}"
    tracking_url_template = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def tracking_url(self, tracking_code: str) -> str:
        if not (self.tracking_url_template and tracking_code):
            return ""
        return self.tracking_url_template.replace("{tracking_code}", tracking_code)


class TaxKind(models.TextChoices):
    PERCENT = "percent", "Percent of the price"
    FIXED = "fixed", "Fixed amount per unit"


class Jurisdiction(models.TextChoices):
    STATE = "state", "State"
    COUNTY = "county", "County"
    CITY = "city", "City"
    DISTRICT = "district", "District"
    OTHER = "other", "Other"


class TaxRate(TimeStampedModel):
    """A tax: a percent of the price, or a fixed amount per unit (an excise) in the sale's currency.

    With components (state, county, city, district rates of seed 003), `rate` is their sum.
    """

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=TaxKind.choices, default=TaxKind.PERCENT)
    rate = models.DecimalField(
        max_digits=12, decimal_places=2, help_text="Percent (e.g. 5.00), or for a fixed tax an amount per unit"
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=0) & (Q(kind="fixed") | Q(rate__lte=100)), name="tax_rate_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.rate}%)"


class TaxComponent(models.Model):
    """One jurisdiction's part of a combined tax (e.g. state 6.25 + county 1.00 + city 1.00)."""

    tax = models.ForeignKey(TaxRate, on_delete=models.CASCADE, related_name="components")
    name = models.CharField(max_length=200)
    jurisdiction = models.CharField(max_length=10, choices=Jurisdiction.choices, default=Jurisdiction.OTHER)
    location = models.CharField(max_length=200, blank=True)
    rate = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(rate__gte=0), name="tax_component_rate_non_negative")]

    def __str__(self) -> str:
        return f"{self.name} {self.rate}"


class ExchangeRate(models.Model):
    """One unit of `currency` is worth `rate` units of the base currency (`SALES_BASE_CURRENCY`) from `valid_from`."""

    currency = models.CharField(max_length=3)
    rate = models.DecimalField(**RATE)
    valid_from = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "valid_from"], name="exchange_rate_currency_from_key"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate} from {self.valid_from:%Y-%m-%d}"


class PriceList(TimeStampedModel):
    """Prices per variant in one currency, with quantity tiers; for a customer, a channel or named by a sale."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3)
    channel = models.ForeignKey(
        "Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="price_lists"
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class PriceListEntry(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="prices")
    variant = models.ForeignKey("inventory.Variant", on_delete=models.CASCADE, related_name="price_list_entries")
    price = MoneyField()
    min_quantity = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["price_list", "variant", "min_quantity"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "variant", "min_quantity"], name="price_list_entry_tier_key"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="price_list_entry_price_non_negative"),
            models.CheckConstraint(condition=Q(min_quantity__gte=1), name="price_list_entry_min_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.price_list_id} {self.variant_id} ≥{self.min_quantity}: {self.price}"


class PromotionKind(models.TextChoices):
    PERCENT = "percent", "Percent"
    FIXED = "fixed", "Fixed amount"


class PromotionScope(models.TextChoices):
    ORDER = "order", "The whole order"
    PRODUCTS = "products", "Some products"
    PRODUCT_GROUPS = "product_groups", "Some product groups"


class Promotion(TimeStampedModel):
    """A discount that applies by itself (`automatic`) or with its `code`, to the order or to some lines."""

    name = models.CharField(max_length=200)
    code = models.CharField(max_length=50, unique=True, null=True, blank=True)
    automatic = models.BooleanField(default=False)
    kind = models.CharField(max_length=10, choices=PromotionKind.choices, default=PromotionKind.PERCENT)
    value = MoneyField()
    applies_to = models.CharField(max_length=20, choices=PromotionScope.choices, default=PromotionScope.ORDER)
    products = models.ManyToManyField("inventory.Product", blank=True, related_name="promotions")
    product_groups = models.ManyToManyField("inventory.ProductGroup", blank=True, related_name="promotions")
    min_subtotal = MoneyField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)  # required for `fixed`
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    usage_limit = models.PositiveIntegerField(null=True, blank=True)
    usage_count = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="promotion_value_non_negative"),
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(usage_count__lte=F("usage_limit")),
                name="promotion_usage_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return self.code or self.name


class StoreRole(models.TextChoices):
    SELLER = "seller", "Seller"
    MANAGER = "manager", "Manager"


class Store(TimeStampedModel):
    """A shop, a team or a POS location: its sales, its default stock source, its members (records.md)."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="stores")
    channel = models.ForeignKey("Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="stores")
    address = models.JSONField(default=dict, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="StoreMembership", related_name="stores", blank=True
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class StoreMembership(models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="store_memberships")
    role = models.CharField(max_length=10, choices=StoreRole.choices, default=StoreRole.SELLER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["store", "user"]
        constraints = [models.UniqueConstraint(fields=["store", "user"], name="store_membership_key")]
        indexes = [models.Index(fields=["user", "role"], name="store_membership_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} of {self.store_id}"


class InvoiceStatus(models.TextChoices):
    NOT_INVOICED = "not_invoiced", "Not invoiced"
    PARTIALLY_INVOICED = "partially_invoiced", "Partially invoiced"
    INVOICED = "invoiced", "Invoiced"


class TaxCalculation(models.TextChoices):
    DEFAULT = "default", "Computed from the rates"
    CUSTOM = "custom", "Given amount (tax_amount)"


class SaleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    IN_DELIVERY = "in_delivery", "In delivery"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    REJECTED = "rejected", "Rejected"
    REFUNDED = "refunded", "Refunded"


# Stock is reserved while pending, and committed (taken off on_hand) from confirmed on.
RESERVING_STATUSES = frozenset({SaleStatus.PENDING})
COMMITTED_STATUSES = frozenset({SaleStatus.CONFIRMED, SaleStatus.IN_DELIVERY, SaleStatus.COMPLETED})
EDITABLE_STATUSES = frozenset({SaleStatus.DRAFT, SaleStatus.PENDING})
DELETABLE_STATUSES = frozenset({SaleStatus.DRAFT, SaleStatus.PENDING, SaleStatus.CANCELLED, SaleStatus.REJECTED})
CLOSED_STATUSES = frozenset({SaleStatus.CANCELLED, SaleStatus.REJECTED})
REVENUE_STATUSES = frozenset({SaleStatus.CONFIRMED, SaleStatus.IN_DELIVERY, SaleStatus.COMPLETED})
RETURNABLE_STATUSES = COMMITTED_STATUSES


def margin_percent(profit: Decimal, net: Decimal) -> Decimal | None:
    """Profit as a percent of `net` (without tax), two decimals half-up; None when `net` is 0 (no base)."""
    if not net:
        return None
    return (profit * 100 / net).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def net_total_expression() -> models.Expression:
    """`Sale.net_total` in SQL: what a sale is worth once returns are out (revenue adds these up)."""
    return F("grand_total") - F("returned_total")


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", "Unpaid"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    OVERPAID = "overpaid", "Overpaid"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


class FulfillmentStatus(models.TextChoices):
    UNFULFILLED = "unfulfilled", "Unfulfilled"
    PARTIALLY_FULFILLED = "partially_fulfilled", "Partially fulfilled"
    FULFILLED = "fulfilled", "Fulfilled"


class DeliveryMode(models.TextChoices):
    DISPATCH = "dispatch", "Dispatch"
    PICKUP = "pickup", "Pick-up"


class PaymentMode(models.TextChoices):
    PREPAID = "prepaid", "Prepaid"
    ON_DELIVERY = "on_delivery", "On delivery"
    IN_STORE = "in_store", "In store"


class TrackingStatus(models.TextChoices):
    """Where one fulfilment is; dispatch moves shipped → delivered, pick-up ready_for_pickup → picked_up."""

    READY_FOR_PICKUP = "ready_for_pickup", "Ready for pick-up"
    SHIPPED = "shipped", "Shipped"
    IN_TRANSIT = "in_transit", "In transit"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    PICKED_UP = "picked_up", "Picked up"
    FAILED = "failed", "Delivery failed"
    RETURNED = "returned", "Returned to sender"


# The tracking statuses each delivery mode passes, in order; `failed` and `returned` end a dispatch early.
TRACKING_FLOW = {
    DeliveryMode.DISPATCH: (
        TrackingStatus.SHIPPED, TrackingStatus.IN_TRANSIT, TrackingStatus.OUT_FOR_DELIVERY, TrackingStatus.DELIVERED,
    ),
    DeliveryMode.PICKUP: (TrackingStatus.READY_FOR_PICKUP, TrackingStatus.PICKED_UP),
}
TRACKING_STOPS = {DeliveryMode.DISPATCH: (TrackingStatus.FAILED, TrackingStatus.RETURNED), DeliveryMode.PICKUP: ()}
# A fulfilment in one of these takes no more tracking events.
FINAL_TRACKING_STATUSES = frozenset(
    {TrackingStatus.DELIVERED, TrackingStatus.PICKED_UP, TrackingStatus.RETURNED}
)
# Its units did not reach the customer: they count as unfulfilled again.
DEAD_TRACKING_STATUSES = frozenset({TrackingStatus.FAILED, TrackingStatus.RETURNED})
ARRIVED_TRACKING_STATUSES = frozenset({TrackingStatus.DELIVERED, TrackingStatus.PICKED_UP})


class DeliveryStatus(models.TextChoices):
    """The sale's delivery as a whole: the least advanced of its live fulfilments."""

    NONE = "none", "Not sent"
    READY_FOR_PICKUP = "ready_for_pickup", "Ready for pick-up"
    SHIPPED = "shipped", "Shipped"
    IN_TRANSIT = "in_transit", "In transit"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    PICKED_UP = "picked_up", "Picked up"
    FAILED = "failed", "Delivery failed"


# Least advanced first: a sale's delivery status is the first of these any live fulfilment is in.
DELIVERY_PROGRESS = (
    DeliveryStatus.READY_FOR_PICKUP,
    DeliveryStatus.SHIPPED,
    DeliveryStatus.IN_TRANSIT,
    DeliveryStatus.OUT_FOR_DELIVERY,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.PICKED_UP,
)


class CancellationStatus(models.TextChoices):
    NONE = "none", "None"
    PARTIAL = "partial", "Partial"
    FULL = "full", "Full"


class CloneReason(models.TextChoices):
    EXCHANGE = "exchange", "Exchange"
    NEW_SALE = "new_sale", "New sale"


class ReturnStatus(models.TextChoices):
    NONE = "none", "None"
    PARTIAL = "partial", "Partial"
    FULL = "full", "Full"


class CancelReason(models.TextChoices):
    CUSTOMER = "customer", "Customer changed or cancelled the order"
    FRAUD = "fraud", "Fraudulent order"
    INVENTORY = "inventory", "Items unavailable"
    DECLINED = "declined", "Payment declined"
    OTHER = "other", "Other"


class DiscountType(models.TextChoices):
    PERCENT = "percent", "Percent"
    FIXED = "fixed", "Fixed amount"


class Sale(FSMModelMixin, TimeStampedModel):
    # No index of its own: (created_at, id) below serves every created_at filter and gives the list's
    # order without a sort. With both, PostgreSQL may walk this one and sort the ties by id, which
    # costs a whole batch of rows when many sales share a created_at (a bulk load, an import).
    created_at = models.DateTimeField(auto_now_add=True)
    # Human number, equal to the id; set right after the insert.
    number = models.BigIntegerField(unique=True, null=True, editable=False)
    reference = models.CharField(max_length=100, unique=True)
    external_id = models.CharField(max_length=100, blank=True, db_index=True)

    status = FSMField(max_length=20, choices=SaleStatus.choices, default=SaleStatus.DRAFT, protected=True)
    payment_status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID)
    fulfillment_status = models.CharField(
        max_length=20, choices=FulfillmentStatus.choices, default=FulfillmentStatus.UNFULFILLED
    )
    return_status = models.CharField(max_length=10, choices=ReturnStatus.choices, default=ReturnStatus.NONE)
    delivery_status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.NONE)
    cancellation_status = models.CharField(
        max_length=10, choices=CancellationStatus.choices, default=CancellationStatus.NONE
    )
    delivery_mode = models.CharField(max_length=10, choices=DeliveryMode.choices, default=DeliveryMode.DISPATCH)
    # Null: not stated. Only a `prepaid` sale waits for its money before it goes out.
    payment_mode = models.CharField(  # noqa: DJ001 - null is "not stated", distinct from every mode
        max_length=20, choices=PaymentMode.choices, null=True, blank=True
    )
    delivery_note = models.TextField(blank=True)

    # Money round 2 (money.md): the rate to the base currency snapshotted at creation, per-jurisdiction tax
    # breakdown, custom tax, the price list and promotions the lines were priced with.
    exchange_rate = models.DecimalField(default=Decimal("1"), **RATE)
    tax_calculation = models.CharField(
        max_length=10, choices=TaxCalculation.choices, default=TaxCalculation.DEFAULT
    )
    tax_amount = MoneyField(null=True, blank=True)  # the custom tax
    tax_lines = models.JSONField(default=list, blank=True)  # [{code, name, jurisdiction, rate, amount}]
    price_list = models.ForeignKey(
        PriceList, null=True, blank=True, on_delete=models.PROTECT, related_name="sales"
    )
    discount_code = models.CharField(max_length=50, blank=True)
    # Whether this sale's promotions count in their usage (counted at confirm, given back on cancel).
    promotions_counted = models.BooleanField(default=False)

    # Records (records.md): dates and references of the buyer, notes by audience, the store and device it was
    # sold at, who changed it last, an integrator's metadata, and how far it is invoiced.
    due_date = models.DateField(null=True, blank=True)
    customer_reference = models.CharField(max_length=100, blank=True)
    admin_note = models.TextField(blank=True)  # staff only, on read and write
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    metadata = models.JSONField(default=dict, blank=True)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="sales")
    device = models.CharField(max_length=64, blank=True)
    invoice_status = models.CharField(
        max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.NOT_INVOICED
    )

    # Structure: a partial sale split off another, or a sale cloned from another (exchange, re-order).
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    cloned_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="clones"
    )
    clone_reason = models.CharField(max_length=10, choices=CloneReason.choices, blank=True)

    # A locked sale refuses every change until staff unlock it (review, dispute, fraud check).
    locked = models.BooleanField(default=False)
    locked_reason = models.CharField(max_length=500, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_at = models.DateTimeField(null=True, blank=True)

    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="sales"
    )
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="sales")
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="sales")
    currency = models.CharField(max_length=3, default="USD")

    discount = MoneyField(default=Decimal("0.00"))
    discount_type = models.CharField(max_length=10, choices=DiscountType.choices, default=DiscountType.FIXED)
    tax = models.ForeignKey(TaxRate, null=True, blank=True, on_delete=models.PROTECT, related_name="sales")
    tax_rate = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))  # snapshot
    prices_include_tax = models.BooleanField(default=False)
    tax_shipping = models.BooleanField(default=False)
    shipping_cost = MoneyField(default=Decimal("0.00"))

    subtotal = MoneyField(default=Decimal("0.00"))
    discount_total = MoneyField(default=Decimal("0.00"))
    shipping_tax = MoneyField(default=Decimal("0.00"))
    tax_total = MoneyField(default=Decimal("0.00"))
    grand_total = MoneyField(default=Decimal("0.00"))
    # Successful payments minus successful refunds: never below zero.
    paid_total = MoneyField(default=Decimal("0.00"))
    # What the returned units were charged (tax included); net_total = grand_total - returned_total.
    returned_total = MoneyField(default=Decimal("0.00"))

    billing_address = models.JSONField(default=dict, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    # Copied out of shipping_address so the country filter can use an index.
    shipping_country = models.CharField(max_length=2, blank=True, db_index=True)

    note = models.TextField(blank=True)
    staff_note = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    cancel_reason = models.CharField(max_length=20, choices=CancelReason.choices, blank=True)
    reject_reason = models.CharField(max_length=500, blank=True)

    sold_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("refund_sale", "Can refund sales")]
        indexes = [
            # The list's order (newest first, id breaking ties) and its keyset cursor, whole
            # and within one seller's or one status's sales.
            models.Index(fields=["created_at", "id"], name="sale_created_id_idx"),
            models.Index(fields=["seller", "created_at", "id"], name="sale_seller_created_id_idx"),
            models.Index(fields=["status", "created_at", "id"], name="sale_status_created_id_idx"),
            models.Index(fields=["grand_total", "id"], name="sale_total_id_idx"),  # ?ordering=grand_total
            # The sale date: ?ordering=sold_at and the sold_after / sold_before filters, as fast as by created_at.
            models.Index(fields=["sold_at", "id"], name="sale_sold_id_idx"),
            models.Index(fields=["seller", "sold_at", "id"], name="sale_seller_sold_id_idx"),
            models.Index(fields=["store", "sold_at", "id"], name="sale_store_sold_id_idx"),
            # The summary adds up totals per status: answered from the index alone.
            models.Index(fields=["status"], include=["grand_total", "paid_total"], name="sale_status_totals_idx"),
            models.Index(
                fields=["seller", "status"], include=["grand_total", "paid_total"], name="sale_seller_status_totals_idx"
            ),
            # The summary takes returns out of its totals: the few sales that have any, read from the index alone
            # (the base-currency amounts need the total, currency and rate too).
            models.Index(
                fields=["seller", "status", "created_at"],
                include=["returned_total", "grand_total", "currency", "exchange_rate", "sold_at"],
                condition=Q(returned_total__gt=0), name="sale_returned_covering_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=SaleStatus.values), name="sale_status_valid"),
            models.CheckConstraint(condition=Q(subtotal__gte=0), name="sale_subtotal_non_negative"),
            models.CheckConstraint(condition=Q(discount_total__gte=0), name="sale_discount_non_negative"),
            models.CheckConstraint(condition=Q(shipping_cost__gte=0), name="sale_shipping_non_negative"),
            models.CheckConstraint(condition=Q(grand_total__gte=0), name="sale_grand_total_non_negative"),
            models.CheckConstraint(condition=Q(paid_total__gte=0), name="sale_paid_total_non_negative"),
            models.CheckConstraint(
                condition=Q(returned_total__gte=0) & Q(returned_total__lte=F("grand_total")),
                name="sale_returned_total_within_grand_total",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    # --- predicates -------------------------------------------------------
    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    @property
    def is_deletable(self) -> bool:
        return self.status in DELETABLE_STATUSES

    @property
    def holds_reservation(self) -> bool:
        return self.status in RESERVING_STATUSES

    @property
    def stock_committed(self) -> bool:
        return self.status in COMMITTED_STATUSES

    @property
    def is_closed(self) -> bool:
        """Cancelled or rejected: the sale and its lines no longer change."""
        return self.status in CLOSED_STATUSES

    @property
    def is_returnable(self) -> bool:
        """Whether units of its lines can be returned: the stock has left (confirmed, in delivery, completed)."""
        return self.status in RETURNABLE_STATUSES

    @property
    def payment_required(self) -> bool:
        """A prepaid sale whose money is not all in: it may not be fulfilled or shipped yet."""
        return self.payment_mode == PaymentMode.PREPAID and self.balance_due > 0

    @property
    def net_total(self) -> Decimal:
        """What the sale is worth once returns are taken out (cancelled units are already out of grand_total)."""
        return self.grand_total - self.returned_total

    @property
    def balance_due(self) -> Decimal:
        """What the customer still owes; negative when the shop owes the customer."""
        return self.net_total - self.paid_total

    @property
    def has_history(self) -> bool:
        """Whether money, documents or parcels hang on the sale (payments of any status, invoices,
        fulfilments): it is never deleted."""
        return (
            self.payments.exists() or self.invoices.exists() or self.fulfillments.exists()
            or self.documents.exists()
        )

    # --- structure and quantities (read from loaded items / children, as the representation shows them) ---
    @property
    def children_ids(self) -> list[int]:
        return [child.pk for child in self.children.all()]

    @property
    def is_partial(self) -> bool:
        return self.parent_id is not None or bool(self.children_ids)

    @property
    def total_quantity(self) -> int:
        return sum(item.quantity_active for item in self.items.all())

    @property
    def total_weight(self) -> int:
        """Grams: each line's weight per unit × its units sold minus cancelled; a line without a weight adds 0."""
        return sum((item.weight or 0) * item.quantity_active for item in self.items.all())

    @property
    def quantity_remaining(self) -> int:
        return sum(item.quantity_unfulfilled for item in self.items.all())

    # --- cost and profit (staff only in the API), from the loaded items like the quantities above ---
    @property
    def cost_total(self) -> Decimal:
        return sum((item.cost_total for item in self.items.all()), Decimal("0.00"))

    @property
    def profit(self) -> Decimal:
        return sum((item.profit for item in self.items.all()), Decimal("0.00"))

    @property
    def margin(self) -> Decimal | None:
        """Profit as a percent of the lines' net without tax, two decimals half-up; None when that net is 0."""
        return margin_percent(self.profit, sum((item.total - item.tax_total for item in self.items.all()), Decimal(0)))

    def available_transitions_for(self, user) -> list[str]:
        """The statuses this user may move the sale to now, in lifecycle order."""
        targets = {str(t.target) for t in self.get_available_user_status_transitions(user)}
        return [status for status in SaleStatus.values if status in targets]

    # --- transitions: local changes only; side effects live in sales.services ----
    @transition(field=status, source=SaleStatus.DRAFT, target=SaleStatus.PENDING)
    def submit(self) -> None:
        pass

    @transition(field=status, source=SaleStatus.PENDING, target=SaleStatus.CONFIRMED)
    def confirm(self) -> None:
        self.confirmed_at = timezone.now()

    # ship and complete change the status only: the fulfilment services record what left and set
    # fulfillment_status / delivery_status from it (sales.services.fulfilment).
    @transition(field=status, source=SaleStatus.CONFIRMED, target=SaleStatus.IN_DELIVERY)
    def ship(self) -> None:
        self.shipped_at = timezone.now()

    @transition(field=status, source=[SaleStatus.CONFIRMED, SaleStatus.IN_DELIVERY], target=SaleStatus.COMPLETED)
    def complete(self) -> None:
        self.completed_at = timezone.now()

    @transition(
        field=status, source=[SaleStatus.DRAFT, SaleStatus.PENDING, SaleStatus.CONFIRMED], target=SaleStatus.CANCELLED
    )
    def cancel(self, reason: str) -> None:
        self.cancel_reason = reason
        self.cancelled_at = timezone.now()

    @transition(field=status, source=SaleStatus.PENDING, target=SaleStatus.REJECTED)
    def reject(self, reason: str = "") -> None:
        self.reject_reason = reason
        self.cancelled_at = timezone.now()

    @transition(
        field=status,
        source=[SaleStatus.CONFIRMED, SaleStatus.IN_DELIVERY, SaleStatus.COMPLETED],
        target=SaleStatus.REFUNDED,
        permission="sales.refund_sale",
    )
    def refund(self) -> None:
        self.refunded_at = timezone.now()


# The one status → transition table: the transition method that leads to each status. `POST …/status/`,
# the admin's buttons and the create path all resolve a target status through it (the services keep the
# service function of each transition name, `sales.services.TRANSITION_SERVICES`).
TRANSITION_FOR_STATUS = {
    SaleStatus.PENDING: "submit",
    SaleStatus.CONFIRMED: "confirm",
    SaleStatus.IN_DELIVERY: "ship",
    SaleStatus.COMPLETED: "complete",
    SaleStatus.CANCELLED: "cancel",
    SaleStatus.REJECTED: "reject",
    SaleStatus.REFUNDED: "refund",
}
# The statuses a sale can be created in, in the order a new sale passes them (draft first).
CREATE_STATUSES = (SaleStatus.DRAFT, SaleStatus.PENDING, SaleStatus.CONFIRMED, SaleStatus.COMPLETED)


def transitions_to(status: str) -> tuple[str, ...]:
    """The transition names that take a new (draft) sale to `status`, one of `CREATE_STATUSES`."""
    path = CREATE_STATUSES[1 : CREATE_STATUSES.index(status) + 1]
    return tuple(TRANSITION_FOR_STATUS[step] for step in path)


class SaleItem(models.Model):
    """One line of a sale, with snapshots of the catalogue at sale time."""

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="sale_items")
    variant = models.ForeignKey("inventory.Variant", on_delete=models.PROTECT, related_name="sale_items")
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="sale_items")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    # Snapshots of the catalogue at sale time (records.md): the product kind (`service` lines hold no stock),
    # unit, variant name, image and weight per unit in grams.
    item_type = models.CharField(max_length=10, default="standard")
    unit = models.CharField(max_length=20, blank=True)
    variant_name = models.CharField(max_length=255, blank=True)
    image_url = models.URLField(max_length=500, blank=True)
    weight = models.PositiveIntegerField(null=True, blank=True)
    quantity = models.PositiveIntegerField()  # sold; never lowered by a cancel (see quantity_active)
    quantity_cancelled = models.PositiveIntegerField(default=0)
    # Units in fulfilments that are not failed or returned (kept by the fulfilment services).
    quantity_fulfilled = models.PositiveIntegerField(default=0)
    quantity_returned = models.PositiveIntegerField(default=0)
    unit_price = MoneyField()
    cost_price = MoneyField(default=Decimal("0.00"))
    tax_rate = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    # The line's own tax (seed 001 per-line tax), else the sale's; `tax_included` is the method in force.
    tax = models.ForeignKey(TaxRate, null=True, blank=True, on_delete=models.PROTECT, related_name="sale_items")
    tax_included = models.BooleanField(default=False)
    discount = MoneyField(default=Decimal("0.00"))
    discount_type = models.CharField(max_length=10, choices=DiscountType.choices, default=DiscountType.FIXED)

    subtotal = MoneyField(default=Decimal("0.00"))
    # Line discount plus this line's share of the order discount.
    discount_total = MoneyField(default=Decimal("0.00"))
    tax_total = MoneyField(default=Decimal("0.00"))
    # Net of discounts and tax: what the profit is computed from.
    net_total = MoneyField(default=Decimal("0.00"))
    # What the customer is charged for this line (tax included).
    total = MoneyField(default=Decimal("0.00"))

    # Where the units were taken from on confirm; returns and cancellations put them back there
    # even if `warehouse` is changed afterwards (it then only records where the line is handled).
    stock_warehouse = models.ForeignKey(
        "inventory.Warehouse", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    product_group = models.ForeignKey(
        "inventory.ProductGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="sale_items"
    )
    carrier = models.ForeignKey(Carrier, null=True, blank=True, on_delete=models.PROTECT, related_name="sale_items")
    tracking_code = models.CharField(max_length=100, blank=True)
    tracking_url = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="sale_item_quantity_positive"),
            models.CheckConstraint(
                condition=Q(quantity_returned__lte=F("quantity")), name="sale_item_returned_within_quantity"
            ),
            models.CheckConstraint(
                condition=Q(quantity_cancelled__lte=F("quantity") - F("quantity_returned")),
                name="sale_item_cancelled_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(quantity_fulfilled__lte=F("quantity") - F("quantity_cancelled")),
                name="sale_item_fulfilled_within_quantity",
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="sale_item_price_non_negative"),
        ]
        indexes = [models.Index(fields=["variant", "sale"])]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"

    @property
    def quantity_active(self) -> int:
        """Units still sold: what is priced, reserved or committed (sold minus cancelled)."""
        return self.quantity - self.quantity_cancelled

    @property
    def quantity_unfulfilled(self) -> int:
        return self.quantity_active - self.quantity_fulfilled

    @property
    def cost_total(self) -> Decimal:
        """What the units still sold cost (cost price × units sold minus cancelled)."""
        return self.cost_price * self.quantity_active

    @property
    def profit(self) -> Decimal:
        """The line's net without tax minus its cost. Net is read as `total - tax_total` (what pricing
        stores as `net_total`) so the fast renderers, which see only the shown columns, say the same."""
        return self.total - self.tax_total - self.cost_total


class SalePromotion(models.Model):
    """A promotion as applied to a sale when it was last priced: its scope and what it took off."""

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="applied_promotions")
    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="applications")
    scope = models.CharField(max_length=10)  # "line" or "order"
    amount = MoneyField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.sale_id} {self.promotion_id} {self.amount}"


class SaleEventType(models.TextChoices):
    CREATED = "created", "Created"
    EDITED = "edited", "Edited"
    STATUS_CHANGED = "status_changed", "Status changed"
    ITEM_UPDATED = "item_updated", "Item updated"
    PAYMENT_RECORDED = "payment_recorded", "Payment recorded"
    PAYMENT_ASSIGNED = "payment_assigned", "Payment assigned"
    REFUND_RECORDED = "refund_recorded", "Refund recorded"
    RETURNED = "returned", "Items returned"
    INVOICE_ATTACHED = "invoice_attached", "Invoice attached"
    NOTE_CHANGED = "note_changed", "Note changed"
    FULFILLMENT_CREATED = "fulfillment_created", "Fulfilment created"
    TRACKING_UPDATED = "tracking_updated", "Tracking updated"
    ITEMS_CANCELLED = "items_cancelled", "Items cancelled"
    SPLIT = "split", "Split"
    CLONED = "cloned", "Cloned"
    LOCKED = "locked", "Locked"
    UNLOCKED = "unlocked", "Unlocked"


class SaleEvent(models.Model):
    """The activity log of a sale: one row per transition and meaningful change."""

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=30, choices=SaleEventType.choices)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.sale_id} {self.type}"


class Fulfillment(models.Model):
    """One parcel or one pick-up: some units of some lines of a sale, and where they are.

    Stock left at confirm, so a fulfilment moves none; it records who sent what, how and
    where it is. Numbered `<sale reference>-F<n>` per sale (n under the sale's row lock).
    """

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="fulfillments")
    sequence = models.PositiveIntegerField()
    number = models.CharField(max_length=120, unique=True)
    status = models.CharField(max_length=20, choices=TrackingStatus.choices)
    delivery_mode = models.CharField(max_length=10, choices=DeliveryMode.choices, default=DeliveryMode.DISPATCH)
    carrier = models.ForeignKey(Carrier, null=True, blank=True, on_delete=models.PROTECT, related_name="fulfillments")
    tracking_code = models.CharField(max_length=100, blank=True)
    tracking_url = models.CharField(max_length=500, blank=True)
    expected_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["sale", "sequence"], name="fulfillment_sale_sequence_key"),
            models.CheckConstraint(condition=Q(status__in=TrackingStatus.values), name="fulfillment_status_valid"),
        ]
        indexes = [
            # Delayed fulfilments (operators' report): expected and not arrived.
            models.Index(
                fields=["expected_at"], name="fulfillment_open_expected_idx",
                condition=Q(expected_at__isnull=False) & ~Q(status__in=["delivered", "picked_up", "returned"]),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_live(self) -> bool:
        """Its units count as fulfilled (it did not fail and was not sent back)."""
        return self.status not in DEAD_TRACKING_STATUSES

    @property
    def is_delayed(self) -> bool:
        return (
            self.expected_at is not None
            and self.status not in ARRIVED_TRACKING_STATUSES
            and self.expected_at < timezone.now()
        )


class FulfillmentLine(models.Model):
    fulfillment = models.ForeignKey(Fulfillment, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(SaleItem, on_delete=models.PROTECT, related_name="fulfillment_lines")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fulfillment_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.item_id}"


class TrackingEventQuerySet(models.QuerySet):
    """Append-only: tracking history is never rewritten."""

    def update(self, **kwargs):
        raise TypeError("Tracking events are append-only.")

    def delete(self):
        raise TypeError("Tracking events are append-only.")


class TrackingEvent(models.Model):
    """One step of a fulfilment's journey (append-only)."""

    fulfillment = models.ForeignKey(Fulfillment, on_delete=models.CASCADE, related_name="tracking")
    status = models.CharField(max_length=20, choices=TrackingStatus.choices)
    note = models.TextField(blank=True)
    location = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TrackingEventQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.fulfillment_id} {self.status}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise TypeError("Tracking events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Tracking events are append-only.")


def invoice_upload_to(instance: "Invoice", filename: str) -> str:
    # Never trust the client's file name: store under a generated one.
    import uuid
    from pathlib import PurePath

    suffix = PurePath(filename).suffix.lower()[:10]
    return f"invoices/{uuid.uuid4().hex}{suffix}"


class Invoice(models.Model):
    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=30, unique=True, null=True, editable=False)  # noqa: DJ001 - set after insert
    file = models.FileField(upload_to=invoice_upload_to)
    original_filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField(default=0)
    generated = models.BooleanField(default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.number or f"invoice {self.pk}"


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class DocumentCounter(models.Model):
    """The last number issued per document kind and calendar year: locked while a number is taken, so numbers
    have no gaps and no duplicates across transactions and app servers."""

    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "year"], name="document_counter_key")]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last}"


class SaleDocument(models.Model):
    """A generated invoice or credit note: lines and totals frozen when issued (records.md); never changed."""

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    number = models.CharField(max_length=30, unique=True)
    year = models.PositiveIntegerField()
    sequence = models.PositiveIntegerField()
    issued_at = models.DateTimeField()
    currency = models.CharField(max_length=3)
    subtotal = MoneyField(default=Decimal("0.00"))
    discount_total = MoneyField(default=Decimal("0.00"))
    tax_total = MoneyField(default=Decimal("0.00"))
    tax_lines = models.JSONField(default=list, blank=True)
    total = MoneyField(default=Decimal("0.00"))
    # The credit note's invoice, when it credits units of one.
    credits = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    reason = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "year", "sequence"], name="sale_document_number_key"),
        ]

    def __str__(self) -> str:
        return self.number


class SaleDocumentLine(models.Model):
    document = models.ForeignKey(SaleDocument, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(SaleItem, on_delete=models.PROTECT, related_name="document_lines")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    quantity = models.PositiveIntegerField()
    unit_price = MoneyField()
    subtotal = MoneyField(default=Decimal("0.00"))
    discount_total = MoneyField(default=Decimal("0.00"))
    tax_total = MoneyField(default=Decimal("0.00"))
    total = MoneyField(default=Decimal("0.00"))

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="sale_document_line_quantity")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class _SaleTotals(models.Model):
    """What a rollup row adds up: the sales of one seller in one status and one currency, and their totals.

    `grand_total` / `paid_total` are in the row's `currency`; the `_base` sums add up each sale's amount
    converted with its own `exchange_rate` and rounded to the base currency's minor units
    (`SALES_BASE_CURRENCY`), so totals across currencies are sums of per-sale base amounts.
    """

    # No foreign key constraint: the row follows the sales, not the user (Sale.seller protects the user).
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    status = models.CharField(max_length=20, choices=SaleStatus.choices)
    currency = models.CharField(max_length=3)
    count = models.BigIntegerField(default=0)
    grand_total = models.DecimalField(max_digits=20, decimal_places=3, default=Decimal("0.000"))
    paid_total = models.DecimalField(max_digits=20, decimal_places=3, default=Decimal("0.000"))
    grand_total_base = models.DecimalField(max_digits=20, decimal_places=3, default=Decimal("0.000"))
    paid_total_base = models.DecimalField(max_digits=20, decimal_places=3, default=Decimal("0.000"))

    class Meta:
        abstract = True


class SaleDailyTotal(_SaleTotals):
    """Sales per UTC day, seller, status and currency, with their totals: what the summary adds up.

    Nothing in Python writes this table (but the audit's repair, below). Database
    triggers on `sales_sale` (migration 0004_sale_daily_totals; currency and base sums since
    0012_rollup_currency) keep it exact on every insert, delete, and update of `created_at`,
    `seller_id`, `status`, `currency`, `exchange_rate`, `grand_total` or `paid_total`, because
    a sale row is written from many paths — the services, `QuerySet.update` in the payment
    services, imports, `recalculate_totals --fix`, the bench generator's set-based SQL — and a
    trigger sees them all. On PostgreSQL the
    trigger is deferred to COMMIT, so a busy (day, seller, status) row is locked only
    while a transaction commits. A row whose count reaches 0 is deleted, so the table
    equals `GROUP BY day, seller, status, currency` over the sales exactly;
    `sales.services.maintenance.audit_sale_daily_totals` (`recalculate_totals`) checks
    that, and with `--fix` rewrites drifted rows.
    """

    day = models.DateField()  # UTC date of Sale.created_at

    class Meta:
        ordering = ["day", "seller", "status", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["day", "seller", "status", "currency"], name="sale_daily_total_key"),
        ]
        indexes = [
            models.Index(fields=["seller", "day"], name="sale_daily_total_seller_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.seller_id} {self.status} {self.currency}: {self.count}"


class SaleMonthlyTotal(_SaleTotals):
    """Sales per UTC month, seller and status, with their totals: `SaleDailyTotal` one level up.

    `month` is the first day of the UTC month of `created_at`. The same trigger calls that
    keep the daily rows exact keep these too (migration 0006_sale_monthly_totals), so a
    row is always the sum of its month's daily rows. The summary reads whole months from
    here and only the partial months at the edges of a date range from the daily table:
    about 24 × sellers × statuses rows for two years instead of 730 × sellers × statuses.
    `audit_sale_daily_totals` checks and repairs both tables.
    """

    month = models.DateField()  # first day of the UTC month of Sale.created_at

    class Meta:
        ordering = ["month", "seller", "status", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["month", "seller", "status", "currency"], name="sale_monthly_total_key"),
        ]
        indexes = [
            models.Index(fields=["seller", "month"], name="sale_monthly_total_seller_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.seller_id} {self.status} {self.currency}: {self.count}"
