"""Sale-side payment bookkeeping: the sale fields derived from its payments, and recording them."""

from collections.abc import Sequence
from decimal import Decimal

from django.db.models import Q, Sum

from payments.models import PaymentKind, PaymentMethod, PaymentState
from sales.models import PaymentStatus, Sale
from sales.services._common import PaymentData, _log
from salesproject.money import ZERO, quantize


def derive_payment_status(*, net_total: Decimal, paid: Decimal, refunded: Decimal) -> str:
    """Payment status from what the sale is worth (`net_total`) and the successful money in and out.

    With any refund: `refunded` once nothing is held any more, else `partially_refunded`.
    Without: `paid` when what is held equals the sale's worth (a 0.00 sale included),
    `unpaid` when nothing is held, `partially_paid` below it, `overpaid` above.
    """
    held = paid - refunded
    if refunded > 0:
        return PaymentStatus.REFUNDED if held <= 0 else PaymentStatus.PARTIALLY_REFUNDED
    if held == net_total:
        return PaymentStatus.PAID
    if held <= 0:
        return PaymentStatus.UNPAID
    return PaymentStatus.PARTIALLY_PAID if held < net_total else PaymentStatus.OVERPAID


def sale_money_totals(*, sale: Sale) -> tuple[Decimal, Decimal]:
    """(received, given back): the sale's successful payments and successful refunds."""
    totals = sale.payments.filter(status=PaymentState.SUCCESSFUL).aggregate(
        paid=Sum("amount", filter=Q(kind=PaymentKind.PAYMENT), default=ZERO),
        refunded=Sum("amount", filter=Q(kind=PaymentKind.REFUND), default=ZERO),
    )
    return totals["paid"], totals["refunded"]


def sale_refresh_payments(*, sale: Sale) -> Sale:
    """Recompute `paid_total` and `payment_status` from the sale's successful payments and its worth."""
    paid, refunded = sale_money_totals(sale=sale)
    sale.paid_total = quantize(paid - refunded)
    sale.payment_status = derive_payment_status(net_total=sale.net_total, paid=paid, refunded=refunded)
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
    """Record money given back (nothing for 0.00); more than the sale holds is refused by the payment service."""
    from payments import services as payment_services

    amount = quantize(amount)
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
