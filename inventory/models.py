"""Catalogue (products, variants, groups), warehouses, stock levels and the stock ledger."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from salesproject.models import TimeStampedModel


class ProductGroup(TimeStampedModel):
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ProductKind(models.TextChoices):
    STANDARD = "standard", "Standard (stocked)"
    SERVICE = "service", "Service (no stock: labour, delivery, digital goods)"


class Product(TimeStampedModel):
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    # A service line reserves and moves no stock and has no stock level (records.md).
    kind = models.CharField(max_length=10, choices=ProductKind.choices, default=ProductKind.STANDARD)
    unit = models.CharField(max_length=20, default="pcs")
    image_url = models.URLField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)  # an integrator's flat string → string object
    price = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    cost_price = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    product_group = models.ForeignKey(
        ProductGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_non_negative"),
            models.CheckConstraint(condition=Q(cost_price__gte=0), name="product_cost_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Variant(TimeStampedModel):
    """The sellable unit. Every product has exactly one default variant."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    image_url = models.URLField(max_length=500, blank=True)  # wins over the product's
    weight = models.PositiveIntegerField(null=True, blank=True, help_text="Grams per unit.")
    metadata = models.JSONField(default=dict, blank=True)
    # Null means "the product's".
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    cost_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product"], condition=Q(is_default=True), name="one_default_variant_per_product"
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0) | Q(price__isnull=True), name="variant_price_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(cost_price__gte=0) | Q(cost_price__isnull=True), name="variant_cost_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.sku

    @property
    def effective_price(self):
        return self.price if self.price is not None else self.product.price

    @property
    def effective_cost_price(self):
        return self.cost_price if self.cost_price is not None else self.product.cost_price

    @property
    def display_name(self) -> str:
        if self.name and self.name != self.product.name:
            return f"{self.product.name} ({self.name})"
        return self.product.name


class Warehouse(TimeStampedModel):
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_warehouse"),
        ]

    def __str__(self) -> str:
        return self.code


# A stock level is low when at most this many units are available (on hand − reserved): the stock
# list's `low_stock` filter, the admin's stock filter and the dashboard all ask `StockLevel.objects.low()`.
LOW_STOCK_THRESHOLD = 5


class StockLevelQuerySet(models.QuerySet):
    def low(self, threshold: int = LOW_STOCK_THRESHOLD, *, low: bool = True) -> "StockLevelQuerySet":
        """Levels with at most `threshold` units available (`low=False`: the others); `available_units` to order by."""
        queryset = self.alias(available_units=F("on_hand") - F("reserved"))
        if low:
            return queryset.filter(available_units__lte=threshold)
        return queryset.filter(available_units__gt=threshold)


class StockLevel(models.Model):
    """On hand and reserved units of one variant in one warehouse.

    Changed only by `inventory.services`, always under a row lock, always with
    a matching `StockMovement`. The constraints make overselling impossible
    whatever code path runs.
    """

    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="stock_levels")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StockLevelQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["variant", "warehouse"], name="one_stock_level_per_variant_warehouse"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_non_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_non_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.warehouse_id}: {self.on_hand} on hand, {self.reserved} reserved"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    ADJUSTMENT = "adjustment", "Adjustment"
    RESERVATION = "reservation", "Reservation"
    RELEASE = "release", "Release"
    SHIPMENT = "shipment", "Shipment (commit)"
    RETURN = "return", "Return / restock"
    # Written by the inventory audit (`check_inventory --fix`) when it repairs a drifted level.
    CORRECTION = "correction", "Audit correction"


# Stock booked by hand or by the audit, never by a sale: the part of the ledger every user may read.
MANUAL_MOVEMENT_KINDS = frozenset({MovementKind.RECEIPT, MovementKind.ADJUSTMENT, MovementKind.CORRECTION})


class StockMovementQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The stock ledger is append-only.")

    def delete(self):
        raise TypeError("The stock ledger is append-only.")


class StockMovement(models.Model):
    """Append-only ledger: a stock level always equals the sum of its movements."""

    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="movements")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=20, choices=MovementKind.choices)
    on_hand_change = models.IntegerField(default=0)
    reserved_change = models.IntegerField(default=0)
    # A deleted draft/pending/cancelled sale leaves its rows here (reason names it).
    sale = models.ForeignKey(
        "sales.Sale", null=True, blank=True, on_delete=models.SET_NULL, related_name="stock_movements"
    )
    # The seller of `sale`, copied when the row is written: who may see the row does not depend on the
    # sale still existing (a deleted sale's rows stay its seller's, not everyone's).
    sale_seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = StockMovementQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["variant", "warehouse"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.variant_id}@{self.warehouse_id} {self.on_hand_change:+}/{self.reserved_change:+}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The stock ledger is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The stock ledger is append-only.")
