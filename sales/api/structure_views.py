"""Routes that change a sale's structure: cancel some units, split a sale, clone one (fulfilment.md)."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action

from sales import services
from sales.api.serializers import SaleSerializer
from sales.models import CancelReason, CloneReason, SaleStatus
from salesproject.api.fields import IdField, StrictIntegerField
from salesproject.api.serializers import StrictSerializer

# As in views.py (not imported from there: views.py imports this module).
SUB_RESOURCE = {"filter_backends": [], "pagination_class": None}


# --- input ------------------------------------------------------------------------------


class SaleUnitsSerializer(StrictSerializer):
    item = IdField(help_text="The id of one of the sale's items.")
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000)


class CancelItemsSerializer(StrictSerializer):
    items = SaleUnitsSerializer(many=True, allow_empty=False, max_length=1000)
    reason = serializers.ChoiceField(choices=CancelReason.choices, required=False, default=CancelReason.OTHER)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class SplitSerializer(StrictSerializer):
    items = SaleUnitsSerializer(many=True, allow_empty=False, max_length=1000)


class CloneSerializer(StrictSerializer):
    reason = serializers.ChoiceField(choices=CloneReason.choices)
    items = SaleUnitsSerializer(
        many=True, allow_empty=False, max_length=1000, required=False,
        help_text="Leave out to copy every unit not cancelled.",
    )
    status = serializers.ChoiceField(
        choices=[(SaleStatus.DRAFT, SaleStatus.DRAFT.label), (SaleStatus.PENDING, SaleStatus.PENDING.label)],
        required=False, default=SaleStatus.DRAFT,
    )


def _lines(validated: list[dict]) -> list[services.ItemQuantity]:
    return [services.ItemQuantity(item=line["item"], quantity=line["quantity"]) for line in validated]


UNITS_EXAMPLE = OpenApiExample(
    "One unit of one line", value={"items": [{"item": 4410, "quantity": 1}]}, request_only=True
)


class StructureActions:
    """Mixed into `SaleViewSet`: cancel-items, split and clone."""

    @extend_schema(
        summary="Cancel some units of a sale",
        description=(
            "Cancels some units not yet fulfilled of a `draft`, `pending` or `confirmed` sale: a pending sale's "
            "reservation of them is released, a confirmed sale's units go back on hand. Each line keeps its sold "
            "`quantity` and counts `quantity_cancelled`; the sale is priced again on the units left (a `fixed` "
            "order discount larger than what is left is a 400). Cancelling every unit left cancels the sale "
            "(`cancellation_status: full`). Money already paid above the new total shows as a negative "
            "`balance_due` (`payment_status: overpaid`): nothing is refunded by itself. Other statuses: 409 "
            "`invalid_transition`; more units than can still be cancelled: 400 on `items.N.quantity`."
        ),
        request=CancelItemsSerializer,
        responses={200: SaleSerializer},
        examples=[UNITS_EXAMPLE],
    )
    @action(detail=True, methods=["post"], url_path="cancel-items", **SUB_RESOURCE)
    def cancel_items(self, request, pk=None):
        sale = self.get_object()
        data = self._input(CancelItemsSerializer)
        sale = services.sale_cancel_items(
            sale=sale, user=request.user, lines=_lines(data["items"]), reason=data["reason"], note=data["note"]
        )
        return self._sale_response(sale)

    @extend_schema(
        summary="Split some units off a sale",
        description=(
            "Moves the given units of a `draft` or `pending` sale to a new sale, answered with 201: same seller, "
            "customer, channel, warehouse, currency, tax, addresses, modes and status, `parent` set to this sale "
            "(which lists it in `children`). A pending sale's reservation moves with the units, nothing released "
            "in between. Both sales are priced again; shipping and a `fixed` order discount stay on this sale, a "
            "`percent` one applies to both; a line's `fixed` discount is shared by units. Payments stay here. "
            "Moving every unit is a 400 on `items`; other statuses: 409 `invalid_transition`."
        ),
        request=SplitSerializer,
        responses={201: SaleSerializer},
        examples=[UNITS_EXAMPLE],
    )
    @action(detail=True, methods=["post"], **SUB_RESOURCE)
    def split(self, request, pk=None):
        sale = self.get_object()
        data = self._input(SplitSerializer)
        new_sale = services.sale_split(sale=sale, user=request.user, lines=_lines(data["items"]))
        return self._sale_response(new_sale, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Clone a sale (exchange or re-order)",
        description=(
            "Creates a new `draft` (default) or `pending` sale from the lines of this one, in any status, answered "
            "with 201: `items` names the units to copy (default: every unit not cancelled). `exchange` keeps this "
            "sale's unit prices and discounts; `new_sale` takes the catalogue's current prices, without discounts. "
            "Customer, channel, warehouse, currency, tax, addresses and modes are copied; payments, shipping cost, "
            "fulfilments, invoices and notes are not. The new sale has `cloned_from` and `clone_reason`; this one "
            "gets a `cloned` activity event. A locked sale can be cloned."
        ),
        request=CloneSerializer,
        responses={201: SaleSerializer},
        examples=[OpenApiExample("An exchange", value={"reason": "exchange"}, request_only=True)],
    )
    @action(detail=True, methods=["post"], **SUB_RESOURCE)
    def clone(self, request, pk=None):
        sale = self.get_object()
        data = self._input(CloneSerializer)
        lines = _lines(data["items"]) if "items" in data else None
        new_sale = services.sale_clone(
            sale=sale, user=request.user, reason=data["reason"], lines=lines, status=data["status"]
        )
        return self._sale_response(new_sale, status.HTTP_201_CREATED)
