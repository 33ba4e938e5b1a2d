"""Cancelling part of a sale, splitting a sale and cloning one (fulfilment.md), through the services and the API."""

from decimal import Decimal

import pytest

from customers.models import Customer
from inventory.models import MovementKind, StockLevel, StockMovement
from inventory.tests.factories import WarehouseFactory, stocked_variant
from sales import services
from sales.errors import InvalidTransition, SaleLocked
from sales.models import Sale, SaleEvent, SaleItem
from sales.services import ItemData, ItemQuantity, NewPayment, NewSale, ReturnLine
from sales.services.maintenance import sale_totals_drift
from sales.tests.factories import ChannelFactory, TaxRateFactory, UserFactory
from salesproject.errors import ValidationError

pytestmark = pytest.mark.django_db

D = Decimal
SALES = "/api/v1/sales/"


# --- helpers -------------------------------------------------------------------------


@pytest.fixture
def shirt(warehouse):
    return stocked_variant(20, price=D("10.00"))


@pytest.fixture
def mug(warehouse):
    return stocked_variant(20, price=D("5.00"))


def make_sale(seller, *lines, status="pending", **fields) -> Sale:
    """A sale of `lines` ((variant, quantity) or ItemData) made by the service, read back fresh."""
    items = [line if isinstance(line, ItemData) else ItemData(variant=line[0], quantity=line[1]) for line in lines]
    sale = services.sale_create(seller=seller, data=NewSale(items=items, status=status, **fields), user=seller)
    return fresh(sale)


def fresh(sale: Sale) -> Sale:
    return Sale.objects.get(pk=sale.pk)


def line(sale: Sale, variant) -> SaleItem:
    return SaleItem.objects.get(sale=sale, variant=variant)


def level(variant, warehouse) -> tuple[int, int]:
    """(on_hand, reserved) of the variant in the warehouse."""
    return StockLevel.objects.values_list("on_hand", "reserved").get(variant=variant, warehouse=warehouse)


def ledger(sale: Sale, since: int = 0) -> list[tuple[str, int, int, int]]:
    """The sale's stock movements after row `since`: (kind, variant, on_hand change, reserved change)."""
    rows = StockMovement.objects.filter(sale=sale, pk__gt=since).order_by("pk")
    return [(m.kind, m.variant_id, m.on_hand_change, m.reserved_change) for m in rows]


def last_movement() -> int:
    return StockMovement.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def events(sale: Sale, type_: str) -> list[SaleEvent]:
    return list(SaleEvent.objects.filter(sale=sale, type=type_).order_by("pk"))


def units(*pairs) -> list[ItemQuantity]:
    return [ItemQuantity(item=item, quantity=quantity) for item, quantity in pairs]


def pay(sale: Sale, amount: str, user) -> None:
    services.sale_record_payment(sale=sale, user=user, **vars(NewPayment(amount=D(amount))))


def lock(sale: Sale, staff) -> None:
    services.sale_lock_for_review(sale=sale, user=staff, reason="fraud check")


def error(response, status: int) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"type", "errors", "request_id"}, body
    return body["errors"][0]


# --- cancelling part of a sale ----------------------------------------------------------


def test_cancel_items_of_a_pending_sale_releases_their_reservation(seller, warehouse, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))
    since = last_movement()

    services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))

    assert level(shirt, warehouse) == (20, 2)
    assert level(mug, warehouse) == (20, 2)
    assert ledger(sale, since) == [(MovementKind.RELEASE, shirt.pk, 0, -1)]


def test_cancel_items_of_a_confirmed_sale_puts_them_back_on_hand(seller, warehouse, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2), status="confirmed")
    since = last_movement()

    services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 2)))

    assert level(shirt, warehouse) == (19, 0)
    assert ledger(sale, since) == [(MovementKind.RETURN, shirt.pk, +2, 0)]


def test_cancel_items_of_a_confirmed_sale_restock_where_the_units_were_taken(seller, warehouse, shirt):
    sale = make_sale(seller, (shirt, 3), status="confirmed")
    item = line(sale, shirt)
    elsewhere = WarehouseFactory()
    services.sale_update_item(item=item, user=seller, data={"warehouse": elsewhere})  # recorded only after confirm

    services.sale_cancel_items(sale=sale, user=seller, lines=units((item, 1)))

    assert level(shirt, warehouse) == (18, 0)
    assert not StockLevel.objects.filter(variant=shirt, warehouse=elsewhere, on_hand__gt=0).exists()


