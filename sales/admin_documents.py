"""Sale page additions for generated invoices and credit notes: the "Issue invoice" button and download links."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from sales.admin_fulfilment import sale_change_url
from sales.document_pdf import render_document_pdf
from sales.models import InvoiceStatus, Sale, SaleDocument
from sales.services.documents import INVOICEABLE_STATUSES, sale_issue_invoice

ISSUE_HELP = "Invoice every unit sold and not invoiced yet (numbered INV-<year>-…, frozen once issued)."


def invoice_offered(sale: Sale) -> bool:
    return not sale.locked and sale.status in INVOICEABLE_STATUSES and sale.invoice_status != InvoiceStatus.INVOICED


class SaleDocumentsAdminMixin:
    """Model admin mixin of `SaleAdmin`: the "Issue invoice" page and the sale's documents as PDF links."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/issue-invoice/", view(self.issue_invoice_view), name="sales_sale_issue_invoice"),
            path("<path:object_id>/documents/<int:document_id>/pdf/", view(self.document_pdf_view),
                 name="sales_sale_document_pdf"),
            *super().get_urls(),
        ]

    def sale_operations(self, request: HttpRequest, sale: Sale) -> list[dict]:
        shown = super().sale_operations(request, sale)
        if shown is not None and sale is not None and sale.pk and self.has_change_permission(request, sale) \
                and invoice_offered(sale):
            shown.append({"label": "Issue invoice", "help": ISSUE_HELP,
                          "url": reverse("admin:sales_sale_issue_invoice", args=[sale.pk])})
        return shown

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields + [name for name in ("invoice_status", "documents") if name not in fields]

    def documents(self, obj: Sale):
        rows = list(obj.documents.order_by("pk")) if obj and obj.pk else []
        if not rows:
            return "-"
        return format_html_join(
            mark_safe("<br>"), '<a href="{}">{}</a> ({}, {} {}, {})',
            ((reverse("admin:sales_sale_document_pdf", args=[obj.pk, d.pk]), d.number, d.get_kind_display(),
              d.total, d.currency, f"{d.issued_at:%Y-%m-%d}") for d in rows),
        )

    documents.short_description = "Documents (PDF)"

    def issue_invoice_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        sale = self._sale(request, object_id, "issue-invoice")
        if request.method != "POST" and not invoice_offered(sale):
            messages.error(request, f"Sale {sale.reference} has nothing to invoice now.")
            return redirect(sale_change_url(sale))
        form = forms.Form(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():

            def call():
                document = sale_issue_invoice(sale=sale, user=request.user)
                messages.success(request, f"Invoice {document.number} issued for sale {sale.reference}.")
                return redirect(sale_change_url(sale))

            if done := self._run(request, sale, "Invoicing", call):
                return done
        return self._page(request, sale, title=f"Issue an invoice for sale {sale.reference}", form=form,
                          submit_label="Issue invoice", intro=ISSUE_HELP)

    def document_pdf_view(self, request: HttpRequest, object_id: str, document_id: int) -> HttpResponse:
        sale = self.get_object(request, object_id)
        if sale is None or not self.has_view_permission(request, sale):
            raise Http404("No such sale.")
        document = get_object_or_404(
            SaleDocument.objects.select_related("sale__seller", "sale__customer", "sale__store", "credits"),
            sale=sale, pk=document_id,
        )
        response = HttpResponse(render_document_pdf(document), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{document.number}.pdf"'
        return response
