"""Fulfilments: which units of a sale left in which parcel or pick-up, and where each one is.

Stock left the warehouse at confirm, so nothing here moves stock. A fulfilment is written
with its sale's row locked (its number `<reference>-F<n>` is the sale's next one under that
lock), and the sale's `fulfillment_status` / `delivery_status` are derived again from what
its fulfilments say, in the same transaction:

- fulfilled units are the units in fulfilments that did not fail and were not sent back,
  kept per line in `SaleItem.quantity_fulfilled`;
- `delivery_status` is the least advanced status of the live fulfilments, `failed` when one
  failed and none is still on its way;
- when every unit is fulfilled and every live fulfilment arrived (delivered or picked up),
  an `in_delivery` sale completes by itself (user null, `reason: "delivered"`).
"""

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from sales.errors import InvalidTransition, PaymentRequired, TrackingRefused
from sales.models import (
    ARRIVED_TRACKING_STATUSES,
    DEAD_TRACKING_STATUSES,
    DELIVERY_PROGRESS,
    FINAL_TRACKING_STATUSES,
    TRACKING_FLOW,
    TRACKING_STOPS,
    Carrier,
    DeliveryMode,
    DeliveryStatus,
    Fulfillment,
    FulfillmentLine,
    FulfillmentStatus,
    Sale,
    SaleEventType,
    SaleItem,
    SaleStatus,
    TrackingEvent,
    TrackingStatus,
)
from sales.services._common import (
    allowed_statuses,
    check_transition,
    log_event,
    resolve_item_quantities,
    run_transition,
    sale_lock,
    tracking_url_for,
)
from sales.services.commands import ItemQuantity
from sales.services.outbox import emits_events
from salesproject.db import retry_on_transient_db_errors
from salesproject.errors import ValidationError

# A sale's units go out while it is confirmed (the first fulfilment ships it) or in delivery.
FULFILLABLE_STATUSES = frozenset({SaleStatus.CONFIRMED, SaleStatus.IN_DELIVERY})
# Tracking goes on while the parcel may still move: after completion (a late "delivered") or a refund
# (the parcel comes back) too.
TRACKABLE_STATUSES = frozenset(
    {SaleStatus.CONFIRMED, SaleStatus.IN_DELIVERY, SaleStatus.COMPLETED, SaleStatus.REFUNDED}
)
FULFILMENT_SALE_FIELDS = ["status", "fulfillment_status", "delivery_status", "shipped_at", "completed_at", "updated_at"]


def first_tracking_status(mode: str) -> str:
    return TRACKING_FLOW[DeliveryMode(mode)][0]


def arrived_tracking_status(mode: str) -> str:
    return TRACKING_FLOW[DeliveryMode(mode)][-1]


def check_payment(sale: Sale) -> None:
    """A prepaid sale goes out only once paid in full (409 `payment_required`)."""
    if sale.payment_required:
        raise PaymentRequired(
            f"Sale {sale.reference} is prepaid and {sale.balance_due} {sale.currency} is still due: "
            "record the payment before it is fulfilled."
        )


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_fulfil(
    *,
    sale: Sale | int,
    user,
    lines: Sequence[ItemQuantity] | None = None,
    carrier: Carrier | None = None,
    tracking_code: str = "",
    tracking_url: str = "",
    expected_at: datetime | None = None,
    note: str = "",
) -> Fulfillment:
    """Send some units of a confirmed or in-delivery sale (`lines`; None: every unit not yet fulfilled).

    The first fulfilment of a confirmed sale ships it (`confirmed → in_delivery`).
    """
    sale = sale_lock(sale=sale)
    if sale.status not in FULFILLABLE_STATUSES:
        raise InvalidTransition(action="fulfil", current=sale.status, allowed=allowed_statuses(sale, user))
    check_payment(sale)
    items = _items(sale)
    requested = _requested(items, lines)
    if sale.status == SaleStatus.CONFIRMED:
        check_transition(sale, "ship", user)
    fulfillment = record_fulfilment(
        sale, items, requested, user=user, carrier=carrier, tracking_code=tracking_code, tracking_url=tracking_url,
        expected_at=expected_at, note=note,
    )
    if sale.status == SaleStatus.CONFIRMED:
        run_transition(sale, "ship", user=user, fulfillment=fulfillment.number)
    refresh_delivery(sale, items.values())
    sale.save(update_fields=FULFILMENT_SALE_FIELDS)
    return fulfillment


