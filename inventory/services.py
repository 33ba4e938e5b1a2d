"""Stock services: the only code that changes stock levels.

Every operation goes through `_apply`, which locks the stock rows it touches
with `SELECT … FOR UPDATE` ordered by primary key (so two operations can never
deadlock each other), checks the result against the rules, writes the new
levels and appends one ledger row per change. Callers wrap it in their own
transaction when it is part of a larger write (a sale transition).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from inventory.models import MovementKind, Product, StockLevel, StockMovement, Variant, Warehouse
from salesproject.errors import DomainError, InUse, ValidationError

StockKey = tuple[int, int]  # (variant_id, warehouse_id)


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    default_detail = "Not enough stock available."

    def __init__(self, shortages: Sequence["Shortage"]) -> None:
        self.shortages = list(shortages)
        lines = "; ".join(f"{s.sku}: requested {s.requested}, available {s.available}" for s in self.shortages)
        attr = self.shortages[0].attr if len(self.shortages) == 1 else None
        super().__init__(f"Not enough stock: {lines}." if lines else self.default_detail, attr=attr)


@dataclass(frozen=True)
class Shortage:
    variant_id: int
    warehouse_id: int
    sku: str
    requested: int
    available: int
    attr: str | None = None  # the input it is about, e.g. "items.1.quantity"


@dataclass(frozen=True)
class StockLine:
    """A quantity of one variant in one warehouse, as a sale line asks for it."""

    variant_id: int
    warehouse_id: int
    quantity: int
    attr: str | None = None


@dataclass(frozen=True)
class _Change:
    key: StockKey
    kind: str
    on_hand: int
    reserved: int
    line: StockLine | None = None


def lock_stock_levels(*, keys: Iterable[StockKey], create_missing: bool = False) -> dict[StockKey, StockLevel]:
    """Lock the stock rows of these (variant, warehouse) pairs in primary-key order.

    With `create_missing`, absent rows are created first (receipts and restocks
    may bring a variant into a warehouse); the insert ignores a row another
    transaction created meanwhile, and the lock below then waits for it.
    """
    keys = sorted(set(keys))
    if not keys:
        return {}
    if create_missing:
        StockLevel.objects.bulk_create(
            [StockLevel(variant_id=v, warehouse_id=w) for v, w in keys], ignore_conflicts=True
        )
    condition = Q()
    for variant_id, warehouse_id in keys:
        condition |= Q(variant_id=variant_id, warehouse_id=warehouse_id)
    levels = StockLevel.objects.select_for_update().filter(condition).order_by("pk")
    return {(level.variant_id, level.warehouse_id): level for level in levels}


def _apply(changes: Sequence[_Change], *, sale=None, user=None, reason: str = "") -> dict[StockKey, StockLevel]:
    """Lock, check and apply stock changes with their ledger rows, all or nothing."""
    if not changes:
        return {}
    grows = any(c.on_hand > 0 for c in changes)
    with transaction.atomic():
        levels = lock_stock_levels(keys=[c.key for c in changes], create_missing=grows)
        totals: dict[StockKey, list[int]] = defaultdict(lambda: [0, 0])
        for change in changes:
            totals[change.key][0] += change.on_hand
            totals[change.key][1] += change.reserved

        short_keys = set()
        for key, (d_on_hand, d_reserved) in totals.items():
            level = levels.get(key)
            on_hand = (level.on_hand if level else 0) + d_on_hand
            reserved = (level.reserved if level else 0) + d_reserved
            if on_hand < 0 or reserved < 0 or reserved > on_hand:
                short_keys.add(key)
        if short_keys:
            raise InsufficientStock(_shortages(changes, levels, short_keys))

        now = timezone.now()  # bulk_update does not apply auto_now
        for key, (d_on_hand, d_reserved) in totals.items():
            level = levels[key]
            level.on_hand += d_on_hand
            level.reserved += d_reserved
            level.updated_at = now
        StockLevel.objects.bulk_update([levels[k] for k in totals], ["on_hand", "reserved", "updated_at"])
        StockMovement.objects.bulk_create(
            StockMovement(
                variant_id=c.key[0],
                warehouse_id=c.key[1],
                kind=c.kind,
                on_hand_change=c.on_hand,
                reserved_change=c.reserved,
                sale=sale,
                user=user if user is not None and user.is_authenticated else None,
                reason=reason,
            )
            for c in changes
            if c.on_hand or c.reserved
        )
    return levels


def _shortages(changes, levels, short_keys) -> list[Shortage]:
    """Describe each short line with what it asked for and what was available."""
    skus = dict(Variant.objects.filter(pk__in={k[0] for k in short_keys}).values_list("pk", "sku"))
    shortages = []
    for change in changes:
        if change.key not in short_keys or change.line is None:
            continue
        level = levels.get(change.key)
        shortages.append(
            Shortage(
                variant_id=change.key[0],
                warehouse_id=change.key[1],
                sku=skus.get(change.key[0], str(change.key[0])),
                requested=change.line.quantity,
                available=max(level.available if level else 0, 0),
                attr=change.line.attr,
            )
        )
    return shortages


def _lines_changes(lines: Iterable[StockLine], kind: str, on_hand_sign: int, reserved_sign: int) -> list[_Change]:
    return [
        _Change(
            key=(line.variant_id, line.warehouse_id),
            kind=kind,
            on_hand=on_hand_sign * line.quantity,
            reserved=reserved_sign * line.quantity,
            line=line,
        )
        for line in lines
        if line.quantity
    ]


# --- operations a sale drives ------------------------------------------------


def stock_reserve(*, lines: Iterable[StockLine], sale=None, user=None, reason: str = "") -> None:
    """Reserve units for a submitted sale; refuse (all lines) if any line is short."""
    _apply(_lines_changes(lines, MovementKind.RESERVATION, 0, +1), sale=sale, user=user, reason=reason)


def stock_release(*, lines: Iterable[StockLine], sale=None, user=None, reason: str = "") -> None:
    """Give back reserved units (a pending sale cancelled, rejected, edited or deleted)."""
    _apply(_lines_changes(lines, MovementKind.RELEASE, 0, -1), sale=sale, user=user, reason=reason)


def stock_commit(*, lines: Iterable[StockLine], sale=None, user=None, reason: str = "") -> None:
    """Turn reserved units into shipped ones: they leave on_hand and the reservation."""
    _apply(_lines_changes(lines, MovementKind.SHIPMENT, -1, -1), sale=sale, user=user, reason=reason)


def stock_reserve_and_commit(*, lines: Iterable[StockLine], sale=None, user=None, reason: str = "") -> None:
    """Reserve and commit in one locked step (a sale confirmed on the spot)."""
    lines = list(lines)
    changes = _lines_changes(lines, MovementKind.RESERVATION, 0, +1)
    # Only the reservation speaks for the line, so a short line is reported once.
    changes += [replace(c, line=None) for c in _lines_changes(lines, MovementKind.SHIPMENT, -1, -1)]
    _apply(changes, sale=sale, user=user, reason=reason)


def stock_restock(*, lines: Iterable[StockLine], sale=None, user=None, reason: str = "") -> None:
    """Put committed units back on hand (cancel after confirm, returns, refunds with restock)."""
    _apply(_lines_changes(lines, MovementKind.RETURN, +1, 0), sale=sale, user=user, reason=reason)


def stock_rebalance(
    *, old: Iterable[StockLine], new: Iterable[StockLine], sale=None, user=None, reason: str = ""
) -> None:
    """Move a pending sale's reservation from its old lines to its new ones in one locked step.

    Only the net difference per stock row is written, so an edit that keeps a
    line unchanged leaves no ledger noise and cannot fail for that line.
    """
    net: dict[StockKey, int] = defaultdict(int)
    attrs: dict[StockKey, str | None] = {}
    for line in old:
        net[(line.variant_id, line.warehouse_id)] -= line.quantity
    for line in new:
        key = (line.variant_id, line.warehouse_id)
        net[key] += line.quantity
        attrs.setdefault(key, line.attr)
    changes = []
    for key, delta in net.items():
        if delta > 0:
            line = StockLine(variant_id=key[0], warehouse_id=key[1], quantity=delta, attr=attrs.get(key))
            changes.append(_Change(key=key, kind=MovementKind.RESERVATION, on_hand=0, reserved=delta, line=line))
        elif delta < 0:
            changes.append(_Change(key=key, kind=MovementKind.RELEASE, on_hand=0, reserved=delta))
    _apply(changes, sale=sale, user=user, reason=reason)


# --- operations staff drive ----------------------------------------------------


def stock_receive(
    *, variant: Variant, warehouse: Warehouse, quantity: int, user=None, reason: str = ""
) -> StockLevel:
    """Book goods received into a warehouse."""
    if quantity <= 0:
        raise ValidationError("Quantity must be a positive whole number.", attr="quantity")
    key = (variant.pk, warehouse.pk)
    change = _Change(key=key, kind=MovementKind.RECEIPT, on_hand=quantity, reserved=0)
    return _apply([change], user=user, reason=reason)[key]


def stock_adjust(
    *, variant: Variant, warehouse: Warehouse, quantity_change: int, user=None, reason: str
) -> StockLevel:
    """Correct on-hand stock after a count; never below zero nor below what is reserved."""
    if quantity_change == 0:
        raise ValidationError("Quantity change must not be zero.", attr="quantity_change")
    if not reason or not reason.strip():
        raise ValidationError("A reason is required for a stock adjustment.", code="required", attr="reason")
    key = (variant.pk, warehouse.pk)
    line = StockLine(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity=abs(quantity_change),
                     attr="quantity_change")
    change = _Change(key=key, kind=MovementKind.ADJUSTMENT, on_hand=quantity_change, reserved=0, line=line)
    return _apply([change], user=user, reason=reason)[key]


# --- catalogue -------------------------------------------------------------------


@dataclass
class VariantData:
    sku: str
    name: str = ""
    attributes: dict | None = None
    price: object = None
    cost_price: object = None


@transaction.atomic
def product_create(
    *,
    sku: str,
    name: str,
    price=0,
    cost_price=0,
    unit: str = "pcs",
    product_group=None,
    active: bool = True,
    variants: Sequence[VariantData] = (),
) -> Product:
    """Create a product and its variants; the first variant is the default (one is made if none given)."""
    product = Product(
        sku=sku, name=name, price=price, cost_price=cost_price, unit=unit, product_group=product_group, active=active
    )
    product.full_clean()
    product.save()
    if not variants:
        variants = [VariantData(sku=sku, name=name)]
    for position, data in enumerate(variants):
        variant = Variant(
            product=product,
            sku=data.sku,
            name=data.name,
            attributes=data.attributes or {},
            price=data.price,
            cost_price=data.cost_price,
            is_default=position == 0,
        )
        variant.full_clean()
        variant.save()
    return product


def product_delete(*, product: Product) -> None:
    """Delete a product nobody sold and with no stock history; otherwise deactivate it."""
    if product.sale_items.exists():
        raise InUse("This product is used by sales; deactivate it instead.")
    if StockMovement.objects.filter(variant__product=product).exists():
        raise InUse("This product has stock history; deactivate it instead.")
    with transaction.atomic():
        StockLevel.objects.filter(variant__product=product).delete()
        product.delete()


def variant_delete(*, variant: Variant) -> None:
    """Delete a variant nobody sold and that has no stock history; never the only one."""
    if variant.sale_items.exists():
        raise InUse("This variant is used by sales; deactivate its product instead.")
    if variant.movements.exists():
        raise InUse("This variant has stock history and cannot be deleted.")
    with transaction.atomic():
        product = variant.product
        if product.variants.count() == 1:
            raise InUse("A product keeps at least one variant.")
        StockLevel.objects.filter(variant=variant).delete()
        was_default = variant.is_default
        variant.delete()
        if was_default:
            successor = product.variants.order_by("pk").first()
            successor.is_default = True
            successor.save(update_fields=["is_default"])


def resolve_variant(*, product: Product | None, variant: Variant | None, attr: str) -> Variant:
    """The variant a sale line names: given, or the product's only variant."""
    if variant is not None:
        if product is not None and variant.product_id != product.pk:
            raise ValidationError("The variant does not belong to the product.", attr=f"{attr}.variant")
        return variant
    if product is None:
        raise ValidationError("Give a product or a variant.", code="required", attr=f"{attr}.product")
    variants = list(product.variants.all()[:2])
    if len(variants) != 1:
        raise ValidationError(
            "This product has several variants: name the variant.", code="required", attr=f"{attr}.variant"
        )
    return variants[0]


