"""Catalogue, warehouse and stock representations and inputs. Validation only: rules live in services."""

from rest_framework import serializers

from inventory.models import MovementKind, Product, ProductGroup, StockLevel, StockMovement, Variant, Warehouse
from salesproject.api.fields import (
    CodeRelatedField,
    IdField,
    MoneyField,
    StrictIntegerField,
    StrictPrimaryKeyRelatedField,
)
from salesproject.api.serializers import StrictModelSerializer, StrictSerializer
from salesproject.metadata import MetadataField

# Model prices are DECIMAL(12, 2) and never negative.
PRICE = {"max_digits": 12, "min_value": 0}
# One receipt or adjustment moves at most this many units (stock counts are 32-bit integers).
MAX_UNITS = 1_000_000
COUNTRY_PATTERN = r"^[A-Za-z]{2}$"


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class AttributesField(serializers.DictField):
    """Free-form variant attributes (a JSON object), e.g. {"size": "M"}; NUL characters are refused."""

    default_error_messages = {"null_characters_not_allowed": "Null characters are not allowed."}

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", 'Free-form, e.g. {"size": "M"}.')
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if _has_nul(value):
            self.fail("null_characters_not_allowed")
        return value


class ProductGroupSerializer(StrictModelSerializer):
    class Meta:
        model = ProductGroup
        fields = ["id", "code", "name"]


class WarehouseSerializer(StrictModelSerializer):
    country = serializers.RegexField(
        COUNTRY_PATTERN, required=False, allow_blank=True, help_text="ISO 3166 alpha-2, e.g. IT (stored upper-case)."
    )

    class Meta:
        model = Warehouse
        fields = ["id", "code", "name", "country", "is_default"]
        # The service moves the default flag from the old default to the new one.
        extra_kwargs = {
            "is_default": {"validators": [], "help_text": "true takes the default flag from the current default."}
        }


class ProductVariantSerializer(StrictModelSerializer):
    """A variant inside a product. `price` / `cost_price` null means the product's."""

    id = IdField(
        required=False,
        help_text="On update: an existing variant of this product to keep and edit; leave out to add a new one.",
    )
    attributes = AttributesField(required=False)
    price = MoneyField(**PRICE, required=False, allow_null=True, help_text="Null: the product's price.")
    cost_price = MoneyField(**PRICE, required=False, allow_null=True, help_text="Null: the product's cost price.")
    metadata = MetadataField()

    class Meta:
        model = Variant
        fields = [
            "id", "sku", "name", "attributes", "image_url", "weight", "price", "cost_price", "is_default", "metadata",
        ]
        read_only_fields = ["is_default"]
        # Uniqueness is checked across the whole list below and again by the service.
        extra_kwargs = {"sku": {"validators": []}}


class ProductSerializer(StrictModelSerializer):
    price = MoneyField(**PRICE, required=False)
    cost_price = MoneyField(**PRICE, required=False)
    metadata = MetadataField()
    product_group = CodeRelatedField(
        queryset=ProductGroup.objects.all(), required=False, allow_null=True, help_text="A product group's code."
    )
    variants = ProductVariantSerializer(
        many=True,
        required=False,
        allow_empty=False,
        help_text="Create: the variants, the first is the default (left out: one default variant with the "
        "product's sku). Update: replaces the list; entries with an `id` keep that variant.",
    )

    class Meta:
        model = Product
        fields = [
            "id", "sku", "name", "kind", "unit", "image_url", "price", "cost_price", "product_group", "active",
            "metadata", "variants",
        ]

    def validate_variants(self, variants: list[dict]) -> list[dict]:
        creating = self.instance is None
        seen: dict[str, int] = {}
        errors: list[dict] = [{} for _ in variants]
        for position, data in enumerate(variants):
            sku = data.get("sku")
            if creating and "id" in data:
                errors[position]["id"] = ["A new product's variants are all new: leave out `id`."]
            if sku is None:
                continue
            if sku in seen:
                errors[position]["sku"] = ["This sku is listed twice."]
            seen[sku] = position
        taken = Variant.objects.filter(sku__in=seen)
        if not creating:
            taken = taken.exclude(product=self.instance)
        for sku in taken.values_list("sku", flat=True):
            errors[seen[sku]].setdefault("sku", []).append("A variant with this sku already exists.")
        if any(errors):
            raise serializers.ValidationError(errors)
        return variants


