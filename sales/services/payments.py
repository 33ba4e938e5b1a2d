"""Sale-side payment bookkeeping: the sale fields derived from its payments, and recording them.

`payments` owns the payment rows (`payments.services`: validate, build, insert, allocate, find by
reference); the operations that put money on sales or take it back live here, so `payments` imports
nothing of `sales`. Each locks its sales (by id), then the payment row when it changes an existing one,
checks the money against each sale, writes through `payments.services` and refreshes every sale's
paid total and payment status with a `SaleEvent`, all in one transaction.

A transaction may be spread over several sales (`PaymentAllocation`): a sale's money counts only its
own allocations of successful transactions.
"""

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum

from events.models import EventType
from payments import services as payment_services
from payments.errors import InvalidPaymentTransition, RefundExceedsPaid
from payments.models import Payment, PaymentAllocation, PaymentKind, PaymentMethod, PaymentState
from payments.services import AllocationData, NewPayment
from sales.models import PaymentStatus, Sale, SaleEventType, StoreMembership, StoreRole
from sales.services._common import log_event, sale_lock
from sales.services.outbox import emits_events, note_payment
from salesproject.db import retry_on_transient_db_errors
from salesproject.errors import PermissionDenied, ValidationError
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
    """(received, given back): the sale's own allocations of successful payments and of successful refunds."""
    totals = PaymentAllocation.objects.filter(sale=sale, payment__status=PaymentState.SUCCESSFUL).aggregate(
        paid=Sum("amount", filter=Q(payment__kind=PaymentKind.PAYMENT), default=ZERO),
        refunded=Sum("amount", filter=Q(payment__kind=PaymentKind.REFUND), default=ZERO),
    )
    return totals["paid"], totals["refunded"]


def sale_refresh_payments(*, sale: Sale) -> Sale:
    """Recompute `paid_total` and `payment_status` from the sale's allocations of successful transactions."""
    paid, refunded = sale_money_totals(sale=sale)
    sale.paid_total = quantize(paid - refunded, sale.currency)
    sale.payment_status = derive_payment_status(net_total=sale.net_total, paid=paid, refunded=refunded)
    Sale.objects.filter(pk=sale.pk).update(paid_total=sale.paid_total, payment_status=sale.payment_status)
    return sale


def sale_payment_changed(*, sale: Sale, payment, user, event: str, **data: Any) -> Sale:
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
        **data,
    )
    return sale


def _check_money_on_sale(sale: Sale, *, kind: str, status: str, amount: Decimal, attr: str) -> None:
    """Refuse a successful payment or refund (its part on `sale`) that would take the sale's money out of range.

    A refund never exceeds what the sale holds (`paid_total` stays >= 0); a payment never takes
    `paid_total` past what a money column stores. Pending and failed transactions count for
    nothing until they succeed, so they are checked when they do.
    """
    if status != PaymentState.SUCCESSFUL:
        return
    if kind == PaymentKind.REFUND:
        if amount > sale.paid_total:
            raise RefundExceedsPaid(
                f"A refund of {amount} exceeds what the sale holds ({sale.paid_total} on {sale.reference}).", attr=attr
            )
    elif not fits(sale.paid_total + amount):
        raise ValidationError(
            f"The sale's paid total would exceed {MAX_AMOUNT}.", code="amount_too_large", attr=attr
        )


def _sale_pk(sale: Sale | int) -> int:
    return sale.pk if isinstance(sale, Sale) else sale


def _lock_sales(sales: Iterable[Sale | int]) -> dict[int, Sale]:
    """Lock the sales' rows in ascending id order (the one order, so two writers never deadlock)."""
    return {pk: sale_lock(sale=pk) for pk in sorted({_sale_pk(sale) for sale in sales})}


def _check_distinct(allocations: Sequence[AllocationData], attr: str) -> None:
    seen: set[int] = set()
    for index, allocation in enumerate(allocations):
        pk = _sale_pk(allocation.sale)
        if pk in seen:
            raise ValidationError("Each sale takes at most one allocation.", code="unique",
                                  attr=f"{attr}.{index}.sale")
        seen.add(pk)


def _check_currency(sales: Sequence[Sale], currency: str, *, attr: str, allocations_attr: str | None) -> None:
    for index, sale in enumerate(sales):
        if sale.currency != currency:
            where = f"{allocations_attr}.{index}.sale" if allocations_attr else attr
            raise ValidationError(f"Sale {sale.reference} is in {sale.currency}; the transaction in {currency}.",
                                  attr=where)