def default_warehouse() -> Warehouse:
    warehouse = Warehouse.objects.filter(is_default=True).first() or Warehouse.objects.order_by("pk").first()
    if warehouse is None:
        raise ValidationError("No warehouse exists: create one first.", attr="warehouse")
    return warehouse


# --- catalogue and warehouse edits (the API's writes) ------------------------------
# Appended after the original module, hence the late imports.
from django.core.exceptions import NON_FIELD_ERRORS  # noqa: E402
from django.core.exceptions import ValidationError as DjangoValidationError  # noqa: E402
from django.db.models import ProtectedError, RestrictedError  # noqa: E402

from inventory.models import ProductGroup  # noqa: E402

PRODUCT_FIELDS = ("sku", "name", "unit", "price", "cost_price", "product_group", "active")
VARIANT_FIELDS = ("sku", "name", "attributes", "price", "cost_price")
WAREHOUSE_FIELDS = ("code", "name", "country", "is_default")
PRODUCT_GROUP_FIELDS = ("code", "name")


def _clean(instance, *, attr: str | None = None) -> None:
    """`full_clean()`, naming the input path (`variants.1.sku`) the errors are about."""
    try:
        instance.full_clean()
    except DjangoValidationError as error:
        if attr is None or not hasattr(error, "error_dict"):
            raise
        raise DjangoValidationError(
            {(attr if field == NON_FIELD_ERRORS else f"{attr}.{field}"): errors
             for field, errors in error.error_dict.items()}
        ) from None