def test_cancel_items_of_a_draft_moves_no_stock(seller, warehouse, shirt):
    sale = make_sale(seller, (shirt, 3), status="draft")
    since = last_movement()

    services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))

    assert ledger(sale, since) == []
    assert level(shirt, warehouse) == (20, 0)


def test_cancel_items_keeps_the_sold_quantity_and_counts_the_cancelled_units(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))

    sale = services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))

    item = line(sale, shirt)
    assert (item.quantity, item.quantity_cancelled, item.quantity_active) == (3, 1, 2)
    assert fresh(sale).cancellation_status == "partial"
    assert fresh(sale).status == "pending"


def test_cancel_items_prices_the_sale_again_with_the_order_discount_reallocated(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2), discount=D("10"), discount_type="percent",
                     shipping_cost=D("4.00"))
    assert sale.grand_total == D("40.00")  # 40 − 10 % + 4 shipping

    services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))

    sale = fresh(sale)
    # 20 + 10 = 30, − 3.00 (10 %), + 4.00 shipping
    assert (sale.subtotal, sale.discount_total, sale.grand_total) == (D("30.00"), D("3.00"), D("31.00"))
    shirt_line, mug_line = line(sale, shirt), line(sale, mug)
    assert (shirt_line.subtotal, shirt_line.discount_total, shirt_line.total) == (D("20.00"), D("2.00"), D("18.00"))
    assert (mug_line.subtotal, mug_line.discount_total, mug_line.total) == (D("10.00"), D("1.00"), D("9.00"))


def test_cancelling_a_whole_line_makes_it_worth_nothing(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))

    services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, mug), 2)))

    assert fresh(sale).grand_total == D("30.00")
    assert line(sale, mug).total == D("0.00")


def test_cancel_items_refuses_a_fixed_order_discount_above_what_is_left_and_writes_nothing(
    seller, warehouse, shirt
):
    sale = make_sale(seller, (shirt, 3), discount=D("25.00"), discount_type="fixed")
    since = last_movement()

    with pytest.raises(ValidationError) as excinfo:
        services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))

    assert excinfo.value.attr == "discount"
    assert line(sale, shirt).quantity_cancelled == 0
    assert fresh(sale).grand_total == D("5.00")
    assert level(shirt, warehouse) == (20, 3)
    assert ledger(sale, since) == []


def test_cancel_items_logs_the_lines_reason_and_note(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))
    item = line(sale, shirt)

    services.sale_cancel_items(sale=sale, user=seller, lines=units((item, 2)), reason="inventory", note="short")

    [event] = events(sale, "items_cancelled")
    assert event.user == seller
    assert event.data["items"] == [{"item": item.pk, "sku": shirt.sku, "quantity": 2}]
    assert (event.data["reason"], event.data["note"]) == ("inventory", "short")


def test_cancel_items_above_what_remains_is_a_400_on_that_quantity(seller, warehouse, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))
    services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 2)))

    with pytest.raises(ValidationError) as excinfo:
        services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, mug), 1), (line(sale, shirt), 2)))

    assert (excinfo.value.code, excinfo.value.attr) == ("max_value", "items.1.quantity")
    assert line(sale, mug).quantity_cancelled == 0
    assert level(mug, warehouse) == (20, 2)


def test_cancel_items_counts_the_same_line_named_twice(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 1))
    item = line(sale, shirt)

    with pytest.raises(ValidationError) as excinfo:
        services.sale_cancel_items(sale=sale, user=seller, lines=units((item, 2), (item, 2)))

    assert excinfo.value.attr == "items.1.quantity"


def test_cancel_items_excludes_returned_units(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 1), status="confirmed")
    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=line(sale, shirt), quantity=1)])

    with pytest.raises(ValidationError) as excinfo:
        services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 3)))
    assert excinfo.value.attr == "items.0.quantity"

    services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 2)))
    assert line(sale, shirt).quantity_cancelled == 2


def test_cancel_items_refuses_an_item_of_another_sale(seller, shirt):
    sale = make_sale(seller, (shirt, 3))
    other = make_sale(seller, (shirt, 1))

    with pytest.raises(ValidationError) as excinfo:
        services.sale_cancel_items(sale=sale, user=seller, lines=units((line(other, shirt), 1)))

    assert (excinfo.value.code, excinfo.value.attr) == ("does_not_exist", "items.0.item")


