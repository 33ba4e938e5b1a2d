"""Change a sale's structure: cancel some of its units, split units off to a new sale, clone it.

Cancelled units stay on their line (`quantity` is what was sold, `quantity_cancelled` what was
taken back), so the sale keeps its history; a split moves units to a new sale whose `parent` is
the original; a clone is a new sale made from another one's lines (`cloned_from`).
"""

from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction

from inventory import services as stock
from inventory.services import StockLine
from inventory.services.stock import stock_move_reservation
from sales.errors import InvalidTransition
from sales.models import (
    CancellationStatus,
    CancelReason,
    CloneReason,
    DiscountType,
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
    copy_address,
    insert_sale,
    log_event,
    resolve_item_quantities,
    run_transition,
    sale_lock,
    stock_reason,
)
from sales.services.commands import ItemData, ItemQuantity, NewSale
from sales.services.documents import sale_credit_uninvoiced
from sales.services.editing import copy_item, sale_create
from sales.services.outbox import emits_events
from sales.services.payments import derive_payment_status, sale_refresh_payments
from sales.services.promotions import price_sale, replace_applied, stored_candidates
from sales.services.returns import returned_total_of
from salesproject.db import retry_on_transient_db_errors
from salesproject.errors import ValidationError
from salesproject.money import ZERO, quantize

# Units can be cancelled while they have not left, or left but not gone out to the customer yet.
CANCELLABLE_STATUSES = frozenset({SaleStatus.DRAFT, SaleStatus.PENDING, SaleStatus.CONFIRMED})
# A split moves a reservation at most: never units that have left the warehouse.
SPLITTABLE_STATUSES = frozenset({SaleStatus.DRAFT, SaleStatus.PENDING})
CLONE_STATUSES = (SaleStatus.DRAFT, SaleStatus.PENDING)
PRICED_ITEM_FIELDS = ["subtotal", "discount_total", "tax_total", "net_total", "total"]


# --- cancel some units ---------------------------------------------------------------


def cancellable_units(item: SaleItem) -> int:
    """Units of a line that can still be cancelled: sold, not cancelled, not fulfilled, not returned."""
    return item.quantity_active - item.quantity_fulfilled - item.quantity_returned


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_cancel_items(
    *, sale: Sale | int, user, lines: Sequence[ItemQuantity], reason: str = CancelReason.OTHER, note: str = ""
) -> Sale:
    """Cancel some units of a draft, pending or confirmed sale: release or restock them and price it again.

    The lines keep their sold `quantity`; cancelling every unit left cancels the sale (the `cancel`
    transition, with `reason`), its totals then kept as a whole cancel keeps them.
    """
    if reason not in CancelReason.values:
        raise ValidationError(
            f"Reason must be one of: {', '.join(CancelReason.values)}.", code="invalid_choice", attr="reason"
        )
    sale = sale_lock(sale=sale)
    if sale.status not in CANCELLABLE_STATUSES:
        raise InvalidTransition(action="cancel items of", current=sale.status, allowed=allowed_statuses(sale, user))
    items = {item.pk: item for item in sale.items.order_by("pk")}
    requested = resolve_item_quantities(items, lines, available=cancellable_units, done="cancelled")
    for pk, units in requested.items():
        items[pk].quantity_cancelled += units
    everything = all(cancellable_units(item) == 0 for item in items.values())
    if everything:
        check_transition(sale, "cancel", user)  # before anything is written
        # A whole cancel keeps its lines as sold, so its stored totals stay what pricing its lines gives
        # (`recalculate_totals`); the units released or restocked below are what it held.
        for pk, units in requested.items():
            items[pk].quantity_cancelled -= units
    else:
        # Priced again with the promotions it was priced with (a fixed order discount above what is left: 400).
        promoted = price_sale(sale, list(items.values()), stored_candidates(sale, list(items.values())))
        # Units returned before were charged at the old prices of their lines: what they are worth now.
        sale.returned_total = returned_total_of(sale=sale, items=items.values())

    # Reserved units are held where the line is; committed ones go back where they were taken from.
    moved = [
        StockLine(
            variant_id=items[pk].variant_id,
            warehouse_id=(items[pk].stock_warehouse_id if sale.stock_committed else None) or items[pk].warehouse_id,
            quantity=units,
        )
        for pk, units in requested.items()
    ]
    if sale.holds_reservation:
        stock.stock_release(lines=moved, sale=sale, user=user, reason=stock_reason(sale, "items cancelled"))
    elif sale.stock_committed:
        stock.stock_restock(lines=moved, sale=sale, user=user, reason=stock_reason(sale, "items cancelled"))

    if not everything:
        SaleItem.objects.bulk_update(list(items.values()), ["quantity_cancelled", *PRICED_ITEM_FIELDS])
        replace_applied(sale, promoted)
    sale.cancellation_status = CancellationStatus.FULL if everything else CancellationStatus.PARTIAL
    sale.save()
    cancelled = [{"item": pk, "sku": items[pk].sku, "quantity": units} for pk, units in requested.items()]
    log_event(sale, SaleEventType.ITEMS_CANCELLED, user=user, items=cancelled, reason=reason, note=note,
              grand_total=str(sale.grand_total))
    if everything:
        run_transition(sale, "cancel", user=user, args={"reason": reason}, note=note)
    sale_credit_uninvoiced(sale=sale, user=user, reason=f"items cancelled: {reason}")
    sale_refresh_payments(sale=sale)
    return sale


