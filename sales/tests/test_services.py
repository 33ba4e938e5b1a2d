"""Sale services: create, edit, delete, item updates, shipping details, returns and payment bookkeeping."""

from decimal import Decimal

import pytest

from customers import services as customer_services
from customers.models import AddressKind
from customers.tests.factories import AddressFactory, CustomerFactory
from inventory import services as stock_services
from inventory.models import StockLevel, StockMovement
from inventory.services import InsufficientStock
from inventory.tests.factories import VariantFactory, WarehouseFactory, stocked_variant
from payments import services as payment_services
from payments.models import Payment, PaymentKind
from sales import services
from sales.errors import InvalidTransition, SaleLocked
from sales.models import Sale, SaleEvent, SaleItem
from sales.services import ItemData, NewPayment, ReturnLine, charged_for_units, derive_payment_status
from sales.tests.factories import CarrierFactory, StaffFactory, TaxRateFactory
from salesproject.errors import DuplicateReference, ValidationError

pytestmark = pytest.mark.django_db

D = Decimal


# --- helpers ---


def level(variant, warehouse) -> tuple[int, int]:
    """(on_hand, reserved) of one stock row."""
    return StockLevel.objects.values_list("on_hand", "reserved").get(variant=variant, warehouse=warehouse)


def world() -> dict:
    """Every row a failed service call must leave exactly as it was."""
    return {
        "sales": list(Sale.objects.order_by("pk").values()),
        "items": list(SaleItem.objects.order_by("pk").values()),
        "events": list(SaleEvent.objects.order_by("pk").values_list("pk", "type")),
        "stock": list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "reserved")),
        "movements": StockMovement.objects.count(),
        "payments": list(Payment.objects.order_by("pk").values_list("pk", "sale_id", "amount", "kind")),
    }


def new_movements(sale: Sale, since: int) -> list[tuple[int, str, int, int]]:
    """(variant, kind, on_hand change, reserved change) of the sale's ledger rows after row `since`."""
    return list(
        StockMovement.objects.filter(sale=sale, pk__gt=since)
        .order_by("pk")
        .values_list("variant_id", "kind", "on_hand_change", "reserved_change")
    )


def last_movement_id() -> int:
    return StockMovement.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def create(seller, *lines: tuple, status: str = "pending", **kwargs) -> Sale:
    """A sale of (variant, quantity) lines."""
    items = [ItemData(variant=variant, quantity=quantity) for variant, quantity in lines]
    return services.sale_create(seller=seller, data=services.NewSale(items=items, status=status, **kwargs))


def sale_in(state: str, seller, variant, quantity: int = 2) -> Sale:
    """A one-line sale brought to `state` through the services."""
    create_as = {"in_delivery": "confirmed", "cancelled": "pending", "rejected": "pending", "refunded": "completed"}
    sale = create(seller, (variant, quantity), status=create_as.get(state, state))
    if state == "in_delivery":
        services.sale_ship(sale=sale, user=seller)
    elif state == "cancelled":
        services.sale_cancel(sale=sale, user=seller, reason="customer")
    elif state == "rejected":
        services.sale_reject(sale=sale, user=seller)
    elif state == "refunded":
        services.sale_refund(sale=sale, user=StaffFactory(is_superuser=True))
    sale = Sale.objects.get(pk=sale.pk)
    assert sale.status == state
    return sale


def reload(sale: Sale) -> Sale:
    return Sale.objects.get(pk=sale.pk)


# --- create ---



@pytest.fixture(autouse=True)
def seller_may_refund(seller):
    """These tests give money back as `seller`: every way of doing so needs `sales.refund_sale`."""
    from django.contrib.auth.models import Permission

    seller.user_permissions.add(Permission.objects.get(codename="refund_sale", content_type__app_label="sales"))

def test_create_as_draft_reserves_nothing(seller, warehouse):
    variant = stocked_variant(10)

    sale = create(seller, (variant, 3), status="draft")

    assert level(variant, warehouse) == (10, 0)
    assert not StockMovement.objects.filter(sale=sale).exists()


def test_create_as_pending_reserves_stock(seller, warehouse):
    variant = stocked_variant(10)

    create(seller, (variant, 3), status="pending")

    assert level(variant, warehouse) == (10, 3)


@pytest.mark.parametrize("status", ["confirmed", "completed"])
def test_create_as_confirmed_or_completed_commits_stock(status, seller, warehouse):
    variant = stocked_variant(10)

    sale = create(seller, (variant, 3), status=status)

    assert level(variant, warehouse) == (7, 0)
    assert reload(sale).status == status