@pytest.mark.parametrize("reason", ["bored", ""])
def test_cancel_items_refuses_an_unknown_reason(seller, shirt, reason):
    sale = make_sale(seller, (shirt, 3))

    with pytest.raises(ValidationError) as excinfo:
        services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 1)), reason=reason)

    assert (excinfo.value.code, excinfo.value.attr) == ("invalid_choice", "reason")


@pytest.mark.parametrize("status", ["completed", "cancelled", "rejected"])
def test_cancel_items_of_a_sale_past_confirmed_is_an_invalid_transition(seller, shirt, status):
    create_as = {"completed": "completed", "cancelled": "pending", "rejected": "pending"}[status]
    sale = make_sale(seller, (shirt, 3), status=create_as)
    if status == "cancelled":
        services.sale_cancel(sale=sale, user=seller)
    if status == "rejected":
        services.sale_reject(sale=sale, user=seller)
    item = line(sale, shirt)

    with pytest.raises(InvalidTransition):
        services.sale_cancel_items(sale=sale, user=seller, lines=units((item, 1)))


def test_cancel_items_of_a_sale_in_delivery_is_an_invalid_transition(seller, shirt):
    sale = make_sale(seller, (shirt, 3), status="confirmed")
    services.sale_fulfil(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))

    with pytest.raises(InvalidTransition):
        services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))


def test_cancelling_every_unit_left_cancels_the_sale_keeping_its_totals(seller, warehouse, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))
    services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))
    since = last_movement()

    services.sale_cancel_items(
        sale=sale, user=seller, lines=units((line(sale, shirt), 2), (line(sale, mug), 2)), reason="customer"
    )

    sale = fresh(sale)
    assert (sale.status, sale.cancellation_status, sale.cancel_reason) == ("cancelled", "full", "customer")
    assert sale.cancelled_at is not None
    assert sale.grand_total == D("30.00")  # as priced after the first cancel: not priced down to zero
    # The lines stay as they were before this whole cancel, so pricing them still gives the stored totals.
    assert [(i.quantity, i.quantity_cancelled) for i in sale.items.order_by("pk")] == [(3, 1), (2, 0)]
    # released once: by the cancel of the units, not again by the transition
    assert level(shirt, warehouse) == (20, 0)
    assert level(mug, warehouse) == (20, 0)
    assert ledger(sale, since) == [(MovementKind.RELEASE, shirt.pk, 0, -2), (MovementKind.RELEASE, mug.pk, 0, -2)]
    status_event = events(sale, "status_changed")[-1]
    assert (status_event.from_status, status_event.to_status) == ("pending", "cancelled")
    assert status_event.data["reason"] == "customer"


def test_cancelling_every_unit_of_a_confirmed_sale_restocks_them_once(seller, warehouse, shirt):
    sale = make_sale(seller, (shirt, 3), status="confirmed")

    services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 3)))

    assert fresh(sale).status == "cancelled"
    assert level(shirt, warehouse) == (20, 0)


def test_cancel_items_of_paid_units_leaves_the_sale_overpaid(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))
    pay(sale, "40.00", seller)

    services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))

    sale = fresh(sale)
    assert (sale.grand_total, sale.paid_total, sale.balance_due) == (D("30.00"), D("40.00"), D("-10.00"))
    assert sale.payment_status == "overpaid"
    assert sale.payments.count() == 1  # nothing refunded by itself


def test_cancel_items_of_a_locked_sale_is_refused(seller, staff, warehouse, shirt):
    sale = make_sale(seller, (shirt, 3))
    lock(sale, staff)

    with pytest.raises(SaleLocked):
        services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))

    assert line(sale, shirt).quantity_cancelled == 0
    assert level(shirt, warehouse) == (20, 3)


# --- a whole cancel -------------------------------------------------------------------------------


def test_cancel_is_a_full_cancellation_that_keeps_its_lines_and_totals(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))
    total = sale.grand_total

    services.sale_cancel(sale=sale, user=seller)

    sale = fresh(sale)
    assert sale.cancellation_status == "full"
    assert [(i.quantity, i.quantity_cancelled) for i in sale.items.order_by("pk")] == [(3, 0), (2, 0)]
    assert sale.grand_total == total


def test_cancel_of_a_confirmed_sale_with_returns_restocks_the_units_not_returned(seller, warehouse, shirt):
    sale = make_sale(seller, (shirt, 3), status="confirmed")
    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=line(sale, shirt), quantity=1)])

    services.sale_cancel(sale=sale, user=seller)

    item = line(sale, shirt)
    assert (item.quantity, item.quantity_returned, item.quantity_cancelled) == (3, 1, 0)
    assert level(shirt, warehouse) == (19, 0)  # the returned unit was not restocked