class VariantSerializer(StrictModelSerializer):
    """A variant on its own (`/variants/`): as inside a product, plus the product it belongs to."""

    product = StrictPrimaryKeyRelatedField(queryset=Product.objects.all(), help_text="Cannot change.")
    attributes = AttributesField(required=False)
    price = MoneyField(**PRICE, required=False, allow_null=True, help_text="Null: the product's price.")
    cost_price = MoneyField(**PRICE, required=False, allow_null=True, help_text="Null: the product's cost price.")
    is_default = serializers.BooleanField(
        required=False, help_text="true makes this the product's default variant (there is always exactly one)."
    )
    metadata = MetadataField()

    class Meta:
        model = Variant
        fields = [
            "id", "product", "sku", "name", "attributes", "image_url", "weight", "price", "cost_price", "is_default",
            "metadata",
        ]
        # One default per product is kept by the service, which moves the flag.
        validators = []

    def validate_product(self, product: Product) -> Product:
        if self.instance is not None and product.pk != self.instance.product_id:
            raise serializers.ValidationError("A variant cannot move to another product.")
        return product


class StockLevelSerializer(serializers.ModelSerializer):
    variant = serializers.IntegerField(source="variant_id", read_only=True)
    sku = serializers.CharField(source="variant.sku", read_only=True)
    product = serializers.IntegerField(source="variant.product_id", read_only=True)
    warehouse = serializers.CharField(source="warehouse.code", read_only=True, help_text="The warehouse's code.")
    available = serializers.IntegerField(read_only=True, help_text="on_hand − reserved.")

    class Meta:
        model = StockLevel
        fields = ["id", "variant", "sku", "product", "warehouse", "on_hand", "reserved", "available"]
        read_only_fields = fields


class StockUserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)


class StockMovementSerializer(serializers.ModelSerializer):
    variant = serializers.IntegerField(source="variant_id", read_only=True)
    warehouse = serializers.CharField(source="warehouse.code", read_only=True, help_text="The warehouse's code.")
    kind = serializers.ChoiceField(choices=MovementKind.choices, read_only=True)
    sale = serializers.IntegerField(source="sale_id", read_only=True, allow_null=True)
    user = StockUserSerializer(read_only=True, allow_null=True)

    class Meta:
        model = StockMovement
        fields = ["id", "variant", "warehouse", "kind", "on_hand_change", "reserved_change", "sale", "user",
                  "reason", "created_at"]
        read_only_fields = fields


class StockReceiveSerializer(StrictSerializer):
    variant = StrictPrimaryKeyRelatedField(queryset=Variant.objects.all())
    warehouse = CodeRelatedField(queryset=Warehouse.objects.all(), help_text="The warehouse's code.")
    quantity = StrictIntegerField(min_value=1, max_value=MAX_UNITS)
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class StockAdjustSerializer(StrictSerializer):
    variant = StrictPrimaryKeyRelatedField(queryset=Variant.objects.all())
    warehouse = CodeRelatedField(queryset=Warehouse.objects.all(), help_text="The warehouse's code.")
    quantity_change = StrictIntegerField(
        min_value=-MAX_UNITS, max_value=MAX_UNITS, help_text="Units to add (positive) or take off (negative); not 0."
    )
    reason = serializers.CharField(max_length=255, help_text="Why: a count, damage, …")

    def validate_quantity_change(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("Must not be zero.", code="invalid")
        return value
