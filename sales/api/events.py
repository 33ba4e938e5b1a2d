"""GET /events/: the outbox as a feed (events.md), and the renderers of the objects sale events carry.

Newest first (`?ordering=id`: oldest first), keyset-paged only (`?cursor=`; `next` goes on in that order).
Sellers see the events of their own sales; a store's manager also those of the store's sales; staff every
event (stock events and those of unassigned payments are staff's only: they belong to no sale). The scope
reads the seller and store copied onto each event when it was written, so a deleted sale's events stay
with its seller.
"""

import django_filters
from django.db.models import Q
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from events.models import Event, EventType
from sales.api.detail_rows import render_sale
from sales.api.documents import SaleDocumentSerializer
from sales.api.fulfilment_views import FulfillmentSerializer
from sales.api.serializers import InvoiceSerializer
from sales.models import Sale
from sales.selectors import managed_stores, user_manages_stores
from salesproject.api.pagination import CURSOR_PARAM, PageNumberPagination
from salesproject.filters import DateBoundFilter
from salesproject.ordering import OrderingFilter

# --- the objects of sale events (registered by SalesConfig.ready) ----------------------------


class _NotStaff:
    """The sale's seller as a reader who is not staff: staff-only fields (admin_note, costs, profit) are left
    out of every event, whoever reads the feed or receives the webhook."""

    is_staff = False

    def __init__(self, user) -> None:
        self._user = user

    def __getattr__(self, name):
        return getattr(self._user, name)


def sale_object(sale: Sale) -> dict:
    """The sale as GET /sales/{id}/ shows it to its seller, were the seller not staff."""
    return render_sale(sale, user=_NotStaff(sale.seller))


def fulfillment_object(fulfillment) -> dict:
    return FulfillmentSerializer(fulfillment).data


def invoice_object(document) -> dict:
    return SaleDocumentSerializer(document).data


def invoice_upload_object(invoice) -> dict:
    return InvoiceSerializer(invoice).data


# --- the feed -------------------------------------------------------------------------------

EVENT_DATA_SCHEMA = {
    "type": "object",
    "properties": {
        "object": {
            "type": "object",
            "additionalProperties": True,
            "description": "The v1 representation after the change: a sale for `sale.*`, a payment for "
            "`payment.*`, an invoice for `invoice.issued` (generated, or uploaded: `id`, `number`, `url`), a "
            "stock level for `stock.*`.",
        },
        "fulfillment": {
            "type": "object",
            "additionalProperties": True,
            "description": "`sale.fulfillment_created`, `sale.delivery_updated`: the fulfilment.",
        },
        "payment": {
            "type": "object",
            "additionalProperties": True,
            "description": "`sale.paid`: the payment that paid it.",
        },
        "kind": {
            "type": "string",
            "enum": ["receipt", "adjustment"],
            "description": "`stock.adjusted`: goods received or a correction.",
        },
    },
    "required": ["object"],
    "additionalProperties": True,
}


@extend_schema_field(EVENT_DATA_SCHEMA)
class EventDataField(serializers.JSONField):
    pass


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": "The changed fields' values before the change (absent: none given).",
    }
)
class PreviousField(serializers.JSONField):
    pass


class EventSerializer(serializers.Serializer):
    id = serializers.CharField(source="uid", read_only=True, help_text="evt_…; the webhook-id of its deliveries.")
    type = serializers.ChoiceField(choices=EventType.choices, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    data = EventDataField(read_only=True)
    previous = PreviousField(read_only=True, required=False)

    def to_representation(self, instance):
        body = super().to_representation(instance)
        if body.get("previous") is None:
            body.pop("previous", None)
        return body


class EventFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=EventType.choices)
    created_after = DateBoundFilter(field_name="created_at", upper=False)
    object_id = django_filters.CharFilter(
        field_name="object_id", max_length=64, help_text="The id of the event's object (a sale's, a payment's, …)."
    )
    ordering = OrderingFilter(fields=("id", "created_at"), help_text="Default `-id`: newest first. `id`: oldest first.")

    class Meta:
        model = Event
        fields: list[str] = []


class EventPagination(PageNumberPagination):
    """Keyset pages only: without `cursor`, the first page (no `count`, no page numbers)."""

    def paginate_queryset(self, queryset, request, view=None, **kwargs):
        if CURSOR_PARAM not in request.query_params:  # the base class pages by number without one
            request._request.GET = request._request.GET.copy()
            request._request.GET[CURSOR_PARAM] = ""
        return super().paginate_queryset(queryset, request, view, **kwargs)

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"].pop("count", None)
        return response

    def get_schema_operation_parameters(self, view):
        parameters = [
            parameter
            for parameter in super().get_schema_operation_parameters(view)
            if parameter["name"] != self.page_query_param
        ]
        for parameter in parameters:
            if parameter["name"] == self.cursor_query_param:
                parameter["description"] = (
                    "Leave it out (or empty) for the newest events, then follow `next` (older) or `previous` "
                    "(newer), which carry the cursor."
                )
        return parameters


def event_scope(*, user):
    """The events `user` may read (see the module's docstring)."""
    queryset = Event.objects.all()
    if user.is_staff:
        return queryset
    mine = Q(seller_id=user.pk)
    if user_manages_stores(user):
        mine |= Q(store_id__in=managed_stores(user=user))
    return queryset.filter(mine)


@extend_schema_view(
    list=extend_schema(
        summary="List events, newest first",
        description=(
            "What changed, newest first, for clients that cannot receive webhooks: each event carries its object "
            "as the v1 API showed it after the change (`data.object`) and, for edits, the changed fields before "
            "(`previous`). Keyset-paged: follow `next` to older events, keep the newest id seen to poll for "
            "new ones. Sellers see the events of their own sales; managers also their stores' sales; staff all "
            "(stock events and unassigned payments: staff only)."
        ),
    )
)
class EventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = EventSerializer
    filterset_class = EventFilter
    pagination_class = EventPagination
    queryset = Event.objects.none()  # for the schema; get_queryset scopes by user

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Event.objects.none()
        return event_scope(user=self.request.user).order_by("-id")
