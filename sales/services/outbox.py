"""The events of the sale services (events.md): each change writes its `Event` rows in its own transaction.

Every sale change already writes activity rows (`SaleEvent`, through `_common.build_event`); each is
noted here (`note_activity`) with the event types it stands for. When the outermost sale service returns,
still inside its transaction (`@emits_events` sits under `@transaction.atomic`), each sale it changed is read
once, rendered once as GET /api/v1/sales/{id}/ shows it to a reader who is not staff (`events.renderers`,
registered by `SalesConfig.ready`), and written with one event per type that applies: a service writing
several activity rows still writes one `sale.updated`. A service that raises writes nothing, and the
transaction takes back whatever it wrote.

- `sale.created` only, for a sale created in the batch (its payments and fulfilment are in its object).
- `sale.status_changed`: `previous` {"status": the status before the first step}.
- `sale.paid`: the payment status became `paid` since the sale was locked (`data.payment`: the payment noted).
- `sale.updated` / `sale.delivery_updated`: `previous` the top-level fields of the representation that changed
  (the sale as locked, rendered with today's lines), plus what the service gave (`note_previous`).
- `payment.*` (object: the payment) and `invoice.issued` (object: the invoice generated or uploaded) once each;
  a credit note comes with the change that gave money back (cancel, refund, return) and has no event of its own.
"""

import functools
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from events.models import EventType
from events.renderers import render_object
from events.services import event_record
from payments.models import Payment
from sales.models import DocumentKind, Fulfillment, Invoice, PaymentStatus, Sale, SaleDocument, SaleEventType
from sales.selectors import fulfillments_with_related, sale_with_related

# Item fields whose change is a delivery update (the others are a plain update).
DELIVERY_FIELDS = frozenset({"carrier", "tracking_code", "tracking_url"})
UPDATES = {
    SaleEventType.EDITED,
    SaleEventType.NOTE_CHANGED,
    SaleEventType.ITEMS_CANCELLED,
    SaleEventType.SPLIT,
    SaleEventType.LOCKED,
    SaleEventType.UNLOCKED,
}
# Keys of the representation left out of `previous`: nested lists (their effect shows in the totals) and
# what every change moves.
NOT_COMPARED = frozenset(
    {"items", "payments", "promotions", "children", "available_transitions", "updated_at", "updated_by"}
)


@dataclass
class _SaleChanges:
    types: dict[str, dict] = field(default_factory=dict)  # event type → extra `data` keys, in noted order
    before: Sale | None = None  # the sale's columns when it was locked
    status_from: str | None = None
    previous: dict = field(default_factory=dict)
    payment_id: int | None = None
    created: bool = False


@dataclass
class _Batch:
    depth: int = 0
    order: list[tuple[str, int]] = field(default_factory=list)
    sales: dict[int, _SaleChanges] = field(default_factory=dict)
    payments: dict[int, tuple[str, dict | None, Sale | None]] = field(default_factory=dict)
    invoices: dict[tuple[str, int], Sale] = field(default_factory=dict)  # ("document" | "upload", id) → its sale
    loaded: dict[int, Sale] = field(default_factory=dict)

    def sale(self, sale: Sale) -> _SaleChanges:
        if sale.pk not in self.sales:
            self.sales[sale.pk] = _SaleChanges()
        if ("sale", sale.pk) not in self.order:
            self.order.append(("sale", sale.pk))
        return self.sales[sale.pk]


_batch: ContextVar[_Batch | None] = ContextVar("sale_events", default=None)


@contextmanager
def collecting():
    """Collect the events of the changes made inside; the outermost block writes them when it ends normally."""
    batch = _batch.get()
    token = None
    if batch is None:
        batch = _Batch()
        token = _batch.set(batch)
    batch.depth += 1
    try:
        yield batch
        if batch.depth == 1:
            _flush(batch)
    finally:
        batch.depth -= 1
        if token is not None:
            _batch.reset(token)


def emits_events(service):
    """Decorate a sale service (under its `@transaction.atomic`): its changes' events are written as it returns."""

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        with collecting():
            return service(*args, **kwargs)

    return wrapper


def note_lock(sale: Sale) -> None:
    """Keep the columns of a sale just locked, the first time in the batch: `previous` is computed from them."""
    batch = _batch.get()
    if batch is None:
        return
    changes = batch.sales.setdefault(sale.pk, _SaleChanges())
    if changes.before is None:
        changes.before = Sale(**{f.attname: getattr(sale, f.attname) for f in Sale._meta.concrete_fields})


