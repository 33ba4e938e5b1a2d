"""Price lists (staff write, everyone signed in reads) and promotions (staff only), written through services."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from inventory.models import Product, ProductGroup, Variant
from sales.api.reference import ReferenceViewSet
from sales.models import Channel, PriceList, Promotion, PromotionKind
from sales.services import prices as price_services
from sales.services import promotions as promotion_services
from salesproject.api.fields import CodeRelatedField, MoneyField, StrictIntegerField, StrictPrimaryKeyRelatedField
from salesproject.api.idempotency import IdempotentMixin
from salesproject.api.permissions import IsStaff
from salesproject.api.representation import money
from salesproject.api.serializers import StrictModelSerializer, StrictSerializer
from salesproject.ordering import ordering_filterset

CURRENCY = r"^[A-Za-z]{3}$"


class PriceListEntrySerializer(StrictSerializer):
    variant = StrictPrimaryKeyRelatedField(queryset=Variant.objects.all())
    price = MoneyField(min_value=0)
    min_quantity = StrictIntegerField(min_value=1, max_value=1_000_000, default=1)


class PriceListSerializer(StrictModelSerializer):
    currency = serializers.RegexField(CURRENCY, help_text="ISO 4217, e.g. EUR (stored upper-case).")
    channel = CodeRelatedField(queryset=Channel.objects.all(), required=False, allow_null=True)
    prices = PriceListEntrySerializer(
        many=True, required=False, max_length=10_000,
        help_text="Unit prices by variant, with quantity tiers; on write, replaces the list whole.",
    )

    class Meta:
        model = PriceList
        fields = ["id", "code", "name", "currency", "channel", "valid_from", "valid_to", "active", "prices"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["currency"] = instance.currency
        data["prices"] = [
            {"variant": entry.variant_id, "price": money(entry.price, instance.currency),
             "min_quantity": entry.min_quantity}
            for entry in instance.prices.all()
        ]
        return data


PriceListFilter = ordering_filterset(PriceList)


@extend_schema_view(destroy=extend_schema(description="409 `in_use` when sales were priced with it."))
class PriceListViewSet(ReferenceViewSet):
    serializer_class = PriceListSerializer
    filterset_class = PriceListFilter
    queryset = PriceList.objects.select_related("channel").prefetch_related("prices").order_by("code")

    def perform_create(self, serializer):
        serializer.instance = price_services.price_list_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = price_services.price_list_update(
            price_list=serializer.instance, data=dict(serializer.validated_data)
        )

    def perform_destroy(self, instance):
        price_services.price_list_delete(price_list=instance)


# --- promotions ------------------------------------------------------------------------------------------


class PromotionSerializer(StrictModelSerializer):
    code = serializers.CharField(
        max_length=50, required=False, allow_blank=True, allow_null=True,
        help_text="The discount code a sale names to take it (matched whatever the case); null: none.",
    )
    value = MoneyField(min_value=0, help_text="A percent (0-100) for `percent`; an amount in `currency` for `fixed`.")
    products = StrictPrimaryKeyRelatedField(
        queryset=Product.objects.all(), many=True, required=False, help_text='Ids; only for `applies_to: "products"`.'
    )
    product_groups = CodeRelatedField(
        queryset=ProductGroup.objects.all(), many=True, required=False,
        help_text='Codes; only for `applies_to: "product_groups"`.',
    )
    min_subtotal = MoneyField(min_value=0, required=False, allow_null=True)
    currency = serializers.RegexField(
        CURRENCY, required=False, allow_blank=True, allow_null=True,
        help_text="Required for `fixed`; a promotion with a currency applies only to sales in it.",
    )
    usage_limit = StrictIntegerField(min_value=1, max_value=2_000_000_000, required=False, allow_null=True)

    class Meta:
        model = Promotion
        fields = [
            "id", "name", "code", "automatic", "kind", "value", "applies_to", "products", "product_groups",
            "min_subtotal", "currency", "starts_at", "ends_at", "usage_limit", "usage_count", "active",
        ]
        read_only_fields = ["usage_count"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        currency = instance.currency or None
        data["currency"] = currency
        data["value"] = money(instance.value, currency if instance.kind == PromotionKind.FIXED else None)
        data["min_subtotal"] = None if instance.min_subtotal is None else money(instance.min_subtotal, currency)
        return data


PromotionFilter = ordering_filterset(Promotion, fields=("id", "name", "code", "created_at"))


@extend_schema_view(destroy=extend_schema(description="409 `in_use` when sales were priced with it."))
class PromotionViewSet(IdempotentMixin, viewsets.ModelViewSet):
    """Promotions and discount codes: staff only, reads included."""

    serializer_class = PromotionSerializer
    filterset_class = PromotionFilter
    permission_classes = [IsStaff]
    lookup_value_regex = r"[0-9]+"
    queryset = Promotion.objects.prefetch_related("products", "product_groups").order_by("pk")

    def perform_create(self, serializer):
        serializer.instance = promotion_services.promotion_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = promotion_services.promotion_update(
            promotion=serializer.instance, data=dict(serializer.validated_data)
        )

    def perform_destroy(self, instance):
        promotion_services.promotion_delete(promotion=instance)
