"""Sale services: the only code that creates or changes a sale.

Each public function is one transaction. Functions that change an existing
sale lock its row first (`SELECT … FOR UPDATE`), then lock stock rows through
`inventory.services` (always in that order, sale before stock), run the
django-fsm transition, save, and write a `SaleEvent`.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django_fsm import can_proceed, has_transition_perm

from customers.models import AddressKind, Customer
from inventory import services as stock
from inventory.models import Product, ProductGroup, Variant, Warehouse
from inventory.services import StockLine
from payments.models import PaymentKind, PaymentMethod, PaymentState
from sales import pricing
from sales.errors import InvalidTransition, SaleLocked
from sales.models import (
    CancelReason,
    Carrier,
    Channel,
    DiscountType,
    Invoice,
    PaymentStatus,
    ReturnStatus,
    Sale,
    SaleEvent,
    SaleEventType,
    SaleItem,
    SaleStatus,
    TaxRate,
)
from salesproject.errors import DuplicateReference, PermissionDenied, ValidationError
from salesproject.money import ZERO, quantize

CREATE_STATUSES = (SaleStatus.DRAFT, SaleStatus.PENDING, SaleStatus.CONFIRMED, SaleStatus.COMPLETED)

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
    }
)
ALWAYS_EDITABLE_FIELDS = frozenset({"note", "staff_note", "tags"})
REPRICING_FIELDS = frozenset(
    {"items", "discount", "discount_type", "tax", "prices_include_tax", "shipping_cost", "tax_shipping"}
)
ITEM_FIELDS = ("warehouse", "carrier", "tracking_code", "tracking_url", "product_group")


@dataclass
class ItemData:
    """One requested sale line, with its references already resolved to objects."""

    quantity: int
    product: Product | None = None
    variant: Variant | None = None
    unit_price: Decimal | None = None
    discount: Decimal = ZERO
    discount_type: str = DiscountType.FIXED
    warehouse: Warehouse | None = None
    carrier: Carrier | None = None
    tracking_code: str = ""
    tracking_url: str = ""
    product_group: ProductGroup | None = None


@dataclass
class PaymentData:
    amount: Decimal
    method: str = PaymentMethod.CASH
    reference: str | None = None
    received_at: datetime | None = None
    note: str = ""
    status: str = PaymentState.SUCCESSFUL
    extra: dict[str, Any] = field(default_factory=dict)


# --- helpers ----------------------------------------------------------------------


def sale_lock(*, sale: Sale | int) -> Sale:
    """Fetch the sale with its row locked until the transaction ends."""
    pk = sale.pk if isinstance(sale, Sale) else sale
    return Sale.objects.select_for_update().get(pk=pk)


def _user_or_none(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _log(sale: Sale, type_: str, *, user=None, from_status: str = "", to_status: str = "", **data: Any) -> SaleEvent:
    return SaleEvent.objects.create(
        sale=sale, type=type_, user=_user_or_none(user), from_status=from_status, to_status=to_status, data=data
    )


def _stock_lines(items: Iterable[SaleItem], *, remaining: bool = False) -> list[StockLine]:
    """The stock each item holds (full quantity), or, with `remaining`, the committed units not yet returned."""
    return [
        StockLine(
            variant_id=item.variant_id,
            warehouse_id=(item.stock_warehouse_id or item.warehouse_id) if remaining else item.warehouse_id,
            quantity=item.quantity - item.quantity_returned if remaining else item.quantity,
            attr=f"items.{index}.quantity",
        )
        for index, item in enumerate(items)
    ]


def _reason(sale: Sale, action: str) -> str:
    return f"sale {sale.reference}: {action}"


def _check_transition(sale: Sale, name: str, user) -> None:
    method = getattr(sale, name)
    if not can_proceed(method):
        raise InvalidTransition(action=name, current=sale.status, allowed=_allowed(sale, user))
    if user is not None and not has_transition_perm(method, user):
        raise PermissionDenied(f"You do not have permission to {name} this sale.")


def _allowed(sale: Sale, user) -> list[str]:
    """The statuses the user may move the sale to now (all possible ones for an operator)."""
    if user is not None:
        return sale.available_transitions_for(user)
    return [str(t.target) for t in sale.get_available_status_transitions()]


def _transition(sale: Sale, name: str, *, user, args: dict[str, Any] | None = None, **data: Any) -> None:
    """Run one transition method with `args`, save the sale and log it with `data`; side effects are the caller's."""
    from_status = sale.status
    getattr(sale, name)(**(args or {}))
    sale.save()
    data = {k: v for k, v in {**(args or {}), **data}.items() if v not in (None, "")}
    _log(sale, SaleEventType.STATUS_CHANGED, user=user, from_status=from_status, to_status=sale.status,
         transition=name, **data)