def fulfil_everything_left(
    sale: Sale, *, user, items: Iterable[SaleItem] | None = None, carrier: Carrier | None = None,
    tracking_code: str = "", tracking_url: str = "", arrived: bool = False, new_sale: bool = False,
) -> Fulfillment | None:
    """One fulfilment of every unit not fulfilled yet (None if there is none) on a locked sale, and its
    delivery statuses; the caller runs the transition (`ship`, `complete`) and saves the sale.
    `items`: the sale's lines when the caller has them; `arrived`: the fulfilment is already delivered
    or picked up (a sale completed); `new_sale`: the sale was inserted in this transaction, so it has no
    fulfilment yet (two reads saved on the create path)."""
    items = {item.pk: item for item in items} if items is not None else _items(sale)
    requested = {pk: item.quantity_unfulfilled for pk, item in items.items() if item.quantity_unfulfilled > 0}
    fulfillment = None
    if requested:
        check_payment(sale)
        fulfillment = record_fulfilment(
            sale, items, requested, user=user, carrier=carrier, tracking_code=tracking_code,
            tracking_url=tracking_url, arrived=arrived, sequence=1 if new_sale else None,
        )
    statuses = [fulfillment.status] if new_sale and fulfillment is not None else None
    refresh_delivery(sale, items.values(), statuses=statuses)
    return fulfillment


def _items(sale: Sale) -> dict[int, SaleItem]:
    loaded = getattr(sale, "_prefetched_objects_cache", {}).get("items")
    rows = list(loaded) if loaded is not None else list(sale.items.order_by("pk"))
    return {item.pk: item for item in rows}


def _requested(items: dict[int, SaleItem], lines: Sequence[ItemQuantity] | None) -> dict[int, int]:
    if lines is None:
        requested = {pk: item.quantity_unfulfilled for pk, item in items.items() if item.quantity_unfulfilled > 0}
        if not requested:
            raise ValidationError("Every unit of this sale is fulfilled already.", code="invalid", attr="items")
        return requested
    return resolve_item_quantities(items, lines, available=lambda item: item.quantity_unfulfilled, done="fulfilled")


def record_fulfilment(
    sale: Sale,
    items: dict[int, SaleItem],
    requested: dict[int, int],
    *,
    user,
    carrier: Carrier | None = None,
    tracking_code: str = "",
    tracking_url: str = "",
    expected_at: datetime | None = None,
    note: str = "",
    arrived: bool = False,
    sequence: int | None = None,
) -> Fulfillment:
    """Write one fulfilment of `requested` ({item id: units}) on a locked sale, with its first tracking
    event(s) and the lines' fulfilled units, carrier and tracking; log `fulfillment_created`."""
    now = timezone.now()
    if sequence is None:  # the sale's next number, under its row lock
        sequence = (sale.fulfillments.aggregate(last=Max("sequence"))["last"] or 0) + 1
    tracking_url = tracking_url or tracking_url_for(carrier, tracking_code)
    start = first_tracking_status(sale.delivery_mode)
    # One that already arrived (a sale completed) is written as arrived, its two steps in its tracking.
    status = arrived_tracking_status(sale.delivery_mode) if arrived else start
    fulfillment = Fulfillment.objects.create(
        sale=sale, sequence=sequence, number=f"{sale.reference}-F{sequence}", status=status,
        delivery_mode=sale.delivery_mode, carrier=carrier, tracking_code=tracking_code, tracking_url=tracking_url,
        expected_at=expected_at, note=note, user=_user(user), delivered_at=now if arrived else None,
    )
    FulfillmentLine.objects.bulk_create(
        FulfillmentLine(fulfillment=fulfillment, item_id=pk, quantity=units) for pk, units in requested.items()
    )
    TrackingEvent.objects.bulk_create(
        TrackingEvent(fulfillment=fulfillment, status=step, occurred_at=now, user=_user(user))
        for step in dict.fromkeys([start, status])
    )
    changed = []
    for pk, units in requested.items():
        item = items[pk]
        item.quantity_fulfilled += units
        if carrier is not None:
            item.carrier = carrier
        if tracking_code:
            item.tracking_code = tracking_code
        if tracking_url:
            item.tracking_url = tracking_url
        changed.append(item)
    SaleItem.objects.bulk_update(changed, ["quantity_fulfilled", "carrier", "tracking_code", "tracking_url"])
    log_event(
        sale, SaleEventType.FULFILLMENT_CREATED, user=user, fulfillment=fulfillment.pk, number=fulfillment.number,
        status=fulfillment.status,
        items=[{"item": pk, "sku": items[pk].sku, "quantity": units} for pk, units in requested.items()],
        carrier=carrier.code if carrier else None, tracking_code=tracking_code,
    )
    return fulfillment