# --- splitting a sale ------------------------------------------------------------------------


def test_split_moves_the_units_to_a_new_sale_with_the_original_as_parent(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))

    new = services.sale_split(sale=sale, user=seller, lines=units((line(sale, shirt), 1), (line(sale, mug), 2)))

    new, sale = fresh(new), fresh(sale)
    assert new.pk != sale.pk
    assert new.parent_id == sale.pk
    assert list(sale.children.values_list("pk", flat=True)) == [new.pk]
    assert (new.status, new.seller_id) == ("pending", seller.pk)
    assert [(i.variant_id, i.quantity) for i in sale.items.order_by("pk")] == [(shirt.pk, 2)]  # mug moved whole
    assert sorted((i.variant_id, i.quantity) for i in new.items.all()) == sorted([(shirt.pk, 1), (mug.pk, 2)])
    assert new.reference != sale.reference


def test_split_moves_the_reservation_without_releasing_it(seller, warehouse, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))
    since = last_movement()

    new = services.sale_split(sale=sale, user=seller, lines=units((line(sale, shirt), 1), (line(sale, mug), 2)))

    assert level(shirt, warehouse) == (20, 3)
    assert level(mug, warehouse) == (20, 2)
    assert sorted(ledger(sale, since)) == sorted(
        [(MovementKind.RELEASE, shirt.pk, 0, -1), (MovementKind.RELEASE, mug.pk, 0, -2)]
    )
    assert sorted(ledger(new)) == sorted(
        [(MovementKind.RESERVATION, shirt.pk, 0, 1), (MovementKind.RESERVATION, mug.pk, 0, 2)]
    )
    assert set(StockMovement.objects.filter(sale=new).values_list("sale_seller", flat=True)) == {seller.pk}
    # each sale's ledger still adds up to what it holds
    for each, held in ((sale, 2), (new, 3)):
        assert sum(r for *_, r in ledger(each)) == held


def test_a_split_sale_confirms_and_cancels_on_its_own(seller, warehouse, shirt):
    sale = make_sale(seller, (shirt, 3))
    new = services.sale_split(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))

    services.sale_confirm(sale=new, user=seller)
    services.sale_cancel(sale=sale, user=seller)

    assert level(shirt, warehouse) == (19, 0)


def test_split_of_a_draft_moves_no_stock(seller, warehouse, shirt):
    sale = make_sale(seller, (shirt, 3), status="draft")

    new = services.sale_split(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))

    assert fresh(new).status == "draft"
    assert ledger(sale) == ledger(new) == []
    assert level(shirt, warehouse) == (20, 0)


def test_split_prices_both_sales_shipping_and_fixed_discount_staying_on_the_original(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2), discount=D("6.00"), discount_type="fixed",
                     shipping_cost=D("4.00"))

    new = services.sale_split(sale=sale, user=seller, lines=units((line(sale, mug), 2)))

    sale, new = fresh(sale), fresh(new)
    assert (sale.subtotal, sale.discount_total, sale.shipping_cost, sale.grand_total) == (
        D("30.00"), D("6.00"), D("4.00"), D("28.00")
    )
    assert (new.subtotal, new.discount, new.discount_total, new.shipping_cost, new.grand_total) == (
        D("10.00"), D("0.00"), D("0.00"), D("0.00"), D("10.00")
    )


def test_split_copies_a_percent_order_discount(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2), discount=D("10"), discount_type="percent")

    new = services.sale_split(sale=sale, user=seller, lines=units((line(sale, mug), 2)))

    sale, new = fresh(sale), fresh(new)
    assert (new.discount, new.discount_type, new.grand_total) == (D("10.00"), "percent", D("9.00"))
    assert sale.grand_total == D("27.00")


def test_split_shares_a_fixed_line_discount_by_units(seller, shirt):
    sale = make_sale(seller, ItemData(variant=shirt, quantity=3, discount=D("3.00")))

    new = services.sale_split(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))

    kept, moved = line(sale, shirt), line(new, shirt)
    assert (kept.discount, moved.discount) == (D("2.00"), D("1.00"))
    assert (fresh(sale).grand_total, fresh(new).grand_total) == (D("18.00"), D("9.00"))


