"""Payment services: record payments and refunds, match unassigned transactions to sales.

A payment that belongs to a sale is written with the sale's row locked, and
the sale's derived payment fields are refreshed in the same transaction.
"""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from payments.errors import AlreadyAssigned, RefundExceedsPaid
from payments.models import Payment, PaymentKind, PaymentMethod, PaymentState
from sales import services as sale_services
from sales.models import Sale, SaleEventType
from salesproject.errors import DuplicateReference, ValidationError
from salesproject.money import MAX_AMOUNT, fits, quantize, to_decimal


def _amount(value, attr: str) -> Decimal:
    try:
        amount = to_decimal(value)
    except (TypeError, ValueError):
        raise ValidationError("Amount must be a decimal number.", attr=attr) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError("Amount must be greater than zero.", code="min_value", attr=attr)
    if amount != quantize(amount):
        raise ValidationError("Amount has at most two decimal places.", code="max_decimal_places", attr=attr)
    if not fits(amount):
        raise ValidationError(f"Amounts are stored up to {MAX_AMOUNT}.", code="amount_too_large", attr=attr)
    return amount


def _check_choice(value: str, choices, attr: str) -> None:
    if value not in choices.values:
        raise ValidationError(f"{value!r} is not one of: {', '.join(choices.values)}.", code="invalid_choice",
                              attr=attr)


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


def _insert(payment: Payment, attr: str) -> None:
    if payment.reference and Payment.objects.filter(reference=payment.reference).exists():
        raise DuplicateReference("A payment with this reference already exists.", attr=attr)
    try:
        with transaction.atomic():
            payment.save()
    except IntegrityError:
        if payment.reference and Payment.objects.filter(reference=payment.reference).exists():
            raise DuplicateReference("A payment with this reference already exists.", attr=attr) from None
        raise


@transaction.atomic
def payment_record(
    *,
    amount,
    sale: Sale | None = None,
    method: str = PaymentMethod.CASH,
    kind: str = PaymentKind.PAYMENT,
    status: str = PaymentState.SUCCESSFUL,
    reference: str | None = None,
    received_at: datetime | None = None,
    note: str = "",
    currency: str | None = None,
    user=None,
    attr_prefix: str = "",
) -> Payment:
    """Record a payment or refund, on a sale or unassigned (to be matched later).

    A refund needs `sales.refund_sale` and, on a sale, cannot exceed what the sale holds.
    """
    amount = _amount(amount, f"{attr_prefix}amount")
    _check_choice(method, PaymentMethod, f"{attr_prefix}method")
    _check_choice(kind, PaymentKind, f"{attr_prefix}kind")
    _check_choice(status, PaymentState, f"{attr_prefix}status")
    if kind == PaymentKind.REFUND:
        sale_services.check_refund_permission(user)
    if sale is not None:
        sale = sale_services.sale_lock(sale=sale)
        currency = (currency or sale.currency).upper()
        if currency != sale.currency:
            raise ValidationError(f"The sale is in {sale.currency}.", attr=f"{attr_prefix}currency")
    payment = Payment(
        sale=sale,
        amount=amount,
        currency=(currency or settings.SALES_DEFAULT_CURRENCY).upper(),
        method=method,
        kind=kind,
        status=status,
        reference=reference or None,
        received_at=received_at or timezone.now(),
        note=note or "",
        user=user if user is not None and user.is_authenticated else None,
    )
    if sale is not None:
        _check_money_on_sale(sale, payment, f"{attr_prefix}amount")
    _insert(payment, f"{attr_prefix}reference")
    if sale is not None:
        event = SaleEventType.REFUND_RECORDED if kind == PaymentKind.REFUND else SaleEventType.PAYMENT_RECORDED
        sale_services.sale_payment_changed(sale=sale, payment=payment, user=user, event=event)
    return payment


@transaction.atomic
def payment_assign(
    *, sale: Sale, transaction_reference: str, user, amount=None, method: str | None = None
) -> Payment:
    """Match a transaction to a sale; an unknown reference is recorded on the spot (amount and method required)."""
    if not transaction_reference:
        raise ValidationError("A transaction reference is required.", code="required", attr="transaction_reference")
    sale = sale_services.sale_lock(sale=sale)
    payment = Payment.objects.select_for_update().filter(reference=transaction_reference).first()
    if payment is None:
        if amount is None:
            raise ValidationError("Unknown transaction: give its amount to record it.", code="required", attr="amount")
        if not method:
            raise ValidationError("Unknown transaction: give its method to record it.", code="required", attr="method")
        payment = payment_record(
            sale=sale, amount=amount, method=method, reference=transaction_reference, user=user,
            note="recorded when assigned",
        )
        return payment
    if payment.sale_id is not None:
        raise AlreadyAssigned(
            f"Transaction {transaction_reference} is already assigned to a sale.", attr="transaction_reference"
        )
    if amount is not None and _amount(amount, "amount") != payment.amount:
        raise ValidationError(
            f"The transaction's amount is {payment.amount}, not {amount}.", attr="amount"
        )
    if payment.currency != sale.currency:
        raise ValidationError(f"The transaction is in {payment.currency}; the sale in {sale.currency}.",
                              attr="transaction_reference")
    if payment.kind == PaymentKind.REFUND:
        sale_services.check_refund_permission(user)
    _check_money_on_sale(sale, payment, "transaction_reference")
    payment.sale = sale
    payment.save(update_fields=["sale"])
    sale_services.sale_payment_changed(sale=sale, payment=payment, user=user, event=SaleEventType.PAYMENT_ASSIGNED)
    return payment