def _write_on_locked_sales(
    *,
    sales: Sequence[Sale],
    amounts: Sequence[Any],
    data: NewPayment,
    user,
    attr_prefix: str = "",
    allocations_attr: str | None = None,
) -> Payment:
    """Write a payment or refund over `sales` (locked by the caller), `amounts[i]` of it on `sales[i]`.

    `allocations_attr` None: recorded on one sale the old way (one allocation of the whole amount,
    errors about `currency` and `amount`); else the input's allocations, errors at `<attr>.N.sale|amount`.
    """
    currency = (data.currency or sales[0].currency).upper()
    amount = payment_services.payment_validate(data=data, user=user, attr_prefix=attr_prefix, currency=currency)
    _check_currency(sales, currency, attr=f"{attr_prefix}currency", allocations_attr=allocations_attr)
    if allocations_attr is None:
        parts = [amount]
    else:
        given = [AllocationData(sale=sale, amount=part) for sale, part in zip(sales, amounts, strict=True)]
        parts = payment_services.allocation_amounts(allocations=given, total=amount, currency=currency,
                                                    attr=allocations_attr)
    single = sales[0] if len(sales) == 1 else None
    payment = payment_services.payment_build(data=data, amount=amount, currency=currency, user=user, sale=single)
    for index, (sale, part) in enumerate(zip(sales, parts, strict=True)):
        where = f"{attr_prefix}amount" if allocations_attr is None else f"{allocations_attr}.{index}.amount"
        _check_money_on_sale(sale, kind=payment.kind, status=payment.status, amount=part, attr=where)
    payment_services.payment_insert(payment=payment, attr=f"{attr_prefix}reference")
    payment_services.payment_allocate(payment=payment, parts=list(zip(sales, parts, strict=True)))
    event = SaleEventType.REFUND_RECORDED if data.kind == PaymentKind.REFUND else SaleEventType.PAYMENT_RECORDED
    for sale, part in zip(sales, parts, strict=True):
        extra = {} if single is not None else {"allocated": str(part)}
        sale_payment_changed(sale=sale, payment=payment, user=user, event=event, **extra)
    return payment


def _record_on_locked_sale(*, sale: Sale, data: NewPayment, user, attr_prefix: str = "") -> Payment:
    """Write a payment or refund on `sale`, locked by the caller: one allocation of its whole amount."""
    return _write_on_locked_sales(sales=[sale], amounts=[None], data=data, user=user, attr_prefix=attr_prefix)


@transaction.atomic
@emits_events
def sale_record_payment(*, sale: Sale, user=None, attr_prefix: str = "", **fields: Any) -> Payment:
    """Record a payment or refund (`fields`: those of `NewPayment`) on a sale, locked once; refresh and log it.

    A refund needs `sales.refund_sale` and cannot exceed what the sale holds.
    """
    data = NewPayment(**fields)
    return _record_on_locked_sale(sale=sale_lock(sale=sale), data=data, user=user, attr_prefix=attr_prefix)


@transaction.atomic
@emits_events
def sale_record_allocated_payment(
    *, allocations: Sequence[AllocationData], user=None, attr: str = "allocations", **fields: Any
) -> Payment:
    """Record one payment or refund spread over several sales (`fields`: those of `NewPayment`).

    Every sale in the transaction's currency (default: the first sale's), the amounts adding up
    to the transaction's; a successful refund's part never exceeds what its sale holds. The sales
    are locked by id; each is refreshed and logs the transaction.
    """
    data = NewPayment(**fields)
    if not allocations:
        raise ValidationError("Give at least one allocation.", code="empty", attr=attr)
    _check_distinct(allocations, attr)
    locked = _lock_sales(allocation.sale for allocation in allocations)
    sales = [locked[_sale_pk(allocation.sale)] for allocation in allocations]
    return _write_on_locked_sales(
        sales=sales, amounts=[a.amount for a in allocations], data=data, user=user, allocations_attr=attr
    )


