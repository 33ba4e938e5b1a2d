"""Generated invoices and credit notes (records.md): numbered without gaps, frozen when issued.

Amounts come from the sale's lines by cumulative shares of each line's units (as
`returns.charged_for_units` does), so invoicing a line in several parts adds up to the line, cent for
cent. A credit note gives back what its units were invoiced at (the frozen invoice lines, not the
line's current price). Every function here runs with the sale row locked by its caller or itself,
and takes a number last (the counter row is always locked after the sale: one lock order).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from sales.errors import InvalidTransition
from sales.models import (
    DocumentCounter,
    DocumentKind,
    InvoiceStatus,
    Sale,
    SaleDocument,
    SaleDocumentLine,
    SaleEventType,
    SaleItem,
    SaleStatus,
)
from sales.services._common import allowed_statuses, log_event, resolve_item_quantities, sale_lock, user_or_none
from sales.services.commands import ItemQuantity
from sales.services.outbox import emits_events
from salesproject.db import retry_on_transient_db_errors
from salesproject.errors import ValidationError
from salesproject.money import ZERO, minor_units, quantize

INVOICEABLE_STATUSES = frozenset({SaleStatus.CONFIRMED, SaleStatus.IN_DELIVERY, SaleStatus.COMPLETED})
# A sale in these statuses owes nothing for any unit: whatever was invoiced is credited.
NOTHING_BILLABLE_STATUSES = frozenset({SaleStatus.CANCELLED, SaleStatus.REFUNDED, SaleStatus.REJECTED})
PREFIXES = {DocumentKind.INVOICE: "INV", DocumentKind.CREDIT_NOTE: "CN"}
AMOUNTS = ("subtotal", "discount_total", "tax_total", "total")


@dataclass
class _Line:
    item: SaleItem
    quantity: int
    amounts: dict[str, Decimal]


# --- numbering --------------------------------------------------------------------------


def document_number_take(*, kind: str, year: int) -> tuple[int, str]:
    """The next number of `kind` in `year`, taken in the caller's transaction: (sequence, "INV-2026-000001").

    The counter row is created by an insert that ignores a conflict (two first issuers of a year do not
    fail), then locked `SELECT … FOR UPDATE`: a second issuer waits until the first commits (or rolls
    back, giving the number back), so numbers have no gap and no duplicate, whichever app server asks.
    """
    DocumentCounter.objects.bulk_create([DocumentCounter(kind=kind, year=year)], ignore_conflicts=True)
    counter = DocumentCounter.objects.select_for_update().get(kind=kind, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last, f"{PREFIXES[kind]}-{year}-{counter.last:06d}"


# --- what is invoiced -------------------------------------------------------------------


def billable_units(sale: Sale, item: SaleItem) -> int:
    """Units of a line the customer is to be invoiced for: sold, not cancelled, not returned."""
    if sale.status in NOTHING_BILLABLE_STATUSES:
        return 0
    return max(item.quantity_active - item.quantity_returned, 0)


def invoiced_by_item(sale: Sale) -> dict[int, dict[str, Decimal | int]]:
    """{item id: {"quantity", *AMOUNTS}} invoiced minus credited, from the frozen document lines."""
    fields = {name: Sum(name) for name in ("quantity", *AMOUNTS)}
    net: dict[int, dict] = {}
    rows = (
        SaleDocumentLine.objects.filter(document__sale=sale)
        .values("item_id", "document__kind")
        .annotate(**fields)
        .order_by()
    )
    for row in rows:
        sign = 1 if row["document__kind"] == DocumentKind.INVOICE else -1
        entry = net.setdefault(row["item_id"], {"quantity": 0, **{name: ZERO for name in AMOUNTS}})
        for name in ("quantity", *AMOUNTS):
            entry[name] += sign * (row[name] or 0)
    return net


def invoice_status_of(sale: Sale, items: Iterable[SaleItem], invoiced: dict[int, dict]) -> str:
    """not_invoiced / partially_invoiced / invoiced: units invoiced minus credited against units billable."""
    billable = sum(billable_units(sale, item) for item in items)
    net = sum(entry["quantity"] for entry in invoiced.values())
    if net <= 0:
        return InvoiceStatus.NOT_INVOICED
    return InvoiceStatus.INVOICED if net >= billable else InvoiceStatus.PARTIALLY_INVOICED


def _set_invoice_status(sale: Sale, items: Sequence[SaleItem]) -> None:
    status = invoice_status_of(sale, items, invoiced_by_item(sale))
    if sale.invoice_status != status:
        sale.invoice_status = status
        Sale.objects.filter(pk=sale.pk).update(invoice_status=status)  # this column only: the caller saves the rest


# --- amounts ----------------------------------------------------------------------------


def _share(amount: Decimal, units: int, of: int, currency: str) -> Decimal:
    return quantize(amount * units / of, currency) if of else ZERO


def _invoice_amounts(item: SaleItem, *, already: int, quantity: int, currency: str) -> dict[str, Decimal]:
    """What `quantity` more units of a line come to, after `already` invoiced: cumulative shares of its units."""
    active = item.quantity_active
    return {
        name: _share(getattr(item, name), already + quantity, active, currency)
        - _share(getattr(item, name), already, active, currency)
        for name in AMOUNTS
    }


def _credit_amounts(net: dict, *, quantity: int, currency: str) -> dict[str, Decimal]:
    """What `quantity` of the `net["quantity"]` units still invoiced were invoiced at: the last units' share."""
    kept = net["quantity"] - quantity
    return {name: net[name] - _share(net[name], kept, net["quantity"], currency) for name in AMOUNTS}


