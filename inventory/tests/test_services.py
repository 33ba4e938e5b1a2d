"""Stock services: levels move as the domain table says, every change has its ledger row, and nothing oversells."""

import pytest
from django.db import IntegrityError, transaction

from inventory.models import MovementKind, Product, StockLevel, StockMovement, Variant
from inventory.services import (
    InsufficientStock,
    StockLine,
    lock_stock_levels,
    product_delete,
    resolve_variant,
    stock_adjust,
    stock_commit,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_reserve_and_commit,
    stock_restock,
    variant_delete,
)
from inventory.tests.factories import ProductFactory, VariantFactory, WarehouseFactory, stocked_variant
from sales.services import ItemData, NewSale, sale_create
from salesproject.errors import InUse, ValidationError

pytestmark = pytest.mark.django_db


def level_of(variant, warehouse) -> StockLevel:
    return StockLevel.objects.get(variant=variant, warehouse=warehouse)


def levels_of(variant, warehouse) -> tuple[int, int]:
    level = level_of(variant, warehouse)
    return level.on_hand, level.reserved


def line(variant, warehouse, quantity: int, attr: str | None = None) -> StockLine:
    return StockLine(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity=quantity, attr=attr)


def movements(**filters) -> list[tuple[str, int, int]]:
    return [
        (m.kind, m.on_hand_change, m.reserved_change) for m in StockMovement.objects.filter(**filters).order_by("pk")
    ]


@pytest.fixture
def draft_sale(seller, warehouse):
    """A sale to attach ledger rows to; as a draft it holds no stock itself."""
    return sale_create(
        seller=seller,
        data=NewSale(
            items=[ItemData(variant=stocked_variant(1), quantity=1)],
            status="draft",
        ),
    )


# --- receive and adjust -----------------------------------------------------------


def test_receive_creates_the_level_and_a_receipt_row(warehouse, staff):
    variant = stocked_variant(0)

    level = stock_receive(variant=variant, warehouse=warehouse, quantity=7, user=staff, reason="delivery 12")

    assert (level.on_hand, level.reserved) == (7, 0)
    assert levels_of(variant, warehouse) == (7, 0)
    movement = StockMovement.objects.get(variant=variant, warehouse=warehouse)
    assert (movement.kind, movement.on_hand_change, movement.reserved_change) == (MovementKind.RECEIPT, 7, 0)
    assert movement.user == staff
    assert movement.reason == "delivery 12"
    assert movement.sale is None


def test_receive_adds_to_an_existing_level(warehouse):
    variant = stocked_variant(5)

    stock_receive(variant=variant, warehouse=warehouse, quantity=3)

    assert levels_of(variant, warehouse) == (8, 0)
    assert movements(variant=variant) == [(MovementKind.RECEIPT, 5, 0), (MovementKind.RECEIPT, 3, 0)]


@pytest.mark.parametrize("quantity", [0, -2])
def test_receive_refuses_a_quantity_that_is_not_positive(warehouse, quantity):
    variant = stocked_variant(0)

    with pytest.raises(ValidationError) as info:
        stock_receive(variant=variant, warehouse=warehouse, quantity=quantity)

    assert info.value.attr == "quantity"
    assert not StockLevel.objects.filter(variant=variant).exists()
    assert not StockMovement.objects.filter(variant=variant).exists()


def test_adjust_up_writes_an_adjustment_row(warehouse, staff):
    variant = stocked_variant(5)

    level = stock_adjust(variant=variant, warehouse=warehouse, quantity_change=2, user=staff, reason="recount")

    assert (level.on_hand, level.reserved) == (7, 0)
    assert levels_of(variant, warehouse) == (7, 0)
    movement = StockMovement.objects.filter(variant=variant).last()
    assert (movement.kind, movement.on_hand_change, movement.reserved_change) == (MovementKind.ADJUSTMENT, 2, 0)
    assert movement.reason == "recount"
    assert movement.user == staff


