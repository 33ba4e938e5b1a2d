"""Stock levels: the locked, ledgered operations that change them."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace

from django.db import connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from events.models import EventType
from events.renderers import render_object
from events.services import event_record
from inventory.models import (
    LOW_STOCK_THRESHOLD,
    MANUAL_MOVEMENT_KINDS,
    MovementKind,
    ProductKind,
    StockLevel,
    StockMovement,
    Variant,
    Warehouse,
)
from salesproject.errors import DomainError, ErrorEntry, ValidationError

StockKey = tuple[int, int]  # (variant_id, warehouse_id)


class NotStocked(ValidationError):
    """Stock booked by hand for a variant of a service product, which holds no stock (records.md)."""

    code = "not_stocked"
    default_detail = "A service product holds no stock."


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    default_detail = "Not enough stock available."

    def __init__(self, shortages: Sequence["Shortage"]) -> None:
        self.shortages = list(shortages)
        lines = "; ".join(f"{s.sku}: requested {s.requested}, available {s.available}" for s in self.shortages)
        attr = self.shortages[0].attr if len(self.shortages) == 1 else None
        super().__init__(f"Not enough stock: {lines}." if lines else self.default_detail, attr=attr)

    def entries(self) -> list[ErrorEntry]:
        """One entry per short line, with the quantities (the API's `errors`)."""
        return [
            ErrorEntry(
                detail=f"{s.sku}: requested {s.requested}, available {s.available}.",
                attr=s.attr,
                extra={"requested": s.requested, "available": s.available},
            )
            for s in self.shortages
        ]


@dataclass(frozen=True)
class Shortage:
    variant_id: int
    warehouse_id: int
    sku: str
    requested: int
    available: int
    attr: str | None = None  # the input it is about, e.g. "items.1.quantity"


@dataclass(frozen=True)
class StockLine:
    """A quantity of one variant in one warehouse, as a sale line asks for it."""

    variant_id: int
    warehouse_id: int
    quantity: int
    attr: str | None = None


@dataclass(frozen=True)
class _Change:
    key: StockKey
    kind: str
    on_hand: int
    reserved: int
    line: StockLine | None = None
    sale: object | None = None  # the sale the ledger row is for, when not the operation's own (a reservation moved)


def lock_stock_levels(*, keys: Iterable[StockKey], create_missing: bool = False) -> dict[StockKey, StockLevel]:
    """Lock the stock rows of these (variant, warehouse) pairs in primary-key order.

    With `create_missing`, absent rows are created first (receipts and restocks
    may bring a variant into a warehouse); the insert ignores a row another
    transaction created meanwhile, and the lock below then waits for it.
    """
    keys = sorted(set(keys))
    if not keys:
        return {}
    if create_missing:
        StockLevel.objects.bulk_create(
            [StockLevel(variant_id=v, warehouse_id=w) for v, w in keys], ignore_conflicts=True
        )
    condition = Q()
    for variant_id, warehouse_id in keys:
        condition |= Q(variant_id=variant_id, warehouse_id=warehouse_id)
    levels = StockLevel.objects.select_for_update().filter(condition).order_by("pk")
    return {(level.variant_id, level.warehouse_id): level for level in levels}


def _apply(changes: Sequence[_Change], *, sale=None, user=None, reason: str = "") -> dict[StockKey, StockLevel]:
    """Lock, check and apply stock changes with their ledger rows, all or nothing.

    A service's changes are dropped (`_stocked`): asked before rows are created, else only when a key has no
    row (a service never has one), so reservations and commits of stocked lines cost no query for it.
    """
    if not changes:
        return {}
    grows = any(c.on_hand > 0 for c in changes)
    if grows:
        changes = _stocked(changes, {c.key[0] for c in changes})
        if not changes:
            return {}
    # Inside the caller's transaction (a sale service's), no savepoint of our own: without new
    # rows to create, nothing is written before a shortage is raised, so the caller may even
    # catch it and carry on; any database error aborts the caller's transaction (or savepoint)
    # as it would ours. Saves two round trips on every reservation, commit and release.
    inside = connections[router.db_for_write(StockLevel)].in_atomic_block and not grows
    with nullcontext() if inside else transaction.atomic():
        levels = lock_stock_levels(keys=[c.key for c in changes], create_missing=grows)
        if not grows and any(c.key not in levels for c in changes):
            changes = _stocked(changes, {c.key[0] for c in changes if c.key not in levels})
            if not changes:
                return {}
        totals: dict[StockKey, list[int]] = defaultdict(lambda: [0, 0])
        for change in changes:
            totals[change.key][0] += change.on_hand
            totals[change.key][1] += change.reserved

        short_keys = set()
        for key, (d_on_hand, d_reserved) in totals.items():
            level = levels.get(key)
            on_hand = (level.on_hand if level else 0) + d_on_hand
            reserved = (level.reserved if level else 0) + d_reserved
            if on_hand < 0 or reserved < 0 or reserved > on_hand:
                short_keys.add(key)
        if short_keys:
            raise InsufficientStock(_shortages(changes, levels, short_keys))

        now = timezone.now()
        for key, (d_on_hand, d_reserved) in totals.items():
            level = levels[key]
            level.on_hand += d_on_hand
            level.reserved += d_reserved
            level.updated_at = now
        _save_levels([levels[k] for k in totals])
        StockMovement.objects.bulk_create(
            _movement(c, sale=c.sale or sale, user=user, reason=reason) for c in changes if c.on_hand or c.reserved
        )
        _stock_events(changes, levels, totals)
    return levels


def _stock_events(changes: Sequence[_Change], levels: dict[StockKey, StockLevel], totals: dict) -> None:
    """`stock.adjusted` for each level booked by hand (`data.kind`: receipt or adjustment), `stock.low` for each
    whose available units fell to or below `LOW_STOCK_THRESHOLD` with this change (only on the crossing), in the
    change's transaction. Staff's events (no seller): nothing to read unless one applies."""
    manual = {c.key: c.kind for c in changes if c.kind in MANUAL_MOVEMENT_KINDS}
    for key, (d_on_hand, d_reserved) in totals.items():
        level = levels[key]
        was = level.available - d_on_hand + d_reserved
        crossed = was > LOW_STOCK_THRESHOLD >= level.available
        if key not in manual and not crossed:
            continue
        obj = render_object("stock_level", level)
        if key in manual:
            event_record(type=EventType.STOCK_ADJUSTED, object_type="stock_level", object_id=level.pk, obj=obj,
                         extra={"kind": manual[key]})
        if crossed:
            event_record(type=EventType.STOCK_LOW, object_type="stock_level", object_id=level.pk, obj=obj,
                         previous={"available": was})


def _stocked(changes: Sequence[_Change], variant_ids: set[int]) -> Sequence[_Change]:
    """The changes but those of `variant_ids` that are a service's, which hold no stock (one query).

    Sale lines of a service are dropped here, so every operation a sale drives skips them by itself;
    stock booked by hand (a receipt, an adjustment) for a service is refused instead.
    """
    services = set(
        Variant.objects.filter(pk__in=variant_ids, product__kind=ProductKind.SERVICE).values_list("pk", flat=True)
    )
    if not services:
        return changes
    for change in changes:
        if change.key[0] in services and change.kind in MANUAL_MOVEMENT_KINDS:
            raise NotStocked("This variant's product is a service: it holds no stock.", attr="variant")
    return [c for c in changes if c.key[0] not in services]


def _movement(change: _Change, *, sale, user, reason: str) -> StockMovement:
    """The ledger row of one change, kept under its sale's seller (the ledger's scope)."""
    return StockMovement(
        variant_id=change.key[0],
        warehouse_id=change.key[1],
        kind=change.kind,
        on_hand_change=change.on_hand,
        reserved_change=change.reserved,
        sale=sale,
        sale_seller_id=sale.seller_id if sale is not None else None,
        user=user if user is not None and user.is_authenticated else None,
        reason=reason,
    )


def _save_levels(levels: Sequence[StockLevel]) -> None:
    """Write the new quantities of locked rows: on PostgreSQL one UPDATE over arrays of the new values (one
    statement and one prepared plan whatever the number of rows), elsewhere one statement per row, sent as one batch.

    `bulk_update` would build a CASE expression per field and row in Python, which cost
    more than the whole round trip; the rows are locked, so plain values are safe.
    """
    db = connections[router.db_for_write(StockLevel)]
    opts, quote = StockLevel._meta, db.ops.quote_name
    table, pk = quote(opts.db_table), quote(opts.pk.column)
    on_hand, reserved, updated_at = (quote(opts.get_field(f).column) for f in ("on_hand", "reserved", "updated_at"))
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} SET {on_hand} = v.on_hand, {reserved} = v.reserved, {updated_at} = v.updated_at "
                "FROM unnest(%s::bigint[], %s::integer[], %s::integer[], %s::timestamptz[]) "
                f"AS v(id, on_hand, reserved, updated_at) WHERE {table}.{pk} = v.id",
                [
                    [level.pk for level in levels],
                    [level.on_hand for level in levels],
                    [level.reserved for level in levels],
                    [level.updated_at for level in levels],
                ],
            )
            return
        cursor.executemany(
            f"UPDATE {table} SET {on_hand} = %s, {reserved} = %s, {updated_at} = %s WHERE {pk} = %s",
            [(level.on_hand, level.reserved, level.updated_at, level.pk) for level in levels],
        )


