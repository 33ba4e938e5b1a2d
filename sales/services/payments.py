"""Sale-side payment bookkeeping: the sale fields derived from its payments, and recording them."""

from collections.abc import Sequence
from decimal import Decimal

from django.db.models import Q, Sum

from payments.models import PaymentKind, PaymentMethod, PaymentState
from sales.models import PaymentStatus, Sale
from sales.services._common import PaymentData, _log
from salesproject.money import ZERO, quantize


def derive_payment_status(*, grand_total: Decimal, paid: Decimal, refunded: Decimal) -> str:
    """Payment status from what was received and given back."""
    net = paid - refunded
    if refunded > 0 and net <= 0:
        return PaymentStatus.REFUNDED
    if net <= 0:
        return PaymentStatus.PAID if grand_total == 0 else PaymentStatus.UNPAID
    if net < grand_total:
        return PaymentStatus.PARTIALLY_PAID
    if net == grand_total:
        return PaymentStatus.PAID
    return PaymentStatus.OVERPAID


def sale_refresh_payments(*, sale: Sale) -> Sale:
    """Recompute `paid_total` and `payment_status` from the sale's successful payments."""
    totals = sale.payments.filter(status=PaymentState.SUCCESSFUL).aggregate(
        paid=Sum("amount", filter=Q(kind=PaymentKind.PAYMENT), default=ZERO),
        refunded=Sum("amount", filter=Q(kind=PaymentKind.REFUND), default=ZERO),
    )
    sale.paid_total = quantize(totals["paid"] - totals["refunded"])
    sale.payment_status = derive_payment_status(
        grand_total=sale.grand_total, paid=totals["paid"], refunded=totals["refunded"]
    )
    Sale.objects.filter(pk=sale.pk).update(paid_total=sale.paid_total, payment_status=sale.payment_status)
    return sale


def sale_payment_changed(*, sale: Sale, payment, user, event: str) -> Sale:
    """Refresh the derived payment fields and log the payment (the sale is locked by the caller)."""
    sale_refresh_payments(sale=sale)
    _log(
        sale,
        event,
        user=user,
        payment=payment.pk,
        amount=str(payment.amount),
        method=payment.method,
        kind=payment.kind,
        status=payment.status,
        reference=payment.reference or "",
    )
    return sale


def _record_payments(sale: Sale, payments: Sequence[PaymentData], user) -> list:
    from payments import services as payment_services

    return [
        payment_services.payment_record(
            sale=sale,
            amount=data.amount,
            method=data.method,
            reference=data.reference,
            received_at=data.received_at,
            note=data.note,
            status=data.status,
            user=user,
            attr_prefix=f"payments.{index}.",
        )
        for index, data in enumerate(payments)
    ]


def _refund_payment(sale: Sale, amount: Decimal, user, note: str) -> None:
    """Record money given back, capped at what was actually received."""
    from payments import services as payment_services

    amount = min(quantize(amount), sale.paid_total)
    if amount <= 0:
        return
    last = sale.payments.filter(kind=PaymentKind.PAYMENT, status=PaymentState.SUCCESSFUL).order_by("-pk").first()
    payment_services.payment_record(
        sale=sale,
        amount=amount,
        method=last.method if last else PaymentMethod.OTHER,
        kind=PaymentKind.REFUND,
        note=note,
        user=user,
    )