@pytest.mark.parametrize(
    ("status", "steps"),
    [
        ("draft", []),
        ("pending", [("draft", "pending")]),
        ("confirmed", [("draft", "pending"), ("pending", "confirmed")]),
        ("completed", [("draft", "pending"), ("pending", "confirmed"), ("confirmed", "completed")]),
    ],
)
def test_create_logs_created_then_one_status_change_per_step(status, steps, seller, warehouse):
    sale = create(seller, (stocked_variant(10), 1), status=status)

    events = list(SaleEvent.objects.filter(sale=sale).order_by("pk"))

    # A sale created completed records its units as one fulfilment that arrived.
    fulfilled = ["fulfillment_created"] if status == "completed" else []
    assert [e.type for e in events] == ["created"] + ["status_changed"] * len(steps) + fulfilled
    assert [(e.from_status, e.to_status) for e in events if e.type == "status_changed"] == steps


def test_create_as_completed_sets_confirmed_and_completed_at(seller, warehouse):
    sale = reload(create(seller, (stocked_variant(10), 1), status="completed"))

    assert sale.confirmed_at is not None
    assert sale.completed_at is not None
    assert sale.fulfillment_status == "fulfilled"


def test_create_generates_reference_from_number(seller, warehouse):
    sale = reload(create(seller, (stocked_variant(10), 1)))

    assert sale.number == sale.pk
    assert sale.reference == f"S-{sale.pk:06d}"


def test_create_keeps_a_supplied_reference(seller, warehouse):
    sale = reload(create(seller, (stocked_variant(10), 1), reference="POS-42"))

    assert sale.reference == "POS-42"
    assert sale.number == sale.pk


def test_create_with_taken_reference_raises_duplicate_reference(seller, warehouse):
    variant = stocked_variant(10)
    create(seller, (variant, 1), reference="POS-1")
    before = world()

    with pytest.raises(DuplicateReference) as info:
        create(seller, (variant, 2), reference="POS-1")

    assert info.value.code == "duplicate_reference"
    assert info.value.attr == "reference"
    assert world() == before


@pytest.mark.parametrize("status", ["in_delivery", "cancelled", "rejected", "refunded", "nope"])
def test_create_with_a_non_initial_status_is_rejected(status, seller, warehouse):
    variant = stocked_variant(10)

    with pytest.raises(ValidationError) as info:
        create(seller, (variant, 1), status=status)

    assert info.value.attr == "status"
    assert not Sale.objects.exists()
    assert level(variant, warehouse) == (10, 0)


# --- a failure midway leaves nothing behind ---


@pytest.mark.parametrize("status", ["pending", "confirmed", "completed"])
def test_create_short_on_third_line_raises_insufficient_stock(status, seller, warehouse):
    first, second, third = stocked_variant(10), stocked_variant(10), stocked_variant(1)

    with pytest.raises(InsufficientStock) as info:
        create(seller, (first, 2), (second, 3), (third, 2), status=status)

    error = info.value
    assert error.code == "insufficient_stock"
    assert error.attr == "items.2.quantity"
    assert [(s.sku, s.requested, s.available, s.attr) for s in error.shortages] == [
        (third.sku, 2, 1, "items.2.quantity")
    ]


@pytest.mark.parametrize("status", ["pending", "confirmed", "completed"])
def test_create_short_on_third_line_leaves_nothing_behind(status, seller, warehouse):
    first, second, third = stocked_variant(10), stocked_variant(10), stocked_variant(1)
    before = world()

    with pytest.raises(InsufficientStock):
        create(
            seller,
            (first, 2),
            (second, 3),
            (third, 2),
            status=status,
            payments=[NewPayment(amount=D("5.00"), reference="TX-SHORT")],
        )

    assert world() == before


def test_create_with_duplicate_payment_reference_leaves_nothing_behind(seller, warehouse):
    payment_services.payment_record(amount=D("20.00"), reference="TX-1")
    variant = stocked_variant(10)
    before = world()

    with pytest.raises(DuplicateReference) as info:
        create(seller, (variant, 2), status="completed", payments=[NewPayment(amount=D("20.00"), reference="TX-1")])

    assert info.value.attr == "payments.0.reference"
    assert world() == before
    assert level(variant, warehouse) == (10, 0)


def test_create_with_fixed_line_discount_above_the_line_leaves_nothing_behind(seller, warehouse):
    first, second = stocked_variant(10), stocked_variant(10)
    before = world()
    items = [
        ItemData(variant=first, quantity=1),
        ItemData(variant=second, quantity=2, discount=D("20.01"), discount_type="fixed"),
    ]

    with pytest.raises(ValidationError) as info:
        services.sale_create(seller=seller, data=services.NewSale(items=items, status="confirmed"))

    assert info.value.attr == "items.1.discount"
    assert world() == before


