"""Sales endpoints: validate the input, call one service, answer with the sale."""

import base64
import binascii

from django.conf import settings
from django.http import FileResponse
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from payments.api.serializers import PaymentSerializer, SalePaymentCreateSerializer
from sales import selectors, services
from sales.api import detail_rows, list_rows
from sales.api import serializers as s
from sales.api.documents import DocumentActions
from sales.api.fulfilment_views import FulfilmentActions
from sales.api.structure_views import StructureActions
from sales.filters import SaleFilter
from sales.models import Sale
from salesproject.api.idempotency import IdempotentMixin
from salesproject.api.parsers import JSONParser
from salesproject.api.serializers import NoBodySerializer
from salesproject.ordering import refuse_ordering

LIST_ACTIONS = frozenset({"list", "summary"})
# Routes under one sale: no list filters, and lists come as bare arrays.
SUB_RESOURCE = {"filter_backends": [], "pagination_class": None}
# The largest body the invoice upload takes (base64 and multipart overhead included): a larger one is refused
# by its Content-Length before a byte is read, 413, by salesproject.middleware.BodySizeMiddleware.
INVOICE_UPLOAD_LIMIT = settings.API_LARGE_BODY_ROUTES["api:sale-invoice"]


def _items(validated: list[dict]) -> list[services.ItemData]:
    return [services.ItemData(**item) for item in validated]