def test_split_keeps_the_line_snapshots_and_price(seller, shirt):
    sale = make_sale(seller, ItemData(variant=shirt, quantity=3, unit_price=D("7.50")))
    original = line(sale, shirt)

    new = services.sale_split(sale=sale, user=seller, lines=units((original, 2)))

    moved = line(new, shirt)
    for field in ("product_id", "sku", "name", "unit_price", "cost_price", "tax_rate", "warehouse_id"):
        assert getattr(moved, field) == getattr(original, field), field
    assert fresh(new).grand_total == D("15.00")


def test_split_copies_the_sale_fields(seller, warehouse, shirt):
    customer = Customer.objects.create(name="Ada", email="ada@example.com")
    channel, tax = ChannelFactory(), TaxRateFactory()
    address = {"name": "Ada", "line1": "1 Main St", "city": "Rome", "country": "IT"}
    sale = make_sale(
        seller, ItemData(variant=shirt, quantity=3, unit_price=D("9.50")), customer=customer, channel=channel,
        tax=tax, prices_include_tax=True, currency="EUR",
        exchange_rate=D("1.08000000"),
        billing_address=address, shipping_address=address, delivery_mode="pickup", payment_mode="in_store",
        delivery_note="ring twice", tax_shipping=True, shipping_cost=D("2.00"),
    )

    new = fresh(services.sale_split(sale=sale, user=seller, lines=units((line(sale, shirt), 1))))

    for field in (
        "seller_id", "customer_id", "channel_id", "warehouse_id", "currency", "exchange_rate", "tax_id", "tax_rate",
        "prices_include_tax", "tax_shipping", "billing_address", "shipping_address", "shipping_country",
        "delivery_mode", "payment_mode", "delivery_note", "status",
    ):
        assert getattr(new, field) == getattr(sale, field), field
    assert new.shipping_cost == D("0.00")


def test_split_keeps_a_line_whose_other_units_were_cancelled(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 1))
    services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))

    new = services.sale_split(sale=sale, user=seller, lines=units((line(sale, shirt), 2)))

    kept = line(sale, shirt)
    assert (kept.quantity, kept.quantity_cancelled, kept.total) == (1, 1, D("0.00"))
    assert line(new, shirt).quantity == 2
    assert fresh(sale).grand_total == D("5.00")


def test_split_of_every_unit_is_refused(seller, warehouse, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))

    with pytest.raises(ValidationError) as excinfo:
        services.sale_split(sale=sale, user=seller, lines=units((line(sale, shirt), 3), (line(sale, mug), 2)))

    assert excinfo.value.attr == "items"
    assert Sale.objects.count() == 1


def test_split_above_a_line_is_a_400_on_that_quantity(seller, shirt):
    sale = make_sale(seller, (shirt, 3))

    with pytest.raises(ValidationError) as excinfo:
        services.sale_split(sale=sale, user=seller, lines=units((line(sale, shirt), 4)))

    assert (excinfo.value.code, excinfo.value.attr) == ("max_value", "items.0.quantity")


@pytest.mark.parametrize("status", ["confirmed", "completed"])
def test_split_after_pending_is_an_invalid_transition(seller, shirt, status):
    sale = make_sale(seller, (shirt, 3), status=status)

    with pytest.raises(InvalidTransition):
        services.sale_split(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))


def test_split_logs_on_both_sales(seller, shirt):
    sale = make_sale(seller, (shirt, 3))
    item = line(sale, shirt)

    new = services.sale_split(sale=sale, user=seller, lines=units((item, 1)))

    [split] = events(sale, "split")
    moved = line(new, shirt)
    assert (split.data["new_sale"], split.data["new_reference"]) == (new.pk, new.reference)
    assert split.data["items"] == [{"item": item.pk, "sku": shirt.sku, "quantity": 1, "new_item": moved.pk}]
    [created] = events(new, "created")
    assert (created.data["parent"], created.data["status"]) == (sale.pk, "pending")


def test_split_leaves_the_payments_on_the_original(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))
    pay(sale, "40.00", seller)

    new = services.sale_split(sale=sale, user=seller, lines=units((line(sale, mug), 2)))

    sale, new = fresh(sale), fresh(new)
    assert (sale.paid_total, sale.payment_status, sale.balance_due) == (D("40.00"), "overpaid", D("-10.00"))
    assert (new.paid_total, new.payment_status, new.balance_due) == (D("0.00"), "unpaid", D("10.00"))
    assert not new.payments.exists()


def test_split_of_a_locked_sale_is_refused(seller, staff, shirt):
    sale = make_sale(seller, (shirt, 3))
    lock(sale, staff)

    with pytest.raises(SaleLocked):
        services.sale_split(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))

    assert Sale.objects.count() == 1