def _address(value: dict | None) -> dict:
    return dict(value) if value else {}


def _customer_addresses(customer: Customer | None) -> tuple[dict, dict]:
    if customer is None:
        return {}, {}
    billing = customer.default_address(AddressKind.BILLING)
    shipping = customer.default_address(AddressKind.SHIPPING)
    return (billing.snapshot() if billing else {}, shipping.snapshot() if shipping else {})


def _build_items(sale: Sale, items: Sequence[ItemData]) -> list[SaleItem]:
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
                tracking_url=data.tracking_url or _tracking_url(data.carrier, data.tracking_code),
            )
        )
    return built


def _tracking_url(carrier: Carrier | None, tracking_code: str) -> str:
    return carrier.tracking_url(tracking_code) if carrier is not None else ""


def _apply_pricing(sale: Sale, items: Sequence[SaleItem]) -> None:
    """Price the sale through `sales.pricing` and copy the results onto it and its items."""
    try:
        result = pricing.price_order(
            lines=[
                pricing.LineInput(
                    unit_price=item.unit_price,
                    quantity=item.quantity,
                    discount=item.discount,
                    discount_type=item.discount_type,
                    tax_rate=item.tax_rate,
                )
                for item in items
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
    for item, line in zip(items, result.lines, strict=True):
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


def _set_tax(sale: Sale, tax: TaxRate | None) -> None:
    sale.tax = tax
    sale.tax_rate = tax.rate if tax is not None else ZERO


def _insert(sale: Sale, reference: str | None) -> None:
    """Insert the sale, number it, and give it a reference; a taken reference is a 409."""
    if reference and Sale.objects.filter(reference=reference).exists():
        raise DuplicateReference("A sale with this reference already exists.", attr="reference")
    sale.reference = reference or f"pending-{uuid4().hex}"
    try:
        with transaction.atomic():
            sale.save()
    except IntegrityError:
        if reference and Sale.objects.filter(reference=reference).exists():
            raise DuplicateReference("A sale with this reference already exists.", attr="reference") from None
        raise
    sale.number = sale.pk
    if not reference:
        candidate = f"S-{sale.number:06d}"
        if Sale.objects.filter(reference=candidate).exists():
            candidate = f"{candidate}-{uuid4().hex[:6]}"
        sale.reference = candidate
    Sale.objects.filter(pk=sale.pk).update(number=sale.number, reference=sale.reference)


# --- payments bookkeeping (Sale fields derived from its payments) --------------------


def derive_payment_status(*, grand_total: Decimal, paid: Decimal, refunded: Decimal) -> str:
    """Payment status from what was received and given back."""
    net = paid - refunded
    if refunded > 0 and net <= 0:
        return PaymentStatus.REFUNDED
    if net <= 0:
        return PaymentStatus.PAID if grand_total == 0 else PaymentStatus.UNPAID
    if net < grand_total:
        return PaymentStatus.PARTIALLY_PAID
    if net == grand_total:
        return PaymentStatus.PAID
    return PaymentStatus.OVERPAID


def sale_refresh_payments(*, sale: Sale) -> Sale:
    """Recompute `paid_total` and `payment_status` from the sale's successful payments."""
    totals = sale.payments.filter(status=PaymentState.SUCCESSFUL).aggregate(
        paid=Sum("amount", filter=Q(kind=PaymentKind.PAYMENT), default=ZERO),
        refunded=Sum("amount", filter=Q(kind=PaymentKind.REFUND), default=ZERO),
    )
    sale.paid_total = quantize(totals["paid"] - totals["refunded"])
    sale.payment_status = derive_payment_status(
        grand_total=sale.grand_total, paid=totals["paid"], refunded=totals["refunded"]
    )
    Sale.objects.filter(pk=sale.pk).update(paid_total=sale.paid_total, payment_status=sale.payment_status)
    return sale


def sale_payment_changed(*, sale: Sale, payment, user, event: str) -> Sale:
    """Refresh the derived payment fields and log the payment (the sale is locked by the caller)."""
    sale_refresh_payments(sale=sale)
    _log(
        sale,
        event,
        user=user,
        payment=payment.pk,
        amount=str(payment.amount),
        method=payment.method,
        kind=payment.kind,
        status=payment.status,
        reference=payment.reference or "",
    )
    return sale


def _record_payments(sale: Sale, payments: Sequence[PaymentData], user) -> None:
    from payments import services as payment_services

    for index, data in enumerate(payments):
        payment_services.payment_record(
            sale=sale,
            amount=data.amount,
            method=data.method,
            reference=data.reference,
            received_at=data.received_at,
            note=data.note,
            status=data.status,
            user=user,
            attr_prefix=f"payments.{index}.",
        )


def _refund_payment(sale: Sale, amount: Decimal, user, note: str) -> None:
    """Record money given back, capped at what was actually received."""
    from payments import services as payment_services

    amount = min(quantize(amount), sale.paid_total)
    if amount <= 0:
        return
    last = sale.payments.filter(kind=PaymentKind.PAYMENT, status=PaymentState.SUCCESSFUL).order_by("-pk").first()
    payment_services.payment_record(
        sale=sale,
        amount=amount,
        method=last.method if last else PaymentMethod.OTHER,
        kind=PaymentKind.REFUND,
        note=note,
        user=user,
    )


# --- create, edit, delete ---------------------------------------------------------------


@transaction.atomic
def sale_create(
    *,
    seller,
    items: Sequence[ItemData],
    status: str = SaleStatus.PENDING,
    user=None,
    customer: Customer | None = None,
    channel: Channel | None = None,
    warehouse: Warehouse | None = None,
    currency: str | None = None,
    reference: str | None = None,
    external_id: str = "",
    sold_at: datetime | None = None,
    discount: Decimal = ZERO,
    discount_type: str = DiscountType.FIXED,
    tax: TaxRate | None = None,
    prices_include_tax: bool = False,
    shipping_cost: Decimal = ZERO,
    tax_shipping: bool = False,
    billing_address: dict | None = None,
    shipping_address: dict | None = None,
    payments: Sequence[PaymentData] = (),
    note: str = "",
    staff_note: str = "",
    tags: Sequence[str] = (),
) -> Sale:
    """Create a sale and take it to the requested status (draft, pending, confirmed or completed).

    Everything happens in one transaction: if any line is short of stock or a
    payment is refused, nothing is left behind.
    """
    user = user or seller
    if status not in CREATE_STATUSES:
        raise ValidationError(
            f"A sale can be created as {', '.join(CREATE_STATUSES)}; not {status!r}.", code="invalid_choice",
            attr="status",
        )
    default_billing, default_shipping = _customer_addresses(customer)
    billing = _address(billing_address) if billing_address is not None else default_billing
    shipping = _address(shipping_address) if shipping_address is not None else default_shipping
    sale = Sale(
        seller=seller,
        customer=customer,
        channel=channel,
        warehouse=warehouse or stock.default_warehouse(),
        currency=(currency or settings.SALES_DEFAULT_CURRENCY).upper(),
        external_id=external_id or "",
        discount=discount if discount is not None else ZERO,
        discount_type=discount_type or DiscountType.FIXED,
        prices_include_tax=prices_include_tax,
        shipping_cost=shipping_cost if shipping_cost is not None else ZERO,
        tax_shipping=tax_shipping,
        billing_address=billing,
        shipping_address=shipping,
        shipping_country=(shipping.get("country") or "").upper(),
        note=note or "",
        staff_note=staff_note or "",
        tags=list(tags or []),
    )
    if sold_at is not None:
        sale.sold_at = sold_at
    _set_tax(sale, tax)
    sale_items = _build_items(sale, items)
    _apply_pricing(sale, sale_items)
    sale.payment_status = derive_payment_status(grand_total=sale.grand_total, paid=ZERO, refunded=ZERO)
    confirm_now = status in (SaleStatus.CONFIRMED, SaleStatus.COMPLETED)
    if confirm_now:  # known before the insert, so confirming needs no second write of the items
        for item in sale_items:
            item.stock_warehouse = item.warehouse
    _insert(sale, reference)
    SaleItem.objects.bulk_create(sale_items)
    _log(sale, SaleEventType.CREATED, user=user, status=status, grand_total=str(sale.grand_total))

    if status != SaleStatus.DRAFT:
        _submit(sale, sale_items, user=user)
    if confirm_now:
        _confirm(sale, sale_items, user=user, saved=False)
    if status == SaleStatus.COMPLETED:
        _check_transition(sale, "complete", None)
        _transition(sale, "complete", user=user)
    if payments:
        _record_payments(sale, payments, user)
        sale.refresh_from_db()
    return sale


@transaction.atomic
def sale_update(*, sale: Sale, user, data: dict[str, Any]) -> Sale:
    """Edit a sale: lines, customer, addresses and money while draft or pending; notes and tags always.

    Lines are replaced whole; totals are recomputed and a pending sale's
    reservation is moved to the new lines in one locked step.
    """
    sale = sale_lock(sale=sale)
    data = dict(data)
    unknown = set(data) - OPEN_ONLY_FIELDS - ALWAYS_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(sorted(unknown))}.", attr=sorted(unknown)[0])
    locked = sorted(set(data) & OPEN_ONLY_FIELDS)
    if locked and not sale.is_editable:
        raise SaleLocked(
            f"A {sale.status} sale's {', '.join(locked)} can no longer change; only notes and tags can.",
            attr=locked[0],
        )
    changed: list[str] = []
    old_items = list(sale.items.all())
    new_items = None

    if "customer" in data and data["customer"] != sale.customer:
        sale.customer = data["customer"]
        changed.append("customer")
        default_billing, default_shipping = _customer_addresses(sale.customer)
        data.setdefault("billing_address", default_billing)
        data.setdefault("shipping_address", default_shipping)
    for name in ("billing_address", "shipping_address"):
        if name in data:
            setattr(sale, name, _address(data[name]))
            changed.append(name)
    sale.shipping_country = (sale.shipping_address.get("country") or "").upper()
    if "tax" in data:
        _set_tax(sale, data["tax"])
        changed.append("tax")
    simple = ("discount", "discount_type", "prices_include_tax", "shipping_cost", "tax_shipping", "channel",
              "external_id", "sold_at", "note", "staff_note", "tags", "currency")
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
    if "warehouse" in data and data["warehouse"] is not None and data["warehouse"] != sale.warehouse:
        old_warehouse_id = sale.warehouse_id
        sale.warehouse = data["warehouse"]
        changed.append("warehouse")
        if "items" not in data:
            new_items = [_copy_item(item) for item in old_items]
            for item in new_items:
                if item.warehouse_id == old_warehouse_id:
                    item.warehouse = sale.warehouse
    if "items" in data:
        new_items = _build_items(sale, data["items"])
        changed.append("items")

    if new_items is not None or REPRICING_FIELDS & set(data):
        items = new_items if new_items is not None else old_items
        for item in items:
            item.tax_rate = sale.tax_rate
        _apply_pricing(sale, items)
        if new_items is not None:
            if sale.holds_reservation:
                stock.stock_rebalance(
                    old=_stock_lines(old_items), new=_stock_lines(new_items), sale=sale, user=user,
                    reason=_reason(sale, "edited"),
                )
            sale.items.all().delete()
            SaleItem.objects.bulk_create(new_items)
        else:
            SaleItem.objects.bulk_update(
                items, ["tax_rate", "subtotal", "discount_total", "tax_total", "net_total", "total"]
            )
    sale.save()
    if new_items is not None or REPRICING_FIELDS & set(data):
        sale_refresh_payments(sale=sale)

    notes = [name for name in changed if name in ("note", "staff_note")]
    others = [name for name in changed if name not in notes]
    if others:
        _log(sale, SaleEventType.EDITED, user=user, fields=others, grand_total=str(sale.grand_total))
    if notes:
        _log(sale, SaleEventType.NOTE_CHANGED, user=user, fields=notes)
    return sale


def _copy_item(item: SaleItem) -> SaleItem:
    clone = SaleItem(**{f.attname: getattr(item, f.attname) for f in SaleItem._meta.concrete_fields})
    clone.pk = None
    clone.id = None
    return clone


@transaction.atomic
def sale_delete(*, sale: Sale, user) -> None:
    """Delete a draft, pending, cancelled or rejected sale (releasing a pending one's reservation)."""
    sale = sale_lock(sale=sale)
    if not sale.is_deletable:
        raise SaleLocked(f"A {sale.status} sale cannot be deleted; cancel or refund it instead.")
    if sale.holds_reservation:
        stock.stock_release(lines=_stock_lines(sale.items.all()), sale=sale, user=user,
                            reason=_reason(sale, "deleted"))
    sale.delete()


@transaction.atomic
def sale_update_item(*, item: SaleItem, user, data: dict[str, Any]) -> SaleItem:
    """Set warehouse, carrier, tracking or product group on one line of a sale that is not closed.

    Moving a pending sale's line to another warehouse moves its reservation;
    after confirm the warehouse is recorded only (stock has already left).
    """
    sale = sale_lock(sale=item.sale_id)
    item = sale.items.select_for_update().get(pk=item.pk)
    if sale.status in (SaleStatus.CANCELLED, SaleStatus.REJECTED):
        raise SaleLocked(f"The items of a {sale.status} sale cannot change.")
    unknown = set(data) - set(ITEM_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(sorted(unknown))}.", attr=sorted(unknown)[0])
    changes: dict[str, Any] = {}
    new_warehouse = data.get("warehouse")
    if new_warehouse is not None and new_warehouse.pk != item.warehouse_id:
        if sale.holds_reservation:
            old_line = _stock_lines([item])
            moved = StockLine(variant_id=item.variant_id, warehouse_id=new_warehouse.pk, quantity=item.quantity,
                              attr="warehouse")
            stock.stock_rebalance(old=old_line, new=[moved], sale=sale, user=user,
                                  reason=_reason(sale, "item moved"))
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
        item.tracking_url = _tracking_url(item.carrier, item.tracking_code)
    item.save()
    if changes:
        _log(sale, SaleEventType.ITEM_UPDATED, user=user, item=item.pk, sku=item.sku, changes=changes)
    return item


# --- transitions ----------------------------------------------------------------------------


def _submit(sale: Sale, items: Sequence[SaleItem], *, user) -> None:
    _check_transition(sale, "submit", None)
    stock.stock_reserve(lines=_stock_lines(items), sale=sale, user=user, reason=_reason(sale, "submitted"))
    _transition(sale, "submit", user=user)


def _confirm(sale: Sale, items: Sequence[SaleItem], *, user, saved: bool = True) -> None:
    _check_transition(sale, "confirm", None)
    stock.stock_commit(lines=_stock_lines(items), sale=sale, user=user, reason=_reason(sale, "confirmed"))
    for item in items:
        item.stock_warehouse_id = item.warehouse_id
    if saved:
        SaleItem.objects.bulk_update(items, ["stock_warehouse"])
    _transition(sale, "confirm", user=user)


@transaction.atomic
def sale_submit(*, sale: Sale, user) -> Sale:
    """Draft → pending: reserve the stock of every line, or refuse if any line is short."""
    sale = sale_lock(sale=sale)
    _check_transition(sale, "submit", user)
    _submit(sale, list(sale.items.all()), user=user)
    return sale


@transaction.atomic
def sale_confirm(*, sale: Sale, user) -> Sale:
    """Pending → confirmed: the reserved units leave the warehouse."""
    sale = sale_lock(sale=sale)
    _check_transition(sale, "confirm", user)
    _confirm(sale, list(sale.items.all()), user=user)
    return sale


@transaction.atomic
def sale_ship(
    *, sale: Sale, user, carrier: Carrier | None = None, tracking_code: str = "", tracking_url: str = ""
) -> Sale:
    """Confirmed → in delivery, setting carrier and tracking on every line when given."""
    sale = sale_lock(sale=sale)
    _check_transition(sale, "ship", user)
    if carrier is not None or tracking_code or tracking_url:
        items = list(sale.items.all())
        for item in items:
            if carrier is not None:
                item.carrier = carrier
            if tracking_code:
                item.tracking_code = tracking_code
            item.tracking_url = tracking_url or _tracking_url(item.carrier, item.tracking_code) or item.tracking_url
        SaleItem.objects.bulk_update(items, ["carrier", "tracking_code", "tracking_url"])
    _transition(
        sale, "ship", user=user, carrier=carrier.code if carrier else None, tracking_code=tracking_code,
        tracking_url=tracking_url,
    )
    return sale


@transaction.atomic
def sale_complete(*, sale: Sale, user) -> Sale:
    """Confirmed or in delivery → completed."""
    sale = sale_lock(sale=sale)
    _check_transition(sale, "complete", user)
    _transition(sale, "complete", user=user)
    return sale


@transaction.atomic
def sale_cancel(*, sale: Sale, user, reason: str, note: str = "") -> Sale:
    """Cancel a draft, pending or confirmed sale: release its reservation or put its units back."""
    if reason not in CancelReason.values:
        raise ValidationError(
            f"Reason must be one of: {', '.join(CancelReason.values)}.", code="invalid_choice", attr="reason"
        )
    sale = sale_lock(sale=sale)
    _check_transition(sale, "cancel", user)
    items = list(sale.items.all())
    if sale.holds_reservation:
        stock.stock_release(lines=_stock_lines(items), sale=sale, user=user, reason=_reason(sale, "cancelled"))
    elif sale.stock_committed:
        stock.stock_restock(
            lines=_stock_lines(items, remaining=True), sale=sale, user=user, reason=_reason(sale, "cancelled")
        )
    _transition(sale, "cancel", user=user, args={"reason": reason}, note=note)
    return sale


@transaction.atomic
def sale_reject(*, sale: Sale, user, reason: str = "", note: str = "") -> Sale:
    """Pending → rejected: release the reservation."""
    sale = sale_lock(sale=sale)
    _check_transition(sale, "reject", user)
    stock.stock_release(lines=_stock_lines(sale.items.all()), sale=sale, user=user, reason=_reason(sale, "rejected"))
    _transition(sale, "reject", user=user, args={"reason": reason or ""}, note=note)
    return sale


@transaction.atomic
def sale_refund(*, sale: Sale, user, restock: bool = False, reason: str = "") -> Sale:
    """Refund a confirmed, shipped or completed sale: give the money back, optionally restock.

    With `restock` every unit not yet returned comes back on hand and the
    sale counts as fully returned; without it the goods stay with the customer.
    """
    sale = sale_lock(sale=sale)
    _check_transition(sale, "refund", user)
    if restock:
        items = list(sale.items.all())
        stock.stock_restock(
            lines=_stock_lines(items, remaining=True), sale=sale, user=user, reason=_reason(sale, "refunded")
        )
        for item in items:
            item.quantity_returned = item.quantity
        SaleItem.objects.bulk_update(items, ["quantity_returned"])
        sale.return_status = ReturnStatus.FULL
    refunded = sale.paid_total
    _refund_payment(sale, sale.paid_total, user, note=reason or "sale refunded")
    sale.refresh_from_db(fields=["paid_total", "payment_status"])
    _transition(sale, "refund", user=user, reason=reason, restock=restock, amount=str(max(refunded, ZERO)))
    return sale


def sale_transition_to(*, sale: Sale, user, status: str, reason: str = "", note: str = "", **options: Any) -> Sale:
    """Run the transition that leads to `status` (the generic `POST …/status/`)."""
    if status not in SaleStatus.values:
        raise ValidationError(f"Unknown status {status!r}.", code="invalid_choice", attr="status")
    if status == SaleStatus.PENDING:
        return sale_submit(sale=sale, user=user)
    if status == SaleStatus.CONFIRMED:
        return sale_confirm(sale=sale, user=user)
    if status == SaleStatus.IN_DELIVERY:
        return sale_ship(sale=sale, user=user, **options)
    if status == SaleStatus.COMPLETED:
        return sale_complete(sale=sale, user=user)
    if status == SaleStatus.CANCELLED:
        return sale_cancel(sale=sale, user=user, reason=reason or CancelReason.OTHER, note=note)
    if status == SaleStatus.REJECTED:
        return sale_reject(sale=sale, user=user, reason=reason, note=note)
    if status == SaleStatus.REFUNDED:
        return sale_refund(sale=sale, user=user, reason=reason, **options)
    current = Sale.objects.get(pk=sale.pk)
    raise InvalidTransition(action=f"move to {status}", current=current.status, allowed=_allowed(current, user))


# --- returns -------------------------------------------------------------------------------------


@dataclass
class ReturnLine:
    item: SaleItem | int
    quantity: int


def charged_for_units(*, item: SaleItem, already_returned: int, quantity: int) -> Decimal:
    """What `quantity` more units of a line were actually charged.

    Computed as the difference of two cumulative shares so that returning a
    line in several parts refunds exactly its total, cent for cent.
    """
    before = quantize(item.total * already_returned / item.quantity)
    after = quantize(item.total * (already_returned + quantity) / item.quantity)
    return after - before


@transaction.atomic
def sale_return(
    *, sale: Sale, user, lines: Sequence[ReturnLine], restock: bool = False, refund: bool = False, reason: str = ""
) -> Sale:
    """Return some units of some lines; optionally restock them and refund what they were charged."""
    sale = sale_lock(sale=sale)
    if sale.status not in (SaleStatus.CONFIRMED, SaleStatus.IN_DELIVERY, SaleStatus.COMPLETED):
        raise InvalidTransition(action="return items of", current=sale.status, allowed=_allowed(sale, user))
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
        returnable = item.quantity - item.quantity_returned
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
        stock.stock_restock(lines=restock_lines, sale=sale, user=user, reason=_reason(sale, "returned"))
    SaleItem.objects.bulk_update([items[i] for i in requested], ["quantity_returned"])
    all_items = list(items.values())
    fully = all(item.quantity_returned == item.quantity for item in all_items)
    sale.return_status = ReturnStatus.FULL if fully else ReturnStatus.PARTIAL
    sale.save(update_fields=["return_status", "updated_at"])
    _log(sale, SaleEventType.RETURNED, user=user, items=returned, restock=restock, refund=refund,
         amount=str(amount), reason=reason)
    if refund:
        _refund_payment(sale, amount, user, note=reason or "items returned")
        sale.refresh_from_db(fields=["paid_total", "payment_status"])
    return sale


# --- invoices ----------------------------------------------------------------------------------------

INVOICE_MAX_BYTES = 10 * 1024 * 1024
# What a file is, judged by its first bytes, never by its name or the client's content type.
INVOICE_SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)