def _shortages(changes, levels, short_keys) -> list[Shortage]:
    """Describe each short line with what it asked for and what was available."""
    skus = dict(Variant.objects.filter(pk__in={k[0] for k in short_keys}).values_list("pk", "sku"))
    shortages = []
    for change in changes:
        if change.key not in short_keys or change.line is None:
            continue
        level = levels.get(change.key)
        shortages.append(
            Shortage(
                variant_id=change.key[0],
                warehouse_id=change.key[1],
                sku=skus.get(change.key[0], str(change.key[0])),
                requested=change.line.quantity,
                available=max(level.available if level else 0, 0),
                attr=change.line.attr,
            )
        )
    return shortages


def _lines_changes(lines: Iterable[StockLine], kind: str, on_hand_sign: int, reserved_sign: int) -> list[_Change]:
    return [
        _Change(
            key=(line.variant_id, line.warehouse_id),
            kind=kind,
            on_hand=on_hand_sign * line.quantity,
            reserved=reserved_sign * line.quantity,
            line=line,
        )
        for line in lines
        if line.quantity
    ]


# --- operations a sale drives ------------------------------------------------


def stock_reserve(*, lines: Iterable[StockLine], sale=None, user=None, reason: str = "") -> None:
    """Reserve units for a submitted sale; refuse (all lines) if any line is short."""
    _apply(_lines_changes(lines, MovementKind.RESERVATION, 0, +1), sale=sale, user=user, reason=reason)


