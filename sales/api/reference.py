"""Reference data of sales: channels, carriers and tax rates, named by code everywhere else.

Everyone signed in reads; only staff write. Deleting one that sales use is a 409 `in_use`.
"""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from sales import reference_services as services
from sales.models import Carrier, Channel, TaxComponent, TaxRate
from salesproject.api.idempotency import IdempotentMixin
from salesproject.api.permissions import IsStaffOrReadOnly
from salesproject.api.serializers import StrictModelSerializer
from salesproject.ordering import REFERENCE_ORDERING, ordering_filterset

IN_USE = extend_schema(description="409 `in_use` when sales use it.")


class ChannelSerializer(StrictModelSerializer):
    class Meta:
        model = Channel
        fields = ["id", "code", "name", "kind"]


class CarrierSerializer(StrictModelSerializer):
    class Meta:
        model = Carrier
        fields = ["id", "code", "name", "tracking_url_template"]
        extra_kwargs = {"tracking_url_template": {"help_text": "e.g. https://track.example/{tracking_code}"}}


class TaxComponentSerializer(StrictModelSerializer):
    rate = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, coerce_to_string=True)

    class Meta:
        model = TaxComponent
        fields = ["name", "jurisdiction", "location", "rate"]
        extra_kwargs = {"location": {"required": False}, "jurisdiction": {"required": False}}


class TaxRateSerializer(StrictModelSerializer):
    rate = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, coerce_to_string=True, required=False,
        help_text="Percent (at most 100), e.g. \"5.00\"; for a `fixed` tax an amount per unit. With components,"
        " their sum (another value is 400).",
    )
    components = TaxComponentSerializer(
        many=True, required=False,
        help_text="The jurisdictions' parts of a combined rate; sent, they replace the tax's components.",
    )

    class Meta:
        model = TaxRate
        fields = ["id", "code", "name", "kind", "rate", "components"]


ChannelFilter = ordering_filterset(Channel)
CarrierFilter = ordering_filterset(Carrier)
TaxRateFilter = ordering_filterset(TaxRate, fields=(*REFERENCE_ORDERING, "rate"))


class ReferenceViewSet(IdempotentMixin, viewsets.ModelViewSet):
    permission_classes = [IsStaffOrReadOnly]
    lookup_value_regex = r"[0-9]+"


@extend_schema_view(destroy=IN_USE)
class ChannelViewSet(ReferenceViewSet):
    serializer_class = ChannelSerializer
    filterset_class = ChannelFilter
    queryset = Channel.objects.order_by("code")

    def perform_create(self, serializer):
        serializer.instance = services.channel_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.channel_update(channel=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance):
        services.channel_delete(channel=instance)


@extend_schema_view(destroy=IN_USE)
class CarrierViewSet(ReferenceViewSet):
    serializer_class = CarrierSerializer
    filterset_class = CarrierFilter
    queryset = Carrier.objects.order_by("code")

    def perform_create(self, serializer):
        serializer.instance = services.carrier_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.carrier_update(carrier=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance):
        services.carrier_delete(carrier=instance)


@extend_schema_view(destroy=IN_USE)
class TaxRateViewSet(ReferenceViewSet):
    serializer_class = TaxRateSerializer
    filterset_class = TaxRateFilter
    queryset = TaxRate.objects.prefetch_related("components").order_by("code")

    def perform_create(self, serializer):
        serializer.instance = services.tax_rate_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.tax_rate_update(tax_rate=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance):
        services.tax_rate_delete(tax_rate=instance)
