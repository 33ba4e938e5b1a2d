"""Routes for a sale's fulfilments and tracking, and for locking a sale (fulfilment.md)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from sales import selectors, services
from sales.api.representation import USER_SUMMARY
from sales.api.serializers import SaleSerializer
from sales.models import Carrier, Fulfillment, TrackingEvent, TrackingStatus
from salesproject.api.fields import CodeRelatedField, IdField, StrictIntegerField
from salesproject.api.serializers import StrictSerializer
from salesproject.ordering import refuse_ordering

SUB_RESOURCE = {"filter_backends": [], "pagination_class": None}


# --- output -----------------------------------------------------------------------------


class FulfillmentLineSerializer(serializers.Serializer):
    item = serializers.IntegerField(source="item_id", read_only=True)
    sku = serializers.CharField(source="item.sku", read_only=True)
    quantity = serializers.IntegerField(read_only=True)


class TrackingEventSerializer(serializers.ModelSerializer):
    user = USER_SUMMARY.serializer()(read_only=True, allow_null=True)

    class Meta:
        model = TrackingEvent
        fields = ["status", "note", "location", "occurred_at", "user"]
        read_only_fields = fields


class FulfillmentSerializer(serializers.ModelSerializer):
    """One parcel or pick-up: some units of some lines, and where it is."""

    items = FulfillmentLineSerializer(source="lines", many=True, read_only=True)
    carrier = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    is_delayed = serializers.BooleanField(
        read_only=True, help_text="expected_at has passed and it is not delivered or picked up."
    )
    tracking = TrackingEventSerializer(many=True, read_only=True, help_text="Oldest first.")
    user = USER_SUMMARY.serializer()(read_only=True, allow_null=True)

    class Meta:
        model = Fulfillment
        fields = [
            "id", "number", "status", "delivery_mode", "items", "carrier", "tracking_code", "tracking_url",
            "expected_at", "is_delayed", "tracking", "created_at", "delivered_at", "user",
        ]
        read_only_fields = fields


# --- input ------------------------------------------------------------------------------


class FulfillmentItemSerializer(StrictSerializer):
    item = IdField(help_text="The id of one of the sale's items.")
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000)


class FulfillmentCreateSerializer(StrictSerializer):
    items = FulfillmentItemSerializer(
        many=True, allow_empty=False, max_length=1000, required=False,
        help_text="Leave out to send every unit not fulfilled yet.",
    )
    carrier = CodeRelatedField(queryset=Carrier.objects.all(), required=False, allow_null=True)
    tracking_code = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    tracking_url = serializers.URLField(
        max_length=500, required=False, allow_blank=True, default="",
        help_text="Defaults to the carrier's tracking page for tracking_code.",
    )
    expected_at = serializers.DateTimeField(required=False, allow_null=True)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class TrackingCreateSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=TrackingStatus.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    location = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField(required=False, allow_null=True)
    expected_at = serializers.DateTimeField(required=False, allow_null=True)


class LockSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


FULFILMENT_EXAMPLE = OpenApiExample(
    "Two units of one line by courier",
    value={
        "items": [{"item": 311, "quantity": 2}],
        "carrier": "dhl",
        "tracking_code": "JD014600006281230456",
        "expected_at": "2026-12-08T18:00:00Z",
    },
    request_only=True,
)


class FulfilmentActions:
    """Mixed into `SaleViewSet`: fulfilments, tracking, lock and unlock."""

    @extend_schema(
        methods=["GET"], summary="List a sale's fulfilments", responses=FulfillmentSerializer(many=True),
        description="Every parcel and pick-up of the sale, oldest first.",
    )
    @extend_schema(
        methods=["POST"],
        summary="Fulfil some units of a sale",
        description=(
            "Records one parcel (or one pick-up for a `pickup` sale) of some units; without `items`, every unit "
            "not fulfilled yet. The sale must be `confirmed` (its first fulfilment ships it: `in_delivery`) or "
            "`in_delivery`; a prepaid sale with money due is refused with 409 `payment_required`. Moves no "
            "stock: the units left at confirm."
        ),
        request=FulfillmentCreateSerializer,
        responses={201: FulfillmentSerializer},
        examples=[FULFILMENT_EXAMPLE],
    )
    @action(detail=True, methods=["get", "post"], **SUB_RESOURCE)
    def fulfillments(self, request, pk=None):
        sale = self.get_object()
        if request.method == "GET":
            refuse_ordering(request, order="oldest first")
            return Response(FulfillmentSerializer(selectors.sale_fulfillments(sale=sale), many=True).data)
        data = dict(self._input(FulfillmentCreateSerializer))
        lines = data.pop("items", None)
        fulfillment = services.sale_fulfil(
            sale=sale, user=request.user,
            lines=None if lines is None else [services.ItemQuantity(**line) for line in lines], **data,
        )
        return self._fulfillment_response(fulfillment)

    @extend_schema(
        summary="Add a tracking event to a fulfilment",
        description=(
            "Dispatch: `shipped → in_transit → out_for_delivery → delivered`, or `failed` / `returned`; pick-up: "
            "`ready_for_pickup → picked_up`. A status of the other mode, or any event after `delivered`, "
            "`picked_up` or `returned`, is a 409 `invalid_transition`. When every unit is fulfilled and every "
            "fulfilment has arrived, the sale completes by itself."
        ),
        request=TrackingCreateSerializer,
        responses={201: FulfillmentSerializer},
    )
    @action(
        detail=True, methods=["post"], url_path=r"fulfillments/(?P<fulfillment_id>[0-9]+)/tracking", **SUB_RESOURCE
    )
    def tracking(self, request, pk=None, fulfillment_id=None):
        sale = self.get_object()
        data = self._input(TrackingCreateSerializer)  # the body first: a bad one is a 400 whatever it names
        fulfillment = get_object_or_404(Fulfillment.objects.filter(sale=sale), pk=fulfillment_id)
        fulfillment = services.fulfillment_track(fulfillment=fulfillment, user=request.user, **data)
        return self._fulfillment_response(fulfillment)

    def _fulfillment_response(self, fulfillment: Fulfillment) -> Response:
        fulfillment = selectors.fulfillments_with_related(Fulfillment.objects.filter(pk=fulfillment.pk)).get()
        return Response(FulfillmentSerializer(fulfillment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Lock a sale for review",
        description=(
            "Staff only. Until it is unlocked, every change to the sale (edits, items, transitions, payments, "
            "returns, fulfilments, invoices, split, cancel) is refused with 409 `sale_locked`; reads go on."
        ),
        request=LockSerializer,
        responses={200: SaleSerializer},
    )
    @action(detail=True, methods=["post"], **SUB_RESOURCE)
    def lock(self, request, pk=None):
        sale = self.get_object()
        data = self._input(LockSerializer)
        return self._sale_response(services.sale_lock_for_review(sale=sale, user=request.user, **data))

    @extend_schema(
        summary="Unlock a sale", description="Staff only. Unlocking a sale that is not locked changes nothing.",
        request=None, responses={200: SaleSerializer},
    )
    @action(detail=True, methods=["post"], **SUB_RESOURCE)
    def unlock(self, request, pk=None):
        sale = self.get_object()
        self._no_body()
        return self._sale_response(services.sale_unlock(sale=sale, user=request.user))
