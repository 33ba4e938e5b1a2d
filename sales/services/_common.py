"""Shared pieces of the sale services: field sets, the sale lock and the helpers its modules share.

Internal to `sales.services` (the package exports what other apps may call, `sale_lock` among them);
the inputs of the services are in `commands`.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from uuid import uuid4

from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects
from django_fsm import can_proceed, has_transition_perm

from customers.models import AddressKind, Customer
from inventory import services as stock
from inventory.services import StockLine
from sales import pricing
from sales.errors import InvalidTransition, SaleLocked
from sales.models import Carrier, DiscountType, Sale, SaleEvent, SaleEventType, SaleItem, TaxRate
from sales.services.commands import ItemData, ItemQuantity
from salesproject.errors import DuplicateReference, PermissionDenied, ValidationError
from salesproject.money import ZERO, quantize

# Fields a PATCH may change only while the sale is draft or pending.
OPEN_ONLY_FIELDS = frozenset(
    {
        "items",
        "customer",
        "billing_address",
        "shipping_address",
        "discount",
        "discount_type",
        "tax",
        "prices_include_tax",
        "shipping_cost",
        "tax_shipping",
        "currency",
        "channel",
        "warehouse",
        "external_id",
        "sold_at",
        "delivery_mode",
        "payment_mode",
        "delivery_note",
    }
)
ALWAYS_EDITABLE_FIELDS = frozenset({"note", "staff_note", "tags"})
REPRICING_FIELDS = frozenset(
    {"items", "discount", "discount_type", "tax", "prices_include_tax", "shipping_cost", "tax_shipping"}
)
ITEM_FIELDS = ("warehouse", "carrier", "tracking_code", "tracking_url", "product_group")


# --- helpers ----------------------------------------------------------------------


def sale_lock(*, sale: Sale | int, for_change: bool = True) -> Sale:
    """Fetch the sale with its row locked until the transaction ends.

    Every service that changes a sale starts here, so a sale staff locked for review
    refuses them all (409 `sale_locked`); `for_change=False` is for the few that only read it
    or record something about it (lock and unlock themselves, clone's activity event, repairs).
    """
    pk = sale.pk if isinstance(sale, Sale) else sale
    locked = Sale.objects.select_for_update().get(pk=pk)
    if for_change and locked.locked:
        raise sale_locked_error(locked)
    return locked


def sale_locked_error(sale: Sale) -> SaleLocked:
    """The 409 for a change to a locked sale: who locked it, when and why."""
    who = sale.locked_by.get_username() if sale.locked_by_id else "an operator"
    when = f" on {sale.locked_at:%Y-%m-%d %H:%M} UTC" if sale.locked_at else ""
    why = f": {sale.locked_reason}" if sale.locked_reason else ""
    return SaleLocked(f"Sale {sale.reference} is locked by {who}{when}{why}. Unlock it first.")


def user_or_none(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def build_event(
    sale: Sale, type_: str, *, user=None, from_status: str = "", to_status: str = "", **data: Any
) -> SaleEvent:
    """An unsaved activity row, for writers that insert several at once."""
    return SaleEvent(
        sale=sale, type=type_, user=user_or_none(user), from_status=from_status, to_status=to_status, data=data
    )


def log_event(
    sale: Sale, type_: str, *, user=None, from_status: str = "", to_status: str = "", **data: Any
) -> SaleEvent:
    event = build_event(sale, type_, user=user, from_status=from_status, to_status=to_status, **data)
    event.save()
    return event


def stock_lines(items: Iterable[SaleItem], *, remaining: bool = False) -> list[StockLine]:
    """The stock each item holds (its units not cancelled), or, with `remaining`, the committed units not yet
    returned."""
    return [
        StockLine(
            variant_id=item.variant_id,
            warehouse_id=(item.stock_warehouse_id or item.warehouse_id) if remaining else item.warehouse_id,
            quantity=item.quantity_active - item.quantity_returned if remaining else item.quantity_active,
            attr=f"items.{index}.quantity",
        )
        for index, item in enumerate(items)
    ]


def stock_reason(sale: Sale, action: str) -> str:
    return f"sale {sale.reference}: {action}"


def check_transition(sale: Sale, name: str, user) -> None:
    method = getattr(sale, name)
    if not can_proceed(method):
        raise InvalidTransition(action=name, current=sale.status, allowed=allowed_statuses(sale, user))
    if user is not None and not has_transition_perm(method, user):
        raise PermissionDenied(f"You do not have permission to {name} this sale.")


def allowed_statuses(sale: Sale, user) -> list[str]:
    """The statuses the user may move the sale to now (all possible ones for an operator)."""
    if user is not None:
        return sale.available_transitions_for(user)
    return [str(t.target) for t in sale.get_available_status_transitions()]


def run_transition(sale: Sale, name: str, *, user, args: dict[str, Any] | None = None, **data: Any) -> None:
    """Run one transition method with `args`, save the sale and log it with `data`; side effects are the caller's."""
    from_status = sale.status
    getattr(sale, name)(**(args or {}))
    sale.save()
    data = {k: v for k, v in {**(args or {}), **data}.items() if v not in (None, "")}
    log_event(sale, SaleEventType.STATUS_CHANGED, user=user, from_status=from_status, to_status=sale.status,
         transition=name, **data)


def copy_address(value: dict | None) -> dict:
    return dict(value) if value else {}


def customer_addresses(customer: Customer | None) -> tuple[dict, dict]:
    if customer is None:
        return {}, {}
    prefetch_related_objects([customer], "addresses")  # both kinds from one query
    billing = customer.default_address(AddressKind.BILLING)
    shipping = customer.default_address(AddressKind.SHIPPING)
    return (billing.snapshot() if billing else {}, shipping.snapshot() if shipping else {})


def build_items(sale: Sale, items: Sequence[ItemData]) -> list[SaleItem]:
    """Turn requested lines into unsaved items with their catalogue snapshots."""
    if not items:
        raise ValidationError("A sale needs at least one item.", code="empty", attr="items")
    built = []
    for index, data in enumerate(items):
        attr = f"items.{index}"
        if not isinstance(data.quantity, int) or isinstance(data.quantity, bool) or data.quantity < 1:
            raise ValidationError("Quantity must be a whole number of at least 1.", attr=f"{attr}.quantity")
        variant = stock.resolve_variant(product=data.product, variant=data.variant, attr=attr)
        product = variant.product
        unit_price = variant.effective_price if data.unit_price is None else data.unit_price
        built.append(
            SaleItem(
                sale=sale,
                product=product,
                variant=variant,
                warehouse=data.warehouse or sale.warehouse,
                sku=variant.sku,
                name=variant.display_name,
                quantity=data.quantity,
                unit_price=quantize(unit_price),
                cost_price=quantize(variant.effective_cost_price),
                tax_rate=sale.tax_rate,
                discount=data.discount if data.discount is not None else ZERO,
                discount_type=data.discount_type or DiscountType.FIXED,
                product_group=data.product_group or product.product_group,
                carrier=data.carrier,
                tracking_code=data.tracking_code,
                tracking_url=data.tracking_url or tracking_url_for(data.carrier, data.tracking_code),
            )
        )
    return built


def tracking_url_for(carrier: Carrier | None, tracking_code: str) -> str:
    return carrier.tracking_url(tracking_code) if carrier is not None else ""


def apply_pricing(sale: Sale, items: Sequence[SaleItem]) -> None:
    """Price the sale through `sales.pricing` and copy the results onto it and its items.

    Only units still sold are priced (`quantity_active`); a line cancelled whole is worth nothing.
    """
    priced = [item for item in items if item.quantity_active > 0]
    for item in items:
        if item.quantity_active <= 0:
            item.subtotal = item.discount_total = item.tax_total = item.net_total = item.total = ZERO
    try:
        result = pricing.price_order(
            lines=[
                pricing.LineInput(
                    unit_price=item.unit_price,
                    quantity=item.quantity_active,
                    discount=item.discount,
                    discount_type=item.discount_type,
                    tax_rate=item.tax_rate,
                )
                for item in priced
            ],
            discount=sale.discount,
            discount_type=sale.discount_type,
            prices_include_tax=sale.prices_include_tax,
            shipping=sale.shipping_cost,
            tax_shipping=sale.tax_shipping,
            shipping_tax_rate=sale.tax_rate,
        )
    except pricing.PricingError as exc:
        raise ValidationError(exc.detail, code=exc.code, attr=exc.attr) from exc
    for item, line in zip(priced, result.lines, strict=True):
        item.subtotal = line.subtotal
        item.discount_total = line.discount_total
        item.tax_total = line.tax
        item.net_total = line.net
        item.total = line.total
    sale.subtotal = result.subtotal
    sale.discount_total = result.discount_total
    sale.shipping_tax = result.shipping_tax
    sale.tax_total = result.tax_total
    sale.grand_total = result.grand_total


def set_tax(sale: Sale, tax: TaxRate | None) -> None:
    sale.tax = tax
    sale.tax_rate = tax.rate if tax is not None else ZERO


def insert_sale(sale: Sale, reference: str | None) -> None:
    """Insert the sale, number it (the number is its id), and give it a reference; a taken reference is a 409."""
    if reference:
        if Sale.objects.filter(reference=reference).exists():
            raise DuplicateReference("A sale with this reference already exists.", attr="reference")
        sale.reference = reference
        try:
            with transaction.atomic():  # a savepoint: a race on the reference must not abort the caller
                sale.save(force_insert=True)
        except IntegrityError:
            if Sale.objects.filter(reference=reference).exists():
                raise DuplicateReference("A sale with this reference already exists.", attr="reference") from None
            raise
    else:
        # A random placeholder cannot collide, so no savepoint is needed around this insert.
        sale.reference = f"pending-{uuid4().hex}"
        sale.save(force_insert=True)
    sale.number = sale.pk
    if not reference:
        candidate = f"S-{sale.number:06d}"
        if Sale.objects.filter(reference=candidate).exists():  # a client chose this reference for another sale
            candidate = f"{candidate}-{uuid4().hex[:6]}"
        sale.reference = candidate
    Sale.objects.filter(pk=sale.pk).update(number=sale.number, reference=sale.reference)


def resolve_item_quantities(
    items: Mapping[int, SaleItem], lines: Sequence[ItemQuantity], *, available: Callable[[SaleItem], int], done: str
) -> dict[int, int]:
    """{item id: units} of `lines` ({item, quantity} of the sale's `items`), each within `available(item)`.

    400 on `items` when there are none, `items.N.item` for a line of another sale, `items.N.quantity`
    for a quantity that is not a whole number ≥ 1 or above what is left (`done`: what cannot be done
    to more units, e.g. "fulfilled"); the same line named twice adds up.
    """
    if not lines:
        raise ValidationError("Name at least one item.", code="empty", attr="items")
    requested: dict[int, int] = {}
    for index, line in enumerate(lines):
        item = items.get(line.item_id)
        if item is None:
            raise ValidationError(
                f"Item {line.item_id} is not part of this sale.", code="does_not_exist", attr=f"items.{index}.item"
            )
        quantity = line.quantity
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise ValidationError("Quantity must be a whole number of at least 1.", attr=f"items.{index}.quantity")
        total = requested.get(item.pk, 0) + quantity
        left = available(item)
        if total > left:
            raise ValidationError(
                f"Only {left} unit(s) of {item.sku} can still be {done}.", code="max_value",
                attr=f"items.{index}.quantity",
            )
        requested[item.pk] = total
    return requested
