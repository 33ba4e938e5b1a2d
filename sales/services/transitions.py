"""Move a sale through its lifecycle: submit, confirm, ship, complete, cancel, reject, refund."""

from collections.abc import Callable, Sequence
from inspect import signature
from typing import Any

from django.db import transaction

from inventory import services as stock
from sales.errors import InvalidTransition
from sales.models import (
    COMMITTED_STATUSES,
    RESERVING_STATUSES,
    TRANSITION_FOR_STATUS,
    CancellationStatus,
    CancelReason,
    Carrier,
    ReturnStatus,
    Sale,
    SaleEvent,
    SaleEventType,
    SaleItem,
    SaleStatus,
)
from sales.services._common import (
    allowed_statuses,
    build_event,
    check_transition,
    run_transition,
    sale_lock,
    stock_lines,
    stock_reason,
)
from sales.services.documents import sale_credit_uninvoiced
from sales.services.fulfilment import fulfil_everything_left
from sales.services.outbox import emits_events
from sales.services.payments import sale_refresh_payments, sale_refund_money
from sales.services.promotions import count_usage, give_back_usage
from salesproject.db import retry_on_transient_db_errors
from salesproject.errors import ValidationError


def advance_in_memory(sale: Sale, items: Sequence[SaleItem], names: Sequence[str]) -> list[tuple[str, str, str]]:
    """Run the transitions `names` on the sale in memory (nothing is written); (from, to, name) of each.

    Lines whose units leave the warehouse with these steps record where from (`stock_warehouse`).
    """
    was_committed = sale.stock_committed
    steps = []
    for name in names:
        check_transition(sale, name, None)
        source = sale.status
        getattr(sale, name)()
        steps.append((source, sale.status, name))
    if sale.stock_committed and not was_committed:
        for item in items:
            item.stock_warehouse_id = item.warehouse_id
    return steps


def move_stock_to_status(sale: Sale, items: Sequence[SaleItem], *, was: str, user) -> None:
    """Make the stock follow a sale that moved forward from status `was`, in one locked step.

    Submitted: reserve its lines; confirmed: take the reserved units out of stock; both at once
    (a sale created confirmed or completed): reserve and commit together.
    """
    held = was in RESERVING_STATUSES or was in COMMITTED_STATUSES
    if sale.holds_reservation and not held:
        stock.stock_reserve(lines=stock_lines(items), sale=sale, user=user, reason=stock_reason(sale, "submitted"))
    elif sale.stock_committed and was in RESERVING_STATUSES:
        stock.stock_commit(lines=stock_lines(items), sale=sale, user=user, reason=stock_reason(sale, "confirmed"))
    elif sale.stock_committed and not held:
        stock.stock_reserve_and_commit(
            lines=stock_lines(items), sale=sale, user=user, reason=stock_reason(sale, "confirmed")
        )


def status_events(sale: Sale, steps: Sequence[tuple[str, str, str]], *, user) -> list[SaleEvent]:
    """One unsaved `status_changed` event per step of `advance_in_memory`."""
    return [
        build_event(
            sale, SaleEventType.STATUS_CHANGED, user=user, from_status=source, to_status=target, transition=name
        )
        for source, target, name in steps
    ]


