"""Sale-side payment bookkeeping: the sale fields derived from its payments, and recording them.

`payments` owns the payment rows (`payments.services`: validate, build, insert, find by reference);
the operations that put money on a sale or take it back live here, so `payments` imports nothing
of `sales`. Each locks the sale once, checks the money against it, writes through
`payments.services` and refreshes the sale's paid total and payment status with a `SaleEvent`.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum

from payments import services as payment_services
from payments.errors import RefundExceedsPaid
from payments.models import Payment, PaymentKind, PaymentMethod, PaymentState
from payments.services import NewPayment
from sales.models import PaymentStatus, Sale, SaleEventType
from sales.services._common import log_event, sale_lock
from salesproject.errors import ValidationError
from salesproject.money import MAX_AMOUNT, ZERO, fits, quantize


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
    log_event(
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


def _check_money_on_sale(sale: Sale, payment: Payment, attr: str) -> None:
    """Refuse a successful payment or refund that would take the sale's money out of range.

    A refund never exceeds what the sale holds (`paid_total` stays >= 0); a payment never takes
    `paid_total` past what a money column stores. Pending and failed transactions count for
    nothing until they succeed, so they are not checked here.
    """
    if payment.status != PaymentState.SUCCESSFUL:
        return
    if payment.kind == PaymentKind.REFUND:
        if payment.amount > sale.paid_total:
            raise RefundExceedsPaid(
                f"A refund of {payment.amount} exceeds what the sale holds ({sale.paid_total}).", attr=attr
            )
    elif not fits(sale.paid_total + payment.amount):
        raise ValidationError(
            f"The sale's paid total would exceed {MAX_AMOUNT}.", code="amount_too_large", attr=attr
        )


def _record_on_locked_sale(*, sale: Sale, data: NewPayment, user, attr_prefix: str = "") -> Payment:
    """Write a payment or refund on `sale`, locked by the caller, check it against the sale's money, refresh it."""
    amount = payment_services.payment_validate(data=data, user=user, attr_prefix=attr_prefix)
    currency = (data.currency or sale.currency).upper()
    if currency != sale.currency:
        raise ValidationError(f"The sale is in {sale.currency}.", attr=f"{attr_prefix}currency")
    payment = payment_services.payment_build(data=data, amount=amount, currency=currency, user=user, sale=sale)
    _check_money_on_sale(sale, payment, f"{attr_prefix}amount")
    payment_services.payment_insert(payment=payment, attr=f"{attr_prefix}reference")
    event = SaleEventType.REFUND_RECORDED if data.kind == PaymentKind.REFUND else SaleEventType.PAYMENT_RECORDED
    sale_payment_changed(sale=sale, payment=payment, user=user, event=event)
    return payment


@transaction.atomic
def sale_record_payment(*, sale: Sale, user=None, attr_prefix: str = "", **fields: Any) -> Payment:
    """Record a payment or refund (`fields`: those of `NewPayment`) on a sale, locked once; refresh and log it.

    A refund needs `sales.refund_sale` and cannot exceed what the sale holds.
    """
    data = NewPayment(**fields)
    return _record_on_locked_sale(sale=sale_lock(sale=sale), data=data, user=user, attr_prefix=attr_prefix)


@transaction.atomic
def sale_assign_payment(
    *, sale: Sale, transaction_reference: str, user, amount=None, method: str | None = None
) -> Payment:
    """Match a transaction to a sale; an unknown reference is recorded on the spot (amount and method required)."""
    if not transaction_reference:
        raise ValidationError("A transaction reference is required.", code="required", attr="transaction_reference")
    sale = sale_lock(sale=sale)
    payment = payment_services.payment_lock_by_reference(reference=transaction_reference)
    if payment is None:
        if amount is None:
            raise ValidationError("Unknown transaction: give its amount to record it.", code="required", attr="amount")
        if not method:
            raise ValidationError("Unknown transaction: give its method to record it.", code="required", attr="method")
        data = NewPayment(amount=amount, method=method, reference=transaction_reference, note="recorded when assigned")
        return _record_on_locked_sale(sale=sale, data=data, user=user)
    payment_services.payment_check_assignable(payment=payment, transaction_reference=transaction_reference,
                                              amount=amount)
    if payment.currency != sale.currency:
        raise ValidationError(f"The transaction is in {payment.currency}; the sale in {sale.currency}.",
                              attr="transaction_reference")
    if payment.kind == PaymentKind.REFUND:
        payment_services.check_refund_permission(user)
    _check_money_on_sale(sale, payment, "transaction_reference")
    payment_services.payment_mark_assigned(payment=payment, sale=sale)
    sale_payment_changed(sale=sale, payment=payment, user=user, event=SaleEventType.PAYMENT_ASSIGNED)
    return payment


def sale_record_payments(*, sale: Sale, payments: Sequence[NewPayment], user) -> list[Payment]:
    """The payments given with a new sale (inserted, so locked, in this transaction), in input order."""
    return [
        _record_on_locked_sale(sale=sale, data=data, user=user, attr_prefix=f"payments.{index}.")
        for index, data in enumerate(payments)
    ]


def sale_refund_money(*, sale: Sale, amount: Decimal, user, note: str) -> Payment | None:
    """Record money given back on a sale the caller has locked; more than it holds is refused.

    The refund refreshes the sale's paid total and payment status. For 0.00 nothing is recorded
    and nothing refreshed: None, and a caller that changed what the sale is worth refreshes it.
    """
    amount = quantize(amount)
    if amount <= 0:
        return None
    last = sale.payments.filter(kind=PaymentKind.PAYMENT, status=PaymentState.SUCCESSFUL).order_by("-pk").first()
    method = last.method if last else PaymentMethod.OTHER
    data = NewPayment(amount=amount, method=method, kind=PaymentKind.REFUND, note=note)
    return _record_on_locked_sale(sale=sale, data=data, user=user)