# --- snapshots: catalogue and customer edits never rewrite a sale ---


def test_catalogue_edits_after_a_sale_do_not_change_its_items(seller, warehouse):
    tax = TaxRateFactory()
    variant = stocked_variant(10, name="Blue mug", price=D("10.00"), cost_price=D("6.00"))
    sku = variant.sku
    sale = create(seller, (variant, 2), status="confirmed", tax=tax)

    product = variant.product
    product.name, product.price, product.cost_price = "Red mug", D("99.00"), D("50.00")
    product.save()
    variant.sku, variant.price, variant.cost_price = "MUG-NEW", D("77.00"), D("40.00")
    variant.save()
    tax.rate = D("20.00")
    tax.save()

    item = SaleItem.objects.get(sale=sale)
    assert (item.name, item.sku, item.unit_price, item.cost_price, item.tax_rate) == (
        "Blue mug",
        sku,
        D("10.00"),
        D("6.00"),
        D("5.00"),
    )
    assert (item.subtotal, item.tax_total, item.total) == (D("20.00"), D("1.00"), D("21.00"))


def test_catalogue_edits_after_a_sale_do_not_change_its_totals(seller, warehouse):
    tax = TaxRateFactory()
    variant = stocked_variant(10, price=D("10.00"))
    sale = create(seller, (variant, 2), status="confirmed", tax=tax)

    variant.price = D("77.00")
    variant.save()
    tax.rate = D("20.00")
    tax.save()

    sale = reload(sale)
    assert (sale.tax_rate, sale.subtotal, sale.tax_total, sale.grand_total) == (
        D("5.00"),
        D("20.00"),
        D("1.00"),
        D("21.00"),
    )


def test_repricing_a_pending_sale_after_catalogue_edits_keeps_line_snapshots(seller, warehouse):
    tax = TaxRateFactory()
    variant = stocked_variant(10, price=D("10.00"))
    sale = create(seller, (variant, 2), status="pending", tax=tax)
    variant.price = D("77.00")
    variant.save()
    tax.rate = D("20.00")
    tax.save()

    services.sale_update(sale=sale, user=seller, data={"discount": D("2.00")})

    sale = reload(sale)
    item = SaleItem.objects.get(sale=sale)
    assert (item.unit_price, item.tax_rate) == (D("10.00"), D("5.00"))
    assert (sale.subtotal, sale.discount_total, sale.tax_total, sale.grand_total) == (
        D("20.00"),
        D("2.00"),
        D("0.90"),
        D("18.90"),
    )


def test_create_with_only_a_customer_copies_its_default_addresses(seller, warehouse):
    customer = CustomerFactory()
    AddressFactory(customer=customer, kind=AddressKind.SHIPPING, is_default=False, line1="1 Old Road")
    shipping = AddressFactory(customer=customer, kind=AddressKind.SHIPPING, is_default=True, country="FR")
    billing = AddressFactory(customer=customer, kind=AddressKind.BILLING, is_default=True, line1="2 Bill St")

    sale = reload(create(seller, (stocked_variant(10), 1), customer=customer))

    assert sale.billing_address == billing.snapshot()
    assert sale.shipping_address == shipping.snapshot()
    assert sale.shipping_country == "FR"


def test_editing_the_customer_addresses_does_not_change_the_sale_snapshot(seller, warehouse):
    customer = CustomerFactory()
    billing = AddressFactory(customer=customer, kind=AddressKind.BILLING, line1="2 Bill St")
    shipping = AddressFactory(customer=customer, kind=AddressKind.SHIPPING, line1="3 Ship Rd", country="IT")
    sale = create(seller, (stocked_variant(10), 1), customer=customer)
    expected = (billing.snapshot(), shipping.snapshot())

    customer_services.customer_update(
        customer=customer,
        data={
            "addresses": [
                {"kind": "billing", "line1": "9 New Ave", "country": "DE"},
                {"kind": "shipping", "line1": "8 New Ave", "country": "DE"},
            ]
        },
    )
    assert not customer.addresses.filter(line1="3 Ship Rd").exists()

    sale = reload(sale)
    assert (sale.billing_address, sale.shipping_address) == expected
    assert sale.shipping_country == "IT"


def test_editing_an_address_row_does_not_change_the_sale_snapshot(seller, warehouse):
    customer = CustomerFactory()
    shipping = AddressFactory(customer=customer, kind=AddressKind.SHIPPING, line1="3 Ship Rd")
    sale = create(seller, (stocked_variant(10), 1), customer=customer)

    shipping.line1 = "Somewhere else"
    shipping.save()

    assert reload(sale).shipping_address["line1"] == "3 Ship Rd"


