"""Return units of a sale's lines, with optional restock and refund."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from inventory import services as stock
from inventory.services import StockLine
from payments.services import check_refund_permission
from sales.errors import InvalidTransition
from sales.models import ReturnStatus, Sale, SaleEventType, SaleItem, SaleStatus
from sales.services._common import allowed_statuses, log_event, sale_lock, stock_reason
from sales.services.documents import sale_credit_uninvoiced
from sales.services.outbox import emits_events
from sales.services.payments import sale_refresh_payments, sale_refund_money
from salesproject.errors import ValidationError
from salesproject.money import ZERO, quantize


@dataclass
class ReturnLine:
    item: SaleItem | int
    quantity: int


def returned_total_of(*, sale: Sale, items: Iterable[SaleItem]) -> Decimal:
    """What a sale's returned units were charged: its `returned_total` as its lines say it should be.

    A refunded sale gave everything back, shipping included, so it is worth nothing: its
    whole grand total counts as returned. Otherwise each line's returned units, at what
    they were charged (tax included).
    """
    if sale.status == SaleStatus.REFUNDED:
        return sale.grand_total
    return sum(
        (charged_for_units(item=item, already_returned=0, quantity=item.quantity_returned) for item in items), ZERO
    )


def charged_for_units(*, item: SaleItem, already_returned: int, quantity: int) -> Decimal:
    """What `quantity` more units of a line were actually charged.

    Computed as the difference of two cumulative shares of the units still sold (cancelled ones
    are not charged) so that returning a line in several parts refunds exactly its total, cent for cent.
    """
    if not quantity:
        return ZERO  # nothing more (a line cancelled whole has no units left to charge)
    before = quantize(item.total * already_returned / item.quantity_active)
    after = quantize(item.total * (already_returned + quantity) / item.quantity_active)
    return after - before


@transaction.atomic
@emits_events
def sale_return(
    *, sale: Sale, user, lines: Sequence[ReturnLine], restock: bool = False, refund: bool = False, reason: str = ""
) -> Sale:
    """Return some units of some lines; optionally restock them and refund what they were charged.

    The sale is worth less by what those units were charged (`returned_total`), refunded or
    not; a refund needs `sales.refund_sale` and cannot exceed what the sale holds.
    """
    if refund:
        check_refund_permission(user)
    sale = sale_lock(sale=sale)
    if not sale.is_returnable:
        raise InvalidTransition(action="return items of", current=sale.status, allowed=allowed_statuses(sale, user))
    if not lines:
        raise ValidationError("Name at least one item to return.", code="empty", attr="items")
    items = {item.pk: item for item in sale.items.select_for_update().order_by("pk")}
    requested: dict[int, int] = {}
    for index, line in enumerate(lines):
        item_id = line.item.pk if isinstance(line.item, SaleItem) else line.item
        if item_id not in items:
            raise ValidationError("This item is not part of the sale.", code="does_not_exist",
                                  attr=f"items.{index}.item")
        if not isinstance(line.quantity, int) or isinstance(line.quantity, bool) or line.quantity < 1:
            raise ValidationError("Quantity must be a whole number of at least 1.", attr=f"items.{index}.quantity")
        item = items[item_id]
        total = requested.get(item_id, 0) + line.quantity
        returnable = item.quantity_active - item.quantity_returned
        if total > returnable:
            raise ValidationError(
                f"Only {returnable} unit(s) of {item.sku} can still be returned.", code="max_value",
                attr=f"items.{index}.quantity",
            )
        requested[item_id] = total

    returned, restock_lines, amount = [], [], ZERO
    for item_id, quantity in requested.items():
        item = items[item_id]
        charged = charged_for_units(item=item, already_returned=item.quantity_returned, quantity=quantity)
        amount += charged
        restock_lines.append(
            StockLine(variant_id=item.variant_id, warehouse_id=item.stock_warehouse_id or item.warehouse_id,
                      quantity=quantity)
        )
        item.quantity_returned += quantity
        returned.append({"item": item.pk, "sku": item.sku, "quantity": quantity, "amount": str(charged)})
    if restock:
        stock.stock_restock(lines=restock_lines, sale=sale, user=user, reason=stock_reason(sale, "returned"))
    SaleItem.objects.bulk_update([items[i] for i in requested], ["quantity_returned"])
    all_items = list(items.values())
    fully = all(item.quantity_returned == item.quantity_active for item in all_items)
    sale.return_status = ReturnStatus.FULL if fully else ReturnStatus.PARTIAL
    sale.returned_total += amount
    sale.save(update_fields=["return_status", "returned_total", "updated_at"])
    log_event(sale, SaleEventType.RETURNED, user=user, items=returned, restock=restock, refund=refund,
         amount=str(amount), reason=reason)
    sale_credit_uninvoiced(sale=sale, user=user, reason=reason or "items returned")  # invoiced units returned
    refunded = refund and sale_refund_money(sale=sale, amount=amount, user=user, note=reason or "items returned")
    if not refunded:
        sale_refresh_payments(sale=sale)  # the sale is worth less now: its payment status may change
    return sale