def _user(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def refresh_delivery(sale: Sale, items: Iterable[SaleItem], *, statuses: Iterable[str] | None = None) -> None:
    """Set the sale's `fulfillment_status` (by units) and `delivery_status` (by its fulfilments' `statuses`,
    read when not given); not saved."""
    items = list(items)
    sold = sum(item.quantity_active for item in items)
    fulfilled = sum(item.quantity_fulfilled for item in items)
    if fulfilled == 0:
        sale.fulfillment_status = FulfillmentStatus.UNFULFILLED
    elif fulfilled >= sold:
        sale.fulfillment_status = FulfillmentStatus.FULFILLED
    else:
        sale.fulfillment_status = FulfillmentStatus.PARTIALLY_FULFILLED
    if statuses is None:
        statuses = sale.fulfillments.values_list("status", flat=True)
    sale.delivery_status = delivery_status_of(statuses)


def delivery_status_of(statuses: Iterable[str]) -> str:
    """The least advanced status of the live fulfilments; `failed` when one failed and none is on its way;
    `none` without fulfilments."""
    statuses = list(statuses)
    if not statuses:
        return DeliveryStatus.NONE
    live = [status for status in statuses if status not in DEAD_TRACKING_STATUSES]
    moving = [status for status in live if status not in ARRIVED_TRACKING_STATUSES]
    if not moving and (TrackingStatus.FAILED in statuses or not live):
        return DeliveryStatus.FAILED
    return next(status for status in DELIVERY_PROGRESS if status in live)


def _arrived_everywhere(sale: Sale, items: Iterable[SaleItem]) -> bool:
    if any(item.quantity_unfulfilled for item in items):
        return False
    statuses = [s for s in sale.fulfillments.values_list("status", flat=True) if s not in DEAD_TRACKING_STATUSES]
    return bool(statuses) and all(status in ARRIVED_TRACKING_STATUSES for status in statuses)


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def fulfillment_track(
    *,
    fulfillment: Fulfillment | int,
    user,
    status: str,
    note: str = "",
    location: str = "",
    occurred_at: datetime | None = None,
    expected_at: datetime | None = None,
) -> Fulfillment:
    """Append a tracking event to a fulfilment (sale locked first, then the fulfilment).

    A status of the other delivery mode, or any event after `delivered` / `picked_up` /
    `returned`, is refused (409 `invalid_transition`). A fulfilment that fails or comes back
    gives its units back to "unfulfilled"; one that arrives may complete the sale.
    """
    if status not in TrackingStatus.values:
        raise ValidationError(
            f'"{status}" is not a valid tracking status. Valid choices: {", ".join(TrackingStatus.values)}.',
            code="invalid_choice", attr="status",
        )
    pk = fulfillment.pk if isinstance(fulfillment, Fulfillment) else fulfillment
    sale_id = Fulfillment.objects.filter(pk=pk).values_list("sale_id", flat=True).get()
    sale = sale_lock(sale=sale_id)
    fulfillment = Fulfillment.objects.select_for_update().get(pk=pk)
    if sale.status not in TRACKABLE_STATUSES:
        raise InvalidTransition(action="track a fulfilment of", current=sale.status,
                                allowed=allowed_statuses(sale, user))
    mode = DeliveryMode(fulfillment.delivery_mode)
    fits = TRACKING_FLOW[mode] + TRACKING_STOPS[mode]
    if status not in fits:
        raise TrackingRefused(
            f"A {mode.label.lower()} fulfilment takes {', '.join(fits)}; not {status}.", attr="status"
        )
    if fulfillment.status in FINAL_TRACKING_STATUSES:
        raise TrackingRefused(f"Fulfilment {fulfillment.number} is {fulfillment.status}: it takes no more tracking.",
                              attr="status")
    items = _items(sale)
    lines = list(fulfillment.lines.all())
    was_live, live = fulfillment.status not in DEAD_TRACKING_STATUSES, status not in DEAD_TRACKING_STATUSES
    if live != was_live:
        sign = 1 if live else -1
        for line in lines:
            item = items[line.item_id]
            if sign > 0 and line.quantity > item.quantity_unfulfilled:
                raise TrackingRefused(
                    f"The units of fulfilment {fulfillment.number} were sent again in another fulfilment.",
                    attr="status",
                )
            item.quantity_fulfilled += sign * line.quantity
        SaleItem.objects.bulk_update([items[line.item_id] for line in lines], ["quantity_fulfilled"])
    when = occurred_at or timezone.now()
    TrackingEvent.objects.create(
        fulfillment=fulfillment, status=status, note=note, location=location, occurred_at=when, user=_user(user)
    )
    fulfillment.status = status
    fields = ["status"]
    if status in ARRIVED_TRACKING_STATUSES:
        fulfillment.delivered_at = when
        fields.append("delivered_at")
    if expected_at is not None:
        fulfillment.expected_at = expected_at
        fields.append("expected_at")
    fulfillment.save(update_fields=fields)
    log_event(
        sale, SaleEventType.TRACKING_UPDATED, user=user, fulfillment=fulfillment.pk, number=fulfillment.number,
        status=status, location=location, note=note,
    )
    refresh_delivery(sale, items.values())
    if sale.status == SaleStatus.IN_DELIVERY and _arrived_everywhere(sale, items.values()):
        run_transition(sale, "complete", user=None, reason="delivered")
    sale.save(update_fields=FULFILMENT_SALE_FIELDS)
    return fulfillment