def stock_release(*, lines: Iterable[StockLine], sale=None, user=None, reason: str = "") -> None:
    """Give back reserved units (a pending sale cancelled, rejected, edited or deleted)."""
    _apply(_lines_changes(lines, MovementKind.RELEASE, 0, -1), sale=sale, user=user, reason=reason)


def stock_commit(*, lines: Iterable[StockLine], sale=None, user=None, reason: str = "") -> None:
    """Turn reserved units into shipped ones: they leave on_hand and the reservation."""
    _apply(_lines_changes(lines, MovementKind.SHIPMENT, -1, -1), sale=sale, user=user, reason=reason)


def stock_reserve_and_commit(*, lines: Iterable[StockLine], sale=None, user=None, reason: str = "") -> None:
    """Reserve and commit in one locked step (a sale confirmed on the spot)."""
    lines = list(lines)
    changes = _lines_changes(lines, MovementKind.RESERVATION, 0, +1)
    # Only the reservation speaks for the line, so a short line is reported once.
    changes += [replace(c, line=None) for c in _lines_changes(lines, MovementKind.SHIPMENT, -1, -1)]
    _apply(changes, sale=sale, user=user, reason=reason)


def stock_restock(*, lines: Iterable[StockLine], sale=None, user=None, reason: str = "") -> None:
    """Put committed units back on hand (cancel after confirm, returns, refunds with restock)."""
    _apply(_lines_changes(lines, MovementKind.RETURN, +1, 0), sale=sale, user=user, reason=reason)


