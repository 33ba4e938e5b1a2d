"""Repairs operators run from management commands: stale reservations, drifted totals, payment status.

Each repair is one transaction per sale, with the sale row locked, through the
same code the API uses (`sale_cancel`, `sales.pricing` via `apply_pricing`,
`sale_refresh_payments`), and leaves an activity event saying what changed and
why. The matching checks only read, so a dry run writes nothing.
"""

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DateTimeField, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from payments.models import PaymentKind, PaymentState
from sales.models import (
    RESERVING_STATUSES,
    CancelReason,
    Sale,
    SaleDailyTotal,
    SaleEvent,
    SaleEventType,
    SaleItem,
    SaleMonthlyTotal,
    SalePromotion,
    SaleStatus,
)
from sales.rollup_triggers import PG_ROW_TRIGGERS, ROLLUP_TRIGGERS, base_amount_sql
from sales.services._common import log_event, sale_lock
from sales.services.outbox import emits_events
from sales.services.payments import derive_payment_status, sale_refresh_payments
from sales.services.promotions import price_sale, replace_applied, stored_candidates
from sales.services.returns import returned_total_of
from sales.services.transitions import sale_cancel
from salesproject.db import retry_on_transient_db_errors
from salesproject.money import ZERO, minor_units, quantize

# A pending sale nobody confirmed in time: no customer request, fraud, stock problem or declined
# payment is known, so the honest reason is "other", with a note saying it went stale.
STALE_CANCEL_REASON = CancelReason.OTHER

SALE_TOTAL_FIELDS = (
    "subtotal", "discount_total", "shipping_tax", "tax_total", "grand_total", "returned_total", "tax_lines"
)
ITEM_TOTAL_FIELDS = ("subtotal", "discount_total", "tax_total", "net_total", "total", "tax_rate")


# --- stale pending sales ---------------------------------------------------------------


def _pending_since() -> Coalesce:
    """When the sale became pending (its submit event), or its creation time if it has no such event."""
    submitted = (
        SaleEvent.objects.filter(sale=OuterRef("pk"), type=SaleEventType.STATUS_CHANGED, to_status=SaleStatus.PENDING)
        .order_by("-created_at", "-pk")
        .values("created_at")[:1]
    )
    return Coalesce(Subquery(submitted, output_field=DateTimeField()), F("created_at"))


def stale_pending_sales(*, older_than: timedelta, now: datetime | None = None) -> QuerySet[Sale]:
    """Pending sales whose reservation is older than `older_than`, oldest first, annotated with `pending_since`.

    Age counts from the submit, not the creation: a draft kept for weeks and
    submitted an hour ago holds an hour-old reservation.
    """
    cutoff = (now or timezone.now()) - older_than
    return (
        Sale.objects.filter(status__in=RESERVING_STATUSES)
        .annotate(pending_since=_pending_since())
        .filter(pending_since__lt=cutoff)
        .order_by("pending_since", "pk")
    )


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_cancel_stale(*, sale: Sale, older_than: timedelta, now: datetime | None = None, user=None) -> Sale | None:
    """Cancel one pending sale if it is still pending and still stale, releasing its stock; None if it no longer is.

    The check is repeated with the sale row locked, so a sale confirmed after
    it was listed is left alone (cancelling it would restock a confirmed sale).
    """
    sale = sale_lock(sale=sale, for_change=False)
    if sale.locked:  # under review: left for whoever locked it
        return None
    stale = stale_pending_sales(older_than=older_than, now=now).filter(pk=sale.pk).values_list("pending_since")
    since = stale.first()
    if since is None:
        return None
    note = f"stale: pending since {since[0].astimezone(UTC):%Y-%m-%d %H:%M} UTC, longer than {_duration(older_than)}"
    return sale_cancel(sale=sale, user=user, reason=STALE_CANCEL_REASON, note=note)


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# --- totals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TotalsDrift:
    """A sale whose stored totals differ from what pricing its stored lines gives: (stored, computed) per field."""

    sale_id: int
    reference: str
    fields: dict[str, tuple[Decimal, Decimal]]
    items: int  # lines whose stored amounts differ

    def __str__(self) -> str:
        parts = [f"{name} {stored} → {computed}" for name, (stored, computed) in self.fields.items()]
        if self.items:
            parts.append(f"{self.items} line(s) with other amounts")
        return f"{self.reference}: {', '.join(parts)}"


