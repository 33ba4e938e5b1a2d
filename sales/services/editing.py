"""Create, edit and delete sales and their lines."""

from typing import Any

from django.conf import settings
from django.db import transaction

from inventory import services as stock
from inventory.services import StockLine
from sales.errors import SaleHasHistory, SaleLocked
from sales.models import (
    CancellationStatus,
    Sale,
    SaleEvent,
    SaleEventType,
    SaleItem,
    SalePromotion,
    SaleStatus,
    transitions_to,
)
from sales.services._common import (
    ALWAYS_EDITABLE_FIELDS,
    ITEM_FIELDS,
    OPEN_ONLY_FIELDS,
    REPRICING_FIELDS,
    build_event,
    build_items,
    copy_address,
    customer_addresses,
    insert_sale,
    log_event,
    sale_lock,
    set_tax,
    stock_lines,
    stock_reason,
    tracking_url_for,
    user_or_none,
)
from sales.services.commands import NewSale
from sales.services.exchange_rates import sale_rate
from sales.services.fulfilment import fulfil_everything_left
from sales.services.outbox import emits_events, note_loaded, note_previous, record_deleted
from sales.services.payments import derive_payment_status, sale_record_payments, sale_refresh_payments
from sales.services.promotions import count_usage, price_sale, promotion_candidates, replace_applied
from sales.services.stores import sale_store
from sales.services.transitions import advance_in_memory, move_stock_to_status, status_events
from salesproject.db import retry_on_transient_db_errors
from salesproject.errors import ValidationError
from salesproject.metadata import metadata_merge
from salesproject.money import ZERO


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_create(*, seller, data: NewSale, user=None) -> Sale:
    """Create a sale and take it to `data.status` (draft, pending, confirmed or completed).

    Everything happens in one transaction: if any line is short of stock or a
    payment is refused, nothing is left behind.
    """
    user = user or seller
    sale = _unsaved_sale(seller, data, store=sale_store(seller=seller, store=data.store, user=user))
    sale.updated_by = user_or_none(user)
    items = build_items(sale, data.items, allow_empty=data.items_later and data.status == SaleStatus.DRAFT)
    candidates = promotion_candidates(sale, items)
    applied = price_sale(sale, items, candidates) if items else []  # a draft without lines is worth nothing yet
    sale.payment_status = derive_payment_status(net_total=sale.net_total, paid=ZERO, refunded=ZERO)
    # The transitions of submit/confirm/complete run on the unsaved sale, so it is inserted once,
    # already in the requested state, and its stock moves in one locked step (reserved and
    # committed at once when created confirmed): a create costs the same few queries whatever
    # its number of lines.
    steps = advance_in_memory(sale, items, transitions_to(data.status))
    if sale.stock_committed:  # created confirmed or completed: its promotions are used now (locked before stock)
        count_usage(sale, [row.promotion_id for row in applied])
    insert_sale(sale, data.reference)
    SaleItem.objects.bulk_create(items)
    if applied:
        SalePromotion.objects.bulk_create(applied)
    move_stock_to_status(sale, items, was=SaleStatus.DRAFT, user=user)
    source = {"source": data.source} if data.source else {}
    created = build_event(
        sale, SaleEventType.CREATED, user=user, status=data.status, grand_total=str(sale.grand_total), **source
    )
    SaleEvent.objects.bulk_create([created, *status_events(sale, steps, user=user)])
    recorded = []
    if data.payments:
        recorded = sale_record_payments(sale=sale, payments=data.payments, user=user)
        refreshed = recorded[-1].sale  # the sale itself, kept up to date by the payment service
        sale.paid_total, sale.payment_status = refreshed.paid_total, refreshed.payment_status
    if sale.status == SaleStatus.COMPLETED:
        # Its units went out and arrived: one fulfilment of them all (after the payments, which a
        # prepaid sale needs first).
        fulfil_everything_left(sale, user=user, items=items, arrived=True, new_sale=True)
        sale.save(update_fields=["fulfillment_status", "delivery_status"])
    # The rows just written are all the sale's items and payments: keep them on the instance,
    # as prefetch_related would, so the caller can show the sale without reading them back.
    _keep_loaded(sale, "items", items)
    _keep_loaded(sale, "payments", recorded)
    _keep_loaded(sale, "children", [])
    _keep_loaded(sale, "applied_promotions", applied)
    note_loaded(sale)  # `sale.created` renders it as it is: no read back
    return sale