def test_adjust_down_writes_an_adjustment_row(warehouse):
    variant = stocked_variant(5)

    stock_adjust(variant=variant, warehouse=warehouse, quantity_change=-5, reason="damaged")

    assert levels_of(variant, warehouse) == (0, 0)
    assert movements(variant=variant)[-1] == (MovementKind.ADJUSTMENT, -5, 0)


@pytest.mark.parametrize("reason", ["", "   "])
def test_adjust_requires_a_reason(warehouse, reason):
    variant = stocked_variant(5)

    with pytest.raises(ValidationError) as info:
        stock_adjust(variant=variant, warehouse=warehouse, quantity_change=-1, reason=reason)

    assert (info.value.code, info.value.attr) == ("required", "reason")
    assert levels_of(variant, warehouse) == (5, 0)
    assert len(movements(variant=variant)) == 1


def test_adjust_refuses_a_zero_change(warehouse):
    variant = stocked_variant(5)

    with pytest.raises(ValidationError) as info:
        stock_adjust(variant=variant, warehouse=warehouse, quantity_change=0, reason="recount")

    assert info.value.attr == "quantity_change"
    assert len(movements(variant=variant)) == 1


def test_adjust_below_zero_raises_insufficient_stock_and_writes_nothing(warehouse):
    variant = stocked_variant(3)

    with pytest.raises(InsufficientStock) as info:
        stock_adjust(variant=variant, warehouse=warehouse, quantity_change=-4, reason="recount")

    assert info.value.code == "insufficient_stock"
    assert info.value.attr == "quantity_change"
    [shortage] = info.value.shortages
    assert (shortage.requested, shortage.available) == (4, 3)
    assert levels_of(variant, warehouse) == (3, 0)
    assert len(movements(variant=variant)) == 1


def test_adjust_below_reserved_raises_insufficient_stock_and_writes_nothing(warehouse):
    variant = stocked_variant(5)
    stock_reserve(lines=[line(variant, warehouse, 3)])

    with pytest.raises(InsufficientStock) as info:
        stock_adjust(variant=variant, warehouse=warehouse, quantity_change=-3, reason="recount")

    assert info.value.code == "insufficient_stock"
    [shortage] = info.value.shortages
    assert (shortage.requested, shortage.available) == (3, 2)
    assert levels_of(variant, warehouse) == (5, 3)
    assert [kind for kind, _, _ in movements(variant=variant)] == [MovementKind.RECEIPT, MovementKind.RESERVATION]


def test_adjust_down_of_a_variant_never_stocked_raises_insufficient_stock(warehouse):
    variant = stocked_variant(0)

    with pytest.raises(InsufficientStock):
        stock_adjust(variant=variant, warehouse=warehouse, quantity_change=-1, reason="recount")

    assert not StockLevel.objects.filter(variant=variant).exists()
    assert not StockMovement.objects.filter(variant=variant).exists()


def test_stock_change_refreshes_updated_at(warehouse):
    variant = stocked_variant(5)
    before = level_of(variant, warehouse).updated_at

    stock_adjust(variant=variant, warehouse=warehouse, quantity_change=1, reason="recount")

    assert level_of(variant, warehouse).updated_at > before


# --- operations a sale drives ----------------------------------------------------------


def test_reserve_moves_units_into_reserved_with_one_row_per_line(warehouse, draft_sale, staff):
    a, b = stocked_variant(10), stocked_variant(4)

    stock_reserve(lines=[line(a, warehouse, 3), line(b, warehouse, 4)], sale=draft_sale, user=staff, reason="r")

    assert levels_of(a, warehouse) == (10, 3)
    assert levels_of(b, warehouse) == (4, 4)
    rows = StockMovement.objects.filter(sale=draft_sale, kind=MovementKind.RESERVATION).order_by("pk")
    assert [(m.variant_id, m.on_hand_change, m.reserved_change) for m in rows] == [(a.pk, 0, 3), (b.pk, 0, 4)]
    assert all(m.user == staff and m.reason == "r" for m in rows)