def _variant_removable(variant: Variant, *, attr: str | None = None) -> None:
    if variant.sale_items.exists():
        raise InUse(f"Variant {variant.sku} is used by sales; deactivate its product instead.", attr=attr)
    if variant.movements.exists():
        raise InUse(f"Variant {variant.sku} has stock history and cannot be removed.", attr=attr)


def _replace_variants(product: Product, variants: Sequence[dict]) -> None:
    """Make the product's variants exactly `variants`: an entry with `id` keeps (and edits) that variant,
    one without adds a new one, a variant left out is removed; the first entry is the default."""
    if not variants:
        raise ValidationError("A product keeps at least one variant.", attr="variants")
    existing = {v.pk: v for v in product.variants.select_for_update().order_by("pk")}
    kept: set[int] = set()
    for position, data in enumerate(variants):
        variant_id = data.get("id")
        if variant_id is None:
            if not data.get("sku"):
                raise ValidationError("A new variant needs a sku.", code="required", attr=f"variants.{position}.sku")
            continue
        if variant_id not in existing:
            raise ValidationError("No such variant of this product.", attr=f"variants.{position}.id")
        if variant_id in kept:
            raise ValidationError("This variant is listed twice.", attr=f"variants.{position}.id")
        kept.add(variant_id)
    for variant in existing.values():
        if variant.pk not in kept:
            _variant_removable(variant, attr="variants")
    removed = [pk for pk in existing if pk not in kept]
    StockLevel.objects.filter(variant_id__in=removed).delete()
    Variant.objects.filter(pk__in=removed).delete()
    # The first entry becomes the default: clear the flag first (one default per product).
    product.variants.filter(is_default=True).update(is_default=False)
    for position, data in enumerate(variants):
        variant = existing.get(data.get("id")) or Variant(product=product, attributes={})
        for name in VARIANT_FIELDS:
            if name in data:
                setattr(variant, name, data[name] if name != "attributes" else data[name] or {})
        variant.is_default = position == 0
        _clean(variant, attr=f"variants.{position}")
        variant.save()