def stock_rebalance(
    *, old: Iterable[StockLine], new: Iterable[StockLine], sale=None, user=None, reason: str = ""
) -> None:
    """Move a pending sale's reservation from its old lines to its new ones in one locked step.

    Only the net difference per stock row is written, so an edit that keeps a
    line unchanged leaves no ledger noise and cannot fail for that line.
    """
    net: dict[StockKey, int] = defaultdict(int)
    attrs: dict[StockKey, str | None] = {}
    for line in old:
        net[(line.variant_id, line.warehouse_id)] -= line.quantity
    for line in new:
        key = (line.variant_id, line.warehouse_id)
        net[key] += line.quantity
        attrs.setdefault(key, line.attr)
    changes = []
    for key, delta in net.items():
        if delta > 0:
            line = StockLine(variant_id=key[0], warehouse_id=key[1], quantity=delta, attr=attrs.get(key))
            changes.append(_Change(key=key, kind=MovementKind.RESERVATION, on_hand=0, reserved=delta, line=line))
        elif delta < 0:
            changes.append(_Change(key=key, kind=MovementKind.RELEASE, on_hand=0, reserved=delta))
    _apply(changes, sale=sale, user=user, reason=reason)


def stock_move_reservation(
    *, lines: Iterable[StockLine], source_sale, target_sale, user=None, reason: str = ""
) -> None:
    """Hand reserved units from one sale to another (a sale split) in one locked step.

    The levels do not change (nothing is released in between, so no other sale can take the
    units); the ledger gets a `release` row for the source sale and a `reservation` row for the
    target, so each sale's movements still add up to what it holds.
    """
    changes = []
    for line in lines:
        if not line.quantity:
            continue
        key = (line.variant_id, line.warehouse_id)
        changes.append(_Change(key=key, kind=MovementKind.RELEASE, on_hand=0, reserved=-line.quantity,
                               sale=source_sale))
        changes.append(_Change(key=key, kind=MovementKind.RESERVATION, on_hand=0, reserved=line.quantity,
                               line=line, sale=target_sale))
    _apply(changes, sale=source_sale, user=user, reason=reason)


# --- operations staff drive ----------------------------------------------------


def stock_receive(
    *, variant: Variant, warehouse: Warehouse, quantity: int, user=None, reason: str = ""
) -> StockLevel:
    """Book goods received into a warehouse."""
    if quantity <= 0:
        raise ValidationError("Quantity must be a positive whole number.", attr="quantity")
    key = (variant.pk, warehouse.pk)
    change = _Change(key=key, kind=MovementKind.RECEIPT, on_hand=quantity, reserved=0)
    return _apply([change], user=user, reason=reason)[key]


def stock_adjust(
    *, variant: Variant, warehouse: Warehouse, quantity_change: int, user=None, reason: str
) -> StockLevel:
    """Correct on-hand stock after a count; never below zero nor below what is reserved."""
    if quantity_change == 0:
        raise ValidationError("Quantity change must not be zero.", attr="quantity_change")
    if not reason or not reason.strip():
        raise ValidationError("A reason is required for a stock adjustment.", code="required", attr="reason")
    key = (variant.pk, warehouse.pk)
    line = StockLine(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity=abs(quantity_change),
                     attr="quantity_change")
    change = _Change(key=key, kind=MovementKind.ADJUSTMENT, on_hand=quantity_change, reserved=0, line=line)
    return _apply([change], user=user, reason=reason)[key]