# --- split units off to a new sale ---------------------------------------------------


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_split(*, sale: Sale | int, user, lines: Sequence[ItemQuantity]) -> Sale:
    """Move some units of a draft or pending sale to a new sale (its `parent` is this one); return the new sale.

    The new sale is the same order in every respect but its lines (same seller, customer, channel,
    warehouse, currency, tax, addresses, modes, status) and carries no shipping cost; a pending
    sale's reservation of those units moves with them in one locked step. Payments stay.
    """
    sale = sale_lock(sale=sale)
    if sale.status not in SPLITTABLE_STATUSES:
        raise InvalidTransition(action="split", current=sale.status, allowed=allowed_statuses(sale, user))
    items = {item.pk: item for item in sale.items.order_by("pk")}
    requested = resolve_item_quantities(
        items, lines, available=lambda item: item.quantity_active, done="split off"
    )
    if sum(requested.values()) == sum(item.quantity_active for item in items.values()):
        raise ValidationError(
            "A split must leave at least one unit on the original sale; this moves every unit.",
            code="invalid", attr="items",
        )

    new_sale = _split_sale(sale)
    new_items = []  # in the order of `requested`
    for pk, units in requested.items():
        item = items[pk]
        new_items.append(_split_item(item, new_sale, units))
        item.quantity -= units
    kept = [item for item in items.values() if item.quantity > 0]
    gone = [item for item in items.values() if item.quantity == 0]  # moved whole, nothing cancelled
    # Both priced with the promotions the sale had (a fixed order discount above what is left: 400).
    kept_promotions = price_sale(sale, kept, stored_candidates(sale, kept))
    new_promotions = price_sale(new_sale, new_items, stored_candidates(sale, new_items))
    new_sale.payment_status = derive_payment_status(net_total=new_sale.net_total, paid=ZERO, refunded=ZERO)

    insert_sale(new_sale, None)
    SaleItem.objects.bulk_create(new_items)
    if gone:
        SaleItem.objects.filter(pk__in=[item.pk for item in gone]).delete()
    SaleItem.objects.bulk_update(kept, ["quantity", "discount", *PRICED_ITEM_FIELDS])
    sale.save()
    replace_applied(sale, kept_promotions)
    replace_applied(new_sale, new_promotions)
    if sale.holds_reservation:
        stock_move_reservation(
            lines=[
                StockLine(variant_id=item.variant_id, warehouse_id=item.warehouse_id, quantity=item.quantity)
                for item in new_items
            ],
            source_sale=sale, target_sale=new_sale, user=user,
            reason=stock_reason(sale, f"split to {new_sale.reference}"),
        )
    moved = [
        {"item": pk, "sku": new_item.sku, "quantity": new_item.quantity, "new_item": new_item.pk}
        for pk, new_item in zip(requested, new_items, strict=True)
    ]
    SaleEvent.objects.bulk_create([
        build_event(sale, SaleEventType.SPLIT, user=user, new_sale=new_sale.pk, new_reference=new_sale.reference,
                    items=moved, grand_total=str(sale.grand_total)),
        build_event(new_sale, SaleEventType.CREATED, user=user, status=new_sale.status,
                    grand_total=str(new_sale.grand_total), parent=sale.pk),
    ])
    sale_refresh_payments(sale=sale)  # worth less now: what was paid may be more than it
    sale_refresh_payments(sale=new_sale)
    return new_sale


def _split_sale(sale: Sale) -> Sale:
    """An unsaved sibling of `sale` in the same status, without lines, shipping cost or fixed order discount."""
    percent = sale.discount_type == DiscountType.PERCENT
    return Sale(
        status=sale.status,  # set once, at construction: the status field takes no later assignment
        parent=sale,
        seller_id=sale.seller_id,
        customer_id=sale.customer_id,
        channel_id=sale.channel_id,
        warehouse_id=sale.warehouse_id,
        currency=sale.currency,
        exchange_rate=sale.exchange_rate,  # a part of the same sale: the rate it was sold at
        discount=sale.discount if percent else ZERO,
        discount_type=sale.discount_type,
        tax_id=sale.tax_id,
        tax_rate=sale.tax_rate,
        prices_include_tax=sale.prices_include_tax,
        tax_shipping=sale.tax_shipping,
        shipping_cost=ZERO,
        billing_address=copy_address(sale.billing_address),
        shipping_address=copy_address(sale.shipping_address),
        shipping_country=sale.shipping_country,
        delivery_mode=sale.delivery_mode,
        payment_mode=sale.payment_mode,
        delivery_note=sale.delivery_note,
        price_list_id=sale.price_list_id,
        discount_code=sale.discount_code,
        sold_at=sale.sold_at,
        tags=list(sale.tags),
    )