def _advance(sale: Sale, items: Sequence[SaleItem], names: Sequence[str], *, user) -> None:
    """Move a saved, locked sale forward through `names` with its stock, save it and log each step."""
    was, was_committed = sale.status, sale.stock_committed
    steps = advance_in_memory(sale, items, names)
    move_stock_to_status(sale, items, was=was, user=user)
    if sale.stock_committed and not was_committed:
        SaleItem.objects.bulk_update(items, ["stock_warehouse"])
    sale.save()
    for event in status_events(sale, steps, user=user):
        event.save()


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_submit(*, sale: Sale, user) -> Sale:
    """Draft → pending: reserve the stock of every line, or refuse if any line is short."""
    sale = sale_lock(sale=sale)
    check_transition(sale, "submit", user)
    items = list(sale.items.all())
    if not items:  # a draft created without lines (compat 003)
        raise ValidationError("A sale needs at least one item before it is submitted.", code="empty", attr="items")
    _advance(sale, items, ("submit",), user=user)
    return sale


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_confirm(*, sale: Sale, user) -> Sale:
    """Pending → confirmed: the reserved units leave the warehouse."""
    sale = sale_lock(sale=sale)
    check_transition(sale, "confirm", user)
    count_usage(sale, sale.applied_promotions.values_list("promotion_id", flat=True))  # after the sale, before stock
    _advance(sale, list(sale.items.all()), ("confirm",), user=user)
    return sale


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_ship(
    *, sale: Sale, user, carrier: Carrier | None = None, tracking_code: str = "", tracking_url: str = ""
) -> Sale:
    """Confirmed → in delivery: one fulfilment of every unit not fulfilled yet, with this carrier and tracking."""
    sale = sale_lock(sale=sale)
    check_transition(sale, "ship", user)
    fulfillment = fulfil_everything_left(
        sale, user=user, carrier=carrier, tracking_code=tracking_code, tracking_url=tracking_url
    )
    run_transition(
        sale, "ship", user=user, carrier=carrier.code if carrier else None, tracking_code=tracking_code,
        tracking_url=tracking_url, fulfillment=fulfillment.number if fulfillment else None,
    )
    return sale


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_complete(*, sale: Sale, user) -> Sale:
    """Confirmed or in delivery → completed; units not fulfilled yet go out in one fulfilment that has
    already arrived (delivered, or picked up), so a completed sale is fulfilled."""
    sale = sale_lock(sale=sale)
    check_transition(sale, "complete", user)
    fulfil_everything_left(sale, user=user, arrived=True)
    _advance(sale, (), ("complete",), user=user)  # its units have left already: no lines needed
    return sale


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_cancel(*, sale: Sale, user, reason: str = CancelReason.OTHER, note: str = "") -> Sale:
    """Cancel a draft, pending or confirmed sale: release its reservation or put its units back."""
    if reason not in CancelReason.values:
        raise ValidationError(
            f"Reason must be one of: {', '.join(CancelReason.values)}.", code="invalid_choice", attr="reason"
        )
    sale = sale_lock(sale=sale)
    check_transition(sale, "cancel", user)
    give_back_usage(sale)  # its promotions' uses, if nothing went out yet
    items = list(sale.items.all())
    if sale.holds_reservation:
        stock.stock_release(lines=stock_lines(items), sale=sale, user=user, reason=stock_reason(sale, "cancelled"))
    elif sale.stock_committed:
        stock.stock_restock(
            lines=stock_lines(items, remaining=True), sale=sale, user=user, reason=stock_reason(sale, "cancelled")
        )
    # The lines stay as sold (a whole cancel keeps its totals, which pricing its lines still gives).
    sale.cancellation_status = CancellationStatus.FULL
    run_transition(sale, "cancel", user=user, args={"reason": reason}, note=note)
    sale_credit_uninvoiced(sale=sale, user=user, reason=f"sale cancelled: {reason}")
    return sale


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_reject(*, sale: Sale, user, reason: str = "", note: str = "") -> Sale:
    """Pending → rejected: release the reservation."""
    sale = sale_lock(sale=sale)
    check_transition(sale, "reject", user)
    stock.stock_release(
        lines=stock_lines(sale.items.all()), sale=sale, user=user, reason=stock_reason(sale, "rejected")
    )
    run_transition(sale, "reject", user=user, args={"reason": reason or ""}, note=note)
    return sale


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_refund(*, sale: Sale, user, restock: bool = False, reason: str = "") -> Sale:
    """Refund a confirmed, shipped or completed sale: give back everything it holds; optionally restock.

    Every unit not yet returned counts as returned and the sale is worth nothing after
    (`returned_total` = `grand_total`); `restock` decides whether those units come back on
    hand or are written off (kept by the customer, damaged).
    """
    sale = sale_lock(sale=sale)
    check_transition(sale, "refund", user)
    items = list(sale.items.all())
    if restock:
        stock.stock_restock(
            lines=stock_lines(items, remaining=True), sale=sale, user=user, reason=stock_reason(sale, "refunded")
        )
    for item in items:
        item.quantity_returned = item.quantity_active
    SaleItem.objects.bulk_update(items, ["quantity_returned"])
    sale.return_status = ReturnStatus.FULL
    sale.returned_total = sale.grand_total  # a refunded sale is worth nothing (see returned_total_of)
    refunded = sale.paid_total
    if sale_refund_money(sale=sale, amount=refunded, user=user, note=reason or "sale refunded") is None:
        sale_refresh_payments(sale=sale)  # nothing to give back, but the sale is worth nothing now
    run_transition(sale, "refund", user=user, reason=reason, restock=restock, amount=str(refunded))
    sale_credit_uninvoiced(sale=sale, user=user, reason=reason or "sale refunded")
    return sale


# The service behind each transition name of `TRANSITION_FOR_STATUS` (the model's table): the generic
# `POST …/status/` and the admin's buttons run these, never the model's transition method alone.
TRANSITION_SERVICES: dict[str, Callable[..., Sale]] = {
    "submit": sale_submit,
    "confirm": sale_confirm,
    "ship": sale_ship,
    "complete": sale_complete,
    "cancel": sale_cancel,
    "reject": sale_reject,
    "refund": sale_refund,
}
# The keyword arguments each service takes, to pass on only those of `sale_transition_to`'s.
_SERVICE_ARGUMENTS = {name: frozenset(signature(service).parameters) for name, service in TRANSITION_SERVICES.items()}


def sale_transition_to(*, sale: Sale, user, status: str, reason: str = "", note: str = "", **options: Any) -> Sale:
    """Run the transition that leads to `status` (the generic `POST …/status/`).

    `reason` and `note`, when given, and `options` (ship's carrier and tracking, refund's restock) go
    to the service that takes them; a blank cancel reason is the service's default (`other`).
    """
    if status not in SaleStatus.values:
        raise ValidationError(
            f'Unknown status "{status}". Valid choices: {", ".join(SaleStatus.values)}.', code="invalid_choice",
            attr="status",
        )
    name = TRANSITION_FOR_STATUS.get(status)
    if name is None:
        current = Sale.objects.get(pk=sale.pk)
        allowed = allowed_statuses(current, user)
        raise InvalidTransition(action=f"move to {status}", current=current.status, allowed=allowed)
    given = {"reason": reason, "note": note, **options}
    accepted = _SERVICE_ARGUMENTS[name]
    return TRANSITION_SERVICES[name](
        sale=sale, user=user, **{key: value for key, value in given.items() if key in accepted and value != ""}
    )