# --- money: the domain's examples ---


def pos_sale(seller, **kwargs) -> Sale:
    lines = [
        (stocked_variant(10, price=D(price)), quantity)
        for price, quantity in (("80.00", 2), ("90.00", 2), ("100.00", 10))
    ]
    return create(
        seller, *lines, status="completed", discount=D("100.00"), discount_type="fixed", tax=TaxRateFactory(), **kwargs
    )


def test_pos_example_totals(seller, warehouse):
    sale = reload(pos_sale(seller))

    assert (sale.subtotal, sale.discount_total, sale.tax_total, sale.grand_total) == (
        D("1340.00"),
        D("100.00"),
        D("62.00"),
        D("1302.00"),
    )


def test_pos_example_lines_add_up_to_the_totals(seller, warehouse):
    sale = reload(pos_sale(seller))
    items = list(sale.items.all())

    assert sum(i.discount_total for i in items) == D("100.00")
    assert sum(i.tax_total for i in items) == D("62.00")
    assert sum(i.total for i in items) == D("1302.00")


def test_pos_example_paid_with_two_payments_is_paid(seller, warehouse):
    payments = [NewPayment(amount=D("1000.00"), method="cash"), NewPayment(amount=D("302.00"), method="card")]

    sale = reload(pos_sale(seller, payments=payments))

    assert sale.payment_status == "paid"
    assert sale.paid_total == D("1302.00")
    assert sale.balance_due == D("0.00")
    assert sorted(sale.payments.values_list("method", flat=True)) == ["card", "cash"]


def test_inclusive_pricing_extracts_the_tax(seller, warehouse):
    variant = stocked_variant(10, price=D("105.00"))

    sale = reload(create(seller, (variant, 1), tax=TaxRateFactory(), prices_include_tax=True))

    assert (sale.subtotal, sale.tax_total, sale.grand_total) == (D("105.00"), D("5.00"), D("105.00"))


def test_create_prices_a_variant_at_its_own_price(seller, warehouse):
    product = stocked_variant(0, price=D("10.00"), cost_price=D("6.00")).product
    variant = VariantFactory(product=product, name="Large", price=D("12.50"), cost_price=D("7.00"))
    stock_services.stock_receive(variant=variant, warehouse=warehouse, quantity=5)

    sale = create(seller, (variant, 2))

    item = sale.items.get()
    assert (item.sku, item.unit_price, item.cost_price) == (variant.sku, D("12.50"), D("7.00"))
    assert item.name == f"{product.name} (Large)"
    assert reload(sale).grand_total == D("25.00")


def test_create_of_a_zero_total_sale_derives_payment_status_paid(seller, warehouse):
    items = [ItemData(variant=stocked_variant(10), quantity=1, unit_price=D("0.00"))]

    sale = reload(services.sale_create(seller=seller, data=services.NewSale(items=items, status="confirmed")))

    assert sale.grand_total == D("0.00")
    # The sale's own rule: nothing due, nothing refunded -> paid (as derive_payment_status and any later
    # repricing edit say); a sale must not read "unpaid" only because no payment was ever recorded.
    assert sale.payment_status == derive_payment_status(net_total=D("0.00"), paid=D("0.00"), refunded=D("0.00"))


# --- update ---


def test_update_items_of_pending_sale_reprices(seller, warehouse):
    old, new = stocked_variant(10, price=D("10.00")), stocked_variant(10, price=D("20.00"))
    sale = create(seller, (old, 2))

    services.sale_update(sale=sale, user=seller, data={"items": [ItemData(variant=new, quantity=3)]})

    sale = reload(sale)
    assert (sale.subtotal, sale.grand_total) == (D("60.00"), D("60.00"))
    assert list(sale.items.values_list("variant_id", "quantity", "total")) == [(new.pk, 3, D("60.00"))]


def test_update_items_of_pending_sale_moves_the_reservation(seller, warehouse):
    old, new = stocked_variant(10), stocked_variant(10)
    sale = create(seller, (old, 2))

    services.sale_update(sale=sale, user=seller, data={"items": [ItemData(variant=new, quantity=3)]})

    assert level(old, warehouse) == (10, 0)
    assert level(new, warehouse) == (10, 3)


def test_update_items_of_pending_sale_writes_only_net_ledger_rows(seller, warehouse):
    kept, added = stocked_variant(10), stocked_variant(10)
    sale = create(seller, (kept, 2))
    since = last_movement_id()

    services.sale_update(
        sale=sale,
        user=seller,
        data={"items": [ItemData(variant=kept, quantity=5), ItemData(variant=added, quantity=1)]},
    )

    assert sorted(new_movements(sale, since)) == sorted(
        [(kept.pk, "reservation", 0, 3), (added.pk, "reservation", 0, 1)]
    )
    assert level(kept, warehouse) == (10, 5)