def _unsaved_sale(seller, data: NewSale, *, store=None) -> Sale:
    """The sale `data` describes, not yet saved or priced, as a draft; addresses default to the customer's,
    the warehouse to the store's (else the default one)."""
    default_billing, default_shipping = customer_addresses(data.customer)
    billing = copy_address(data.billing_address) if data.billing_address is not None else default_billing
    shipping = copy_address(data.shipping_address) if data.shipping_address is not None else default_shipping
    sale = Sale(
        seller=seller,
        customer=data.customer,
        channel=data.channel,
        warehouse=data.warehouse or (store.warehouse if store is not None else stock.default_warehouse()),
        store=store,
        device=data.device,
        currency=(data.currency or settings.SALES_DEFAULT_CURRENCY).upper(),
        external_id=data.external_id,
        discount=data.discount,
        discount_type=data.discount_type,
        prices_include_tax=data.prices_include_tax,
        shipping_cost=data.shipping_cost,
        tax_shipping=data.tax_shipping,
        billing_address=billing,
        shipping_address=shipping,
        shipping_country=(shipping.get("country") or "").upper(),
        note=data.note,
        staff_note=data.staff_note,
        admin_note=data.admin_note,
        tags=list(data.tags),
        due_date=data.due_date,
        customer_reference=data.customer_reference,
        metadata=dict(data.metadata),
        delivery_mode=data.delivery_mode,
        payment_mode=data.payment_mode,
        delivery_note=data.delivery_note,
        price_list=data.price_list,
        discount_code=data.discount_code,
        tax_calculation=data.tax_calculation,
        tax_amount=data.tax_amount,
    )
    if data.sold_at is not None:
        sale.sold_at = data.sold_at
    sale.exchange_rate = sale_rate(currency=sale.currency, sold_at=sale.sold_at, given=data.exchange_rate)
    set_tax(sale, data.tax)
    return sale