# --- cloning a sale ------------------------------------------------------------------------


def test_clone_as_exchange_keeps_the_unit_prices(seller, shirt):
    sale = make_sale(seller, ItemData(variant=shirt, quantity=2, unit_price=D("8.00")), status="completed")

    clone = fresh(services.sale_clone(sale=sale, user=seller, reason="exchange"))

    assert line(clone, shirt).unit_price == D("8.00")
    assert clone.grand_total == D("16.00")


def test_clone_as_new_sale_takes_the_catalogue_price(seller, shirt):
    sale = make_sale(seller, ItemData(variant=shirt, quantity=2, unit_price=D("8.00"), discount=D("1.00")))

    clone = fresh(services.sale_clone(sale=sale, user=seller, reason="new_sale"))

    item = line(clone, shirt)
    assert (item.unit_price, item.discount) == (D("10.00"), D("0.00"))
    assert clone.grand_total == D("20.00")


def test_clone_is_a_draft_by_default_linked_to_its_source(seller, warehouse, shirt):
    sale = make_sale(seller, (shirt, 3), status="confirmed")

    clone = fresh(services.sale_clone(sale=sale, user=seller, reason="exchange"))

    assert (clone.status, clone.cloned_from_id, clone.clone_reason, clone.parent_id) == (
        "draft", sale.pk, "exchange", None
    )
    assert level(shirt, warehouse) == (17, 0)  # a draft holds nothing
    [event] = events(sale, "cloned")
    assert (event.data["new_sale"], event.data["new_reference"], event.data["reason"]) == (
        clone.pk, clone.reference, "exchange"
    )


def test_clone_as_pending_reserves_its_stock(seller, warehouse, shirt):
    sale = make_sale(seller, (shirt, 3), status="completed")

    clone = services.sale_clone(sale=sale, user=seller, reason="new_sale", status="pending")

    assert fresh(clone).status == "pending"
    assert level(shirt, warehouse) == (17, 3)


def test_clone_copies_the_units_not_cancelled_by_default(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))
    services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 1), (line(sale, mug), 2)))

    clone = services.sale_clone(sale=sale, user=seller, reason="new_sale")

    assert [(i.variant_id, i.quantity) for i in fresh(clone).items.order_by("pk")] == [(shirt.pk, 2)]


def test_clone_of_a_cancelled_sale_reorders_what_it_sold(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))
    services.sale_cancel(sale=sale, user=seller)

    clone = services.sale_clone(sale=sale, user=seller, reason="new_sale")

    assert sorted((i.variant_id, i.quantity) for i in fresh(clone).items.all()) == sorted(
        [(shirt.pk, 3), (mug.pk, 2)]
    )


def test_clone_of_some_units(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2), status="completed")

    clone = services.sale_clone(sale=sale, user=seller, reason="exchange", lines=units((line(sale, mug), 1)))

    assert [(i.variant_id, i.quantity) for i in fresh(clone).items.all()] == [(mug.pk, 1)]


def test_clone_above_a_line_is_a_400_on_that_quantity(seller, shirt):
    sale = make_sale(seller, (shirt, 3))

    with pytest.raises(ValidationError) as excinfo:
        services.sale_clone(sale=sale, user=seller, reason="exchange", lines=units((line(sale, shirt), 4)))

    assert (excinfo.value.code, excinfo.value.attr) == ("max_value", "items.0.quantity")


@pytest.mark.parametrize(("fields", "attr"), [({"reason": "gift"}, "reason"), ({"status": "confirmed"}, "status")])
def test_clone_refuses_an_unknown_reason_or_status(seller, shirt, fields, attr):
    sale = make_sale(seller, (shirt, 3))

    with pytest.raises(ValidationError) as excinfo:
        services.sale_clone(sale=sale, user=seller, **{"reason": "exchange", **fields})

    assert (excinfo.value.code, excinfo.value.attr) == ("invalid_choice", attr)