@extend_schema_view(
    list=extend_schema(summary="List sales", responses=s.SaleListSerializer(many=True)),
    retrieve=extend_schema(summary="A sale with items, payments and available transitions"),
    create=extend_schema(request=s.SaleCreateSerializer, responses={201: s.SaleSerializer}),
    partial_update=extend_schema(request=s.SaleUpdateSerializer, responses=s.SaleSerializer),
    destroy=extend_schema(responses={204: None}),
)
class SaleViewSet(
    IdempotentMixin,
    FulfilmentActions,
    StructureActions,
    DocumentActions,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.SaleSerializer
    filterset_class = SaleFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    lookup_value_regex = r"[0-9]+"
    queryset = Sale.objects.none()  # for the schema; get_queryset scopes by user

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Sale.objects.none()
        queryset = selectors.sale_scope(user=self.request.user, replica=self.action in LIST_ACTIONS)
        if self.action == "retrieve":
            queryset = selectors.sale_with_related(queryset, payments=True)
        return queryset

    def list(self, request, *args, **kwargs):
        queryset, filters = self._filtered()
        page = self.paginator.paginate_queryset(
            queryset,
            request,
            view=self,
            # The pages come as values() rows, not model instances: the same JSON as
            # SaleListSerializer for far less CPU (see list_rows).
            rows=list_rows.sale_rows,
            # The page-number `count` (see selectors.sale_count: the summary's rollup when it can answer).
            counter=lambda matches: selectors.sale_count(queryset=matches, user=request.user, filters=filters),
        )
        return self.get_paginated_response(list_rows.render_sales(page, user=request.user, using=queryset.db))

    def _filtered(self):
        """The user's sales with the list's filters applied, and the values those filters were given."""
        filterset = DjangoFilterBackend().get_filterset(self.request, self.get_queryset(), self)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        return filterset.qs, filterset.form.cleaned_data

    def retrieve(self, request, *args, **kwargs):
        # One sale is rendered from the loaded instance, not through SaleSerializer (kept for the
        # schema): the same JSON for a fraction of the CPU (see detail_rows). So are the answers below.
        return Response(detail_rows.render_sale(self.get_object(), user=request.user))

    def filter_queryset(self, queryset):
        # Filters apply to the lists; a detail route finds its sale by id alone.
        return super().filter_queryset(queryset) if self.action in LIST_ACTIONS else queryset

    def get_serializer_class(self):
        return s.SaleListSerializer if self.action == "list" else s.SaleSerializer

    def _input(self, serializer_class, **kwargs):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context(), **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _no_body(self) -> None:
        """An operation that takes no body: none, or `{}`; any field in it is unknown (400 `unknown_field`)."""
        if self.request.data:
            self._input(NoBodySerializer)

    def _sale_response(self, sale: Sale, code: int = status.HTTP_200_OK) -> Response:
        sale = selectors.sale_with_related(Sale.objects.filter(pk=sale.pk), payments=True).get()
        return Response(detail_rows.render_sale(sale, user=self.request.user), status=code)

    def create(self, request, *args, **kwargs):
        data = dict(self._input(s.SaleCreateSerializer))
        seller = data.pop("seller", None) or request.user
        items = _items(data.pop("items"))
        payments = [services.NewPayment(**p) for p in data.pop("payments", [])]
        command = services.NewSale(items=items, payments=payments, **data)
        sale = services.sale_create(seller=seller, data=command, user=request.user)
        # The service hands back the sale with everything it just wrote: no need to read it again.
        return Response(detail_rows.render_sale(sale, user=request.user), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        sale = self.get_object()
        data = dict(self._input(s.SaleUpdateSerializer, partial=True))
        if "items" in data:
            data["items"] = _items(data["items"])
        sale = services.sale_update(sale=sale, user=request.user, data=data)
        return self._sale_response(sale)

    def destroy(self, request, *args, **kwargs):
        services.sale_delete(sale=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=s.SaleSummarySerializer, filters=True)  # the list's filters, in the schema too
    @action(detail=False, methods=["get"])
    def summary(self, request):
        """Counts and totals of the sales matching the same filters as the list."""
        queryset, filters = self._filtered()
        # The selector answers from the daily rollup when the filters in use allow it, else from the sales.
        summary = selectors.sale_summary(queryset=queryset, user=request.user, filters=filters)
        return Response(s.SaleSummarySerializer(summary).data)

    @extend_schema(responses=s.serializers.ListSerializer(child=s.serializers.CharField()))
    @action(detail=True, methods=["get"], **SUB_RESOURCE)
    def transitions(self, request, pk=None):
        """The statuses you can move this sale to now."""
        refuse_ordering(request, order="the order of the lifecycle")
        return Response(self.get_object().available_transitions_for(request.user))

    @extend_schema(request=s.StatusChangeSerializer, responses=s.SaleSerializer)
    @action(detail=True, methods=["post"], url_path="status", **SUB_RESOURCE)
    def change_status(self, request, pk=None):
        """Run the transition that leads to `status`."""
        sale = self.get_object()
        data = self._input(s.StatusChangeSerializer)
        sale = services.sale_transition_to(sale=sale, user=request.user, **data)
        return self._sale_response(sale)

    @extend_schema(request=None, responses=s.SaleSerializer)
    @action(detail=True, methods=["post"], **SUB_RESOURCE)
    def submit(self, request, pk=None):
        sale = self.get_object()
        self._no_body()
        return self._sale_response(services.sale_submit(sale=sale, user=request.user))

    @extend_schema(request=None, responses=s.SaleSerializer)
    @action(detail=True, methods=["post"], **SUB_RESOURCE)
    def confirm(self, request, pk=None):
        sale = self.get_object()
        self._no_body()
        return self._sale_response(services.sale_confirm(sale=sale, user=request.user))

    @extend_schema(request=s.ShipSerializer, responses=s.SaleSerializer)
    @action(detail=True, methods=["post"], **SUB_RESOURCE)
    def ship(self, request, pk=None):
        sale = self.get_object()
        data = self._input(s.ShipSerializer)
        return self._sale_response(services.sale_ship(sale=sale, user=request.user, **data))

    @extend_schema(request=None, responses=s.SaleSerializer)
    @action(detail=True, methods=["post"], **SUB_RESOURCE)
    def complete(self, request, pk=None):
        sale = self.get_object()
        self._no_body()
        return self._sale_response(services.sale_complete(sale=sale, user=request.user))

    @extend_schema(request=s.CancelSerializer, responses=s.SaleSerializer)
    @action(detail=True, methods=["post"], **SUB_RESOURCE)
    def cancel(self, request, pk=None):
        sale = self.get_object()
        data = self._input(s.CancelSerializer)
        return self._sale_response(services.sale_cancel(sale=sale, user=request.user, **data))

    @extend_schema(request=s.RejectSerializer, responses=s.SaleSerializer)
    @action(detail=True, methods=["post"], **SUB_RESOURCE)
    def reject(self, request, pk=None):
        sale = self.get_object()
        data = self._input(s.RejectSerializer)
        return self._sale_response(services.sale_reject(sale=sale, user=request.user, **data))

    @extend_schema(request=s.RefundSerializer, responses=s.SaleSerializer)
    @action(detail=True, methods=["post"], **SUB_RESOURCE)
    def refund(self, request, pk=None):
        sale = self.get_object()
        data = self._input(s.RefundSerializer)
        return self._sale_response(services.sale_refund(sale=sale, user=request.user, **data))

    @extend_schema(responses=s.SaleEventSerializer(many=True))
    @action(detail=True, methods=["get"], **SUB_RESOURCE)
    def activity(self, request, pk=None):
        """The activity log, oldest first."""
        refuse_ordering(request, order="oldest first")
        events = selectors.sale_activity(sale=self.get_object())
        return Response(s.SaleEventSerializer(events, many=True).data)

    @extend_schema(request=s.SaleItemUpdateSerializer, responses=s.SaleItemSerializer)
    @action(detail=True, methods=["patch"], url_path=r"items/(?P<item_id>\d+)", **SUB_RESOURCE)
    def update_item(self, request, pk=None, item_id=None):
        """Set warehouse, carrier, tracking or product group on one item."""
        sale = self.get_object()
        item = sale.items.filter(pk=item_id).first()
        if item is None:
            raise NotFound()
        data = self._input(s.SaleItemUpdateSerializer, partial=True)
        item = services.sale_update_item(item=item, user=request.user, data=dict(data))
        return Response(s.SaleItemSerializer(item).data)

    @extend_schema(methods=["GET"], responses=PaymentSerializer(many=True))
    @extend_schema(methods=["POST"], request=SalePaymentCreateSerializer, responses={201: PaymentSerializer})
    @action(detail=True, methods=["get", "post"], **SUB_RESOURCE)
    def payments(self, request, pk=None):
        """List or record the sale's payments and refunds."""
        sale = self.get_object()
        if request.method == "GET":
            refuse_ordering(request, order="oldest first")
            return Response(PaymentSerializer(sale.payments.select_related("user").order_by("pk"), many=True).data)
        data = self._input(SalePaymentCreateSerializer)
        payment = services.sale_record_payment(sale=sale, user=request.user, **data)
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ReturnSerializer, responses={201: s.SaleSerializer})
    @action(detail=True, methods=["post"], **SUB_RESOURCE)
    def returns(self, request, pk=None):
        """Return some units of some items, with optional restock and refund."""
        sale = self.get_object()
        data = self._input(s.ReturnSerializer)
        lines = [services.ReturnLine(item=line["item"], quantity=line["quantity"]) for line in data["items"]]
        sale = services.sale_return(
            sale=sale, user=request.user, lines=lines, restock=data["restock"], refund=data["refund"],
            reason=data["reason"],
        )
        return self._sale_response(sale, status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        responses={(200, "application/octet-stream"): OpenApiResponse(description="The latest invoice file.")},
    )
    @extend_schema(methods=["POST"], request=s.InvoiceUploadSerializer, responses={201: s.InvoiceSerializer})
    @action(
        detail=True, methods=["get", "post"], parser_classes=[JSONParser, MultiPartParser], **SUB_RESOURCE
    )
    def invoice(self, request, pk=None):
        """Attach an invoice (multipart `file` or base64 `invoice`), or download the latest one."""
        sale = self.get_object()
        if request.method == "GET":
            invoice = sale.invoices.order_by("-pk").first()
            if invoice is None:
                raise NotFound("This sale has no invoice.")
            extension = invoice.file.name.rsplit(".", 1)[-1]
            return FileResponse(
                invoice.file.open("rb"), as_attachment=True, filename=f"{invoice.number}.{extension}",
                content_type=invoice.content_type,
            )
        data = self._input(s.InvoiceUploadSerializer)
        if data.get("file") is not None:
            upload = data["file"]
            if upload.size > services.INVOICE_MAX_BYTES:
                raise ValidationError({"file": ["The file is larger than 10 MB."]}, code="max_size")
            content, filename, attr = upload.read(), upload.name, "file"
        else:
            try:
                content = base64.b64decode("".join(data["invoice"].split()), validate=True)  # MIME line breaks allowed
            except (binascii.Error, ValueError):
                raise ValidationError({"invoice": ["Not valid base64."]}, code="invalid") from None
            filename, attr = data["filename"], "invoice"
        invoice = services.sale_attach_invoice(
            sale=sale, user=request.user, content=content, filename=filename, attr=attr
        )
        return Response(s.InvoiceSerializer(invoice, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)
