"""Attach invoice files to a sale, checked by content."""

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from sales.models import Invoice, Sale, SaleEventType
from sales.services._common import log_event, sale_lock, user_or_none
from sales.services.outbox import emits_events
from salesproject.errors import ValidationError

INVOICE_MAX_BYTES = settings.INVOICE_MAX_BYTES
# What a file is, judged by its first bytes, never by its name or the client's content type.
INVOICE_SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)


def sniff_invoice_type(head: bytes) -> tuple[str, str] | None:
    for signature, content_type, suffix in INVOICE_SIGNATURES:
        if head.startswith(signature):
            return content_type, suffix
    return None


@transaction.atomic
@emits_events
def sale_attach_invoice(*, sale: Sale, user, content: bytes, filename: str = "", attr: str = "file") -> Invoice:
    """Attach an uploaded invoice (PDF, PNG or JPEG by content, at most 10 MB) under a generated name."""
    if not content:
        raise ValidationError("The file is empty.", code="empty", attr=attr)
    if len(content) > INVOICE_MAX_BYTES:
        raise ValidationError("The file is larger than 10 MB.", code="max_size", attr=attr)
    sniffed = sniff_invoice_type(content[:16])
    if sniffed is None:
        raise ValidationError("Only PDF, PNG or JPEG files are accepted.", code="invalid_file_type", attr=attr)
    content_type, suffix = sniffed
    sale = sale_lock(sale=sale)
    invoice = Invoice(
        sale=sale, content_type=content_type, size=len(content), original_filename=(filename or "")[:255],
        user=user_or_none(user),
    )
    invoice.file.save(f"invoice{suffix}", ContentFile(content), save=False)
    invoice.save()
    invoice.number = f"INV-{invoice.pk:06d}"
    Invoice.objects.filter(pk=invoice.pk).update(number=invoice.number)
    log_event(sale, SaleEventType.INVOICE_ATTACHED, user=user, invoice=invoice.pk, number=invoice.number,
         content_type=content_type, size=len(content))
    return invoice