def note_loaded(sale: Sale) -> None:
    """The sale is loaded as `sale_with_related` would load it (a new sale's rows kept on it): rendered as it is."""
    batch = _batch.get()
    if batch is not None:
        batch.loaded[sale.pk] = sale


def note_previous(sale: Sale, previous: dict) -> None:
    """Values before the change that the representation's top level does not show (a line's fields)."""
    batch = _batch.get()
    if batch is not None:
        batch.sale(sale).previous.update(previous)


def note_activity(sale: Sale, type_: str, *, from_status: str, data: dict[str, Any]) -> None:
    """Note the event types an activity row stands for (called for every row `build_event` makes)."""
    batch = _batch.get()
    if batch is None:  # a writer outside any decorated service: its events are written at once
        with collecting() as batch:
            _note(batch, sale, type_, from_status, data)
        return
    _note(batch, sale, type_, from_status, data)


def note_payment(payment_id: int, type_: str, previous: dict | None = None, sale: Sale | None = None) -> None:
    """A `payment.*` event, once per payment and batch (`sale`: one it is on, which scopes the event)."""
    batch = _batch.get()
    if batch is None:
        with collecting() as batch:
            _note_payment(batch, payment_id, type_, previous, sale)
        return
    _note_payment(batch, payment_id, type_, previous, sale)


def _note_payment(batch: _Batch, payment_id: int, type_: str, previous: dict | None, sale: Sale | None) -> None:
    if payment_id not in batch.payments:
        batch.order.append(("payment", payment_id))
        batch.payments[payment_id] = (type_, previous, sale)


def _note(batch: _Batch, sale: Sale, type_: str, from_status: str, data: dict[str, Any]) -> None:
    if type_ in (SaleEventType.PAYMENT_RECORDED, SaleEventType.REFUND_RECORDED, SaleEventType.PAYMENT_ASSIGNED):
        payment = data["payment"]
        if type_ == SaleEventType.PAYMENT_ASSIGNED:
            _note_payment(batch, payment, EventType.PAYMENT_ASSIGNED, {"sale": None, "allocations": []}, sale)
        elif "status_from" in data:
            _note_payment(batch, payment, EventType.PAYMENT_STATUS_CHANGED, {"status": data["status_from"]}, sale)
        else:
            _note_payment(batch, payment, EventType.PAYMENT_RECORDED, None, sale)
        batch.sale(sale).payment_id = payment
        return
    if type_ == SaleEventType.INVOICE_ATTACHED:  # an invoice issued or uploaded (a credit note: no event of its own)
        if data.get("document") and data.get("kind") == DocumentKind.INVOICE:
            key = ("document", data["document"])
        elif data.get("invoice"):
            key = ("upload", data["invoice"])
        else:
            return
        batch.order.append(key)
        batch.invoices[key] = sale
        return
    changes = batch.sale(sale)
    types = changes.types
    if type_ == SaleEventType.CREATED:
        changes.created = True
    elif type_ == SaleEventType.STATUS_CHANGED:
        if changes.status_from is None:
            changes.status_from = from_status
        types.setdefault(EventType.SALE_STATUS_CHANGED, {})
    elif type_ in UPDATES:
        types.setdefault(EventType.SALE_UPDATED, {})
    elif type_ == SaleEventType.ITEM_UPDATED:
        fields = set(data.get("changes") or ())
        if fields & DELIVERY_FIELDS:
            types.setdefault(EventType.SALE_DELIVERY_UPDATED, {})
        if fields - DELIVERY_FIELDS:
            types.setdefault(EventType.SALE_UPDATED, {})
    elif type_ == SaleEventType.RETURNED:
        types.setdefault(EventType.SALE_RETURNED, {})
    elif type_ == SaleEventType.FULFILLMENT_CREATED:
        types.setdefault(EventType.SALE_FULFILLMENT_CREATED, {})["fulfillment"] = data["fulfillment"]
    elif type_ == SaleEventType.TRACKING_UPDATED:
        types.setdefault(EventType.SALE_DELIVERY_UPDATED, {})["fulfillment"] = data["fulfillment"]
    # CLONED records something about the source without changing it: no event.


def record_deleted(sale: Sale) -> None:
    """`sale.deleted`, its object the sale as it was: call it just before deleting the (locked) sale."""
    loaded = _load(sale.pk)
    event_record(
        type=EventType.SALE_DELETED,
        object_type="sale",
        object_id=sale.pk,
        obj=render_object("sale", loaded),
        sale_id=sale.pk,
        seller_id=sale.seller_id,
        store_id=sale.store_id,
    )