def _reprice(sale: Sale, items: Sequence[SaleItem]) -> tuple[TotalsDrift | None, list[SalePromotion]]:
    """Price the sale's stored lines (in place, not saved) with the promotions it was priced with; say what
    differs from what was stored, and give the promotions as applied now (unsaved rows)."""
    stored_sale = {name: getattr(sale, name) for name in SALE_TOTAL_FIELDS}
    stored_items = [tuple(getattr(item, name) for name in ITEM_TOTAL_FIELDS) for item in items]
    promoted = price_sale(sale, items, stored_candidates(sale, items))
    sale.returned_total = returned_total_of(sale=sale, items=items)
    fields = {
        name: (stored_sale[name], getattr(sale, name))
        for name in SALE_TOTAL_FIELDS
        if stored_sale[name] != getattr(sale, name)
    }
    lines = sum(
        1
        for item, stored in zip(items, stored_items, strict=True)
        if stored != tuple(getattr(item, name) for name in ITEM_TOTAL_FIELDS)
    )
    if not fields and not lines:
        return None, promoted
    return TotalsDrift(sale_id=sale.pk, reference=sale.reference, fields=fields, items=lines), promoted


def sale_totals_drift(*, sale: Sale) -> TotalsDrift | None:
    """Recompute a sale's totals from its line snapshots and discount/shipping fields; read only.

    Works on copies, so the caller's instances keep their stored figures. Raises
    `ValidationError` when the stored inputs cannot be priced at all.
    """
    items = [copy.copy(item) for item in sale.items.all()]
    return _reprice(copy.copy(sale), items)[0]


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_recalculate_totals(*, sale: Sale, user=None) -> TotalsDrift | None:
    """Store the totals that pricing the sale's stored lines gives, and re-derive its payment status.

    Returns what was repaired, or None when the stored totals were right.
    Logs an `edited` event with the stored and recomputed figures.
    """
    sale = sale_lock(sale=sale, for_change=False)  # a repair of stored figures, allowed on a locked sale
    items = list(sale.items.order_by("pk"))
    drift, promoted = _reprice(sale, items)
    if drift is None:
        return None
    SaleItem.objects.bulk_update(items, list(ITEM_TOTAL_FIELDS))
    sale.save(update_fields=[*SALE_TOTAL_FIELDS, "updated_at"])
    replace_applied(sale, promoted)
    status_before = sale.payment_status
    sale_refresh_payments(sale=sale)  # a new grand total can change what the payments amount to
    before = {name: str(stored) for name, (stored, _) in drift.fields.items()}
    after = {name: str(computed) for name, (_, computed) in drift.fields.items()}
    if sale.payment_status != status_before:
        before["payment_status"], after["payment_status"] = status_before, sale.payment_status
    log_event(
        sale,
        SaleEventType.EDITED,
        user=user,
        reason="totals recalculated",
        fields=list(before),
        lines=drift.items,
        before=before,
        after=after,
    )
    return drift


# --- payment status --------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentDrift:
    """A sale whose stored paid total or payment status differs from what its payments say."""

    sale_id: int
    reference: str
    paid_total: Decimal
    payment_status: str
    expected_paid_total: Decimal
    expected_payment_status: str

    def __str__(self) -> str:
        parts = []
        if self.paid_total != self.expected_paid_total:
            parts.append(f"paid_total {self.paid_total} → {self.expected_paid_total}")
        if self.payment_status != self.expected_payment_status:
            parts.append(f"payment_status {self.payment_status} → {self.expected_payment_status}")
        return f"{self.reference}: {', '.join(parts)}"