def _split_item(item: SaleItem, new_sale: Sale, units: int) -> SaleItem:
    """A new line of `new_sale` with `units` of `item` (same snapshots and price); takes `item`'s share of a
    fixed line discount off it (by units, so the two shares add up to the discount it had)."""
    clone = copy_item(item)
    clone.sale = new_sale
    clone.quantity = units
    clone.quantity_cancelled = clone.quantity_fulfilled = clone.quantity_returned = 0
    if item.discount_type == DiscountType.FIXED and item.discount:
        share = quantize(item.discount * units / item.quantity_active, new_sale.currency)
        clone.discount = share
        item.discount -= share
    return clone


# --- clone ---------------------------------------------------------------------------


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_clone(
    *, sale: Sale | int, user, reason: str, lines: Sequence[ItemQuantity] | None = None,
    status: str = SaleStatus.DRAFT,
) -> Sale:
    """Make a new draft or pending sale from another one's lines (an exchange, a re-order); return it.

    `exchange` keeps the source's unit prices (and its line and percent order discounts, so each
    unit costs what it cost); `new_sale` takes the catalogue's current prices, without discounts.
    Customer, channel, warehouse, currency, tax, addresses and modes are copied; money, shipping,
    fulfilments, invoices and notes are not. Works on any sale, a locked one too (it is only read).
    """
    if reason not in CloneReason.values:
        raise ValidationError(
            f"Reason must be one of: {', '.join(CloneReason.values)}.", code="invalid_choice", attr="reason"
        )
    if status not in CLONE_STATUSES:
        raise ValidationError(
            f"A clone can be created as {', '.join(CLONE_STATUSES)}; not {status!r}.",
            code="invalid_choice", attr="status",
        )
    source = sale_lock(sale=sale, for_change=False)
    rows = source.items.select_related("variant__product", "warehouse", "product_group").order_by("pk")
    items = {item.pk: item for item in rows}
    if lines is not None:
        requested = resolve_item_quantities(items, lines, available=lambda item: item.quantity, done="cloned")
    else:
        requested = {pk: item.quantity_active for pk, item in items.items() if item.quantity_active > 0}
        if not requested:  # a sale cancelled whole: re-order what it sold
            requested = {pk: item.quantity for pk, item in items.items()}
    exchange = reason == CloneReason.EXCHANGE
    keep_order_discount = exchange and source.discount_type == DiscountType.PERCENT
    data = NewSale(
        items=[_clone_item(items[pk], units, exchange=exchange) for pk, units in requested.items()],
        status=status,
        customer=source.customer,
        channel=source.channel,
        warehouse=source.warehouse,
        currency=source.currency,
        tax=source.tax,
        prices_include_tax=source.prices_include_tax,
        tax_shipping=source.tax_shipping,
        discount=source.discount if keep_order_discount else ZERO,
        discount_type=DiscountType.PERCENT if keep_order_discount else DiscountType.FIXED,
        billing_address=copy_address(source.billing_address),
        shipping_address=copy_address(source.shipping_address),
        delivery_mode=source.delivery_mode,
        payment_mode=source.payment_mode,
        delivery_note=source.delivery_note,
    )
    clone = sale_create(seller=source.seller, data=data, user=user)
    clone.cloned_from, clone.clone_reason = source, reason
    Sale.objects.filter(pk=clone.pk).update(cloned_from=source, clone_reason=reason)
    log_event(source, SaleEventType.CLONED, user=user, new_sale=clone.pk, new_reference=clone.reference,
              reason=reason)
    return clone


def _clone_item(item: SaleItem, units: int, *, exchange: bool) -> ItemData:
    """The line to create for `units` of `item`: an exchange keeps its price and discount (a fixed one
    shared by units), a new sale asks the catalogue."""
    if not exchange:
        return ItemData(quantity=units, variant=item.variant, warehouse=item.warehouse,
                        product_group=item.product_group)
    discount: Decimal = item.discount
    if item.discount_type == DiscountType.FIXED and item.discount:
        discount = quantize(item.discount * units / item.quantity, item.sale.currency)
    return ItemData(
        quantity=units, variant=item.variant, unit_price=item.unit_price, discount=discount,
        discount_type=item.discount_type, warehouse=item.warehouse, product_group=item.product_group,
    )