def _keep_loaded(sale: Sale, relation: str, rows: list) -> None:
    """Make `sale.<relation>.all()` answer with `rows`, the way `prefetch_related` fills it."""
    queryset = getattr(sale, relation).all()
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    sale._prefetched_objects_cache = {**getattr(sale, "_prefetched_objects_cache", {}), relation: queryset}


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_update(*, sale: Sale, user, data: dict[str, Any]) -> Sale:
    """Edit a sale: lines, customer, addresses and money while draft or pending; notes and tags always.

    Lines are replaced whole; totals are recomputed and a pending sale's
    reservation is moved to the new lines in one locked step.
    """
    sale = sale_lock(sale=sale)
    data = dict(data)
    # The rate is snapshotted again when the currency changes or one is given (draft and pending sales only).
    given_rate = data.pop("exchange_rate", None)
    if given_rate is not None and not sale.is_editable:
        raise SaleLocked(f"A {sale.status} sale's exchange_rate can no longer change.", attr="exchange_rate")
    unknown = set(data) - OPEN_ONLY_FIELDS - ALWAYS_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(sorted(unknown))}.", attr=sorted(unknown)[0])
    locked = sorted(set(data) & OPEN_ONLY_FIELDS)
    if locked and not sale.is_editable:
        raise SaleLocked(
            f"A {sale.status} sale's {', '.join(locked)} can no longer change; only notes and tags can.",
            attr=locked[0],
        )
    new_currency = data.get("currency")
    if new_currency and new_currency.upper() != sale.currency and sale.payments.exists():
        raise SaleLocked("The currency of a sale with payments cannot change.", attr="currency")
    changed: list[str] = []
    old_items = list(sale.items.all())
    new_items = None

    if "customer" in data and data["customer"] != sale.customer:
        sale.customer = data["customer"]
        changed.append("customer")
        default_billing, default_shipping = customer_addresses(sale.customer)
        data.setdefault("billing_address", default_billing)
        data.setdefault("shipping_address", default_shipping)
    for name in ("billing_address", "shipping_address"):
        if name in data:
            setattr(sale, name, copy_address(data[name]))
            changed.append(name)
    sale.shipping_country = (sale.shipping_address.get("country") or "").upper()
    if "tax" in data:
        set_tax(sale, data["tax"])
        changed.append("tax")
    if data.get("tax_calculation") and data["tax_calculation"] != sale.tax_calculation:
        sale.tax_calculation = data["tax_calculation"]
        changed.append("tax_calculation")
    if "tax_amount" in data and data["tax_amount"] != sale.tax_amount:  # null: none given
        sale.tax_amount = data["tax_amount"]
        changed.append("tax_amount")
    was_inclusive = sale.prices_include_tax
    simple = ("discount", "discount_type", "prices_include_tax", "shipping_cost", "tax_shipping", "channel",
              "external_id", "sold_at", "note", "staff_note", "admin_note", "tags", "currency", "delivery_mode",
              "delivery_note", "customer_reference")
    for name in simple:
        if name in data and data[name] is not None:
            value = data[name]
            if name == "currency":
                value = value.upper()
            if name == "tags":
                value = list(value)
            if getattr(sale, name) != value:
                setattr(sale, name, value)
                changed.append(name)
    if "due_date" in data and data["due_date"] != sale.due_date:  # null clears it
        sale.due_date = data["due_date"]
        changed.append("due_date")
    if "metadata" in data:
        metadata = metadata_merge(sale.metadata, data["metadata"])
        if metadata != sale.metadata:
            sale.metadata = metadata
            changed.append("metadata")
    if "currency" in changed or given_rate is not None:
        rate = sale_rate(currency=sale.currency, sold_at=sale.sold_at, given=given_rate)
        if rate != sale.exchange_rate:
            sale.exchange_rate = rate
            changed.append("exchange_rate")
    if "payment_mode" in data and (data["payment_mode"] or None) != sale.payment_mode:  # null: not stated
        sale.payment_mode = data["payment_mode"] or None
        changed.append("payment_mode")
    if "warehouse" in data and data["warehouse"] is not None and data["warehouse"] != sale.warehouse:
        old_warehouse_id = sale.warehouse_id
        sale.warehouse = data["warehouse"]
        changed.append("warehouse")
        if "items" not in data:
            new_items = [copy_item(item) for item in old_items]
            for item in new_items:
                if item.warehouse_id == old_warehouse_id:
                    item.warehouse = sale.warehouse
    if "store" in data and data["store"] != sale.store:  # null: no store
        sale.store = data["store"] and sale_store(seller=sale.seller, store=data["store"], user=user)
        changed.append("store")
    if "device" in data and (data["device"] or "") != sale.device:
        sale.device = data["device"] or ""
        changed.append("device")
    if "price_list" in data and data["price_list"] != sale.price_list:
        sale.price_list = data["price_list"]  # null: the customer's or channel's list prices the next items
        changed.append("price_list")
    if "discount_code" in data and (data["discount_code"] or "").strip() != sale.discount_code:
        sale.discount_code = (data["discount_code"] or "").strip()
        changed.append("discount_code")
    if "items" in data:
        new_items = build_items(sale, data["items"])
        changed.append("items")

    if new_items is not None or REPRICING_FIELDS & set(data):
        items = new_items if new_items is not None else old_items
        if "items" not in data:
            for item in items:
                # A line that followed the sale's prices_include_tax follows it still; one that differed keeps its own.
                if item.tax_included == was_inclusive:
                    item.tax_included = sale.prices_include_tax
        candidates = promotion_candidates(sale, items)
        replace_applied(sale, price_sale(sale, items, candidates))
        if new_items is not None:
            if sale.holds_reservation:
                stock.stock_rebalance(
                    old=stock_lines(old_items), new=stock_lines(new_items), sale=sale, user=user,
                    reason=stock_reason(sale, "edited"),
                )
            sale.items.all().delete()
            SaleItem.objects.bulk_create(new_items)
            sale.cancellation_status = CancellationStatus.NONE  # the new lines have nothing cancelled
        else:
            SaleItem.objects.bulk_update(
                items, ["tax_rate", "tax_included", "subtotal", "discount_total", "tax_total", "net_total", "total"]
            )
    sale.save()
    if new_items is not None or REPRICING_FIELDS & set(data):
        sale_refresh_payments(sale=sale)

    notes = [name for name in changed if name in ("note", "staff_note", "admin_note")]
    others = [name for name in changed if name not in notes]
    if others:
        log_event(sale, SaleEventType.EDITED, user=user, fields=others, grand_total=str(sale.grand_total))
    if notes:
        log_event(sale, SaleEventType.NOTE_CHANGED, user=user, fields=notes)
    return sale


