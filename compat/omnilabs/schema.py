"""The OpenAPI shapes of the Omnilabs routes (tag `compat-omnilabs`): requests, answers, the error envelope."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers

from compat.omnilabs.representation import WORDS

TAG = "compat-omnilabs"
READ_ERRORS = ("400", "401", "403", "404", "405", "429", "500", "503")
WRITE_ERRORS = (*READ_ERRORS, "409", "413", "415")


def _nullable(field_class, **kwargs):
    return field_class(allow_null=True, **kwargs)


Error = inline_serializer(
    "OmnilabsError",
    {
        "statusCode": serializers.IntegerField(),
        "message": serializers.CharField(),
        "error": serializers.CharField(),
    },
)
Channel = inline_serializer(
    "OmnilabsChannel",
    {
        "name": serializers.CharField(),
        "type": serializers.CharField(),
    },
    allow_null=True,
)
Address = inline_serializer(
    "OmnilabsAddress",
    {name: _nullable(serializers.CharField) for name in ("street", "city", "postal_code", "country")},
    allow_null=True,
)
Client = inline_serializer(
    "OmnilabsClient",
    {
        "id": _nullable(serializers.CharField),
        "name": _nullable(serializers.CharField),
        "email": _nullable(serializers.CharField),
        "delivery_address": Address,
        "invoice_address": Address,
    },
    allow_null=True,
)
Carrier = inline_serializer(
    "OmnilabsCarrier",
    {
        "type": _nullable(serializers.CharField),
        "tracking_code": _nullable(serializers.CharField),
        "tracking_link": _nullable(serializers.CharField),
    },
    allow_null=True,
)
Product = inline_serializer(
    "OmnilabsProduct",
    {
        "name": serializers.CharField(),
        "sku": serializers.CharField(),
        "qty": serializers.IntegerField(),
        "price": serializers.FloatField(),
        "warehouse": inline_serializer("OmnilabsWarehouse", {"name": serializers.CharField()}),
        "carrier": Carrier,
    },
)
Statuses = serializers.ListSerializer(child=serializers.ChoiceField(choices=WORDS))


def _activity_fields() -> dict:
    return {
        "type": serializers.CharField(
            help_text="UPDATED_STATUS_BY_TEAM, DATA_COMMUNICATED_TO_CARRIER, or the "
            "product's event type in upper case (CREATED, PAYMENT_RECORDED, …)."
        ),
        "status": serializers.ChoiceField(choices=WORDS, required=False, help_text="Status changes only."),
        "created_at": serializers.DateTimeField(),
    }


Activity = inline_serializer("OmnilabsActivity", _activity_fields())
ActivityLog = inline_serializer(
    "OmnilabsActivityEntry",
    {
        "id": serializers.CharField(),
        "sale_id": serializers.CharField(),
        **_activity_fields(),
    },
    many=True,
)


def _row_fields() -> dict:
    return {
        "id": serializers.CharField(),
        "secondary_id": serializers.CharField(
            help_text="The sale's id in its channel (external id), else its reference."
        ),
        "human_id": serializers.IntegerField(),
        "amount": serializers.FloatField(),
        "country": _nullable(serializers.CharField),
        "status": serializers.ChoiceField(choices=WORDS),
    }


SaleRow = inline_serializer("OmnilabsSaleRow", {**_row_fields(), "channel": Channel})
SalePage = inline_serializer(
    "OmnilabsSalePage",
    {
        "data": serializers.ListField(child=SaleRow),
        "total": serializers.IntegerField(),
        "take": serializers.IntegerField(),
        "current_page": serializers.IntegerField(),
        "last_page": serializers.IntegerField(),
    },
)
Sale = inline_serializer(
    "OmnilabsSale",
    {
        **_row_fields(),
        "team_id": _nullable(serializers.CharField, help_text="The store."),
        "channel_type": _nullable(serializers.CharField),
        "channel_id": _nullable(serializers.CharField),
        "discount": serializers.FloatField(),
        "currency": serializers.CharField(),
        "shipping_cost": serializers.FloatField(),
        "date": serializers.DateTimeField(),
        "client": Client,
        "products": serializers.ListField(child=Product),
        "activity": serializers.ListField(child=Activity),
    },
)
OK = OpenApiResponse(response={"type": "string", "enum": ["ok"]}, description='The JSON string "ok".')

USER = serializers.CharField(
    required=False,
    allow_null=True,
    allow_blank=True,
    help_text="The user making the change: the caller's own id (staff may name another user); default the caller.",
)
StatusRequest = inline_serializer("OmnilabsStatusRequest", {"status": serializers.ChoiceField(choices=WORDS)})
WarehouseRequest = inline_serializer(
    "OmnilabsWarehouseRequest",
    {
        "warehouse_id": serializers.CharField(help_text="The warehouse's id or code."),
        "user": USER,
    },
)
CarrierRequest = inline_serializer(
    "OmnilabsCarrierRequest",
    {
        "carrier_id": serializers.CharField(allow_null=True, help_text="The carrier's id or code; null removes it."),
        "user": USER,
    },
)
ProductGroupRequest = inline_serializer(
    "OmnilabsProductGroupRequest",
    {
        "product_group_id": serializers.CharField(
            allow_null=True, help_text="The group's id or code; null removes it."
        ),
        "user": USER,
    },
)
InvoiceRequest = inline_serializer(
    "OmnilabsInvoiceRequest",
    {
        "user": USER,
        "invoice": serializers.CharField(help_text="The PDF, PNG or JPEG file, base64 encoded."),
    },
)

LIST_PARAMETERS = [
    OpenApiParameter("channel", str, description="A channel's id or code."),
    OpenApiParameter("country", str, description="A country name (`Italy`) or ISO code (`IT`)."),
    OpenApiParameter("status", str, enum=WORDS),
    OpenApiParameter("page", int, description="From 1."),
    OpenApiParameter("take", int, description="Sales per page, 1 to 100 (default 10)."),
]


PATH_IDS = {
    "sale_id": OpenApiParameter("sale_id", str, OpenApiParameter.PATH, description="The sale's id."),
    "product_id": OpenApiParameter(
        "product_id", str, OpenApiParameter.PATH, description="The product's id, or the sku of a line of the sale."
    ),
}


def operation(
    name: str,
    summary: str,
    response,
    *,
    request=None,
    parameters=None,
    ids: tuple[str, ...] = ("sale_id",),
    write: bool = False,
):
    """`extend_schema` of one Omnilabs route: its tag, shapes, its path ids (strings, as the document writes them)
    and every error status in Omnilabs' envelope."""
    errors = WRITE_ERRORS if write else READ_ERRORS
    return extend_schema(
        operation_id=f"omnilabs_{name}",
        tags=[TAG],
        summary=summary,
        request=request,
        parameters=[*(PATH_IDS[name] for name in ids), *(parameters or [])],
        responses={"200": response, **dict.fromkeys(errors, Error)},
    )
