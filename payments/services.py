"""Payment services: the payment rows themselves, recorded and matched without knowing what they pay for.

`payments` sits below `sales` (import-linter contract in pyproject.toml): it validates and writes
payment rows, records unassigned transactions and finds them again by reference. Recording a
payment on a sale, assigning a transaction to one and refunding are sale operations
(`sales.services.sale_record_payment`, `sale_assign_payment`): they lock the sale, check its
money, call the functions here and refresh the sale's paid total in the same transaction.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from payments.errors import AlreadyAssigned
from payments.models import Payment, PaymentKind, PaymentMethod, PaymentState
from salesproject.errors import DuplicateReference, PermissionDenied, ValidationError
from salesproject.money import MAX_AMOUNT, fits, quantize, to_decimal

# The one permission for giving money back, whatever the way (declared on `sales.Sale`'s Meta).
REFUND_PERMISSION = "sales.refund_sale"


def check_refund_permission(user) -> None:
    """Refuse to give money back for a user without `sales.refund_sale` (None: an operator's command)."""
    if user is not None and not user.has_perm(REFUND_PERMISSION):
        raise PermissionDenied("Giving money back needs the permission to refund sales.")


def payment_amount(value, *, attr: str) -> Decimal:
    """The amount of a payment or refund: a positive decimal of at most two places that a money column stores."""
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


@dataclass(frozen=True, kw_only=True)
class NewPayment:
    """A transaction to record: a payment or a refund, with what its provider says of it.

    Built by the API, the admin, the CSV import and the sale services; checked by
    `payment_validate`. `currency` None means the sale's (or the default one, unassigned).
    """

    amount: Any
    method: str = PaymentMethod.CASH
    kind: str = PaymentKind.PAYMENT
    status: str = PaymentState.SUCCESSFUL
    reference: str | None = None
    received_at: datetime | None = None
    note: str = ""
    currency: str | None = None


def payment_validate(*, data: NewPayment, user, attr_prefix: str = "") -> Decimal:
    """Check a new transaction's input (a refund needs the refund permission); returns the amount."""
    amount = payment_amount(data.amount, attr=f"{attr_prefix}amount")
    _check_choice(data.method, PaymentMethod, f"{attr_prefix}method")
    _check_choice(data.kind, PaymentKind, f"{attr_prefix}kind")
    _check_choice(data.status, PaymentState, f"{attr_prefix}status")
    if data.kind == PaymentKind.REFUND:
        check_refund_permission(user)
    return amount


def payment_build(*, data: NewPayment, amount: Decimal, currency: str | None, user, sale=None) -> Payment:
    """The unsaved payment row of validated input (`sale`: the sale it is recorded on, if any)."""
    return Payment(
        sale=sale,
        amount=amount,
        currency=(currency or settings.SALES_DEFAULT_CURRENCY).upper(),
        method=data.method,
        kind=data.kind,
        status=data.status,
        reference=data.reference or None,
        received_at=data.received_at or timezone.now(),
        note=data.note or "",
        user=user if user is not None and user.is_authenticated else None,
    )


def payment_insert(*, payment: Payment, attr: str) -> Payment:
    """Insert the row; a provider reference already taken is `duplicate_reference` on `attr`."""
    if payment.reference and Payment.objects.filter(reference=payment.reference).exists():
        raise DuplicateReference("A payment with this reference already exists.", attr=attr)
    try:
        with transaction.atomic():
            payment.save()
    except IntegrityError:
        if payment.reference and Payment.objects.filter(reference=payment.reference).exists():
            raise DuplicateReference("A payment with this reference already exists.", attr=attr) from None
        raise
    return payment


@transaction.atomic
def payment_record(*, user=None, attr_prefix: str = "", **fields: Any) -> Payment:
    """Record an unassigned payment or refund (`fields`: those of `NewPayment`), to be matched to a sale later.

    A refund needs `sales.refund_sale`. On a sale: `sales.services.sale_record_payment`.
    """
    data = NewPayment(**fields)
    amount = payment_validate(data=data, user=user, attr_prefix=attr_prefix)
    payment = payment_build(data=data, amount=amount, currency=data.currency, user=user)
    return payment_insert(payment=payment, attr=f"{attr_prefix}reference")


def payment_lock_by_reference(*, reference: str) -> Payment | None:
    """The transaction with this provider reference, its row locked until the transaction ends; None if unknown."""
    return Payment.objects.select_for_update().filter(reference=reference).first()


def payment_check_assignable(*, payment: Payment, transaction_reference: str, amount=None) -> None:
    """Refuse a transaction that already belongs to a sale, or whose amount is not the one the caller expects."""
    if payment.sale_id is not None:
        raise AlreadyAssigned(
            f"Transaction {transaction_reference} is already assigned to a sale.", attr="transaction_reference"
        )
    if amount is not None and payment_amount(amount, attr="amount") != payment.amount:
        raise ValidationError(
            f"The transaction's amount is {payment.amount}, not {amount}.", attr="amount"
        )


def payment_mark_assigned(*, payment: Payment, sale) -> Payment:
    """Attach a locked, unassigned transaction to `sale` (the caller has locked the sale and checked its money)."""
    payment.sale = sale
    payment.save(update_fields=["sale"])
    return payment