def test_reserve_writes_one_row_per_line_even_for_the_same_variant(warehouse, draft_sale):
    variant = stocked_variant(10)

    stock_reserve(lines=[line(variant, warehouse, 2), line(variant, warehouse, 3)], sale=draft_sale)

    assert levels_of(variant, warehouse) == (10, 5)
    assert movements(sale=draft_sale) == [(MovementKind.RESERVATION, 0, 2), (MovementKind.RESERVATION, 0, 3)]


def test_reserve_may_take_every_available_unit(warehouse):
    variant = stocked_variant(4)

    stock_reserve(lines=[line(variant, warehouse, 4)])

    assert levels_of(variant, warehouse) == (4, 4)


def test_reserve_refuses_all_lines_when_one_is_short(warehouse, draft_sale):
    a, b, c = stocked_variant(10), stocked_variant(3), stocked_variant(10)
    lines = [
        line(a, warehouse, 2, "items.0.quantity"),
        line(b, warehouse, 5, "items.1.quantity"),
        line(c, warehouse, 1, "items.2.quantity"),
    ]

    with pytest.raises(InsufficientStock) as info:
        stock_reserve(lines=lines, sale=draft_sale)

    assert info.value.code == "insufficient_stock"
    assert info.value.attr == "items.1.quantity"
    [shortage] = info.value.shortages
    assert (shortage.variant_id, shortage.sku, shortage.requested, shortage.available, shortage.attr) == (
        b.pk,
        b.sku,
        5,
        3,
        "items.1.quantity",
    )
    assert [levels_of(v, warehouse) for v in (a, b, c)] == [(10, 0), (3, 0), (10, 0)]
    assert not StockMovement.objects.filter(sale=draft_sale).exists()


def test_reserve_reports_every_short_line(warehouse, draft_sale):
    a, b, c = stocked_variant(1), stocked_variant(10), stocked_variant(2)
    stock_reserve(lines=[line(c, warehouse, 1)])
    lines = [
        line(a, warehouse, 3, "items.0.quantity"),
        line(b, warehouse, 1, "items.1.quantity"),
        line(c, warehouse, 2, "items.2.quantity"),
    ]

    with pytest.raises(InsufficientStock) as info:
        stock_reserve(lines=lines, sale=draft_sale)

    assert [(s.variant_id, s.requested, s.available, s.attr) for s in info.value.shortages] == [
        (a.pk, 3, 1, "items.0.quantity"),
        (c.pk, 2, 1, "items.2.quantity"),
    ]
    assert a.sku in str(info.value) and c.sku in str(info.value)
    assert [levels_of(v, warehouse) for v in (a, b, c)] == [(1, 0), (10, 0), (2, 1)]
    assert not StockMovement.objects.filter(sale=draft_sale).exists()


def test_reserve_counts_lines_of_the_same_variant_together(warehouse, draft_sale):
    variant = stocked_variant(5)

    with pytest.raises(InsufficientStock):
        stock_reserve(lines=[line(variant, warehouse, 3), line(variant, warehouse, 3)], sale=draft_sale)

    assert levels_of(variant, warehouse) == (5, 0)
    assert not StockMovement.objects.filter(sale=draft_sale).exists()


def test_reserve_in_a_warehouse_without_stock_is_short(warehouse, draft_sale):
    variant = stocked_variant(10)
    elsewhere = WarehouseFactory()

    with pytest.raises(InsufficientStock) as info:
        stock_reserve(lines=[line(variant, elsewhere, 1, "items.0.quantity")], sale=draft_sale)

    [shortage] = info.value.shortages
    assert (shortage.warehouse_id, shortage.requested, shortage.available) == (elsewhere.pk, 1, 0)
    assert not StockLevel.objects.filter(warehouse=elsewhere).exists()