@transaction.atomic
def product_update(*, product: Product, data: dict, variants: Sequence[dict] | None = None) -> Product:
    """Change a product; with `variants`, replace its variant list too (see `_replace_variants`).

    Without `variants`, a default variant that carries the product's own sku or name
    (as `product_create` makes it) follows a change of either.
    """
    product = Product.objects.select_for_update().get(pk=product.pk)
    before = {"sku": product.sku, "name": product.name}
    for name in PRODUCT_FIELDS:
        if name in data:
            setattr(product, name, data[name])
    _clean(product)
    product.save()
    if variants is not None:
        _replace_variants(product, variants)
        return product
    default = product.variants.filter(is_default=True).first()
    if default is not None:
        changed = [name for name in ("sku", "name") if getattr(default, name) == before[name] != getattr(product, name)]
        for name in changed:
            setattr(default, name, getattr(product, name))
        if changed:
            _clean(default, attr="variants.0")
            default.save(update_fields=[*changed, "updated_at"])
    return product


@transaction.atomic
def variant_create(
    *,
    product: Product,
    sku: str,
    name: str = "",
    attributes: dict | None = None,
    price=None,
    cost_price=None,
    is_default: bool = False,
) -> Variant:
    """Add a variant to a product; `is_default` makes it the product's default."""
    Product.objects.select_for_update().filter(pk=product.pk).first()
    variant = Variant(product=product, sku=sku, name=name, attributes=attributes or {}, price=price,
                      cost_price=cost_price)
    if is_default:
        product.variants.filter(is_default=True).update(is_default=False)
        variant.is_default = True
    _clean(variant)
    variant.save()
    return variant


