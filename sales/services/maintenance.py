"""Repairs operators run from management commands: stale reservations, drifted totals, payment status.

Each repair is one transaction per sale, with the sale row locked, through the
same code the API uses (`sale_cancel`, `sales.pricing` via `_apply_pricing`,
`sale_refresh_payments`), and leaves an activity event saying what changed and
why. The matching checks only read, so a dry run writes nothing.
"""

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import DateTimeField, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from payments.models import PaymentKind, PaymentState
from sales.models import RESERVING_STATUSES, CancelReason, Sale, SaleEvent, SaleEventType, SaleItem, SaleStatus
from sales.services._common import _apply_pricing, _log, sale_lock
from sales.services.payments import derive_payment_status, sale_refresh_payments
from sales.services.transitions import sale_cancel
from salesproject.db import retry_on_transient_db_errors
from salesproject.money import ZERO, quantize

# A pending sale nobody confirmed in time: no customer request, fraud, stock problem or declined
# payment is known, so the honest reason is "other", with a note saying it went stale.
STALE_CANCEL_REASON = CancelReason.OTHER

SALE_TOTAL_FIELDS = ("subtotal", "discount_total", "shipping_tax", "tax_total", "grand_total")
ITEM_TOTAL_FIELDS = ("subtotal", "discount_total", "tax_total", "net_total", "total")


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
def sale_cancel_stale(*, sale: Sale, older_than: timedelta, now: datetime | None = None, user=None) -> Sale | None:
    """Cancel one pending sale if it is still pending and still stale, releasing its stock; None if it no longer is.

    The check is repeated with the sale row locked, so a sale confirmed after
    it was listed is left alone (cancelling it would restock a confirmed sale).
    """
    sale = sale_lock(sale=sale)
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


def _reprice(sale: Sale, items: Sequence[SaleItem]) -> TotalsDrift | None:
    """Price the sale's stored lines (in place, not saved) and say what differs from what was stored."""
    stored_sale = {name: getattr(sale, name) for name in SALE_TOTAL_FIELDS}
    stored_items = [tuple(getattr(item, name) for name in ITEM_TOTAL_FIELDS) for item in items]
    _apply_pricing(sale, items)
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
        return None
    return TotalsDrift(sale_id=sale.pk, reference=sale.reference, fields=fields, items=lines)


def sale_totals_drift(*, sale: Sale) -> TotalsDrift | None:
    """Recompute a sale's totals from its line snapshots and discount/shipping fields; read only.

    Works on copies, so the caller's instances keep their stored figures. Raises
    `ValidationError` when the stored inputs cannot be priced at all.
    """
    items = [copy.copy(item) for item in sale.items.all()]
    return _reprice(copy.copy(sale), items)


@retry_on_transient_db_errors
@transaction.atomic
def sale_recalculate_totals(*, sale: Sale, user=None) -> TotalsDrift | None:
    """Store the totals that pricing the sale's stored lines gives, and re-derive its payment status.

    Returns what was repaired, or None when the stored totals were right.
    Logs an `edited` event with the stored and recomputed figures.
    """
    sale = sale_lock(sale=sale)
    items = list(sale.items.order_by("pk"))
    drift = _reprice(sale, items)
    if drift is None:
        return None
    SaleItem.objects.bulk_update(items, list(ITEM_TOTAL_FIELDS))
    sale.save(update_fields=[*SALE_TOTAL_FIELDS, "updated_at"])
    status_before = sale.payment_status
    sale_refresh_payments(sale=sale)  # a new grand total can change what the payments amount to
    before = {name: str(stored) for name, (stored, _) in drift.fields.items()}
    after = {name: str(computed) for name, (_, computed) in drift.fields.items()}
    if sale.payment_status != status_before:
        before["payment_status"], after["payment_status"] = status_before, sale.payment_status
    _log(
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
    successful = Q(payments__status=PaymentState.SUCCESSFUL)
    rows = (
        (sales if sales is not None else Sale.objects.all())
        .order_by("pk")
        .annotate(
            paid=Sum("payments__amount", filter=successful & Q(payments__kind=PaymentKind.PAYMENT), default=ZERO),
            refunded=Sum("payments__amount", filter=successful & Q(payments__kind=PaymentKind.REFUND), default=ZERO),
        )
        .values_list("pk", "reference", "grand_total", "paid_total", "payment_status", "paid", "refunded")
    )
    for pk, reference, grand_total, paid_total, status, paid, refunded in rows.iterator(chunk_size=2000):
        expected_total = quantize(paid - refunded)
        expected_status = derive_payment_status(grand_total=grand_total, paid=paid, refunded=refunded)
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
def sale_reconcile_payments(*, sale: Sale | int, user=None) -> PaymentDrift | None:
    """Recompute the sale's paid total and payment status from its payments; log an event if they changed."""
    sale = sale_lock(sale=sale)
    before = (sale.paid_total, sale.payment_status)
    sale_refresh_payments(sale=sale)
    after = (sale.paid_total, sale.payment_status)
    if before == after:
        return None
    changed = [
        name for name, old, new in zip(("paid_total", "payment_status"), before, after, strict=True) if old != new
    ]
    _log(
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
