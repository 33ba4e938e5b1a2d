"""Audit stock levels against the ledger and against what pending sales hold; repair what drifted.

A stock level must equal the sum of its ledger rows, and its reservation must be
exactly what pending sales hold there (domain spec, "Catalogue and stock"). Only
code outside the services (a raw SQL fix, a restored backup, a bug) can break that;
this module finds such drift and repairs it.

Sources of truth when they disagree:
- on_hand: the ledger. Every legitimate change of on_hand is a movement; a level
  that differs from its movements was changed behind the services' back, so it is
  set back to the ledger sum. (A physical count that disagrees with both is booked
  with `stock_adjust`, which is the tool for that, not this audit.)
- reserved: the pending sales. A reservation exists only for a pending sale's line,
  at the line's `warehouse` (the warehouse `stock_reserve` used and that
  `sale_update_item` moves it with; `stock_warehouse` is only set on confirm).
  When the ledger's reserved sum disagrees with them, a correcting ledger row
  brings the ledger into line, and the level follows.
  Inventory does not know what a sale is: the apps whose documents hold stock
  register a reservation source (`register_reservation_source`; sales does in its
  `AppConfig.ready`) that answers what they hold per (variant, warehouse).

Each repaired level gets exactly one `correction` movement (with zero deltas when
only the level row was off), so every repair leaves a trace in the append-only
ledger and afterwards the level equals its ledger sum again.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from inventory.models import MovementKind, StockLevel, StockMovement, Variant, Warehouse
from inventory.services.stock import StockKey, lock_stock_levels
from salesproject.db import retry_on_transient_db_errors
from salesproject.errors import DomainError


class DriftNotRepairable(DomainError):
    code = "drift_not_repairable"
    default_detail = "This stock drift cannot be repaired automatically."


@dataclass(frozen=True)
class Drift:
    """One stock level (variant in a warehouse) whose figures disagree; `on_hand`/`reserved` are None without a row."""

    variant_id: int
    warehouse_id: int
    sku: str
    warehouse: str
    on_hand: int | None
    reserved: int | None
    ledger_on_hand: int
    ledger_reserved: int
    pending_reserved: int

    @property
    def key(self) -> StockKey:
        return (self.variant_id, self.warehouse_id)

    @property
    def target_on_hand(self) -> int:
        """What on_hand should be: the ledger's sum."""
        return self.ledger_on_hand

    @property
    def target_reserved(self) -> int:
        """What reserved should be: what pending sales hold."""
        return self.pending_reserved

    @property
    def reserved_correction(self) -> int:
        """The reserved delta of the ledger row that makes the ledger agree with the pending sales."""
        return self.pending_reserved - self.ledger_reserved

    @property
    def repairable(self) -> bool:
        """False when the true figures themselves break the stock rules (pending sales hold more than is on hand)."""
        return self.target_on_hand >= 0 and 0 <= self.target_reserved <= self.target_on_hand

    @property
    def problems(self) -> list[str]:
        found = []
        if self.on_hand is None:
            found.append("no stock level row")
        else:
            if self.on_hand != self.ledger_on_hand:
                found.append(f"on_hand {self.on_hand} but ledger sums to {self.ledger_on_hand}")
            if self.reserved != self.ledger_reserved:
                found.append(f"reserved {self.reserved} but ledger sums to {self.ledger_reserved}")
        if self.ledger_reserved != self.pending_reserved:
            found.append(f"ledger reserves {self.ledger_reserved} but pending sales hold {self.pending_reserved}")
        return found

    def __str__(self) -> str:
        return f"{self.sku} @ {self.warehouse}: {'; '.join(self.problems)}"


@dataclass(frozen=True)
class Audit:
    """How many stock levels were compared, and those that drifted (in key order)."""

    checked: int
    drifts: list[Drift]


# What open documents hold, per stock key: `source(keys)` for those keys (None: every key), zero keys left out.
ReservationSource = Callable[[list[StockKey] | None], dict[StockKey, int]]
_reservation_sources: list[ReservationSource] = []


def register_reservation_source(source: ReservationSource) -> None:
    """Count what `source` says its documents hold in the audit's truth for `reserved` (once per source)."""
    if source not in _reservation_sources:
        _reservation_sources.append(source)


def stock_key_filter(
    keys: Iterable[StockKey] | None, variant: str = "variant_id", warehouse: str = "warehouse_id"
) -> Q:
    """The rows of these (variant, warehouse) keys, by the two field names given; None: every row."""
    if keys is None:
        return Q()
    condition = Q(pk__in=[])
    for variant_id, warehouse_id in keys:
        condition |= Q(**{variant: variant_id, warehouse: warehouse_id})
    return condition


_Found = tuple[StockKey, tuple[int, int] | None, int, int, int]  # key, level, ledger on_hand/reserved, pending