@transaction.atomic
def variant_update(*, variant: Variant, data: dict) -> Variant:
    """Change a variant; `is_default: true` moves the default to it (a product always keeps one)."""
    Product.objects.select_for_update().filter(pk=variant.product_id).first()
    variant = Variant.objects.select_for_update().get(pk=variant.pk)
    for name in VARIANT_FIELDS:
        if name in data:
            setattr(variant, name, data[name] if name != "attributes" else data[name] or {})
    if "is_default" in data and data["is_default"] != variant.is_default:
        if not data["is_default"]:
            raise ValidationError("A product always has a default variant: make another variant the default.",
                                  attr="is_default")
        Variant.objects.filter(product_id=variant.product_id, is_default=True).update(is_default=False)
        variant.is_default = True
    _clean(variant)
    variant.save()
    return variant


def _delete_unless_used(instance, message: str) -> None:
    """Delete, or raise `InUse` when rows that must outlive it (sales, stock) protect it."""
    try:
        with transaction.atomic():
            instance.delete()
    except (ProtectedError, RestrictedError):
        raise InUse(message) from None


def _warehouse_save(warehouse: Warehouse) -> Warehouse:
    warehouse.country = (warehouse.country or "").upper()
    if warehouse.is_default:
        # One default warehouse: the new default takes the flag from the old one.
        Warehouse.objects.filter(is_default=True).exclude(pk=warehouse.pk).update(is_default=False)
    _clean(warehouse)
    warehouse.save()
    return warehouse


@transaction.atomic
def warehouse_create(*, code: str, name: str, country: str = "", is_default: bool = False) -> Warehouse:
    return _warehouse_save(Warehouse(code=code, name=name, country=country, is_default=is_default))


@transaction.atomic
def warehouse_update(*, warehouse: Warehouse, data: dict) -> Warehouse:
    for name in WAREHOUSE_FIELDS:
        if name in data:
            setattr(warehouse, name, data[name])
    return _warehouse_save(warehouse)


def warehouse_delete(*, warehouse: Warehouse) -> None:
    """Delete a warehouse that no sale, item or stock row names."""
    _delete_unless_used(warehouse, "This warehouse is used by sales or has stock history and cannot be deleted.")


@transaction.atomic
def product_group_create(*, code: str, name: str) -> ProductGroup:
    group = ProductGroup(code=code, name=name)
    _clean(group)
    group.save()
    return group


@transaction.atomic
def product_group_update(*, product_group: ProductGroup, data: dict) -> ProductGroup:
    for name in PRODUCT_GROUP_FIELDS:
        if name in data:
            setattr(product_group, name, data[name])
    _clean(product_group)
    product_group.save()
    return product_group


def product_group_delete(*, product_group: ProductGroup) -> None:
    """Delete a product group; its products and sale items simply lose it."""
    _delete_unless_used(product_group, "This product group is in use and cannot be deleted.")