def test_update_items_of_pending_sale_short_of_stock_changes_nothing(seller, warehouse):
    old, scarce = stocked_variant(10), stocked_variant(1)
    sale = create(seller, (old, 2))
    before = world()

    with pytest.raises(InsufficientStock) as info:
        services.sale_update(sale=sale, user=seller, data={"items": [ItemData(variant=scarce, quantity=2)]})

    assert info.value.attr == "items.0.quantity"
    assert world() == before


def test_update_items_of_draft_sale_reserves_nothing(seller, warehouse):
    old, new = stocked_variant(10), stocked_variant(10)
    sale = create(seller, (old, 2), status="draft")

    services.sale_update(sale=sale, user=seller, data={"items": [ItemData(variant=new, quantity=3)]})

    assert level(new, warehouse) == (10, 0)
    assert reload(sale).items.get().variant_id == new.pk


def test_changing_the_warehouse_of_a_pending_sale_moves_the_reservation(seller, warehouse):
    variant = stocked_variant(10)
    other = WarehouseFactory()
    stock_services.stock_receive(variant=variant, warehouse=other, quantity=5)
    sale = create(seller, (variant, 2))

    services.sale_update(sale=sale, user=seller, data={"warehouse": other})

    assert level(variant, warehouse) == (10, 0)
    assert level(variant, other) == (5, 2)
    assert reload(sale).items.get().warehouse_id == other.pk


def test_changing_the_customer_of_a_pending_sale_copies_its_addresses(seller, warehouse):
    sale = create(seller, (stocked_variant(10), 1), customer=CustomerFactory())
    customer = CustomerFactory()
    shipping = AddressFactory(customer=customer, kind=AddressKind.SHIPPING, country="ES")

    services.sale_update(sale=sale, user=seller, data={"customer": customer})

    sale = reload(sale)
    assert sale.customer_id == customer.pk
    assert (sale.shipping_address, sale.shipping_country, sale.billing_address) == (shipping.snapshot(), "ES", {})


def test_repricing_a_paid_pending_sale_recomputes_its_payment_status(seller, warehouse):
    variant = stocked_variant(10, price=D("10.00"))
    sale = create(seller, (variant, 2), payments=[NewPayment(amount=D("20.00"))])
    assert reload(sale).payment_status == "paid"

    services.sale_update(sale=sale, user=seller, data={"items": [ItemData(variant=variant, quantity=1)]})

    sale = reload(sale)
    assert (sale.grand_total, sale.paid_total, sale.payment_status) == (D("10.00"), D("20.00"), "overpaid")


@pytest.mark.parametrize("field", ["items", "customer", "discount"])
def test_editing_money_fields_of_a_confirmed_sale_raises_sale_locked(field, seller, warehouse):
    variant = stocked_variant(10)
    sale = create(seller, (variant, 2), status="confirmed")
    value = {
        "items": [ItemData(variant=variant, quantity=5)],
        "customer": CustomerFactory(),
        "discount": D("1.00"),
    }[field]
    before = world()

    with pytest.raises(SaleLocked) as info:
        services.sale_update(sale=sale, user=seller, data={field: value})

    assert info.value.code == "sale_locked"
    assert world() == before


def test_note_of_a_confirmed_sale_is_editable_and_logged(seller, warehouse):
    sale = create(seller, (stocked_variant(10), 1), status="confirmed")

    services.sale_update(sale=sale, user=seller, data={"note": "gift wrap"})

    assert reload(sale).note == "gift wrap"
    event = SaleEvent.objects.filter(sale=sale).latest("pk")
    assert (event.type, event.data["fields"]) == ("note_changed", ["note"])


def test_tags_of_a_confirmed_sale_are_editable_and_logged(seller, warehouse):
    sale = create(seller, (stocked_variant(10), 1), status="confirmed")

    services.sale_update(sale=sale, user=seller, data={"tags": ["vip", "gift"]})

    assert reload(sale).tags == ["vip", "gift"]
    event = SaleEvent.objects.filter(sale=sale).latest("pk")
    assert (event.type, event.data["fields"]) == ("edited", ["tags"])


# --- delete ---


@pytest.mark.parametrize("state", ["draft", "pending", "cancelled", "rejected"])
def test_delete_of_an_open_or_closed_sale_removes_it(state, seller, warehouse):
    sale = sale_in(state, seller, stocked_variant(10))

    services.sale_delete(sale=sale, user=seller)

    assert not Sale.objects.filter(pk=sale.pk).exists()


