"""Move a sale through its lifecycle: submit, confirm, ship, complete, cancel, reject, refund."""

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from inventory import services as stock
from sales.errors import InvalidTransition
from sales.models import CancelReason, Carrier, ReturnStatus, Sale, SaleItem, SaleStatus
from sales.services._common import (
    _allowed,
    _check_transition,
    _reason,
    _stock_lines,
    _tracking_url,
    _transition,
    sale_lock,
)
from sales.services.payments import _refund_payment, sale_refresh_payments
from salesproject.db import retry_on_transient_db_errors
from salesproject.errors import ValidationError


def _submit(sale: Sale, items: Sequence[SaleItem], *, user) -> None:
    _check_transition(sale, "submit", None)
    stock.stock_reserve(lines=_stock_lines(items), sale=sale, user=user, reason=_reason(sale, "submitted"))
    _transition(sale, "submit", user=user)


def _confirm(sale: Sale, items: Sequence[SaleItem], *, user, saved: bool = True) -> None:
    _check_transition(sale, "confirm", None)
    stock.stock_commit(lines=_stock_lines(items), sale=sale, user=user, reason=_reason(sale, "confirmed"))
    for item in items:
        item.stock_warehouse_id = item.warehouse_id
    if saved:
        SaleItem.objects.bulk_update(items, ["stock_warehouse"])
    _transition(sale, "confirm", user=user)


@retry_on_transient_db_errors
@transaction.atomic
def sale_submit(*, sale: Sale, user) -> Sale:
    """Draft → pending: reserve the stock of every line, or refuse if any line is short."""
    sale = sale_lock(sale=sale)
    _check_transition(sale, "submit", user)
    _submit(sale, list(sale.items.all()), user=user)
    return sale


@retry_on_transient_db_errors
@transaction.atomic
def sale_confirm(*, sale: Sale, user) -> Sale:
    """Pending → confirmed: the reserved units leave the warehouse."""
    sale = sale_lock(sale=sale)
    _check_transition(sale, "confirm", user)
    _confirm(sale, list(sale.items.all()), user=user)
    return sale


@retry_on_transient_db_errors
@transaction.atomic
def sale_ship(
    *, sale: Sale, user, carrier: Carrier | None = None, tracking_code: str = "", tracking_url: str = ""
) -> Sale:
    """Confirmed → in delivery, setting carrier and tracking on every line when given."""
    sale = sale_lock(sale=sale)
    _check_transition(sale, "ship", user)
    if carrier is not None or tracking_code or tracking_url:
        items = list(sale.items.all())
        for item in items:
            if carrier is not None:
                item.carrier = carrier
            if tracking_code:
                item.tracking_code = tracking_code
            item.tracking_url = tracking_url or _tracking_url(item.carrier, item.tracking_code) or item.tracking_url
        SaleItem.objects.bulk_update(items, ["carrier", "tracking_code", "tracking_url"])
    _transition(
        sale, "ship", user=user, carrier=carrier.code if carrier else None, tracking_code=tracking_code,
        tracking_url=tracking_url,
    )
    return sale


@retry_on_transient_db_errors
@transaction.atomic
def sale_complete(*, sale: Sale, user) -> Sale:
    """Confirmed or in delivery → completed."""
    sale = sale_lock(sale=sale)
    _check_transition(sale, "complete", user)
    _transition(sale, "complete", user=user)
    return sale


@retry_on_transient_db_errors
@transaction.atomic
def sale_cancel(*, sale: Sale, user, reason: str = CancelReason.OTHER, note: str = "") -> Sale:
    """Cancel a draft, pending or confirmed sale: release its reservation or put its units back."""
    if reason not in CancelReason.values:
        raise ValidationError(
            f"Reason must be one of: {', '.join(CancelReason.values)}.", code="invalid_choice", attr="reason"
        )
    sale = sale_lock(sale=sale)
    _check_transition(sale, "cancel", user)
    items = list(sale.items.all())
    if sale.holds_reservation:
        stock.stock_release(lines=_stock_lines(items), sale=sale, user=user, reason=_reason(sale, "cancelled"))
    elif sale.stock_committed:
        stock.stock_restock(
            lines=_stock_lines(items, remaining=True), sale=sale, user=user, reason=_reason(sale, "cancelled")
        )
    _transition(sale, "cancel", user=user, args={"reason": reason}, note=note)
    return sale


@retry_on_transient_db_errors
@transaction.atomic
def sale_reject(*, sale: Sale, user, reason: str = "", note: str = "") -> Sale:
    """Pending → rejected: release the reservation."""
    sale = sale_lock(sale=sale)
    _check_transition(sale, "reject", user)
    stock.stock_release(lines=_stock_lines(sale.items.all()), sale=sale, user=user, reason=_reason(sale, "rejected"))
    _transition(sale, "reject", user=user, args={"reason": reason or ""}, note=note)
    return sale


@retry_on_transient_db_errors
@transaction.atomic
def sale_refund(*, sale: Sale, user, restock: bool = False, reason: str = "") -> Sale:
    """Refund a confirmed, shipped or completed sale: give back everything it holds; optionally restock.

    Every unit not yet returned counts as returned and the sale is worth nothing after
    (`returned_total` = `grand_total`); `restock` decides whether those units come back on
    hand or are written off (kept by the customer, damaged).
    """
    sale = sale_lock(sale=sale)
    _check_transition(sale, "refund", user)
    items = list(sale.items.all())
    if restock:
        stock.stock_restock(
            lines=_stock_lines(items, remaining=True), sale=sale, user=user, reason=_reason(sale, "refunded")
        )
    for item in items:
        item.quantity_returned = item.quantity
    SaleItem.objects.bulk_update(items, ["quantity_returned"])
    sale.return_status = ReturnStatus.FULL
    sale.returned_total = sale.grand_total  # a refunded sale is worth nothing (see returned_total_of)
    refunded = sale.paid_total
    _refund_payment(sale, refunded, user, note=reason or "sale refunded")
    sale_refresh_payments(sale=sale)
    _transition(sale, "refund", user=user, reason=reason, restock=restock, amount=str(refunded))
    return sale


def sale_transition_to(*, sale: Sale, user, status: str, reason: str = "", note: str = "", **options: Any) -> Sale:
    """Run the transition that leads to `status` (the generic `POST …/status/`)."""
    if status not in SaleStatus.values:
        raise ValidationError(f"Unknown status {status!r}.", code="invalid_choice", attr="status")
    if status == SaleStatus.PENDING:
        return sale_submit(sale=sale, user=user)
    if status == SaleStatus.CONFIRMED:
        return sale_confirm(sale=sale, user=user)
    if status == SaleStatus.IN_DELIVERY:
        return sale_ship(sale=sale, user=user, **options)
    if status == SaleStatus.COMPLETED:
        return sale_complete(sale=sale, user=user)
    if status == SaleStatus.CANCELLED:
        return sale_cancel(sale=sale, user=user, reason=reason or CancelReason.OTHER, note=note)
    if status == SaleStatus.REJECTED:
        return sale_reject(sale=sale, user=user, reason=reason, note=note)
    if status == SaleStatus.REFUNDED:
        return sale_refund(sale=sale, user=user, reason=reason, **options)
    current = Sale.objects.get(pk=sale.pk)
    raise InvalidTransition(action=f"move to {status}", current=current.status, allowed=_allowed(current, user))
