"""Real concurrent fulfilments, partial cancels and splits on PostgreSQL (fulfilment.md).

Every one of these services locks the sale row first, so racing calls from their own connections
are serialised on it: fulfilment numbers never collide or skip, a unit is never both cancelled and
fulfilled, and a reservation moved by a split is never lost or counted twice.
"""

from decimal import Decimal

import pytest

from inventory.models import StockLevel
from inventory.services.audit import inventory_drift
from inventory.tests.factories import stocked_variant
from inventory.tests.test_concurrency import assert_nothing_negative, errors_of, run_together
from sales import services
from sales.errors import InvalidTransition
from sales.models import Fulfillment, Sale, SaleItem
from sales.services import ItemData, ItemQuantity, NewSale
from salesproject.errors import DomainError, ValidationError

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

D = Decimal
WORKERS = 8
ROUNDS = 4


def make_sale(seller, *lines, status="confirmed") -> Sale:
    items = [ItemData(variant=variant, quantity=quantity) for variant, quantity in lines]
    sale = services.sale_create(seller=seller, data=NewSale(items=items, status=status))
    return Sale.objects.get(pk=sale.pk)


def assert_stock_agrees() -> None:
    assert inventory_drift() == []
    assert_nothing_negative()


# --- (a) many fulfilments of one sale at once -------------------------------------------


def test_racing_fulfilments_of_one_unit_are_numbered_f1_to_f8(seller, warehouse):
    sale = make_sale(seller, (stocked_variant(20, price=D("4.00")), 10))
    item = sale.items.get()

    def fulfil_one():
        return services.sale_fulfil(sale=sale.pk, user=None, lines=[ItemQuantity(item=item.pk, quantity=1)])

    outcomes = run_together(*[fulfil_one] * WORKERS)

    assert errors_of(outcomes) == []
    numbers = sorted((o.value.sequence, o.value.number) for o in outcomes)
    assert numbers == [(n, f"{sale.reference}-F{n}") for n in range(1, WORKERS + 1)]
    stored = list(Fulfillment.objects.filter(sale=sale).order_by("sequence").values_list("number", flat=True))
    assert stored == [f"{sale.reference}-F{n}" for n in range(1, WORKERS + 1)]
    item.refresh_from_db()
    sale.refresh_from_db()
    assert item.quantity_fulfilled == WORKERS
    assert (sale.status, sale.fulfillment_status, sale.delivery_status) == (
        "in_delivery", "partially_fulfilled", "shipped"
    )
    # the ship transition ran once, by the first fulfilment
    assert sale.events.filter(type="status_changed", to_status="in_delivery").count() == 1
    assert_stock_agrees()


# --- (b) cancel-items against a fulfilment of the same last units ----------------------------


@pytest.mark.parametrize(
    ("sold", "cancelled", "fulfilled"),
    [
        (2, 2, 2),  # both want every unit: a whole cancel against the first fulfilment
        (3, 2, 2),  # each wants 2 of 3: after either, the other one's units are not there
    ],
)
def test_cancel_items_and_fulfil_racing_on_the_last_units_one_wins(seller, warehouse, sold, cancelled, fulfilled):
    variant = stocked_variant(ROUNDS * sold, price=D("10.00"))
    winners = []
    for _ in range(ROUNDS):
        sale = make_sale(seller, (variant, sold))
        item = sale.items.get()

        outcomes = run_together(
            lambda sale=sale, item=item: services.sale_cancel_items(
                sale=sale.pk, user=None, lines=[ItemQuantity(item=item.pk, quantity=cancelled)]
            ),
            lambda sale=sale, item=item: services.sale_fulfil(
                sale=sale.pk, user=None, lines=[ItemQuantity(item=item.pk, quantity=fulfilled)]
            ),
        )

        errors = errors_of(outcomes)
        assert len(errors) == 1, errors
        [error] = errors
        assert isinstance(error, DomainError) and error.status_code in (400, 409), repr(error)
        assert isinstance(error, InvalidTransition | ValidationError), repr(error)
        cancel_won = outcomes[0].ok
        winners.append("cancel" if cancel_won else "fulfil")

        item.refresh_from_db()
        sale.refresh_from_db()
        assert item.quantity_cancelled + item.quantity_fulfilled <= item.quantity
        assert item.quantity_fulfilled <= item.quantity_active
        live = sum(line.quantity for f in sale.fulfillments.exclude(status__in=["failed", "returned"])
                   for line in f.lines.all())
        assert item.quantity_fulfilled == live
        if cancel_won:
            assert (item.quantity_cancelled, item.quantity_fulfilled) == (
                (0, 0) if cancelled == sold else (cancelled, 0)  # a whole cancel keeps its lines as sold
            )
            assert sale.status == ("cancelled" if cancelled == sold else "confirmed")
            assert not sale.fulfillments.exists()
        else:
            assert (item.quantity_cancelled, item.quantity_fulfilled) == (0, fulfilled)
            assert sale.status == "in_delivery"
        assert_stock_agrees()

    # what the stock says: every cancelled unit came back on hand, no unit came back twice
    cancelled_back = sum(
        item.quantity if item.sale.status == "cancelled" else item.quantity_cancelled
        for item in SaleItem.objects.filter(sale__seller=seller, variant=variant).select_related("sale")
    )
    level = StockLevel.objects.get(variant=variant, warehouse=warehouse)
    assert level.on_hand == ROUNDS * sold - ROUNDS * sold + cancelled_back
    print(f"\n{sold}/{cancelled}/{fulfilled}: winners {winners}")


# --- (c) two splits of one pending sale ---------------------------------------------------


def pending_reserved(variant) -> int:
    return sum(
        item.quantity_active for item in SaleItem.objects.filter(variant=variant, sale__status="pending")
    )


@pytest.mark.parametrize(
    ("sold", "each", "both_fit"),
    [
        (6, 2, True),  # both splits fit: three sales hold 2 + 2 + 2
        (4, 2, False),  # the second split would move every unit left (no other line): refused with 400
    ],
)
def test_racing_splits_keep_the_reservation_where_the_pending_sales_are(seller, warehouse, sold, each, both_fit):
    shirt = stocked_variant(sold + 2, price=D("10.00"))
    mug = stocked_variant(5, price=D("5.00"))
    # without the mug, the second split of (4, 2) would leave the sale no unit at all
    lines = [(shirt, sold), (mug, 1)] if both_fit else [(shirt, sold)]
    sale = make_sale(seller, *lines, status="pending")
    shirt_line = sale.items.get(variant=shirt)

    def split():
        return services.sale_split(sale=sale.pk, user=None, lines=[ItemQuantity(item=shirt_line.pk, quantity=each)])

    outcomes = run_together(split, split)

    errors = errors_of(outcomes)
    if both_fit:
        assert errors == []
    else:
        assert len(errors) == 1 and isinstance(errors[0], ValidationError), errors
    children = Sale.objects.filter(parent=sale)
    assert children.count() == (2 if both_fit else 1)
    assert all(child.status == "pending" for child in children)
    assert sorted(child.items.get().quantity for child in children) == [each] * children.count()
    shirt_line.refresh_from_db()
    assert shirt_line.quantity == sold - each * children.count()

    assert_stock_agrees()
    for variant in (shirt, mug):
        level = StockLevel.objects.get(variant=variant, warehouse=warehouse)
        assert level.reserved == pending_reserved(variant)
    assert StockLevel.objects.get(variant=shirt, warehouse=warehouse).reserved == sold
