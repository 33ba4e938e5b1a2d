"""Catalogue and warehouse writes: products, variants, warehouses and product groups."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError

from inventory.models import Product, ProductGroup, ProductKind, StockLevel, StockMovement, Variant, Warehouse
from salesproject.errors import InUse, ValidationError
from salesproject.metadata import metadata_merge


@dataclass
class VariantData:
    sku: str
    name: str = ""
    attributes: dict | None = None
    price: object = None
    cost_price: object = None
    image_url: str = ""
    weight: int | None = None
    metadata: dict | None = None


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
    kind: str = ProductKind.STANDARD,
    image_url: str = "",
    metadata: dict | None = None,
    variants: Sequence[VariantData] = (),
) -> Product:
    """Create a product and its variants; the first variant is the default (one is made if none given)."""
    product = Product(
        sku=sku, name=name, price=price, cost_price=cost_price, unit=unit, product_group=product_group, active=active,
        kind=kind, image_url=image_url, metadata=metadata_merge({}, metadata),
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
            image_url=data.image_url,
            weight=data.weight,
            metadata=metadata_merge({}, data.metadata),
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

PRODUCT_FIELDS = ("sku", "name", "kind", "unit", "image_url", "price", "cost_price", "product_group", "active")
VARIANT_FIELDS = ("sku", "name", "attributes", "image_url", "weight", "price", "cost_price")
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


def _kind_changeable(product: Product) -> None:
    """A product's kind is fixed once sold or stocked: its lines and ledger rows were booked by the old kind."""
    if product.sale_items.exists() or StockMovement.objects.filter(variant__product=product).exists():
        raise InUse("This product has sales or stock history: its kind cannot change.", attr="kind")


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
        if "metadata" in data:  # merged into a kept variant's (a key set to null is removed)
            variant.metadata = metadata_merge(variant.metadata, data["metadata"])
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
    if data.get("kind", product.kind) != product.kind:
        _kind_changeable(product)
    for name in PRODUCT_FIELDS:
        if name in data:
            setattr(product, name, data[name])
    if "metadata" in data:  # merged: a key set to null is removed
        product.metadata = metadata_merge(product.metadata, data["metadata"])
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
    image_url: str = "",
    weight: int | None = None,
    metadata: dict | None = None,
    is_default: bool = False,
) -> Variant:
    """Add a variant to a product; `is_default` makes it the product's default."""
    Product.objects.select_for_update().filter(pk=product.pk).first()
    variant = Variant(product=product, sku=sku, name=name, attributes=attributes or {}, price=price,
                      cost_price=cost_price, image_url=image_url, weight=weight,
                      metadata=metadata_merge({}, metadata))
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
    if "metadata" in data:  # merged: a key set to null is removed
        variant.metadata = metadata_merge(variant.metadata, data["metadata"])
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