@transaction.atomic
@emits_events
def sale_assign_payment(
    *,
    transaction_reference: str,
    user,
    sale: Sale | None = None,
    allocations: Sequence[AllocationData] | None = None,
    amount=None,
    method: str | None = None,
    for_user=None,
) -> Payment:
    """Match a transaction to a sale, or spread it over several (`allocations`); an unknown reference is
    recorded on the spot (amount and method required).

    A pending or failed transaction is assigned with its status and counts once it succeeds.
    `for_user`: who the transaction is for (its `user`), when given.
    """
    if not transaction_reference:
        raise ValidationError("A transaction reference is required.", code="required", attr="transaction_reference")
    attr = "allocations" if allocations is not None else None
    targets = list(allocations) if allocations is not None else [AllocationData(sale=sale, amount=None)]
    if not targets:
        raise ValidationError("Give at least one allocation.", code="empty", attr="allocations")
    _check_distinct(targets, "allocations")
    locked = _lock_sales(target.sale for target in targets)
    sales = [locked[_sale_pk(target.sale)] for target in targets]
    payment = payment_services.payment_lock_by_reference(reference=transaction_reference)
    if payment is None:
        if amount is None:
            raise ValidationError("Unknown transaction: give its amount to record it.", code="required", attr="amount")
        if not method:
            raise ValidationError("Unknown transaction: give its method to record it.", code="required", attr="method")
        data = NewPayment(amount=amount, method=method, reference=transaction_reference, note="recorded when assigned",
                          for_user=for_user)
        return _write_on_locked_sales(sales=sales, amounts=[t.amount for t in targets], data=data, user=user,
                                      allocations_attr=attr)
    payment_services.payment_check_assignable(payment=payment, transaction_reference=transaction_reference,
                                              amount=amount)
    _check_currency(sales, payment.currency, attr="transaction_reference", allocations_attr=attr)
    if payment.kind == PaymentKind.REFUND:
        payment_services.check_refund_permission(user)
    if attr is None:
        parts = [payment.amount]
    else:
        parts = payment_services.allocation_amounts(allocations=targets, total=payment.amount,
                                                    currency=payment.currency, attr=attr)
    for index, (target, part) in enumerate(zip(sales, parts, strict=True)):
        where = "transaction_reference" if attr is None else f"{attr}.{index}.amount"
        _check_money_on_sale(target, kind=payment.kind, status=payment.status, amount=part, attr=where)
    if for_user is not None and payment.user_id != for_user.pk:
        payment.user = for_user
        payment.save(update_fields=["user"])
    payment_services.payment_allocate(payment=payment, parts=list(zip(sales, parts, strict=True)))
    for target, part in zip(sales, parts, strict=True):
        extra = {} if len(sales) == 1 else {"allocated": str(part)}
        sale_payment_changed(sale=target, payment=payment, user=user, event=SaleEventType.PAYMENT_ASSIGNED, **extra)
    return payment


def payment_may_move(*, payment: Payment, sales: Sequence[Sale], user) -> bool:
    """Whether `user` may move the transaction's status: staff, or the seller (or the store's manager) of every
    sale it is on."""
    if user is None or user.is_staff:
        return True
    if not sales:
        return False
    if all(sale.seller_id == user.pk for sale in sales):
        return True
    managed = set(
        StoreMembership.objects.filter(user_id=user.pk, role=StoreRole.MANAGER).values_list("store_id", flat=True)
    )
    return all(sale.seller_id == user.pk or sale.store_id in managed for sale in sales)


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_payment_set_status(*, payment: Payment | int, status: str, user, note: str = "") -> Payment:
    """Move a pending transaction to `successful` or `failed` and refresh the sales it is on, at once.

    Locks its sales by id, then the payment. Only from `pending` (409 `invalid_transition`); by staff
    or the seller of its sale(s); a refund that becomes successful needs `sales.refund_sale` and may
    not take any sale's paid total below zero (409 `refund_exceeds_paid`).
    """
    locked = _lock_sales(payment_services.payment_sale_ids(payment=payment))
    payment = payment_services.payment_lock(payment=payment)
    allocations = list(PaymentAllocation.objects.filter(payment=payment).order_by("sale_id"))
    missing = [a.sale_id for a in allocations if a.sale_id not in locked]
    if missing:  # assigned between the first read and the payment's lock: lock those too (rare)
        locked.update(_lock_sales(missing))
    sales = [locked[a.sale_id] for a in allocations]
    if not payment_may_move(payment=payment, sales=sales, user=user):
        raise PermissionDenied("Only staff or the seller of every sale of this transaction may change its status.")
    if payment.status != PaymentState.PENDING:
        raise InvalidPaymentTransition(current=payment.status, target=status)
    if payment.kind == PaymentKind.REFUND and status == PaymentState.SUCCESSFUL:
        payment_services.check_refund_permission(user)
    for sale, allocation in zip(sales, allocations, strict=True):
        _check_money_on_sale(sale, kind=payment.kind, status=status, amount=allocation.amount, attr="status")
    payment_services.payment_apply_status(payment=payment, status=status, note=note)
    if not sales:  # unassigned: no sale logs it
        note_payment(payment.pk, EventType.PAYMENT_STATUS_CHANGED, {"status": PaymentState.PENDING})
    event = SaleEventType.REFUND_RECORDED if payment.kind == PaymentKind.REFUND else SaleEventType.PAYMENT_RECORDED
    for sale, allocation in zip(sales, allocations, strict=True):
        sale_payment_changed(sale=sale, payment=payment, user=user, event=event, status_from=PaymentState.PENDING,
                             allocated=str(allocation.amount), note=note)
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
    amount = quantize(amount, sale.currency)
    if amount <= 0:
        return None
    last = sale.payments.filter(kind=PaymentKind.PAYMENT, status=PaymentState.SUCCESSFUL).order_by("-pk").first()
    method = last.method if last else PaymentMethod.OTHER
    data = NewPayment(amount=amount, method=method, kind=PaymentKind.REFUND, note=note)
    return _record_on_locked_sale(sale=sale, data=data, user=user)