def allocate_tax_lines(sale: Sale, tax_total: Decimal) -> list[dict]:
    """The sale's tax breakdown scaled to `tax_total`: each entry's share of it by its amount, rounded to the
    currency's minor units by largest remainder so the entries add up to `tax_total` exactly."""
    entries = [dict(entry) for entry in sale.tax_lines or []]
    weights = [Decimal(str(entry.get("amount") or "0")) for entry in entries]
    whole = sum(weights, ZERO)
    places = minor_units(sale.currency)
    step = Decimal(1).scaleb(-places)
    if not tax_total:
        return [{**entry, "amount": format(ZERO.quantize(step), "f")} for entry in entries]
    if not entries or not whole:
        return [{"code": "", "name": "Tax", "jurisdiction": "", "rate": "", "amount": format(tax_total, "f")}]
    units = int(tax_total.scaleb(places))
    exact = [Decimal(units) * weight / whole for weight in weights]
    floors = [int(value) for value in exact]  # toward zero: the same for a positive or negative total
    left = units - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: abs(exact[i] - floors[i]), reverse=True)
    for i in order[: abs(left)]:
        floors[i] += 1 if left > 0 else -1
    return [
        {**entry, "amount": format(Decimal(floor).scaleb(-places).quantize(step), "f")}
        for entry, floor in zip(entries, floors, strict=True)
    ]


# --- issuing ----------------------------------------------------------------------------


def _issue(*, sale: Sale, kind: str, lines: list[_Line], user, reason: str = "",
           credits: SaleDocument | None = None) -> SaleDocument:
    issued_at = timezone.now()
    year = timezone.localtime(issued_at).year
    sequence, number = document_number_take(kind=kind, year=year)
    totals = {name: sum((line.amounts[name] for line in lines), ZERO) for name in AMOUNTS}
    document = SaleDocument.objects.create(
        sale=sale, kind=kind, number=number, year=year, sequence=sequence, issued_at=issued_at,
        currency=sale.currency, tax_lines=allocate_tax_lines(sale, totals["tax_total"]), credits=credits,
        reason=reason[:200], user=user_or_none(user), **totals,
    )
    SaleDocumentLine.objects.bulk_create([
        SaleDocumentLine(
            document=document, item=line.item, sku=line.item.sku, name=line.item.name, quantity=line.quantity,
            unit_price=line.item.unit_price, **line.amounts,
        )
        for line in lines
    ])
    log_event(sale, SaleEventType.INVOICE_ATTACHED, user=user, kind=kind, document=document.pk, number=number,
              total=str(document.total), reason=reason)
    return document


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_issue_invoice(*, sale: Sale | int, user, lines: Sequence[ItemQuantity] | None = None) -> SaleDocument:
    """Issue an invoice for some units of a confirmed, in-delivery or completed sale (none given: every unit
    sold and not invoiced yet); its lines and totals are frozen now."""
    sale = sale_lock(sale=sale)
    if sale.status not in INVOICEABLE_STATUSES:
        raise InvalidTransition(action="invoice", current=sale.status, allowed=allowed_statuses(sale, user))
    items = {item.pk: item for item in sale.items.order_by("pk")}
    invoiced = invoiced_by_item(sale)

    def left(item: SaleItem) -> int:
        return max(billable_units(sale, item) - invoiced.get(item.pk, {}).get("quantity", 0), 0)

    if lines is None:
        requested = {pk: left(item) for pk, item in items.items() if left(item) > 0}
        if not requested:
            raise ValidationError("Every unit of this sale is invoiced already.", code="empty", attr="items")
    else:
        requested = resolve_item_quantities(items, lines, available=left, done="invoiced")
    built = [
        _Line(
            item=items[pk], quantity=units,
            amounts=_invoice_amounts(items[pk], already=invoiced.get(pk, {}).get("quantity", 0), quantity=units,
                                     currency=sale.currency),
        )
        for pk, units in requested.items()
    ]
    document = _issue(sale=sale, kind=DocumentKind.INVOICE, lines=built, user=user)
    _set_invoice_status(sale, list(items.values()))
    return document


def sale_credit_uninvoiced(*, sale: Sale, user, reason: str = "") -> SaleDocument | None:
    """Credit the invoiced units the customer no longer owes (returned, cancelled, refunded); on a sale its
    caller has locked and already changed. Returns the credit note, or None when nothing was to be credited.

    Keeps `invoice_status` either way.
    """
    items = list(sale.items.order_by("pk"))
    invoiced = invoiced_by_item(sale)
    credit = []
    for item in items:
        net = invoiced.get(item.pk)
        excess = (net["quantity"] - billable_units(sale, item)) if net else 0
        if excess > 0:
            credit.append(_Line(item=item, quantity=excess,
                                amounts=_credit_amounts(net, quantity=excess, currency=sale.currency)))
    document = None
    if credit:
        last_invoice = (
            SaleDocument.objects.filter(sale=sale, kind=DocumentKind.INVOICE, lines__item__in=[c.item for c in credit])
            .order_by("-pk").first()
        )
        document = _issue(sale=sale, kind=DocumentKind.CREDIT_NOTE, lines=credit, user=user, reason=reason,
                          credits=last_invoice)
    _set_invoice_status(sale, items)
    return document