def _compare(keys: list[StockKey] | None) -> tuple[int, list[_Found]]:
    """Grouped queries, whatever the number of levels: levels, ledger sums, one per reservation source (sales)."""
    levels = {
        (variant_id, warehouse_id): (on_hand, reserved)
        for variant_id, warehouse_id, on_hand, reserved in StockLevel.objects.filter(stock_key_filter(keys))
        .order_by()
        .values_list("variant_id", "warehouse_id", "on_hand", "reserved")
    }
    ledger = {
        (row["variant_id"], row["warehouse_id"]): (row["on_hand"], row["reserved"])
        for row in StockMovement.objects.filter(stock_key_filter(keys))
        .order_by()
        .values("variant_id", "warehouse_id")
        .annotate(on_hand=Sum("on_hand_change", default=0), reserved=Sum("reserved_change", default=0))
    }
    pending: dict[StockKey, int] = {}
    for source in _reservation_sources:
        for key, quantity in source(keys).items():
            pending[key] = pending.get(key, 0) + quantity
    all_keys = sorted(set(levels) | set(ledger) | set(pending))
    found = []
    for key in all_keys:
        level = levels.get(key)
        ledger_on_hand, ledger_reserved = ledger.get(key, (0, 0))
        pending_reserved = pending.get(key, 0)
        if level is None:
            if ledger_on_hand == ledger_reserved == pending_reserved == 0:
                continue  # movements that cancel out, never a row: nothing to hold
        elif level == (ledger_on_hand, ledger_reserved) and ledger_reserved == pending_reserved:
            continue
        found.append((key, level, ledger_on_hand, ledger_reserved, pending_reserved))
    return len(all_keys), found


def _named(found: list[_Found]) -> list[Drift]:
    skus = dict(Variant.objects.filter(pk__in={key[0] for key, *_ in found}).values_list("pk", "sku"))
    codes = dict(Warehouse.objects.filter(pk__in={key[1] for key, *_ in found}).values_list("pk", "code"))
    return [
        Drift(
            variant_id=key[0],
            warehouse_id=key[1],
            sku=skus.get(key[0], str(key[0])),
            warehouse=codes.get(key[1], str(key[1])),
            on_hand=level[0] if level else None,
            reserved=level[1] if level else None,
            ledger_on_hand=ledger_on_hand,
            ledger_reserved=ledger_reserved,
            pending_reserved=pending_reserved,
        )
        for key, level, ledger_on_hand, ledger_reserved, pending_reserved in found
    ]


def inventory_audit(*, keys: Iterable[StockKey] | None = None) -> Audit:
    """Compare every stock level (or those of `keys`) with its ledger sums and with what pending sales hold.

    The first pass reads without locks, so on a busy system a sale submitted
    between its queries could look like drift; each level it flags is therefore
    compared again with its row locked (no stock operation in flight there),
    and only what is still wrong is reported.
    """
    checked, suspects = _compare(None if keys is None else sorted(set(keys)))
    confirmed: list[_Found] = []
    for key, *_ in suspects:
        with transaction.atomic():
            lock_stock_levels(keys=[key])
            confirmed += _compare([key])[1]
    return Audit(checked=checked, drifts=_named(confirmed))


def inventory_drift(*, keys: Iterable[StockKey] | None = None) -> list[Drift]:
    """The stock levels that disagree with their ledger or with the pending sales; empty when all is well."""
    return inventory_audit(keys=keys).drifts


@retry_on_transient_db_errors
@transaction.atomic
def stock_level_repair(*, key: StockKey, user=None, reason: str = "inventory audit") -> Drift | None:
    """Repair one stock level: append a correction row to its ledger and set the level to the ledger sum.

    The level row is locked first (and created if missing), so no stock
    operation or sale transition can change this level while it is compared
    and repaired; returns the drift repaired, or None if there was none by then.
    """
    level = lock_stock_levels(keys=[key], create_missing=True)[key]
    found = _compare([key])[1]
    if not found:
        return None
    [drift] = _named(found)
    if not drift.repairable:
        raise DriftNotRepairable(
            f"{drift.sku} @ {drift.warehouse}: pending sales hold {drift.target_reserved} but the ledger has "
            f"{drift.target_on_hand} on hand; receive or adjust stock, or cancel a sale, then run the check again."
        )
    before = "none" if drift.on_hand is None else f"{drift.on_hand}/{drift.reserved}"
    StockMovement.objects.create(
        variant_id=key[0],
        warehouse_id=key[1],
        kind=MovementKind.CORRECTION,
        on_hand_change=0,
        reserved_change=drift.reserved_correction,
        user=user if user is not None and user.is_authenticated else None,
        reason=(
            f"{reason}: level was {before} (on hand/reserved), ledger {drift.ledger_on_hand}/{drift.ledger_reserved}, "
            f"pending sales hold {drift.pending_reserved}; set to {drift.target_on_hand}/{drift.target_reserved}"
        )[:255],
    )
    level.on_hand = drift.target_on_hand
    level.reserved = drift.target_reserved
    level.updated_at = timezone.now()
    level.save(update_fields=["on_hand", "reserved", "updated_at"])
    return drift