def payment_drift(*, sales: QuerySet[Sale] | None = None) -> Iterator[PaymentDrift]:
    """Yield each sale whose stored payment figures differ from its payments; one query, read only.

    The sums are those of `sale_refresh_payments` (successful payments minus
    successful refunds); the repair itself goes through that function.
    """
    # A sale's own allocations of its successful transactions (a payment may be spread over several sales).
    successful = Q(payment_allocations__payment__status=PaymentState.SUCCESSFUL)
    paid = successful & Q(payment_allocations__payment__kind=PaymentKind.PAYMENT)
    refunded = successful & Q(payment_allocations__payment__kind=PaymentKind.REFUND)
    rows = (
        (sales if sales is not None else Sale.objects.all())
        .order_by("pk")
        .annotate(
            paid=Sum("payment_allocations__amount", filter=paid, default=ZERO),
            refunded=Sum("payment_allocations__amount", filter=refunded, default=ZERO),
        )
        .values_list(
            "pk", "reference", "currency", "grand_total", "returned_total", "paid_total", "payment_status", "paid",
            "refunded",
        )
    )
    for pk, reference, currency, grand_total, returned, paid_total, status, paid, refunded in rows.iterator(
        chunk_size=2000
    ):
        expected_total = quantize(paid - refunded, currency)
        expected_status = derive_payment_status(net_total=grand_total - returned, paid=paid, refunded=refunded)
        if (paid_total, status) != (expected_total, expected_status):
            yield PaymentDrift(
                sale_id=pk,
                reference=reference,
                paid_total=paid_total,
                payment_status=status,
                expected_paid_total=expected_total,
                expected_payment_status=expected_status,
            )


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_reconcile_payments(*, sale: Sale | int, user=None) -> PaymentDrift | None:
    """Recompute the sale's paid total and payment status from its payments; log an event if they changed."""
    sale = sale_lock(sale=sale, for_change=False)  # a repair of stored figures, allowed on a locked sale
    before = (sale.paid_total, sale.payment_status)
    sale_refresh_payments(sale=sale)
    after = (sale.paid_total, sale.payment_status)
    if before == after:
        return None
    changed = [
        name for name, old, new in zip(("paid_total", "payment_status"), before, after, strict=True) if old != new
    ]
    log_event(
        sale,
        SaleEventType.EDITED,
        user=user,
        reason="payments reconciled",
        fields=changed,
        before={"paid_total": str(before[0]), "payment_status": before[1]},
        after={"paid_total": str(after[0]), "payment_status": after[1]},
    )
    return PaymentDrift(
        sale_id=sale.pk,
        reference=sale.reference,
        paid_total=before[0],
        payment_status=before[1],
        expected_paid_total=after[0],
        expected_payment_status=after[1],
    )


# --- the daily and monthly rollup of the summary ---------------------------------------

# The triggers that keep `SaleDailyTotal` and `SaleMonthlyTotal` exact (`ROLLUP_TRIGGERS`, per database), and
# the deferred ones (PostgreSQL): they run at COMMIT unless set IMMEDIATE.
DEFERRED_ROLLUP_TRIGGERS = PG_ROW_TRIGGERS
ROLLUP_FIGURES = ("count", "grand_total", "paid_total", "grand_total_base", "paid_total_base")
DAY_OF_SALE = {"postgresql": "(created_at AT TIME ZONE 'UTC')::date", "sqlite": "date(created_at)"}
MONTH_OF_SALE = {
    "postgresql": "date_trunc('month', created_at AT TIME ZONE 'UTC')::date",
    "sqlite": "strftime('%Y-%m-01', created_at)",
}
# level: (model, its key column, the key of a sale per database)
ROLLUP_LEVELS = {
    "day": (SaleDailyTotal, "day", DAY_OF_SALE),
    "month": (SaleMonthlyTotal, "month", MONTH_OF_SALE),
}

