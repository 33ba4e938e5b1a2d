"""Shared pieces of the sale services: field sets, the sale lock and the helpers its modules share.

Internal to `sales.services` (the package exports what other apps may call, `sale_lock` among them);
the inputs of the services are in `commands`.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any
from uuid import uuid4

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.db.models import prefetch_related_objects
from django_fsm import can_proceed, has_transition_perm

from customers.models import AddressKind, Customer
from inventory import services as stock
from inventory.services import StockLine
from sales import pricing
from sales.errors import InvalidTransition, SaleLocked
from sales.models import Carrier, DiscountType, Sale, SaleEvent, SaleEventType, SaleItem, TaxCalculation, TaxRate
from sales.services import outbox
from sales.services.commands import ItemData, ItemQuantity
from sales.services.prices import LinePricer
from salesproject.errors import DuplicateReference, PermissionDenied, ValidationError
from salesproject.money import ZERO, has_more_decimals, minor_units, quantize

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
        "price_list",
        "discount_code",
        "tax_calculation",
        "tax_amount",
        "store",
        "device",
    }
)
# Notes, tags and the buyer's records (records.md) change in any status: none of them moves stock or money.
ALWAYS_EDITABLE_FIELDS = frozenset(
    {"note", "staff_note", "admin_note", "tags", "customer_reference", "due_date", "metadata"}
)
REPRICING_FIELDS = frozenset(
    {"items", "discount", "discount_type", "tax", "prices_include_tax", "shipping_cost", "tax_shipping",
     "discount_code", "tax_calculation", "tax_amount"}
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
    outbox.note_lock(locked)  # its columns before the change: the events' `previous`
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
    """An unsaved activity row, for writers that insert several at once; notes the events it stands for."""
    note_updater(sale, user, type_)
    outbox.note_activity(sale, type_, from_status=from_status, data=data)
    return SaleEvent(
        sale=sale, type=type_, user=user_or_none(user), from_status=from_status, to_status=to_status, data=data
    )


# Activity that records something about a sale without changing it (the source of a clone).
NOT_A_CHANGE = frozenset({SaleEventType.CLONED})


def note_updater(sale: Sale, user, type_: str = "") -> None:
    """Keep `updated_by`: the user of the sale's latest activity row (every change writes one, through
    `build_event`), so no service has to remember it. Costs one UPDATE by primary key only when the last
    user changes; the same user's next changes cost nothing."""
    user = user_or_none(user)
    if user is None or sale.pk is None or type_ in NOT_A_CHANGE or sale.updated_by_id == user.pk:
        return
    sale.updated_by = user
    Sale.objects.filter(pk=sale.pk).update(updated_by=user)


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


def cost_in_sale_currency(sale: Sale, cost: Decimal) -> Decimal:
    """The catalogue's cost price (in the base currency) in the sale's currency, at the sale's rate, so a line's
    profit subtracts like from like."""
    if sale.currency.upper() == settings.SALES_BASE_CURRENCY.upper() or not sale.exchange_rate:
        return quantize(cost, sale.currency)
    return quantize(cost / sale.exchange_rate, sale.currency)