def test_sale_submission_names_the_short_item(seller, warehouse):
    plenty, scarce = stocked_variant(10), stocked_variant(1)

    with pytest.raises(InsufficientStock) as info:
        sale_create(
            seller=seller,
            data=NewSale(
                items=[ItemData(variant=plenty, quantity=2), ItemData(variant=scarce, quantity=2)],
            ),
        )

    assert info.value.attr == "items.1.quantity"
    [shortage] = info.value.shortages
    assert (shortage.sku, shortage.requested, shortage.available) == (scarce.sku, 2, 1)
    assert levels_of(plenty, warehouse) == (10, 0)
    assert levels_of(scarce, warehouse) == (1, 0)


def test_release_gives_back_reserved_units(warehouse, draft_sale):
    a, b = stocked_variant(10), stocked_variant(10)
    stock_reserve(lines=[line(a, warehouse, 3), line(b, warehouse, 2)])

    stock_release(lines=[line(a, warehouse, 3), line(b, warehouse, 2)], sale=draft_sale)

    assert levels_of(a, warehouse) == (10, 0)
    assert levels_of(b, warehouse) == (10, 0)
    assert movements(sale=draft_sale) == [(MovementKind.RELEASE, 0, -3), (MovementKind.RELEASE, 0, -2)]


def test_release_of_more_than_reserved_is_refused(warehouse, draft_sale):
    variant = stocked_variant(10)
    stock_reserve(lines=[line(variant, warehouse, 1)])

    with pytest.raises(InsufficientStock):
        stock_release(lines=[line(variant, warehouse, 2)], sale=draft_sale)

    assert levels_of(variant, warehouse) == (10, 1)
    assert not StockMovement.objects.filter(sale=draft_sale).exists()


def test_commit_takes_reserved_units_off_hand(warehouse, draft_sale):
    a, b = stocked_variant(10), stocked_variant(5)
    stock_reserve(lines=[line(a, warehouse, 4), line(b, warehouse, 5)])

    stock_commit(lines=[line(a, warehouse, 4), line(b, warehouse, 5)], sale=draft_sale)

    assert levels_of(a, warehouse) == (6, 0)
    assert levels_of(b, warehouse) == (0, 0)
    assert movements(sale=draft_sale) == [(MovementKind.SHIPMENT, -4, -4), (MovementKind.SHIPMENT, -5, -5)]


def test_commit_without_a_reservation_is_refused(warehouse, draft_sale):
    variant = stocked_variant(10)

    with pytest.raises(InsufficientStock):
        stock_commit(lines=[line(variant, warehouse, 1)], sale=draft_sale)

    assert levels_of(variant, warehouse) == (10, 0)
    assert not StockMovement.objects.filter(sale=draft_sale).exists()


def test_reserve_and_commit_takes_units_off_hand_in_one_step(warehouse, draft_sale):
    variant = stocked_variant(10)

    stock_reserve_and_commit(lines=[line(variant, warehouse, 4)], sale=draft_sale)

    assert levels_of(variant, warehouse) == (6, 0)
    assert movements(sale=draft_sale) == [(MovementKind.RESERVATION, 0, 4), (MovementKind.SHIPMENT, -4, -4)]


def test_reserve_and_commit_reports_each_short_line_once(warehouse, draft_sale):
    a, b = stocked_variant(10), stocked_variant(2)

    with pytest.raises(InsufficientStock) as info:
        stock_reserve_and_commit(
            lines=[line(a, warehouse, 1, "items.0.quantity"), line(b, warehouse, 3, "items.1.quantity")],
            sale=draft_sale,
        )

    assert [(s.variant_id, s.requested, s.available, s.attr) for s in info.value.shortages] == [
        (b.pk, 3, 2, "items.1.quantity"),
    ]
    assert info.value.attr == "items.1.quantity"
    assert levels_of(b, warehouse) == (2, 0)
    assert not StockMovement.objects.filter(sale=draft_sale).exists()