def test_delete_of_a_pending_sale_releases_its_reservation(seller, warehouse):
    variant = stocked_variant(10)
    sale = sale_in("pending", seller, variant, quantity=4)
    assert level(variant, warehouse) == (10, 4)

    services.sale_delete(sale=sale, user=seller)

    assert level(variant, warehouse) == (10, 0)


@pytest.mark.parametrize("state", ["confirmed", "in_delivery", "completed", "refunded"])
def test_delete_of_a_committed_sale_raises_sale_locked(state, seller, warehouse):
    variant = stocked_variant(10)
    sale = sale_in(state, seller, variant)
    before = world()

    with pytest.raises(SaleLocked):
        services.sale_delete(sale=sale, user=seller)

    assert world() == before


# --- item updates and shipping details ---


def test_moving_a_pending_item_to_another_warehouse_moves_the_reservation(seller, warehouse):
    variant = stocked_variant(10)
    other = WarehouseFactory()
    stock_services.stock_receive(variant=variant, warehouse=other, quantity=5)
    sale = create(seller, (variant, 2))
    item = sale.items.get()

    services.sale_update_item(item=item, user=seller, data={"warehouse": other})

    assert level(variant, warehouse) == (10, 0)
    assert level(variant, other) == (5, 2)
    assert SaleItem.objects.get(pk=item.pk).warehouse_id == other.pk


def test_moving_a_pending_item_where_stock_is_short_changes_nothing(seller, warehouse):
    variant = stocked_variant(10)
    other = WarehouseFactory()
    stock_services.stock_receive(variant=variant, warehouse=other, quantity=1)
    sale = create(seller, (variant, 2))
    before = world()

    with pytest.raises(InsufficientStock):
        services.sale_update_item(item=sale.items.get(), user=seller, data={"warehouse": other})

    assert world() == before


def test_moving_a_confirmed_item_records_the_warehouse_without_moving_stock(seller, warehouse):
    variant = stocked_variant(10)
    other = WarehouseFactory()
    sale = create(seller, (variant, 2), status="confirmed")
    movements = StockMovement.objects.count()

    services.sale_update_item(item=sale.items.get(), user=seller, data={"warehouse": other})

    assert sale.items.get().warehouse_id == other.pk
    assert level(variant, warehouse) == (8, 0)
    assert StockMovement.objects.count() == movements


def test_cancel_after_moving_a_confirmed_item_restocks_where_the_units_were_taken(seller, warehouse):
    variant = stocked_variant(10)
    other = WarehouseFactory()
    sale = create(seller, (variant, 2), status="confirmed")
    services.sale_update_item(item=sale.items.get(), user=seller, data={"warehouse": other})

    services.sale_cancel(sale=sale, user=seller, reason="customer")

    # The two units were committed out of the main warehouse and never shipped: they go back there,
    # not into a warehouse that never held them.
    assert level(variant, warehouse) == (10, 0)
    assert not StockLevel.objects.filter(variant=variant, warehouse=other, on_hand__gt=0).exists()


def test_carrier_and_tracking_code_derive_the_tracking_url(seller, warehouse):
    sale = create(seller, (stocked_variant(10), 1), status="confirmed")
    carrier = CarrierFactory(tracking_url_template="https://parcel.example/t/{tracking_code}?x=1")

    services.sale_update_item(item=sale.items.get(), user=seller, data={"carrier": carrier, "tracking_code": "AB12"})

    item = sale.items.get()
    assert (item.carrier_id, item.tracking_code) == (carrier.pk, "AB12")
    assert item.tracking_url == "https://parcel.example/t/AB12?x=1"


def test_item_update_writes_an_item_updated_event(seller, warehouse):
    sale = create(seller, (stocked_variant(10), 1), status="confirmed")
    item = sale.items.get()

    services.sale_update_item(item=item, user=seller, data={"tracking_code": "ZZ9"})

    event = SaleEvent.objects.filter(sale=sale).latest("pk")
    assert event.type == "item_updated"
    assert event.data["item"] == item.pk
    assert event.data["changes"] == {"tracking_code": "ZZ9"}


@pytest.mark.parametrize("state", ["cancelled", "rejected"])
def test_item_update_on_a_closed_sale_raises_sale_locked(state, seller, warehouse):
    sale = sale_in(state, seller, stocked_variant(10))
    before = world()

    with pytest.raises(SaleLocked):
        services.sale_update_item(item=sale.items.get(), user=seller, data={"tracking_code": "X1"})

    assert world() == before