# --- writing ------------------------------------------------------------------------------


def _load(pk: int) -> Sale | None:
    return sale_with_related(Sale.objects.filter(pk=pk), payments=True).first()


def _scope(sale: Sale) -> dict:
    return {"sale_id": sale.pk, "seller_id": sale.seller_id, "store_id": sale.store_id}


def _flush(batch: _Batch) -> None:
    written: set[tuple[str, int]] = set()
    for key in batch.order:
        if key in written:
            continue
        written.add(key)
        kind, pk = key
        if kind == "sale":
            _write_sale(batch, pk)
        elif kind == "payment":
            _write_payment(batch, pk)
        else:
            _write_invoice(batch, key)


def _write_sale(batch: _Batch, pk: int) -> None:
    changes = batch.sales[pk]
    sale = batch.loaded.get(pk) or _load(pk)
    if sale is None:  # deleted later in the same transaction (its `sale.deleted` says so)
        return
    obj = render_object("sale", sale)
    if changes.created:
        event_record(type=EventType.SALE_CREATED, object_type="sale", object_id=pk, obj=obj, **_scope(sale))
        return
    types = dict(changes.types)
    before = changes.before
    if before is not None and before.payment_status != PaymentStatus.PAID and sale.payment_status == PaymentStatus.PAID:
        types[EventType.SALE_PAID] = {"payment": changes.payment_id} if changes.payment_id else {}
    compared = None
    for type_, given in types.items():
        extra = dict(given)
        if "fulfillment" in extra:
            fulfillment = fulfillments_with_related(Fulfillment.objects.filter(pk=extra["fulfillment"])).get()
            extra["fulfillment"] = render_object("fulfillment", fulfillment)
        if "payment" in extra:
            extra["payment"] = _render_payment(sale, extra["payment"])
        previous = None
        if type_ == EventType.SALE_STATUS_CHANGED:
            previous = {"status": changes.status_from}
        elif type_ == EventType.SALE_PAID:
            previous = {"payment_status": before.payment_status}
        elif type_ in (EventType.SALE_UPDATED, EventType.SALE_DELIVERY_UPDATED):
            if compared is None:
                compared = {**_changed_fields(before, sale, obj), **changes.previous}
            previous = compared
        event_record(
            type=type_, object_type="sale", object_id=pk, obj=obj, previous=previous, extra=extra, **_scope(sale)
        )


def _changed_fields(before: Sale | None, sale: Sale, obj: dict) -> dict:
    """The top-level fields of `obj` whose value differed when the sale was locked (`before`)."""
    if before is None:
        return {}
    for column in Sale._meta.concrete_fields:  # the related rows that did not change: the loaded ones
        same = column.is_relation and getattr(before, column.attname) == getattr(sale, column.attname)
        if same and column.is_cached(sale):
            column.set_cached_value(before, column.get_cached_value(sale))
    before._prefetched_objects_cache = getattr(sale, "_prefetched_objects_cache", {})
    old = render_object("sale", before)
    return {key: old.get(key) for key, value in obj.items() if key not in NOT_COMPARED and old.get(key) != value}


def _render_payment(sale: Sale, pk: int) -> dict:
    payment = next((p for p in sale.payments.all() if p.pk == pk), None)
    if payment is None:
        payment = Payment.objects.select_related("user").prefetch_related("allocations").get(pk=pk)
    return render_object("payment", payment)


def _write_payment(batch: _Batch, pk: int) -> None:
    type_, previous, sale = batch.payments[pk]
    if sale is not None and sale.pk in batch.sales and batch.sales[sale.pk].created:
        return  # recorded with a new sale: in `sale.created`'s object
    payment = Payment.objects.select_related("user").prefetch_related("allocations").get(pk=pk)
    event_record(
        type=type_,
        object_type="payment",
        object_id=pk,
        obj=render_object("payment", payment),
        previous=previous,
        **(_scope(sale) if sale is not None else {}),
    )


def _write_invoice(batch: _Batch, key: tuple[str, int]) -> None:
    """`invoice.issued`: a generated invoice as GET /sales/{id}/invoices/ shows it, or an uploaded one as its
    upload answered."""
    kind, pk = key
    if kind == "document":
        obj = render_object("invoice", SaleDocument.objects.prefetch_related("lines").get(pk=pk))
    else:
        obj = render_object("invoice_upload", Invoice.objects.get(pk=pk))
    event_record(
        type=EventType.INVOICE_ISSUED, object_type="invoice", object_id=pk, obj=obj, **_scope(batch.invoices[key])
    )