def test_restock_puts_units_back_on_hand(warehouse, draft_sale):
    a, b = stocked_variant(10), stocked_variant(10)
    stock_reserve(lines=[line(a, warehouse, 3), line(b, warehouse, 1)])
    stock_commit(lines=[line(a, warehouse, 3), line(b, warehouse, 1)])

    stock_restock(lines=[line(a, warehouse, 2), line(b, warehouse, 1)], sale=draft_sale)

    assert levels_of(a, warehouse) == (9, 0)
    assert levels_of(b, warehouse) == (10, 0)
    assert movements(sale=draft_sale) == [(MovementKind.RETURN, 2, 0), (MovementKind.RETURN, 1, 0)]


def test_restock_into_a_new_warehouse_creates_its_level(warehouse, draft_sale):
    variant = stocked_variant(10)
    other = WarehouseFactory()

    stock_restock(lines=[line(variant, other, 2)], sale=draft_sale)

    assert levels_of(variant, other) == (2, 0)
    assert levels_of(variant, warehouse) == (10, 0)


# --- database guarantees --------------------------------------------------------------------


def test_database_refuses_negative_on_hand(warehouse):
    variant = stocked_variant(3)

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(variant=variant, warehouse=warehouse).update(on_hand=-1)

    assert levels_of(variant, warehouse) == (3, 0)


def test_database_refuses_reserved_above_on_hand(warehouse):
    variant = stocked_variant(3)

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(variant=variant, warehouse=warehouse).update(reserved=4)

    assert levels_of(variant, warehouse) == (3, 0)


def test_database_refuses_negative_reserved(warehouse):
    variant = stocked_variant(3)

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(variant=variant, warehouse=warehouse).update(reserved=-1)


def test_database_refuses_a_second_level_for_the_same_variant_and_warehouse(warehouse):
    variant = stocked_variant(3)

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.create(variant=variant, warehouse=warehouse)


def test_ledger_refuses_to_save_an_existing_movement(warehouse):
    movement = StockMovement.objects.get(variant=stocked_variant(3))
    movement.on_hand_change = 30

    with pytest.raises(TypeError):
        movement.save()

    assert StockMovement.objects.get(pk=movement.pk).on_hand_change == 3


def test_ledger_refuses_a_queryset_update(warehouse):
    variant = stocked_variant(3)

    with pytest.raises(TypeError):
        StockMovement.objects.filter(variant=variant).update(on_hand_change=30)

    assert StockMovement.objects.get(variant=variant).on_hand_change == 3


def test_ledger_refuses_a_queryset_delete(warehouse):
    variant = stocked_variant(3)

    with pytest.raises(TypeError):
        StockMovement.objects.filter(variant=variant).delete()

    assert StockMovement.objects.filter(variant=variant).count() == 1


def test_ledger_refuses_to_delete_a_movement(warehouse):
    movement = StockMovement.objects.get(variant=stocked_variant(3))

    with pytest.raises(TypeError):
        movement.delete()

    assert StockMovement.objects.filter(pk=movement.pk).exists()


# --- locking ---------------------------------------------------------------------------------


def test_lock_stock_levels_returns_the_requested_rows(warehouse):
    other = WarehouseFactory()
    a, b, c = stocked_variant(1), stocked_variant(2), stocked_variant(3)
    stock_receive(variant=a, warehouse=other, quantity=4)

    with transaction.atomic():
        levels = lock_stock_levels(keys=[(b.pk, warehouse.pk), (a.pk, other.pk), (b.pk, warehouse.pk)])

    assert set(levels) == {(b.pk, warehouse.pk), (a.pk, other.pk)}
    assert levels[(b.pk, warehouse.pk)] == level_of(b, warehouse)
    assert levels[(a.pk, other.pk)].on_hand == 4
    assert c.pk not in {variant_id for variant_id, _ in levels}


def test_lock_stock_levels_leaves_absent_rows_out(warehouse):
    variant = stocked_variant(1)
    other = WarehouseFactory()

    with transaction.atomic():
        levels = lock_stock_levels(keys=[(variant.pk, warehouse.pk), (variant.pk, other.pk)])

    assert set(levels) == {(variant.pk, warehouse.pk)}
    assert not StockLevel.objects.filter(warehouse=other).exists()