def test_ship_with_carrier_and_tracking_sets_them_on_every_item(seller, warehouse):
    sale = create(seller, (stocked_variant(10), 1), (stocked_variant(10), 2), status="confirmed")
    carrier = CarrierFactory()

    services.sale_ship(sale=sale, user=seller, carrier=carrier, tracking_code="TRK-7")

    assert (
        list(sale.items.values_list("carrier_id", "tracking_code", "tracking_url"))
        == [(carrier.pk, "TRK-7", "https://track.example.com/TRK-7")] * 2
    )


# --- returns ---


@pytest.fixture
def returnable(seller, warehouse):
    """A confirmed, fully paid sale: line 0 is 3 × 4.00 − 2.00 = 10.00, line 1 is 2 × 5.00 = 10.00."""
    first, second = stocked_variant(10, price=D("4.00")), stocked_variant(10, price=D("5.00"))
    items = [
        ItemData(variant=first, quantity=3, discount=D("2.00"), discount_type="fixed"),
        ItemData(variant=second, quantity=2),
    ]
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=items,
            status="confirmed",
            payments=[NewPayment(amount=D("20.00"))],
        ),
    )
    lines = list(sale.items.order_by("pk"))
    assert [line.total for line in lines] == [D("10.00"), D("10.00")]
    return sale, lines


def refunds(sale: Sale) -> list[Decimal]:
    return list(
        Payment.objects.filter(sale=sale, kind=PaymentKind.REFUND).order_by("pk").values_list("amount", flat=True)
    )


def test_partial_return_sets_return_status_partial(returnable, seller):
    sale, (first, _) = returnable

    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=first, quantity=1)])

    assert reload(sale).return_status == "partial"
    assert SaleItem.objects.get(pk=first.pk).quantity_returned == 1


def test_returning_every_unit_sets_return_status_full(returnable, seller):
    sale, (first, second) = returnable
    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=first, quantity=1)])

    services.sale_return(
        sale=sale, user=seller, lines=[ReturnLine(item=first, quantity=2), ReturnLine(item=second.pk, quantity=2)]
    )

    assert reload(sale).return_status == "full"


def test_return_writes_a_returned_event(returnable, seller):
    sale, (first, _) = returnable

    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=first, quantity=2)])

    event = SaleEvent.objects.filter(sale=sale).latest("pk")
    assert event.type == "returned"
    assert [(line["item"], line["quantity"]) for line in event.data["items"]] == [(first.pk, 2)]


def test_return_with_restock_puts_units_back_on_hand(returnable, seller, warehouse):
    sale, (first, _) = returnable
    assert level(first.variant, warehouse) == (7, 0)

    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=first, quantity=2)], restock=True)

    assert level(first.variant, warehouse) == (9, 0)


def test_return_without_restock_leaves_stock(returnable, seller, warehouse):
    sale, (first, _) = returnable

    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=first, quantity=2)])

    assert level(first.variant, warehouse) == (7, 0)


def test_return_with_refund_refunds_what_the_units_were_charged(returnable, seller):
    sale, (first, _) = returnable

    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=first, quantity=1)], refund=True)

    assert refunds(sale) == [D("3.33")]
    assert reload(sale).paid_total == D("16.67")


def test_return_without_refund_records_no_payment(returnable, seller):
    sale, (first, _) = returnable

    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=first, quantity=1)])

    assert refunds(sale) == []
    assert reload(sale).paid_total == D("20.00")


def test_returning_a_line_in_parts_refunds_exactly_its_total(returnable, seller):
    sale, (first, _) = returnable

    for _ in range(3):
        services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=first, quantity=1)], refund=True)

    assert sum(refunds(sale)) == D("10.00")
    assert reload(sale).paid_total == D("10.00")


def test_returning_more_than_sold_raises(returnable, seller):
    sale, (first, _) = returnable
    before = world()

    with pytest.raises(ValidationError) as info:
        services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=first, quantity=4)])

    assert info.value.attr == "items.0.quantity"
    assert world() == before


def test_returning_more_than_what_is_left_raises_on_that_line(returnable, seller):
    sale, (first, second) = returnable
    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=first, quantity=2)])
    before = world()

    with pytest.raises(ValidationError) as info:
        services.sale_return(
            sale=sale,
            user=seller,
            lines=[ReturnLine(item=second, quantity=1), ReturnLine(item=first, quantity=2)],
            restock=True,
            refund=True,
        )

    assert info.value.attr == "items.1.quantity"
    assert world() == before


def test_returning_an_item_of_another_sale_raises(returnable, seller):
    sale, _ = returnable
    stranger = create(seller, (stocked_variant(10), 1), status="confirmed").items.get()

    with pytest.raises(ValidationError) as info:
        services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=stranger, quantity=1)])

    assert info.value.attr == "items.0.item"