def build_items(sale: Sale, items: Sequence[ItemData], *, allow_empty: bool = False) -> list[SaleItem]:
    """Turn requested lines into unsaved items with their catalogue snapshots (none only if `allow_empty`:
    a new draft)."""
    if not items and not allow_empty:
        raise ValidationError("A sale needs at least one item.", code="empty", attr="items")
    built = []
    price_of = LinePricer(sale)  # a line without unit_price: its price list's price, else the catalogue's
    for index, data in enumerate(items):
        attr = f"items.{index}"
        if not isinstance(data.quantity, int) or isinstance(data.quantity, bool) or data.quantity < 1:
            raise ValidationError("Quantity must be a whole number of at least 1.", attr=f"{attr}.quantity")
        variant = stock.resolve_variant(product=data.product, variant=data.variant, attr=attr)
        product = variant.product
        unit_price = data.unit_price
        if unit_price is None:
            unit_price = price_of(variant, data.quantity, attr=f"{attr}.unit_price")
        elif has_more_decimals(unit_price, sale.currency):  # an explicit price is refused, never rounded
            raise ValidationError(
                f"Ensure that there are no more than {minor_units(sale.currency)} decimal places for {sale.currency}.",
                code="max_decimal_places", attr=f"{attr}.unit_price",
            )
        tax = data.tax  # None: the sale's tax applies (see apply_pricing)
        built.append(
            SaleItem(
                sale=sale,
                product=product,
                variant=variant,
                warehouse=data.warehouse or sale.warehouse,
                sku=variant.sku,
                name=variant.display_name,
                item_type=str(product.kind),  # the value, not a ProductKind member of a product made in this process
                unit=product.unit,
                variant_name=variant.name,
                image_url=variant.image_url or product.image_url,
                weight=variant.weight,
                quantity=data.quantity,
                unit_price=quantize(unit_price, sale.currency),
                cost_price=cost_in_sale_currency(sale, variant.effective_cost_price),
                tax=tax,
                tax_rate=tax.rate if tax is not None else sale.tax_rate,
                tax_included=sale.prices_include_tax if data.tax_included is None else data.tax_included,
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


def apply_pricing(
    sale: Sale,
    items: Sequence[SaleItem],
    promotions: Sequence[pricing.PromotionInput] = (),  # PROMOTIONS: the candidates (`sales.services.promotions`)
) -> tuple[pricing.AppliedPromotion, ...]:
    """Price the sale through `sales.pricing`, copy the results onto it and its items, return the promotions applied.

    Only units still sold are priced (`quantity_active`); a line cancelled whole is worth nothing.
    `promotions` index those lines (the items with units still sold, in order). Each line is taxed
    with its own tax (its `tax_rate` snapshot) else the sale's (`sale.tax_rate`), included or not
    as its `tax_included` says; `tax_calculation == "custom"` charges `tax_amount` instead.
    """
    priced = [item for item in items if item.quantity_active > 0]
    for item in items:
        if item.quantity_active <= 0:
            item.subtotal = item.discount_total = item.tax_total = item.net_total = item.total = ZERO
    taxes = _taxes_of(sale, priced)
    sale_tax = _tax_input(taxes[sale.tax_id], sale.tax_rate) if sale.tax_id else None
    lines = []
    for item in priced:
        if not item.tax_id:
            item.tax_rate = sale.tax_rate  # the sale's tax applies: its snapshot rate is the line's
        lines.append(
            pricing.LineInput(
                unit_price=item.unit_price,
                quantity=item.quantity_active,
                discount=item.discount,
                discount_type=item.discount_type,
                tax_rate=item.tax_rate,
                tax=_tax_input(taxes[item.tax_id], item.tax_rate) if item.tax_id else sale_tax,
                tax_included=item.tax_included,
            )
        )
    custom_tax = None
    if sale.tax_calculation == TaxCalculation.CUSTOM:
        if sale.tax_amount is None:
            raise ValidationError("A custom tax calculation needs tax_amount.", code="required", attr="tax_amount")
        custom_tax = sale.tax_amount
    try:
        result = pricing.price_order(
            lines=lines,
            discount=sale.discount,
            discount_type=sale.discount_type,
            prices_include_tax=sale.prices_include_tax,
            shipping=sale.shipping_cost,
            tax_shipping=sale.tax_shipping,
            shipping_tax_rate=sale.tax_rate,
            currency=sale.currency,
            promotions=promotions,
            custom_tax=custom_tax,
            order_tax=sale_tax,
        )
    except pricing.PricingError as exc:
        raise ValidationError(exc.detail, code=exc.code, attr=_item_attr(exc.attr, items, priced)) from exc
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
    sale.tax_lines = [
        {
            "code": entry.code,
            "name": entry.name,
            "jurisdiction": entry.jurisdiction,
            "rate": format(quantize(entry.rate), "f"),
            "amount": format(quantize(entry.amount, sale.currency), "f"),
        }
        for entry in result.tax_lines
    ]
    return result.promotions


def _taxes_of(sale: Sale, priced: Sequence[SaleItem]) -> dict[int, TaxRate]:
    """Every tax the lines are charged, with components: the loaded ones, the rest in one query (none without taxes)."""
    known: dict[int, TaxRate] = {}
    if sale.tax_id and Sale.tax.is_cached(sale):
        known[sale.tax_id] = sale.tax
    for item in priced:
        if item.tax_id and SaleItem.tax.is_cached(item):
            known.setdefault(item.tax_id, item.tax)
    wanted = {item.tax_id for item in priced if item.tax_id} | ({sale.tax_id} if sale.tax_id else set())
    missing = wanted - set(known)
    if missing:
        known.update({tax.pk: tax for tax in TaxRate.objects.filter(pk__in=missing)})
    if known:
        prefetch_related_objects(list(known.values()), "components")
    return known


def _tax_input(tax: TaxRate, rate) -> pricing.TaxInput:
    """The engine's view of a tax at the line's snapshot `rate`; its components only while they still add up to it."""
    components = tuple(
        pricing.TaxComponentInput(name=c.name, jurisdiction=c.jurisdiction, rate=c.rate) for c in tax.components.all()
    )
    if sum((c.rate for c in components), ZERO) != rate:
        components = ()  # the tax changed since this snapshot: charged whole, at the rate the line has
    return pricing.TaxInput(code=tax.code, name=tax.name, kind=tax.kind, rate=rate, components=components)


def _item_attr(attr: str, items: Sequence[SaleItem], priced: Sequence[SaleItem]) -> str:
    """Name a priced line's input by its index among all `items` (lines cancelled whole are not priced)."""
    parts = attr.split(".")
    if len(parts) >= 2 and parts[0] == "items" and parts[1].isdigit() and len(priced) != len(items):
        position = next(i for i, item in enumerate(items) if item is priced[int(parts[1])])
        return ".".join(["items", str(position), *parts[2:]])
    return attr


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
    elif (db := connections[router.db_for_write(Sale)]).vendor == "postgresql":
        # The id taken from the sequence first, so the sale is inserted numbered: no UPDATE rewriting the new row.
        sale.pk = sale.number = _next_sale_id(db)
        sale.reference = _free_reference(sale.number)
        sale.save(force_insert=True)
        return
    else:
        # A random placeholder cannot collide, so no savepoint is needed around this insert.
        sale.reference = f"pending-{uuid4().hex}"
        sale.save(force_insert=True)
    sale.number = sale.pk
    if not reference:
        sale.reference = _free_reference(sale.number)
    Sale.objects.filter(pk=sale.pk).update(number=sale.number, reference=sale.reference)


def _free_reference(number: int) -> str:
    """`S-000042` for sale 42, with a random suffix if a client already gave another sale that reference."""
    candidate = f"S-{number:06d}"
    if Sale.objects.filter(reference=candidate).exists():
        candidate = f"{candidate}-{uuid4().hex[:6]}"
    return candidate


def _next_sale_id(db) -> int:
    with db.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s))", [Sale._meta.db_table, Sale._meta.pk.column])
        return cursor.fetchone()[0]


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