def test_clone_copies_the_customer_and_addresses_but_no_money(seller, shirt):
    customer = Customer.objects.create(name="Ada", email="ada@example.com")
    address = {"name": "Ada", "line1": "1 Main St", "city": "Rome", "country": "IT"}
    channel = ChannelFactory()
    sale = make_sale(
        seller, (shirt, 2), customer=customer, channel=channel, billing_address=address, shipping_address={},
        delivery_mode="pickup", payment_mode="prepaid", shipping_cost=D("4.00"), note="gift",
    )
    pay(sale, "24.00", seller)

    clone = fresh(services.sale_clone(sale=sale, user=seller, reason="exchange"))

    assert (clone.customer_id, clone.channel_id, clone.billing_address, clone.shipping_address) == (
        customer.pk, channel.pk, address, {}
    )
    assert (clone.delivery_mode, clone.payment_mode) == ("pickup", "prepaid")
    assert (clone.shipping_cost, clone.paid_total, clone.note) == (D("0.00"), D("0.00"), "")
    assert not clone.payments.exists()
    assert not clone.fulfillments.exists()
    assert clone.fulfillment_status == "unfulfilled"


def test_a_locked_sale_can_be_cloned(seller, staff, shirt):
    sale = make_sale(seller, (shirt, 3), status="completed")
    lock(sale, staff)

    clone = services.sale_clone(sale=sale, user=seller, reason="exchange")

    assert fresh(clone).cloned_from_id == sale.pk
    assert len(events(sale, "cloned")) == 1


# --- the API -------------------------------------------------------------------------------


def url(sale_id: int, route: str) -> str:
    return f"{SALES}{sale_id}/{route}/"


def test_api_cancel_items_answers_the_sale(api_client, seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))
    item = line(sale, shirt)

    response = api_client(seller).post(
        url(sale.pk, "cancel-items"), {"items": [{"item": item.pk, "quantity": 1}], "reason": "customer"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["status"], body["cancellation_status"], body["grand_total"]) == (
        sale.pk, "pending", "partial", "30.00"
    )
    assert body["total_quantity"] == 4
    shirt_line = next(i for i in body["items"] if i["id"] == item.pk)
    assert (shirt_line["quantity"], shirt_line["quantity_cancelled"]) == (3, 1)


def test_api_cancel_items_of_every_unit_cancels_the_sale(api_client, seller, shirt):
    sale = make_sale(seller, (shirt, 3))

    body = api_client(seller).post(
        url(sale.pk, "cancel-items"), {"items": [{"item": line(sale, shirt).pk, "quantity": 3}]}, format="json"
    ).json()

    assert (body["status"], body["cancellation_status"], body["cancel_reason"]) == ("cancelled", "full", "other")


def test_api_cancel_items_errors(api_client, seller, shirt):
    client = api_client(seller)
    sale = make_sale(seller, (shirt, 3))
    item = line(sale, shirt)
    path = url(sale.pk, "cancel-items")

    too_many = error(client.post(path, {"items": [{"item": item.pk, "quantity": 4}]}, format="json"), 400)
    assert (too_many["code"], too_many["attr"]) == ("max_value", "items.0.quantity")
    zero = error(client.post(path, {"items": [{"item": item.pk, "quantity": 0}]}, format="json"), 400)
    assert zero["attr"] == "items.0.quantity"
    unknown = error(client.post(path, {"items": [{"item": item.pk, "quantity": 1}], "why": "x"}, format="json"), 400)
    assert (unknown["code"], unknown["attr"]) == ("unknown_field", "why")
    reason = error(
        client.post(path, {"items": [{"item": item.pk, "quantity": 1}], "reason": "bored"}, format="json"), 400
    )
    assert (reason["code"], reason["attr"]) == ("invalid_choice", "reason")
    empty = error(client.post(path, {"items": []}, format="json"), 400)
    assert empty["attr"].startswith("items")

    services.sale_confirm(sale=sale, user=seller)
    services.sale_ship(sale=sale, user=seller)
    refused = error(client.post(path, {"items": [{"item": item.pk, "quantity": 1}]}, format="json"), 409)
    assert refused["code"] == "invalid_transition"


def test_api_structure_routes_of_another_sellers_sale_are_404(api_client, seller, shirt):
    sale = make_sale(seller, (shirt, 3))
    item = line(sale, shirt)
    client = api_client(UserFactory())
    bodies = {
        "cancel-items": {"items": [{"item": item.pk, "quantity": 1}]},
        "split": {"items": [{"item": item.pk, "quantity": 1}]},
        "clone": {"reason": "exchange"},
    }

    for route, body in bodies.items():
        assert client.post(url(sale.pk, route), body, format="json").status_code == 404, route

    assert line(sale, shirt).quantity_cancelled == 0
    assert Sale.objects.count() == 1


def test_api_structure_routes_of_a_locked_sale(api_client, seller, staff, shirt):
    sale = make_sale(seller, (shirt, 3))
    item = line(sale, shirt)
    lock(sale, staff)
    client = api_client(seller)

    for route in ("cancel-items", "split"):
        refused = error(client.post(url(sale.pk, route), {"items": [{"item": item.pk, "quantity": 1}]},
                                    format="json"), 409)
        assert refused["code"] == "sale_locked", route
    assert client.post(url(sale.pk, "clone"), {"reason": "exchange"}, format="json").status_code == 201


def test_api_split_answers_the_new_sale(api_client, seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))
    client = api_client(seller)

    response = client.post(
        url(sale.pk, "split"), {"items": [{"item": line(sale, mug).pk, "quantity": 2}]}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] != sale.pk
    assert (body["parent"], body["is_partial"], body["status"], body["grand_total"]) == (
        sale.pk, True, "pending", "10.00"
    )
    assert [(i["variant"], i["quantity"]) for i in body["items"]] == [(mug.pk, 2)]
    original = client.get(f"{SALES}{sale.pk}/").json()
    assert (original["children"], original["is_partial"], original["grand_total"]) == ([body["id"]], True, "30.00")