def test_the_same_item_twice_in_one_return_counts_together(returnable, seller):
    sale, (first, _) = returnable

    with pytest.raises(ValidationError) as info:
        services.sale_return(
            sale=sale, user=seller, lines=[ReturnLine(item=first, quantity=2), ReturnLine(item=first, quantity=2)]
        )

    assert info.value.attr == "items.1.quantity"


def test_cancel_after_a_restocked_return_restocks_only_the_rest(returnable, seller, warehouse):
    sale, (first, second) = returnable
    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=first, quantity=1)], restock=True)

    services.sale_cancel(sale=sale, user=seller, reason="customer")

    assert level(first.variant, warehouse) == (10, 0)
    assert level(second.variant, warehouse) == (10, 0)


def test_refund_with_restock_after_a_restocked_return_restocks_only_the_rest(returnable, seller, warehouse):
    sale, (first, _) = returnable
    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=first, quantity=2)], restock=True)

    services.sale_refund(sale=sale, user=StaffFactory(is_superuser=True), restock=True)

    assert level(first.variant, warehouse) == (10, 0)
    assert reload(sale).return_status == "full"


def test_refund_after_a_refunded_return_gives_back_only_the_rest(returnable, seller):
    sale, (first, _) = returnable
    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=first, quantity=1)], refund=True)

    services.sale_refund(sale=sale, user=StaffFactory(is_superuser=True))

    assert refunds(sale) == [D("3.33"), D("16.67")]
    assert (reload(sale).paid_total, reload(sale).payment_status) == (D("0.00"), "refunded")


@pytest.mark.parametrize("state", ["draft", "cancelled", "refunded"])
def test_return_outside_confirmed_shipped_or_completed_raises_invalid_transition(state, seller, warehouse):
    sale = sale_in(state, seller, stocked_variant(10))
    before = world()

    with pytest.raises(InvalidTransition) as info:
        services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=sale.items.get(), quantity=1)])

    assert info.value.current_status == state
    assert world() == before


@pytest.mark.parametrize("state", ["in_delivery", "completed"])
def test_return_of_a_shipped_or_completed_sale_is_accepted(state, seller, warehouse):
    sale = sale_in(state, seller, stocked_variant(10))

    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=sale.items.get(), quantity=1)])

    assert reload(sale).return_status == "partial"


def test_return_of_a_pending_sale_raises_invalid_transition(seller, warehouse):
    sale = create(seller, (stocked_variant(10), 2))
    before = world()

    with pytest.raises(InvalidTransition) as info:
        services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=sale.items.get(), quantity=1)])

    assert info.value.current_status == "pending"
    assert world() == before


# --- pure money helpers ---


def test_charged_for_units_in_parts_adds_up_to_the_line_total():
    item = SaleItem(total=D("10.00"), quantity=3)

    parts = [charged_for_units(item=item, already_returned=n, quantity=1) for n in range(3)]

    assert sum(parts) == D("10.00")
    assert sorted(parts) == [D("3.33"), D("3.33"), D("3.34")]


def test_charged_for_units_of_the_whole_line_is_its_total():
    item = SaleItem(total=D("10.01"), quantity=7)

    assert charged_for_units(item=item, already_returned=0, quantity=7) == D("10.01")


@pytest.mark.parametrize(("first", "rest"), [(1, 6), (2, 5), (3, 4), (6, 1)])
def test_charged_for_units_of_two_parts_adds_up(first, rest):
    item = SaleItem(total=D("10.01"), quantity=7)

    head = charged_for_units(item=item, already_returned=0, quantity=first)
    tail = charged_for_units(item=item, already_returned=first, quantity=rest)

    assert head + tail == D("10.01")


@pytest.mark.parametrize(
    ("net_total", "paid", "refunded", "expected"),
    [
        ("100.00", "0.00", "0.00", "unpaid"),
        ("100.00", "40.00", "0.00", "partially_paid"),
        ("100.00", "100.00", "0.00", "paid"),
        ("100.00", "120.00", "0.00", "overpaid"),
        ("100.00", "100.00", "100.00", "refunded"),
        ("100.00", "100.00", "30.00", "partially_refunded"),
        ("70.00", "100.00", "30.00", "partially_refunded"),  # a refunded return: still "partially refunded"
        ("0.00", "0.00", "0.00", "paid"),
        ("0.00", "10.00", "10.00", "refunded"),
    ],
)
def test_derive_payment_status(net_total, paid, refunded, expected):
    status = derive_payment_status(net_total=D(net_total), paid=D(paid), refunded=D(refunded))

    assert status == expected