# One statement per level, so one snapshot each: the sales grouped as the rollup groups them, joined
# to the rollup, keeping the keys that differ (two LEFT JOIN halves rather than a FULL OUTER JOIN,
# which SQLite has only since 3.39). ROUND(…, 3): SQLite adds decimals up as doubles (three decimals: KWD).
# The base sums are each sale's amount converted with its own rate and rounded to the base currency's
# minor units (`sales.rollup_triggers.BASE_AMOUNT_SQL`, with the current `SALES_BASE_CURRENCY`).
ROLLUP_DRIFT_SQL = """
WITH actual AS (
    SELECT {bucket} AS bucket, seller_id, status, currency, COUNT(*) AS n,
           ROUND(SUM(grand_total), 3) AS grand_total, ROUND(SUM(paid_total), 3) AS paid_total,
           ROUND(SUM({grand_base}), 3) AS grand_total_base, ROUND(SUM({paid_base}), 3) AS paid_total_base
    FROM sales_sale
    GROUP BY 1, 2, 3, 4
)
SELECT a.bucket, a.seller_id, a.status, a.currency,
       r.count, ROUND(r.grand_total, 3), ROUND(r.paid_total, 3), ROUND(r.grand_total_base, 3),
       ROUND(r.paid_total_base, 3),
       a.n, a.grand_total, a.paid_total, a.grand_total_base, a.paid_total_base
FROM actual AS a
LEFT JOIN {table} AS r
    ON r.{column} = a.bucket AND r.seller_id = a.seller_id AND r.status = a.status AND r.currency = a.currency
WHERE r.count IS NULL OR r.count <> a.n
   OR ROUND(r.grand_total, 3) <> a.grand_total OR ROUND(r.paid_total, 3) <> a.paid_total
   OR ROUND(r.grand_total_base, 3) <> a.grand_total_base OR ROUND(r.paid_total_base, 3) <> a.paid_total_base
UNION ALL
SELECT r.{column}, r.seller_id, r.status, r.currency,
       r.count, ROUND(r.grand_total, 3), ROUND(r.paid_total, 3), ROUND(r.grand_total_base, 3),
       ROUND(r.paid_total_base, 3), NULL, NULL, NULL, NULL, NULL
FROM {table} AS r
WHERE NOT EXISTS (
    SELECT 1 FROM actual AS a
    WHERE a.bucket = r.{column} AND a.seller_id = r.seller_id AND a.status = r.status AND a.currency = r.currency
)
ORDER BY 1, 2, 3, 4
"""

Figures = tuple[int, Decimal, Decimal, Decimal, Decimal]


@dataclass(frozen=True)
class RollupDrift:
    """A (day, seller, status, currency) key — or (month, …) — where the rollup differs from the sales:
    (count, grand_total, paid_total, grand_total_base, paid_total_base).

    `level` is "day" (`SaleDailyTotal`) or "month" (`SaleMonthlyTotal`, `day` its first day).
    `stored` is None when the rollup has no row for the key, `actual` when no sale has it.
    """

    day: date
    seller_id: int
    status: str
    stored: Figures | None
    actual: Figures | None
    level: str = "day"
    currency: str = ""

    def __str__(self) -> str:
        when = f"month {self.day:%Y-%m}" if self.level == "month" else str(self.day)
        key = f"{when} seller {self.seller_id} {self.status} {self.currency}"
        if self.stored is None or self.actual is None:
            figures = self.actual or self.stored
            what = "missing" if self.stored is None else "no such sales"
            return f"{key}: {what} ({', '.join(f'{n} {v}' for n, v in zip(ROLLUP_FIGURES, figures, strict=True))})"
        parts = [
            f"{name} {stored} → {actual}"
            for name, stored, actual in zip(ROLLUP_FIGURES, self.stored, self.actual, strict=True)
            if stored != actual
        ]
        return f"{key}: {', '.join(parts)}"


@dataclass(frozen=True)
class RollupAudit:
    """What `audit_sale_daily_totals` found: drifted keys, whether they were rewritten, triggers not in force."""

    drift: list[RollupDrift] = field(default_factory=list)
    fixed: int = 0
    triggers_off: list[str] = field(default_factory=list)  # missing or disabled: the rollup cannot stay exact

    @property
    def ok(self) -> bool:
        return not self.triggers_off and len(self.drift) == self.fixed


def _figures(currency, count, grand_total, paid_total, grand_base, paid_base) -> Figures | None:
    if count is None:
        return None
    base = settings.SALES_BASE_CURRENCY
    return (
        int(count),
        quantize(Decimal(str(grand_total)), currency),
        quantize(Decimal(str(paid_total)), currency),
        quantize(Decimal(str(grand_base)), base),
        quantize(Decimal(str(paid_base)), base),
    )