def test_api_split_errors(api_client, seller, shirt):
    client = api_client(seller)
    sale = make_sale(seller, (shirt, 3))
    path = url(sale.pk, "split")

    everything = error(client.post(path, {"items": [{"item": line(sale, shirt).pk, "quantity": 3}]}, format="json"),
                       400)
    assert everything["attr"] == "items"
    missing = error(client.post(path, {}, format="json"), 400)
    assert (missing["code"], missing["attr"]) == ("required", "items")

    services.sale_confirm(sale=sale, user=seller)
    refused = error(client.post(path, {"items": [{"item": line(sale, shirt).pk, "quantity": 1}]}, format="json"),
                    409)
    assert refused["code"] == "invalid_transition"


def test_api_clone_answers_the_new_sale(api_client, seller, shirt):
    sale = make_sale(seller, ItemData(variant=shirt, quantity=2, unit_price=D("8.00")), status="completed")

    response = api_client(seller).post(
        url(sale.pk, "clone"), {"reason": "new_sale", "status": "pending"}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["cloned_from"], body["clone_reason"], body["grand_total"]) == (
        "pending", sale.pk, "new_sale", "20.00"
    )
    assert body["payments"] == []


def test_api_clone_errors(api_client, seller, shirt):
    client = api_client(seller)
    sale = make_sale(seller, (shirt, 3))
    path = url(sale.pk, "clone")

    reason = error(client.post(path, {"reason": "gift"}, format="json"), 400)
    assert (reason["code"], reason["attr"]) == ("invalid_choice", "reason")
    status = error(client.post(path, {"reason": "exchange", "status": "confirmed"}, format="json"), 400)
    assert (status["code"], status["attr"]) == ("invalid_choice", "status")
    too_many = error(
        client.post(path, {"reason": "exchange", "items": [{"item": line(sale, shirt).pk, "quantity": 9}]},
                    format="json"),
        400,
    )
    assert (too_many["code"], too_many["attr"]) == ("max_value", "items.0.quantity")


@pytest.mark.parametrize("route", ["cancel-items", "split", "clone"])
def test_api_structure_routes_replay_an_idempotency_key(api_client, seller, warehouse, shirt, route):
    sale = make_sale(seller, (shirt, 3))
    item = line(sale, shirt)
    body = {"reason": "exchange"} if route == "clone" else {"items": [{"item": item.pk, "quantity": 1}]}
    client = api_client(seller)

    first = client.post(url(sale.pk, route), body, format="json", HTTP_IDEMPOTENCY_KEY=f"{route}-1")
    again = client.post(url(sale.pk, route), body, format="json", HTTP_IDEMPOTENCY_KEY=f"{route}-1")

    assert first.status_code in (200, 201), first.json()
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert line(sale, shirt).quantity_cancelled == (1 if route == "cancel-items" else 0)
    assert Sale.objects.count() == (1 if route == "cancel-items" else 2)
    assert level(shirt, warehouse) == (20, 2 if route == "cancel-items" else 3)


def test_cancelling_units_after_a_return_keeps_returned_total_true(seller, shirt):
    sale = make_sale(seller, (shirt, 3), status="confirmed")
    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=line(sale, shirt), quantity=1)])

    services.sale_cancel_items(sale=sale, user=seller, lines=units((line(sale, shirt), 1)))

    sale = fresh(sale)
    assert sale.returned_total == line(sale, shirt).total / 2  # one of the two units still sold
    assert sale_totals_drift(sale=sale) is None
