"""Routes for a sale's generated invoices and credit notes (records.md), mixed into `SaleViewSet`."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from sales.api.structure_views import SaleUnitsSerializer
from sales.document_pdf import render_document_pdf
from sales.models import DocumentKind, SaleDocument
from sales.services.commands import ItemQuantity
from sales.services.documents import sale_issue_invoice
from salesproject.api.representation import CurrencyMoneyField
from salesproject.api.serializers import StrictSerializer
from salesproject.ordering import refuse_ordering

# As in views.py (not imported from there: views.py imports this module).
SUB_RESOURCE = {"filter_backends": [], "pagination_class": None}


# --- output -----------------------------------------------------------------------------


class DocumentLineSerializer(serializers.Serializer):
    item = serializers.IntegerField(source="item_id", read_only=True)
    sku = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    unit_price = CurrencyMoneyField(currency="document__currency")
    subtotal = CurrencyMoneyField(currency="document__currency")
    discount_total = CurrencyMoneyField(currency="document__currency")
    tax_total = CurrencyMoneyField(currency="document__currency")
    total = CurrencyMoneyField(currency="document__currency")


class DocumentTaxLineSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    jurisdiction = serializers.CharField(read_only=True)
    rate = serializers.CharField(read_only=True)
    amount = serializers.CharField(read_only=True, help_text="This document's share of the sale's tax line.")


class SaleDocumentSerializer(serializers.Serializer):
    """An issued invoice or credit note: frozen when issued, never changed. A credit note's amounts are
    positive: what it gives back."""

    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=DocumentKind.choices, read_only=True)
    number = serializers.CharField(read_only=True, help_text="INV-<year>-000001 or CN-<year>-000001, no gaps.")
    issued_at = serializers.DateTimeField(read_only=True)
    currency = serializers.CharField(read_only=True)
    lines = DocumentLineSerializer(many=True, read_only=True)
    subtotal = CurrencyMoneyField(currency="currency")
    discount_total = CurrencyMoneyField(currency="currency")
    tax_total = CurrencyMoneyField(currency="currency")
    tax_lines = DocumentTaxLineSerializer(many=True, read_only=True)
    total = CurrencyMoneyField(currency="currency")
    url = serializers.SerializerMethodField(help_text="The PDF of this document.")

    def get_url(self, document: SaleDocument) -> str:
        path = reverse("api:sale-document-pdf", kwargs={"pk": document.sale_id, "invoice_id": document.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


# --- input ------------------------------------------------------------------------------


class InvoiceCreateSerializer(StrictSerializer):
    items = SaleUnitsSerializer(
        many=True, allow_empty=False, max_length=1000, required=False,
        help_text="Leave out to invoice every unit sold and not invoiced yet.",
    )


def _documents(sale):
    return SaleDocument.objects.filter(sale=sale).prefetch_related("lines").order_by("pk")


class DocumentActions:
    """Mixed into `SaleViewSet`: generated invoices and credit notes, and their PDFs."""

    @extend_schema(
        methods=["GET"], summary="List a sale's invoices and credit notes",
        description="Both kinds (`kind`), oldest first.", responses=SaleDocumentSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Issue an invoice for a sale",
        description=(
            "Issues an invoice for some units of a `confirmed`, `in_delivery` or `completed` sale; without "
            "`items`, every unit sold (not cancelled, not returned) and not invoiced yet. Lines and totals are "
            "frozen now, each line's share of the sale line's amounts; numbers run `INV-<year>-000001` with no "
            "gap. Other statuses: 409 `invalid_transition`; a locked sale: 409 `sale_locked`; more units than are "
            "left to invoice: 400 on `items.N.quantity`; nothing left to invoice: 400 on `items`. Credit notes "
            "(`CN-<year>-…`) are issued by themselves when invoiced units are returned, refunded or cancelled."
        ),
        request=InvoiceCreateSerializer,
        responses={201: SaleDocumentSerializer},
        examples=[OpenApiExample("Two units of one line", value={"items": [{"item": 311, "quantity": 2}]},
                                 request_only=True)],
    )
    @action(detail=True, methods=["get", "post"], **SUB_RESOURCE)
    def invoices(self, request, pk=None):
        sale = self.get_object()
        context = self.get_serializer_context()
        if request.method == "GET":
            refuse_ordering(request, order="oldest first")
            return Response(SaleDocumentSerializer(_documents(sale), many=True, context=context).data)
        data = self._input(InvoiceCreateSerializer)
        lines = data.get("items")
        document = sale_issue_invoice(
            sale=sale, user=request.user,
            lines=None if lines is None else [ItemQuantity(item=line["item"], quantity=line["quantity"])
                                              for line in lines],
        )
        document = _documents(sale).get(pk=document.pk)
        return Response(SaleDocumentSerializer(document, context=context).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Download an invoice or credit note as PDF",
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF.")},
    )
    @action(
        detail=True, methods=["get"], url_path=r"invoices/(?P<invoice_id>[0-9]+)/pdf", url_name="document-pdf",
        **SUB_RESOURCE,
    )
    def invoice_pdf(self, request, pk=None, invoice_id=None):
        sale = self.get_object()
        document = get_object_or_404(
            SaleDocument.objects.filter(sale=sale).select_related(
                "sale__seller", "sale__customer", "sale__store", "credits"
            ).prefetch_related("lines"),
            pk=invoice_id,
        )
        response = HttpResponse(render_document_pdf(document), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{document.number}.pdf"'
        return response