def copy_item(item: SaleItem) -> SaleItem:
    """An unsaved copy of a line, every column but its id (a re-warehoused edit, a split)."""
    clone = SaleItem(**{f.attname: getattr(item, f.attname) for f in SaleItem._meta.concrete_fields})
    clone.pk = None
    clone.id = None
    return clone


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_delete(*, sale: Sale, user) -> None:
    """Delete a draft, pending, cancelled or rejected sale without money history (releasing a pending one's stock).

    A sale with any payment (of any status) or invoice is never deleted: its history would be
    lost and its transactions orphaned. Its stock movements stay in the ledger, still its seller's.
    """
    sale = sale_lock(sale=sale)
    if not sale.is_deletable:
        raise SaleLocked(f"A {sale.status} sale cannot be deleted; cancel or refund it instead.")
    if sale.has_history:
        raise SaleHasHistory(
            f"Sale {sale.reference} has payments or documents and cannot be deleted; cancel it to keep its history."
        )
    if sale.holds_reservation:
        stock.stock_release(lines=stock_lines(sale.items.all()), sale=sale, user=user,
                            reason=stock_reason(sale, "deleted"))
    record_deleted(sale)
    sale.delete()


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_update_item(*, item: SaleItem, user, data: dict[str, Any]) -> SaleItem:
    """Set warehouse, carrier, tracking or product group on one line of a sale that is not closed.

    Moving a pending sale's line to another warehouse moves its reservation;
    after confirm the warehouse is recorded only (stock has already left).
    """
    sale = sale_lock(sale=item.sale_id)
    item = sale.items.select_for_update().get(pk=item.pk)
    if sale.is_closed:
        raise SaleLocked(f"The items of a {sale.status} sale cannot change.")
    unknown = set(data) - set(ITEM_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(sorted(unknown))}.", attr=sorted(unknown)[0])
    changes: dict[str, Any] = {}
    was = _item_fields(item, set(data))
    new_warehouse = data.get("warehouse")
    if new_warehouse is not None and new_warehouse.pk != item.warehouse_id:
        if sale.holds_reservation:
            old_line = stock_lines([item])
            moved = StockLine(variant_id=item.variant_id, warehouse_id=new_warehouse.pk, quantity=item.quantity,
                              attr="warehouse")
            stock.stock_rebalance(old=old_line, new=[moved], sale=sale, user=user,
                                  reason=stock_reason(sale, "item moved"))
        changes["warehouse"] = new_warehouse.code
        item.warehouse = new_warehouse
    for name in ("carrier", "product_group"):
        if name in data and data[name] != getattr(item, name):
            setattr(item, name, data[name])
            changes[name] = data[name].code if data[name] is not None else None
    for name in ("tracking_code", "tracking_url"):
        if name in data and data[name] is not None and data[name] != getattr(item, name):
            setattr(item, name, data[name])
            changes[name] = data[name]
    if ("carrier" in changes or "tracking_code" in changes) and "tracking_url" not in data:
        item.tracking_url = tracking_url_for(item.carrier, item.tracking_code)
    item.save()
    if changes:
        log_event(sale, SaleEventType.ITEM_UPDATED, user=user, item=item.pk, sku=item.sku, changes=changes)
        note_previous(sale, {"items": [{"id": item.pk, **{name: was[name] for name in changes}}]})
    return item


def _item_fields(item: SaleItem, names: set[str]) -> dict[str, Any]:
    """The line's fields `names` (and its tracking URL) as the API shows them (codes for related rows),
    before an edit: the `previous` of its event."""
    values = {"tracking_code": item.tracking_code, "tracking_url": item.tracking_url}
    for name in {"warehouse", "carrier", "product_group"} & names:
        related = getattr(item, name)
        values[name] = related.code if related is not None else None
    return values