def sniff_invoice_type(head: bytes) -> tuple[str, str] | None:
    for signature, content_type, suffix in INVOICE_SIGNATURES:
        if head.startswith(signature):
            return content_type, suffix
    return None


@transaction.atomic
def sale_attach_invoice(*, sale: Sale, user, content: bytes, filename: str = "", attr: str = "file") -> Invoice:
    """Attach an uploaded invoice (PDF, PNG or JPEG by content, at most 10 MB) under a generated name."""
    if not content:
        raise ValidationError("The file is empty.", code="empty", attr=attr)
    if len(content) > INVOICE_MAX_BYTES:
        raise ValidationError("The file is larger than 10 MB.", code="max_size", attr=attr)
    sniffed = sniff_invoice_type(content[:16])
    if sniffed is None:
        raise ValidationError("Only PDF, PNG or JPEG files are accepted.", code="invalid_file_type", attr=attr)
    content_type, suffix = sniffed
    sale = sale_lock(sale=sale)
    invoice = Invoice(
        sale=sale, content_type=content_type, size=len(content), original_filename=(filename or "")[:255],
        user=_user_or_none(user),
    )
    invoice.file.save(f"invoice{suffix}", ContentFile(content), save=False)
    invoice.save()
    invoice.number = f"INV-{invoice.pk:06d}"
    Invoice.objects.filter(pk=invoice.pk).update(number=invoice.number)
    _log(sale, SaleEventType.INVOICE_ATTACHED, user=user, invoice=invoice.pk, number=invoice.number,
         content_type=content_type, size=len(content))
    return invoice