def test_lock_stock_levels_creates_missing_rows_when_asked(warehouse):
    variant = stocked_variant(1)
    other = WarehouseFactory()

    with transaction.atomic():
        levels = lock_stock_levels(keys=[(variant.pk, warehouse.pk), (variant.pk, other.pk)], create_missing=True)

    assert set(levels) == {(variant.pk, warehouse.pk), (variant.pk, other.pk)}
    assert levels_of(variant, warehouse) == (1, 0)
    assert levels_of(variant, other) == (0, 0)


def test_lock_stock_levels_of_no_keys_is_empty(db):
    assert lock_stock_levels(keys=[]) == {}


# --- catalogue --------------------------------------------------------------------------------


def test_product_delete_refuses_a_sold_product(seller, warehouse):
    variant = stocked_variant(5)
    sale_create(seller=seller, data=NewSale(items=[ItemData(variant=variant, quantity=1)], status="draft"))

    with pytest.raises(InUse) as info:
        product_delete(product=variant.product)

    assert info.value.code == "in_use"
    assert Product.objects.filter(pk=variant.product_id).exists()


def test_product_delete_refuses_a_product_with_stock_history(warehouse):
    variant = stocked_variant(5)

    with pytest.raises(InUse) as info:
        product_delete(product=variant.product)

    assert info.value.code == "in_use"
    assert levels_of(variant, warehouse) == (5, 0)


def test_product_delete_removes_an_unused_product(db):
    product = ProductFactory()

    product_delete(product=product)

    assert not Product.objects.filter(pk=product.pk).exists()


def test_variant_delete_refuses_a_sold_variant(seller, warehouse):
    sold = VariantFactory(product=stocked_variant(0).product)
    stock_receive(variant=sold, warehouse=warehouse, quantity=2)
    sale_create(seller=seller, data=NewSale(items=[ItemData(variant=sold, quantity=1)], status="pending"))

    with pytest.raises(InUse) as info:
        variant_delete(variant=sold)

    assert info.value.code == "in_use"
    assert Variant.objects.filter(pk=sold.pk).exists()


def test_variant_delete_refuses_the_only_variant(db):
    variant = stocked_variant(0)

    with pytest.raises(InUse):
        variant_delete(variant=variant)


def test_variant_delete_of_the_default_makes_the_next_one_default(db):
    default = stocked_variant(0)
    second = VariantFactory(product=default.product)

    variant_delete(variant=default)

    second.refresh_from_db()
    assert second.is_default


def test_resolve_variant_picks_the_only_variant(db):
    variant = stocked_variant(0)

    assert resolve_variant(product=variant.product, variant=None, attr="items.0") == variant


def test_resolve_variant_asks_for_the_variant_when_there_are_several(db):
    product = stocked_variant(0).product
    VariantFactory(product=product)

    with pytest.raises(ValidationError) as info:
        resolve_variant(product=product, variant=None, attr="items.2")

    assert (info.value.code, info.value.attr) == ("required", "items.2.variant")


def test_resolve_variant_takes_the_variant_given(db):
    product = stocked_variant(0).product
    second = VariantFactory(product=product)

    assert resolve_variant(product=product, variant=second, attr="items.0") == second


def test_resolve_variant_refuses_a_variant_of_another_product(db):
    variant = stocked_variant(0)
    other = stocked_variant(0).product

    with pytest.raises(ValidationError) as info:
        resolve_variant(product=other, variant=variant, attr="items.0")

    assert info.value.attr == "items.0.variant"


def test_resolve_variant_needs_a_product_or_a_variant(db):
    with pytest.raises(ValidationError) as info:
        resolve_variant(product=None, variant=None, attr="items.0")

    assert (info.value.code, info.value.attr) == ("required", "items.0.product")