def rollup_triggers_off() -> list[str]:
    """The rollup triggers missing from `sales_sale`, or disabled on it (PostgreSQL's ALTER TABLE … DISABLE)."""
    expected = ROLLUP_TRIGGERS.get(connection.vendor, ())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'sales_sale'::regclass AND tgenabled <> 'D'")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'sales_sale'")
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in expected if name not in present]


def _fire_pending_rollup_triggers() -> None:
    """PostgreSQL: run this transaction's queued rollup trigger events now (they would run at COMMIT).

    So a check made inside a transaction that wrote sales (a test, a caller's atomic block) sees
    its own writes in the rollup too. The triggers are deferred again afterwards.
    """
    if connection.vendor != "postgresql":
        return
    names = ", ".join(DEFERRED_ROLLUP_TRIGGERS)
    with connection.cursor() as cursor:
        cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE; SET CONSTRAINTS {names} DEFERRED")


def _rollup_drift(level: str) -> list[RollupDrift]:
    model, column, bucket = ROLLUP_LEVELS[level]
    vendor, places = connection.vendor, minor_units(settings.SALES_BASE_CURRENCY)
    sql = ROLLUP_DRIFT_SQL.format(
        bucket=bucket[vendor],
        table=model._meta.db_table,
        column=column,
        grand_base=base_amount_sql(vendor, "grand_total", "exchange_rate", places),
        paid_base=base_amount_sql(vendor, "paid_total", "exchange_rate", places),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    return [
        RollupDrift(
            day=row[0] if isinstance(row[0], date) else date.fromisoformat(row[0]),  # SQLite: text
            seller_id=row[1],
            status=row[2],
            currency=row[3],
            stored=_figures(row[3], *row[4:9]),
            actual=_figures(row[3], *row[9:14]),
            level=level,
        )
        for row in rows
    ]


def _rewrite_rollup(level: str, drift: list[RollupDrift]) -> None:
    model, column, _ = ROLLUP_LEVELS[level]
    gone = [entry for entry in drift if entry.actual is None]
    for start in range(0, len(gone), 500):
        keys = Q()
        for entry in gone[start : start + 500]:
            keys |= Q(**{column: entry.day}, seller_id=entry.seller_id, status=entry.status, currency=entry.currency)
        model.objects.filter(keys).delete()
    model.objects.bulk_create(
        [
            model(
                **{column: entry.day},
                seller_id=entry.seller_id,
                status=entry.status,
                currency=entry.currency,
                **dict(zip(ROLLUP_FIGURES, entry.actual, strict=True)),
            )
            for entry in drift
            if entry.actual is not None
        ],
        batch_size=1000,
        update_conflicts=True,
        unique_fields=[column, "seller", "status", "currency"],
        update_fields=list(ROLLUP_FIGURES),
    )


@retry_on_transient_db_errors
@transaction.atomic
def audit_sale_daily_totals(*, fix: bool = False) -> RollupAudit:
    """Compare the daily and monthly rollup of the summary with the sales grouped the same way; with `fix`,
    rewrite what drifted. `drift` lists the daily keys first, then the monthly ones (`RollupDrift.level`).

    The comparison is one statement per level. The repair runs in this one
    transaction with both tables locked against writes (EXCLUSIVE: reads go on):
    a sale writer committing meanwhile waits in its trigger, before its commit,
    and applies its change on top of the repaired rows, so nothing is lost or
    counted twice. Triggers missing or disabled are reported, never repaired here
    (re-run migration 0012's install, or ENABLE them): the rollup would drift again.
    """
    _fire_pending_rollup_triggers()
    if fix and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Both at once, in the order the triggers lock their rows (daily first).
            cursor.execute("LOCK TABLE sales_saledailytotal, sales_salemonthlytotal IN EXCLUSIVE MODE")
    drift = []
    for level in ROLLUP_LEVELS:
        found = _rollup_drift(level)
        if fix and found:
            _rewrite_rollup(level, found)
        drift.extend(found)
    return RollupAudit(drift=drift, fixed=len(drift) if fix else 0, triggers_off=rollup_triggers_off())
