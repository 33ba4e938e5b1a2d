"""Payment services: the payment rows themselves, recorded and matched without knowing what they pay for.

`payments` sits below `sales` (import-linter contract in pyproject.toml): it validates and writes
payment rows, records unassigned transactions and finds them again by reference. Recording a
payment on a sale, assigning a transaction to one and refunding are sale operations
(`sales.services.sale_record_payment`, `sale_assign_payment`): they lock the sale, check its
money, call the functions here and refresh the sale's paid total in the same transaction.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from events.models import EventType
from events.renderers import render_object
from events.services import event_record
from payments.errors import AlreadyAssigned, InvalidPaymentTransition
from payments.models import Payment, PaymentAllocation, PaymentKind, PaymentMethod, PaymentState
from salesproject.errors import DuplicateReference, PermissionDenied, ValidationError
from salesproject.metadata import metadata_merge
from salesproject.money import MAX_AMOUNT, ZERO, fits, has_more_decimals, minor_units, quantize, to_decimal

# The one permission for giving money back, whatever the way (declared on `sales.Sale`'s Meta).
REFUND_PERMISSION = "sales.refund_sale"


def check_refund_permission(user) -> None:
    """Refuse to give money back for a user without `sales.refund_sale` (None: an operator's command)."""
    if user is not None and not user.has_perm(REFUND_PERMISSION):
        raise PermissionDenied("Giving money back needs the permission to refund sales.")


def payment_amount(value, *, attr: str, currency: str | None = None) -> Decimal:
    """The amount of a payment or refund: a positive decimal in the currency's minor units that a money column
    stores (two decimals when the currency is not known yet)."""
    try:
        amount = to_decimal(value)
    except (TypeError, ValueError):
        raise ValidationError("Amount must be a decimal number.", attr=attr) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError("Amount must be greater than zero.", code="min_value", attr=attr)
    if has_more_decimals(amount, currency):
        places = minor_units(currency)
        raise ValidationError(
            f"Amounts in {(currency or 'this currency').upper()} have at most {places} decimal places.",
            code="max_decimal_places",
            attr=attr,
        )
    if not fits(amount):
        raise ValidationError(f"Amounts are stored up to {MAX_AMOUNT}.", code="amount_too_large", attr=attr)
    return quantize(amount, currency) if currency else amount  # "1.000" USD is 1.00


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
    # Who the payment is recorded for (seed 001 `user_id`); None: the user recording it. Staff only (the API).
    for_user: Any = None
    metadata: dict | None = None  # an integrator's flat string → string pairs (salesproject.metadata)


@dataclass(frozen=True)
class AllocationData:
    """One sale's part of a transaction: the sale (id or instance) and its amount."""

    sale: Any
    amount: Any


def payment_validate(*, data: NewPayment, user, attr_prefix: str = "", currency: str | None = None) -> Decimal:
    """Check a new transaction's input (a refund needs the refund permission); returns the amount.

    `currency`: the transaction's, once known (its decimals bound the amount's).
    """
    amount = payment_amount(data.amount, attr=f"{attr_prefix}amount", currency=currency or data.currency)
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
        metadata=metadata_merge({}, data.metadata),
        user=data.for_user or (user if user is not None and user.is_authenticated else None),
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
    currency = data.currency or settings.SALES_DEFAULT_CURRENCY
    amount = payment_validate(data=data, user=user, attr_prefix=attr_prefix, currency=currency)
    payment = payment_build(data=data, amount=amount, currency=currency, user=user)
    payment_insert(payment=payment, attr=f"{attr_prefix}reference")
    # On no sale yet: its event is staff's only (no seller). Recorded on sales: sales.services.outbox.
    event_record(type=EventType.PAYMENT_RECORDED, object_type="payment", object_id=payment.pk,
                 obj=render_object("payment", payment))
    return payment


def payment_lock_by_reference(*, reference: str) -> Payment | None:
    """The transaction with this provider reference, its row locked until the transaction ends; None if unknown."""
    return Payment.objects.select_for_update().filter(reference=reference).first()


def payment_lock(*, payment: Payment | int) -> Payment:
    """The payment, its row locked until the transaction ends (after its sales': sales by id, then payment)."""
    pk = payment.pk if isinstance(payment, Payment) else payment
    return Payment.objects.select_for_update(of=("self",)).select_related("user").get(pk=pk)


def payment_sale_ids(*, payment: Payment | int) -> list[int]:
    """The ids of the sales a payment is allocated to, ascending: the order their rows are locked in."""
    pk = payment.pk if isinstance(payment, Payment) else payment
    return sorted(PaymentAllocation.objects.filter(payment_id=pk).values_list("sale_id", flat=True))


def payment_is_assigned(*, payment: Payment) -> bool:
    return payment.sale_id is not None or PaymentAllocation.objects.filter(payment=payment).exists()


def payment_check_assignable(*, payment: Payment, transaction_reference: str, amount=None) -> None:
    """Refuse a transaction that already belongs to a sale, or whose amount is not the one the caller expects."""
    if payment_is_assigned(payment=payment):
        raise AlreadyAssigned(
            f"Transaction {transaction_reference} is already assigned to a sale.", attr="transaction_reference"
        )
    if amount is not None and payment_amount(amount, attr="amount", currency=payment.currency) != payment.amount:
        raise ValidationError(
            f"The transaction's amount is {payment.amount}, not {amount}.", attr="amount"
        )


def allocation_amounts(
    *, allocations: Sequence[AllocationData], total: Decimal, currency: str, attr: str = "allocations"
) -> list[Decimal]:
    """Check each allocation's amount (positive, in the currency's decimals) and that they add up to `total`.

    An allocation without an amount takes the whole of `total` (only when it is the only one).
    """
    if not allocations:
        raise ValidationError("Give at least one allocation.", code="empty", attr=attr)
    amounts = []
    for index, allocation in enumerate(allocations):
        if allocation.amount is None:
            if len(allocations) > 1:
                raise ValidationError("Each allocation needs its amount.", code="required",
                                      attr=f"{attr}.{index}.amount")
            amounts.append(total)
        else:
            amounts.append(payment_amount(allocation.amount, attr=f"{attr}.{index}.amount", currency=currency))
    allocated = sum(amounts, ZERO)
    if allocated != total:
        raise ValidationError(
            f"The allocations add up to {allocated}, not to the transaction's amount {total}.",
            code="allocations_mismatch",
            attr=attr,
        )
    return amounts


def payment_allocate(*, payment: Payment, parts: Sequence[tuple[Any, Decimal]]) -> list[PaymentAllocation]:
    """Write the allocations of a saved payment (`parts`: (sale, amount)), whose sales the caller has locked.

    `payment.sale` becomes the sale of a single allocation (none for several); the allocations stay
    loaded on the payment, so showing it asks nothing more of the database.
    """
    rows = PaymentAllocation.objects.bulk_create(
        [PaymentAllocation(payment=payment, sale=sale, amount=amount) for sale, amount in parts]
    )
    single = parts[0][0] if len(parts) == 1 else None
    if payment.sale_id != (single.pk if single is not None else None):
        payment.sale = single
        payment.save(update_fields=["sale"])
    cache = getattr(payment, "_prefetched_objects_cache", None)
    if cache is None:
        cache = payment._prefetched_objects_cache = {}
    queryset = payment.allocations.all()
    queryset._result_cache, queryset._prefetch_done = list(rows), True
    cache["allocations"] = queryset
    return rows


def payment_mark_assigned(*, payment: Payment, sale) -> Payment:
    """Attach a locked, unassigned transaction to `sale`, all of it (the caller locked the sale, checked its money)."""
    payment_allocate(payment=payment, parts=[(sale, payment.amount)])
    return payment


def payment_apply_status(*, payment: Payment, status: str, note: str = "") -> Payment:
    """Move a locked pending transaction to `successful` or `failed` (the caller refreshes its sales).

    Only a pending transaction moves (else 409 `invalid_transition`); `note` is added to its note.
    """
    targets = (PaymentState.SUCCESSFUL, PaymentState.FAILED)
    if status not in targets:
        raise ValidationError(f"{status!r} is not one of: {', '.join(targets)}.", code="invalid_choice",
                              attr="status")
    if payment.status != PaymentState.PENDING:
        raise InvalidPaymentTransition(current=payment.status, target=status)
    payment.status = status
    fields = ["status"]
    if note:
        payment.note = f"{payment.note}\n{note}" if payment.note else note
        fields.append("note")
    payment.save(update_fields=fields)
    return payment
