"""The sales API end to end, as a client uses it: each row of the contract's seed mapping, filters, pages,
transitions, items, payments, returns, invoices and the number of queries of the lists."""

import base64
from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import AddressKind
from customers.tests.factories import AddressFactory, CustomerFactory
from inventory import services as stock_services
from inventory.models import StockLevel
from inventory.tests.factories import ProductGroupFactory, VariantFactory, WarehouseFactory, stocked_variant
from payments.models import Payment
from sales import services
from sales.models import Invoice, Sale, SaleEvent
from sales.services import ItemData, sale_record_payment
from sales.tests.factories import CarrierFactory, ChannelFactory, StaffFactory, TaxRateFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
SALES = "/api/v1/sales/"

# The contract's sale representation (detail); the list has the same without `payments`.
SALE_FIELDS = {
    "id", "number", "reference", "external_id", "status", "payment_status", "fulfillment_status", "return_status",
    "seller", "customer", "channel", "warehouse", "currency", "items", "discount", "discount_type", "subtotal",
    "discount_total", "tax_total", "shipping_cost", "grand_total", "paid_total", "balance_due", "tax",
    "prices_include_tax", "billing_address", "shipping_address", "payments", "note", "staff_note", "tags",
    "cancel_reason", "available_transitions", "sold_at", "created_at", "updated_at", "confirmed_at", "shipped_at",
    "completed_at", "cancelled_at",
}
ITEM_FIELDS = {
    "id", "product", "variant", "sku", "name", "quantity", "unit_price", "discount", "discount_type", "subtotal",
    "discount_total", "tax_total", "total", "quantity_returned", "warehouse", "carrier", "tracking_code",
    "tracking_url", "product_group",
}
EVENT_FIELDS = {"id", "type", "from_status", "to_status", "user", "data", "created_at"}

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


# --- helpers -------------------------------------------------------------------------------------------


def url(sale, action: str = "") -> str:
    pk = sale["id"] if isinstance(sale, dict) else sale.pk
    return f"{SALES}{pk}/{action}/" if action else f"{SALES}{pk}/"


def level(variant, warehouse) -> tuple[int, int]:
    """(on_hand, reserved) of one stock row."""
    return StockLevel.objects.values_list("on_hand", "reserved").get(variant=variant, warehouse=warehouse)


def line(variant, quantity: int, **extra) -> dict:
    return {"variant": variant.pk, "quantity": quantity, **extra}


def post_sale(client, *lines: dict, **body):
    return client.post(SALES, {"items": list(lines), **body}, format="json")


def create_sale(client, *lines: dict, **body) -> dict:
    response = post_sale(client, *lines, **body)
    assert response.status_code == 201, response.json()
    return response.json()


def sale_in(state: str, seller, variant=None, quantity: int = 2, **kwargs) -> Sale:
    """A one-line sale brought to `state` through the services."""
    create_as = {"in_delivery": "confirmed", "cancelled": "pending", "rejected": "pending", "refunded": "completed"}
    variant = variant or stocked_variant(10)
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=variant, quantity=quantity)],
            status=create_as.get(state, state),
            **kwargs,
        ),
    )
    if state == "in_delivery":
        services.sale_ship(sale=sale, user=seller)
    elif state == "cancelled":
        services.sale_cancel(sale=sale, user=seller, reason="customer")
    elif state == "rejected":
        services.sale_reject(sale=sale, user=seller)
    elif state == "refunded":
        services.sale_refund(sale=sale, user=None)
    sale = Sale.objects.get(pk=sale.pk)
    assert sale.status == state
    return sale


def error(response, status: int) -> dict:
    """The one error entry of an error answer, after checking the status and the body's shape."""
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"type", "errors", "request_id"}, body
    assert body["errors"], body
    for entry in body["errors"]:
        assert {"code", "detail", "attr"} <= set(entry), body
    return body["errors"][0]


def grant_refund(user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="refund_sale", content_type__app_label="sales"))


def results(response) -> list[dict]:
    assert response.status_code == 200, response.json()
    return response.json()["results"]


# --- seed 000: create / pay / confirm / cancel / summary / detail / 409 on stock ------------------------------------


def test_create_answers_201_with_the_full_sale_and_reserves_stock(api_client, seller, warehouse):
    variant = stocked_variant(10, price=D("12.50"))

    response = post_sale(api_client(seller), line(variant, 2))

    body = response.json()
    assert response.status_code == 201, body
    assert set(body) >= SALE_FIELDS
    assert set(body["items"][0]) >= ITEM_FIELDS
    assert body["status"] == "pending"
    assert body["seller"] == {"id": seller.pk, "username": seller.username}
    assert body["items"][0]["quantity"] == 2
    assert body["items"][0]["unit_price"] == "12.50"
    assert body["grand_total"] == "25.00"
    assert body["reference"] == f"S-{body['number']:06d}"
    assert body["warehouse"] == "MAIN"
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    assert level(variant, warehouse) == (10, 2)


def test_create_pay_confirm_commits_stock_and_marks_the_sale_paid(api_client, seller, warehouse):
    client = api_client(seller)
    variant = stocked_variant(10)
    sale = create_sale(client, line(variant, 3))

    paid = client.post(url(sale, "payments"), {"amount": sale["grand_total"], "method": "card"}, format="json")
    confirmed = client.post(url(sale, "confirm"))

    assert paid.status_code == 201, paid.json()
    assert confirmed.status_code == 200, confirmed.json()
    body = confirmed.json()
    assert body["status"] == "confirmed"
    assert body["payment_status"] == "paid"
    assert body["balance_due"] == "0.00"
    assert body["confirmed_at"] is not None
    assert level(variant, warehouse) == (7, 0)


def test_create_then_cancel_releases_the_reservation(api_client, seller, warehouse):
    client = api_client(seller)
    variant = stocked_variant(10)
    sale = create_sale(client, line(variant, 4))
    assert level(variant, warehouse) == (10, 4)

    response = client.post(url(sale, "cancel"), {"reason": "customer", "note": "changed mind"}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "cancelled"
    assert body["cancel_reason"] == "customer"
    assert body["cancelled_at"] is not None
    assert level(variant, warehouse) == (10, 0)


def test_cancel_after_confirm_puts_the_units_back_on_hand(api_client, seller, warehouse):
    variant = stocked_variant(10)
    sale = sale_in("confirmed", seller, variant, quantity=3)

    response = api_client(seller).post(url(sale, "cancel"), {"reason": "inventory"}, format="json")

    assert response.status_code == 200, response.json()
    assert level(variant, warehouse) == (10, 0)


def test_summary_counts_every_own_sale_and_revenue_of_confirmed_shipped_and_completed_only(api_client, seller):
    for state, price in [("draft", "10.00"), ("pending", "20.00"), ("confirmed", "30.00"), ("in_delivery", "40.00"),
                         ("completed", "50.00"), ("cancelled", "60.00"), ("rejected", "70.00")]:
        sale_in(state, seller, stocked_variant(10, price=D(price)), quantity=1)
    paid = sale_in("completed", seller, stocked_variant(10, price=D("5.00")), quantity=1)
    sale_record_payment(sale=paid, amount=D("5.00"), user=seller)
    sale_in("completed", UserFactory(), stocked_variant(10, price=D("1000.00")), quantity=1)  # someone else's

    response = api_client(seller).get(f"{SALES}summary/")

    body = response.json()
    assert response.status_code == 200, body
    assert body["total_sales"] == 8
    assert body["total_revenue"] == "125.00"  # 30 + 40 + 50 + 5
    assert body["total_paid"] == "5.00"
    assert body["by_status"]["confirmed"] == {"count": 1, "total": "30.00"}
    assert body["by_status"]["completed"] == {"count": 2, "total": "55.00"}
    assert body["by_status"]["cancelled"] == {"count": 1, "total": "60.00"}
    assert body["by_status"]["refunded"] == {"count": 0, "total": "0.00"}
    assert set(body["by_status"]) == {"draft", "pending", "confirmed", "in_delivery", "completed", "cancelled",
                                      "rejected", "refunded"}


def test_summary_applies_the_list_filters(api_client, seller):
    sale_in("confirmed", seller, stocked_variant(10, price=D("30.00")), quantity=1)
    sale_in("pending", seller, stocked_variant(10, price=D("20.00")), quantity=1)

    response = api_client(seller).get(f"{SALES}summary/", {"status": "pending"})

    body = response.json()
    assert body["total_sales"] == 1
    assert body["total_revenue"] == "0.00"
    assert body["by_status"]["pending"] == {"count": 1, "total": "20.00"}


def test_detail_shows_items_payments_addresses_totals_and_transitions(api_client, seller):
    customer = CustomerFactory(name="Ada Lovelace", email="ada@example.com")
    client = api_client(seller)
    sale = create_sale(
        client, line(stocked_variant(10), 1), customer=customer.pk,
        shipping_address={"name": "Ada", "line1": "1 Analytical St", "city": "London", "country": "gb"},
        payments=[{"amount": "4.00", "method": "cash"}], tags=["vip"],
    )

    response = client.get(url(sale))

    body = response.json()
    assert response.status_code == 200, body
    assert set(body) >= SALE_FIELDS
    assert body["customer"] == {"id": customer.pk, "name": "Ada Lovelace", "email": "ada@example.com"}
    assert body["shipping_address"]["country"] == "GB"
    assert [(p["amount"], p["method"], p["kind"], p["status"]) for p in body["payments"]] == [
        ("4.00", "cash", "payment", "successful")
    ]
    assert body["payment_status"] == "partially_paid"
    assert body["balance_due"] == "6.00"
    assert body["available_transitions"] == ["confirmed", "cancelled", "rejected"]
    assert body["tags"] == ["vip"]


def test_create_short_of_stock_answers_409_listing_each_short_line(api_client, seller, warehouse):
    short_a, enough, short_b = stocked_variant(2), stocked_variant(10), stocked_variant(0)

    response = post_sale(api_client(seller), line(short_a, 3), line(enough, 1), line(short_b, 5))

    body = response.json()
    assert response.status_code == 409, body
    assert body["type"] == "client_error"
    assert [(e["code"], e["attr"], e["requested"], e["available"]) for e in body["errors"]] == [
        ("insufficient_stock", "items.0.quantity", 3, 2),
        ("insufficient_stock", "items.2.quantity", 5, 0),
    ]
    assert not Sale.objects.exists()
    assert level(enough, warehouse) == (10, 0)


def test_create_as_confirmed_short_of_stock_answers_409(api_client, seller, warehouse):
    variant = stocked_variant(1)

    response = post_sale(api_client(seller), line(variant, 2), status="confirmed")

    assert error(response, 409)["code"] == "insufficient_stock"
    assert level(variant, warehouse) == (1, 0)


def test_submit_of_a_draft_that_stock_no_longer_covers_answers_409(api_client, seller, warehouse):
    client = api_client(seller)
    variant = stocked_variant(3)
    draft = create_sale(client, line(variant, 3), status="draft")
    sale_in("pending", seller, variant, quantity=2)  # someone else reserves first

    response = client.post(url(draft, "submit"))

    entry = error(response, 409)
    assert (entry["code"], entry["attr"], entry["requested"], entry["available"]) == (
        "insufficient_stock", "items.0.quantity", 3, 1)
    assert Sale.objects.get(pk=draft["id"]).status == "draft"


# --- seed 001: lists with filters, fetch by reference, create POS sale, delete ----------------------------------------


@pytest.fixture
def world(staff):
    """Four sales that differ in every filtered field; made in order b, a, d, c, created a < b < c < d."""
    seller_a, seller_b = UserFactory(), UserFactory()
    main = WarehouseFactory(code="MAIN", is_default=True)
    east = WarehouseFactory(code="EAST")
    pos, web = ChannelFactory(code="pos", kind="pos"), ChannelFactory(code="web")
    alice = CustomerFactory(name="Alice Liddell", email="alice@wonder.example")
    bob = CustomerFactory(name="Bob Builder", email="bob@builder.example")
    mug = stocked_variant(10, warehouse=main, sku="MUG-RED", name="Red mug", price=D("10.00"))
    tee = stocked_variant(10, warehouse=east, sku="TEE-BLUE", name="Blue tee", price=D("50.00"))
    cap = stocked_variant(10, warehouse=main, sku="CAP-GREEN", name="Green cap", price=D("100.00"))

    def make(seller, lines, status, **kwargs) -> Sale:
        items = [ItemData(variant=variant, quantity=quantity) for variant, quantity in lines]
        return services.sale_create(seller=seller, data=services.NewSale(items=items, status=status, **kwargs))

    b = make(seller_b, [(tee, 2)], "confirmed", customer=bob, channel=web, warehouse=east, reference="WEB-2002",
             external_id="EXT-B", shipping_address={"country": "FR"})
    a = make(seller_a, [(mug, 1)], "pending", customer=alice, channel=pos, reference="POS-1001",
             external_id="EXT-A", shipping_address={"country": "IT"})
    d = make(seller_b, [(cap, 2)], "draft", customer=alice, channel=pos, shipping_address={"country": "IT"})
    c = make(seller_a, [(mug, 1), (cap, 3)], "completed")
    sale_record_payment(sale=b, amount=D("100.00"), user=seller_b)
    sale_record_payment(sale=c, amount=D("10.00"), user=seller_a)
    for sale, moment in [(a, "2024-07-10T10:00:00Z"), (b, "2024-07-15T12:00:00Z"), (c, "2024-07-20T23:30:00Z"),
                         (d, "2024-07-25T08:00:00Z")]:
        # Sold when created: start_date / end_date filter sold_at since round 2 (they meant created_at before).
        Sale.objects.filter(pk=sale.pk).update(created_at=datetime.fromisoformat(moment),
                                               sold_at=datetime.fromisoformat(moment))
    return {
        "sales": {"a": a, "b": b, "c": c, "d": d}, "seller_a": seller_a, "seller_b": seller_b, "alice": alice,
        "mug": mug, "cap": cap, "staff": staff,
    }


def names(world, response) -> list[str]:
    by_id = {sale.pk: name for name, sale in world["sales"].items()}
    return [by_id[row["id"]] for row in results(response)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "pending"}, "a"),
        ({"status": ["pending", "confirmed"]}, "ab"),
        ({"payment_status": "paid"}, "b"),
        ({"payment_status": "partially_paid"}, "c"),
        ({"payment_status": "unpaid"}, "ad"),
        pytest.param(lambda w: {"customer": w["alice"].pk}, "ad", id="customer"),
        pytest.param(lambda w: {"seller": w["seller_b"].pk}, "bd", id="seller"),
        pytest.param(lambda w: {"product": w["cap"].product_id}, "cd", id="product"),
        pytest.param(lambda w: {"variant": w["mug"].pk}, "ac", id="variant"),
        ({"channel": "pos"}, "ad"),
        ({"channel": "web"}, "b"),
        ({"country": "IT"}, "ad"),
        ({"country": "fr"}, "b"),
        ({"warehouse": "EAST"}, "b"),
        ({"warehouse": "MAIN"}, "acd"),
        ({"reference": "POS-1001"}, "a"),
        ({"external_id": "EXT-B"}, "b"),
        ({"created_after": "2024-07-15"}, "bcd"),
        ({"created_before": "2024-07-15"}, "ab"),
        ({"created_after": "2024-07-15T12:00:01Z"}, "cd"),
        ({"created_before": "2024-07-20T23:00:00Z"}, "ab"),
        ({"created_after": "2024-07-21T01:00:00+02:00"}, "cd"),
        ({"start_date": "2024-07-16", "end_date": "2024-07-20"}, "c"),
        ({"start_date": "2024-07-15T12:00:00Z", "end_date": "2024-07-25T08:00:00Z"}, "bcd"),
        ({"total_min": "100"}, "bcd"),
        ({"total_max": "100.00"}, "ab"),
        ({"total_min": "50", "total_max": "250"}, "bd"),
        ({"search": "pos-10"}, "a"),
        ({"search": "alice"}, "ad"),
        ({"search": "bob@builder"}, "b"),
        ({"search": "cap-green"}, "cd"),
        ({"search": "blue tee"}, "b"),
        pytest.param(lambda w: {"status": "completed", "variant": w["mug"].pk}, "c", id="status&variant"),
    ],
    ids=lambda value: "&".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else None,
)
def test_list_filter(query, expected, world, api_client):
    query = query(world) if callable(query) else query

    response = api_client(world["staff"]).get(SALES, query)

    assert sorted(names(world, response)) == sorted(expected)


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        (None, "dcba"),  # newest first
        ("created_at", "abcd"),
        ("-created_at", "dcba"),
        ("-grand_total", "cdba"),
        ("grand_total", "abdc"),
        ("number", "badc"),
        ("-number", "cdab"),
    ],
)
def test_list_ordering(ordering, expected, world, api_client):
    query = {"ordering": ordering} if ordering else {}

    response = api_client(world["staff"]).get(SALES, query)

    assert "".join(names(world, response)) == expected


def test_list_rows_are_the_sale_with_items_and_without_payments(world, api_client):
    rows = results(api_client(world["staff"]).get(SALES, {"reference": "WEB-2002"}))

    assert len(rows) == 1
    assert SALE_FIELDS - {"payments"} <= set(rows[0])
    assert "payments" not in rows[0]
    assert rows[0]["channel"] == "web"
    assert rows[0]["items"][0]["sku"] == "TEE-BLUE"
    assert rows[0]["items"][0]["warehouse"] == "EAST"


def test_fetch_by_reference_finds_exactly_that_sale(world, api_client):
    response = api_client(world["seller_a"]).get(SALES, {"reference": "POS-1001"})

    assert response.json()["count"] == 1
    assert names(world, response) == ["a"]


def test_limit_is_an_alias_of_page_size(world, api_client):
    response = api_client(world["staff"]).get(SALES, {"limit": 3})

    body = response.json()
    assert body["count"] == 4
    assert len(body["results"]) == 3
    assert body["next"] is not None
    assert body["previous"] is None


def test_page_and_page_size_walk_the_list(world, api_client):
    response = api_client(world["staff"]).get(SALES, {"page": 2, "page_size": 1, "ordering": "created_at"})

    body = response.json()
    assert names(world, response) == ["b"]
    assert body["previous"] is not None and body["next"] is not None


def test_page_size_above_500_is_capped(api_client, staff, warehouse):
    # 501 bare rows written directly: the cap is about paging, not about how sales are made.
    Sale.objects.bulk_create(Sale(reference=f"BULK-{n}", seller=staff, warehouse=warehouse) for n in range(501))

    response = api_client(staff).get(SALES, {"page_size": 1000})

    body = response.json()
    assert body["count"] == 501
    assert len(body["results"]) == 500
    assert body["next"] is not None


def test_default_page_size_is_50(api_client, staff, warehouse):
    Sale.objects.bulk_create(Sale(reference=f"BULK-{n}", seller=staff, warehouse=warehouse) for n in range(51))

    assert len(results(api_client(staff).get(SALES))) == 50


def test_pos_sale_with_discount_vat_and_two_payments_totals_1302_and_is_paid(api_client, seller, warehouse):
    TaxRateFactory(code="vat5", rate=D("5.00"))
    ChannelFactory(code="pos", kind="pos")
    a, b, c = stocked_variant(10), stocked_variant(10), stocked_variant(20)

    response = post_sale(
        api_client(seller),
        line(a, 2, unit_price="80.00"), line(b, 2, unit_price=90), line(c, 10, unit_price="100.00"),
        channel="pos", status="completed", discount="100.00", discount_type="fixed", tax="vat5",
        prices_include_tax=False, note="walk-in", reference="POS-170652348409",
        payments=[{"amount": "1000.00", "method": "cash"}, {"amount": 302, "method": "card"}],
    )

    body = response.json()
    assert response.status_code == 201, body
    assert (body["subtotal"], body["discount_total"], body["tax_total"], body["grand_total"]) == (
        "1340.00", "100.00", "62.00", "1302.00")
    assert body["tax"] == {"code": "vat5", "name": "VAT 5%", "rate": "5.00"}
    assert (body["status"], body["payment_status"], body["paid_total"], body["balance_due"]) == (
        "completed", "paid", "1302.00", "0.00")
    assert [(p["amount"], p["method"]) for p in body["payments"]] == [("1000.00", "cash"), ("302.00", "card")]
    assert sum(D(item["total"]) for item in body["items"]) == D("1302.00")
    assert level(c, warehouse) == (10, 0)


def test_create_accepts_quantities_and_money_as_strings(api_client, seller):
    body = create_sale(api_client(seller), line(stocked_variant(5), "2", unit_price="3.5"), shipping_cost=1)

    assert (body["items"][0]["quantity"], body["items"][0]["unit_price"], body["grand_total"]) == (2, "3.50", "8.00")


def test_create_with_only_a_product_uses_its_single_variant_and_price(api_client, seller):
    variant = stocked_variant(5, price=D("7.25"))

    body = create_sale(api_client(seller), {"product": variant.product_id, "quantity": 1})

    assert body["items"][0]["variant"] == variant.pk
    assert body["items"][0]["unit_price"] == "7.25"


def test_create_naming_a_product_with_several_variants_and_no_variant_is_400(api_client, seller):
    variant = stocked_variant(5)
    VariantFactory(product=variant.product)

    response = post_sale(api_client(seller), {"product": variant.product_id, "quantity": 1})

    assert error(response, 400)["attr"] == "items.0.variant"
    assert not Sale.objects.exists()


def test_create_with_a_taken_reference_is_409_duplicate_reference(api_client, seller):
    variant = stocked_variant(10)
    client = api_client(seller)
    create_sale(client, line(variant, 1), reference="POS-1")

    response = post_sale(client, line(variant, 1), reference="POS-1")

    entry = error(response, 409)
    assert (entry["code"], entry["attr"]) == ("duplicate_reference", "reference")
    assert Sale.objects.count() == 1


def test_create_from_a_customer_copies_the_default_addresses(api_client, seller):
    customer = CustomerFactory()
    billing = AddressFactory(customer=customer, kind=AddressKind.BILLING, city="Milano", country="IT")
    AddressFactory(customer=customer, kind=AddressKind.SHIPPING, is_default=False, city="Roma")
    shipping = AddressFactory(customer=customer, kind=AddressKind.SHIPPING, city="Torino", country="IT")

    body = create_sale(api_client(seller), line(stocked_variant(5), 1), customer=customer.pk)

    assert body["billing_address"]["city"] == billing.city
    assert body["shipping_address"]["city"] == shipping.city
    assert body["shipping_address"]["line1"] == shipping.line1
    assert Sale.objects.get(pk=body["id"]).shipping_country == "IT"


def test_sale_keeps_its_address_copy_when_the_customer_address_changes(api_client, seller):
    address = AddressFactory(kind=AddressKind.SHIPPING, city="Torino")
    client = api_client(seller)
    sale = create_sale(client, line(stocked_variant(5), 1), customer=address.customer_id)
    address.city = "Napoli"
    address.save()

    assert client.get(url(sale)).json()["shipping_address"]["city"] == "Torino"


def test_staff_may_sell_on_behalf_of_a_seller(api_client, staff, seller):
    body = create_sale(api_client(staff), line(stocked_variant(5), 1), seller=seller.pk)

    assert body["seller"]["id"] == seller.pk


def test_seller_is_the_authenticated_user(api_client, seller):
    body = create_sale(api_client(seller), line(stocked_variant(5), 1))

    assert Sale.objects.get(pk=body["id"]).seller == seller


@pytest.mark.parametrize("state", ["draft", "cancelled", "rejected"])
def test_delete_of_a_sale_holding_no_stock_answers_204(state, api_client, seller):
    sale = sale_in(state, seller)

    response = api_client(seller).delete(url(sale))

    assert response.status_code == 204
    assert not Sale.objects.filter(pk=sale.pk).exists()


def test_delete_of_a_pending_sale_releases_its_reservation(api_client, seller, warehouse):
    variant = stocked_variant(10)
    sale = sale_in("pending", seller, variant, quantity=4)

    response = api_client(seller).delete(url(sale))

    assert response.status_code == 204
    assert level(variant, warehouse) == (10, 0)
    assert not Sale.objects.filter(pk=sale.pk).exists()


@pytest.mark.parametrize("state", ["confirmed", "in_delivery", "completed", "refunded"])
def test_delete_of_a_sale_whose_stock_left_is_409_sale_locked(state, api_client, seller):
    sale = sale_in(state, seller)

    response = api_client(seller).delete(url(sale))

    assert error(response, 409)["code"] == "sale_locked"
    assert Sale.objects.filter(pk=sale.pk).exists()


# --- seed 002: transitions, status, activity, item updates, invoice -------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("draft", ["pending", "cancelled"]),
        ("pending", ["confirmed", "cancelled", "rejected"]),
        ("confirmed", ["in_delivery", "completed", "cancelled"]),
        ("in_delivery", ["completed"]),
        ("completed", []),
        ("cancelled", []),
    ],
)
def test_transitions_are_a_bare_array_of_what_the_user_may_do_now(state, expected, api_client, seller):
    sale = sale_in(state, seller)

    response = api_client(seller).get(url(sale, "transitions"))

    assert response.status_code == 200
    assert response.json() == expected


def test_transitions_include_refunded_for_a_user_with_the_refund_permission(api_client, seller):
    grant_refund(seller)
    sale = sale_in("completed", seller)

    assert api_client(seller).get(url(sale, "transitions")).json() == ["refunded"]


@pytest.mark.parametrize(
    ("state", "target"),
    [
        ("draft", "pending"),
        ("pending", "confirmed"),
        ("confirmed", "in_delivery"),
        ("confirmed", "completed"),
        ("in_delivery", "completed"),
        ("draft", "cancelled"),
        ("pending", "cancelled"),
        ("confirmed", "cancelled"),
        ("pending", "rejected"),
        ("completed", "refunded"),
    ],
)
def test_status_runs_the_transition_leading_to_the_status(state, target, api_client, seller):
    grant_refund(seller)
    sale = sale_in(state, seller)

    response = api_client(seller).post(url(sale, "status"), {"status": target, "reason": "other"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == target
    assert Sale.objects.get(pk=sale.pk).status == target


def test_status_with_an_unknown_status_is_400(api_client, seller):
    sale = sale_in("pending", seller)

    response = api_client(seller).post(url(sale, "status"), {"status": "shipped"}, format="json")

    assert error(response, 400)["attr"] == "status"
    assert Sale.objects.get(pk=sale.pk).status == "pending"


@pytest.mark.parametrize(("state", "target"), [("draft", "completed"), ("completed", "pending"),
                                               ("pending", "draft"), ("cancelled", "confirmed")])
def test_status_not_allowed_now_is_409_naming_current_and_allowed(state, target, api_client, seller):
    sale = sale_in(state, seller)
    allowed = sale.available_transitions_for(seller)  # what this user may do, not every move the state has

    response = api_client(seller).post(url(sale, "status"), {"status": target}, format="json")

    entry = error(response, 409)
    assert entry["code"] == "invalid_transition"
    assert state in entry["detail"]
    for status in allowed:
        assert status in entry["detail"]
    if state == "completed":  # refund needs a permission this seller lacks
        assert "refunded" not in entry["detail"]
    assert Sale.objects.get(pk=sale.pk).status == state


def test_status_refunded_without_the_refund_permission_is_403(api_client, seller):
    sale = sale_in("completed", seller)

    response = api_client(seller).post(url(sale, "status"), {"status": "refunded"}, format="json")

    assert error(response, 403)["code"] == "permission_denied"
    assert Sale.objects.get(pk=sale.pk).status == "completed"


def test_activity_is_a_bare_array_oldest_first(api_client, seller):
    client = api_client(seller)
    sale = create_sale(client, line(stocked_variant(10), 1))
    client.post(url(sale, "payments"), {"amount": "1.00"}, format="json")
    client.post(url(sale, "confirm"))
    client.patch(url(sale), {"note": "ring twice"}, format="json")

    response = client.get(url(sale, "activity"))

    events = response.json()
    assert response.status_code == 200
    assert isinstance(events, list)
    assert all(set(event) == EVENT_FIELDS for event in events)
    assert [(e["type"], e["from_status"], e["to_status"]) for e in events] == [
        ("created", "", ""),
        ("status_changed", "draft", "pending"),
        ("payment_recorded", "", ""),
        ("status_changed", "pending", "confirmed"),
        ("note_changed", "", ""),
    ]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert events[0]["user"] == {"id": seller.pk, "username": seller.username}
    assert events[2]["data"]["amount"] == "1.00"


def test_ship_sets_carrier_and_tracking_on_every_item(api_client, seller):
    CarrierFactory(code="dhl", tracking_url_template="https://dhl.example/t/{tracking_code}")
    client = api_client(seller)
    sale = create_sale(client, line(stocked_variant(10), 1), line(stocked_variant(10), 2), status="confirmed")

    response = client.post(url(sale, "ship"), {"carrier": "dhl", "tracking_code": "JD0001"}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert (body["status"], body["fulfillment_status"]) == ("in_delivery", "fulfilled")
    assert body["shipped_at"] is not None
    assert {(i["carrier"], i["tracking_code"], i["tracking_url"]) for i in body["items"]} == {
        ("dhl", "JD0001", "https://dhl.example/t/JD0001")}


def test_ship_with_an_explicit_tracking_url_keeps_it(api_client, seller):
    sale = sale_in("confirmed", seller)

    response = api_client(seller).post(
        url(sale, "ship"), {"tracking_code": "X1", "tracking_url": "https://parcel.example/X1"}, format="json")

    assert response.json()["items"][0]["tracking_url"] == "https://parcel.example/X1"


def test_complete_from_in_delivery(api_client, seller):
    sale = sale_in("in_delivery", seller)

    response = api_client(seller).post(url(sale, "complete"))

    assert response.json()["status"] == "completed"
    assert response.json()["completed_at"] is not None


def test_reject_takes_a_free_text_reason_and_releases_stock(api_client, seller, warehouse):
    variant = stocked_variant(10)
    sale = sale_in("pending", seller, variant, quantity=3)

    response = api_client(seller).post(url(sale, "reject"), {"reason": "address unknown"}, format="json")

    assert response.json()["status"] == "rejected"
    assert level(variant, warehouse) == (10, 0)


def test_patch_item_sets_carrier_and_builds_the_tracking_url_from_its_template(api_client, seller):
    CarrierFactory(code="gls", tracking_url_template="https://gls.example/track?id={tracking_code}")
    client = api_client(seller)
    sale = create_sale(client, line(stocked_variant(10), 1))
    item_id = sale["items"][0]["id"]

    response = client.patch(f"{url(sale)}items/{item_id}/", {"carrier": "gls", "tracking_code": "GL42"},
                            format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert (body["id"], body["carrier"], body["tracking_code"], body["tracking_url"]) == (
        item_id, "gls", "GL42", "https://gls.example/track?id=GL42")
    assert SaleEvent.objects.filter(sale_id=sale["id"], type="item_updated").count() == 1


def test_patch_item_sets_the_product_group(api_client, seller):
    ProductGroupFactory(code="mugs")
    sale = sale_in("confirmed", seller)
    item = sale.items.get()

    response = api_client(seller).patch(f"{url(sale)}items/{item.pk}/", {"product_group": "mugs"}, format="json")

    assert response.json()["product_group"] == "mugs"


def test_patch_item_warehouse_moves_the_pending_reservation(api_client, seller, warehouse):
    east = WarehouseFactory(code="EAST")
    variant = stocked_variant(10)
    stock_services.stock_receive(variant=variant, warehouse=east, quantity=5)
    sale = sale_in("pending", seller, variant, quantity=3)
    item = sale.items.get()

    response = api_client(seller).patch(f"{url(sale)}items/{item.pk}/", {"warehouse": "EAST"}, format="json")

    assert response.json()["warehouse"] == "EAST"
    assert level(variant, warehouse) == (10, 0)
    assert level(variant, east) == (5, 3)


def test_patch_item_warehouse_after_confirm_moves_no_stock(api_client, seller, warehouse):
    east = WarehouseFactory(code="EAST")
    variant = stocked_variant(10)
    sale = sale_in("confirmed", seller, variant, quantity=3)
    item = sale.items.get()

    response = api_client(seller).patch(f"{url(sale)}items/{item.pk}/", {"warehouse": east.code}, format="json")

    assert response.json()["warehouse"] == "EAST"
    assert level(variant, warehouse) == (7, 0)


@pytest.mark.parametrize("state", ["cancelled", "rejected"])
def test_patch_item_of_a_closed_sale_is_409_sale_locked(state, api_client, seller):
    CarrierFactory(code="dhl")
    sale = sale_in(state, seller)
    item = sale.items.get()

    response = api_client(seller).patch(f"{url(sale)}items/{item.pk}/", {"carrier": "dhl"}, format="json")

    assert error(response, 409)["code"] == "sale_locked"
    assert sale.items.get().carrier is None


def test_patch_item_of_another_sale_is_404(api_client, seller):
    sale, other = sale_in("pending", seller), sale_in("pending", seller)

    response = api_client(seller).patch(f"{url(sale)}items/{other.items.get().pk}/", {"tracking_code": "X"},
                                        format="json")

    assert error(response, 404)["code"] == "not_found"


@pytest.mark.parametrize(
    ("filename", "content", "content_type"),
    [("invoice.pdf", PDF, "application/pdf"), ("scan.png", PNG, "image/png"), ("photo.jpg", JPEG, "image/jpeg")],
)
def test_invoice_multipart_upload_answers_201_and_downloads_as_attachment(
    filename, content, content_type, api_client, seller
):
    client = api_client(seller)
    sale = sale_in("confirmed", seller)

    response = client.post(url(sale, "invoice"), {"file": SimpleUploadedFile(filename, content)},
                           format="multipart")

    body = response.json()
    assert response.status_code == 201, body
    assert set(body) == {"id", "number", "url"}
    assert body["number"].startswith("INV-")
    assert body["url"].endswith(f"/api/v1/sales/{sale.pk}/invoice/")
    download = client.get(url(sale, "invoice"))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert download["Content-Type"] == content_type
    assert b"".join(download.streaming_content) == content
    assert SaleEvent.objects.filter(sale=sale, type="invoice_attached").count() == 1


def test_invoice_base64_json_upload_answers_201(api_client, seller):
    client = api_client(seller)
    sale = sale_in("pending", seller)

    response = client.post(url(sale, "invoice"),
                           {"invoice": base64.b64encode(PDF).decode(), "filename": "inv-7.pdf"}, format="json")

    assert response.status_code == 201, response.json()
    assert b"".join(client.get(url(sale, "invoice")).streaming_content) == PDF


def test_invoice_download_returns_the_latest(api_client, seller):
    client = api_client(seller)
    sale = sale_in("confirmed", seller)
    client.post(url(sale, "invoice"), {"file": SimpleUploadedFile("a.pdf", PDF)}, format="multipart")
    client.post(url(sale, "invoice"), {"file": SimpleUploadedFile("b.png", PNG)}, format="multipart")

    download = client.get(url(sale, "invoice"))

    assert b"".join(download.streaming_content) == PNG


def test_invoice_html_renamed_pdf_is_400(api_client, seller):
    sale = sale_in("confirmed", seller)
    html = SimpleUploadedFile("invoice.pdf", b"<html><body>pay me</body></html>", content_type="application/pdf")

    response = api_client(seller).post(url(sale, "invoice"), {"file": html}, format="multipart")

    assert error(response, 400)["attr"] == "file"
    assert not Invoice.objects.exists()


def test_invoice_larger_than_10_mb_is_400(api_client, seller):
    sale = sale_in("confirmed", seller)
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024))

    response = api_client(seller).post(url(sale, "invoice"), {"file": big}, format="multipart")

    assert error(response, 400)["attr"] == "file"
    assert not Invoice.objects.exists()


def test_invoice_base64_larger_than_10_mb_is_400(api_client, seller):
    sale = sale_in("confirmed", seller)
    content = base64.b64encode(b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024)).decode()

    response = api_client(seller).post(url(sale, "invoice"), {"invoice": content, "filename": "x.pdf"},
                                       format="json")

    error(response, 400)
    assert not Invoice.objects.exists()


def test_invoice_download_without_an_invoice_is_404(api_client, seller):
    sale = sale_in("confirmed", seller)

    assert error(api_client(seller).get(url(sale, "invoice")), 404)["code"] == "not_found"


# --- seed 003: edits, addresses, tags, external id -------------------------------------------------------------------


def test_patch_replaces_the_items_of_a_pending_sale_and_moves_the_reservation(api_client, seller, warehouse):
    old, new = stocked_variant(10), stocked_variant(10, price=D("3.00"))
    client = api_client(seller)
    sale = create_sale(client, line(old, 2))

    response = client.patch(url(sale), {"items": [line(new, 5)]}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert [(i["variant"], i["quantity"]) for i in body["items"]] == [(new.pk, 5)]
    assert body["grand_total"] == "15.00"
    assert level(old, warehouse) == (10, 0)
    assert level(new, warehouse) == (10, 5)


def test_patch_notes_and_tags_of_a_confirmed_sale_is_allowed(api_client, seller):
    sale = sale_in("confirmed", seller)

    response = api_client(seller).patch(url(sale), {"note": "gift wrap", "staff_note": "vip", "tags": ["b2b"]},
                                        format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert (body["note"], body["staff_note"], body["tags"]) == ("gift wrap", "vip", ["b2b"])


@pytest.mark.parametrize("field", ["items", "customer", "discount", "shipping_address"])
def test_patch_money_or_items_of_a_confirmed_sale_is_409_sale_locked(field, api_client, seller, warehouse):
    variant = stocked_variant(10)
    sale = sale_in("confirmed", seller, variant, quantity=2)
    value = {"items": [line(variant, 1)], "customer": CustomerFactory().pk, "discount": "1.00",
             "shipping_address": {"city": "Bari"}}[field]

    response = api_client(seller).patch(url(sale), {field: value}, format="json")

    assert error(response, 409)["code"] == "sale_locked"
    assert sale.items.get().quantity == 2
    assert level(variant, warehouse) == (8, 0)


@pytest.mark.parametrize("state", ["cancelled", "rejected"])
def test_patch_items_of_a_closed_sale_is_409_sale_locked(state, api_client, seller):
    sale = sale_in(state, seller)

    response = api_client(seller).patch(url(sale), {"items": [line(stocked_variant(5), 1)]}, format="json")

    assert error(response, 409)["code"] == "sale_locked"
    assert sale.items.get().quantity == 2


def test_patch_discount_of_a_pending_sale_reprices_it_and_refreshes_the_payment_status(api_client, seller):
    sale = sale_in("pending", seller, stocked_variant(10, price=D("50.00")), quantity=2)
    sale_record_payment(sale=sale, amount=D("90.00"), user=seller)

    response = api_client(seller).patch(url(sale), {"discount": "10.00", "discount_type": "fixed"}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert (body["discount_total"], body["grand_total"], body["payment_status"], body["balance_due"]) == (
        "10.00", "90.00", "paid", "0.00")


def test_patch_warehouse_of_a_pending_sale_moves_its_reservation(api_client, seller, warehouse):
    east = WarehouseFactory(code="EAST")
    variant = stocked_variant(10)
    stock_services.stock_receive(variant=variant, warehouse=east, quantity=10)
    sale = sale_in("pending", seller, variant, quantity=3)

    response = api_client(seller).patch(url(sale), {"warehouse": "EAST"}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert (body["warehouse"], body["items"][0]["warehouse"]) == ("EAST", "EAST")
    assert (level(variant, warehouse), level(variant, east)) == ((10, 0), (10, 3))


def test_patch_customer_of_a_pending_sale_copies_the_new_customers_addresses(api_client, seller):
    address = AddressFactory(kind=AddressKind.SHIPPING, city="Genova", country="IT")
    sale = sale_in("pending", seller)

    response = api_client(seller).patch(url(sale), {"customer": address.customer_id}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert body["customer"]["id"] == address.customer_id
    assert body["shipping_address"]["city"] == "Genova"
    assert api_client(seller).get(SALES, {"country": "IT"}).json()["count"] == 1


def test_create_keeps_billing_and_shipping_addresses_tags_notes_and_external_id(api_client, seller):
    body = create_sale(
        api_client(seller), line(stocked_variant(5), 1, unit_price="9.50"), external_id="5875814957289",
        currency="eur", exchange_rate="1.08",
        billing_address={"name": "Acme", "line1": "Via Roma 1", "city": "Milano", "postal_code": "20100",
                         "country": "IT"},
        shipping_address={"name": "Acme WH", "city": "Torino", "country": "IT"},
        note="leave at door", staff_note="check id", tags=["walk-in", "promo"],
    )

    assert body["external_id"] == "5875814957289"
    assert body["currency"] == "EUR"
    assert body["billing_address"]["line1"] == "Via Roma 1"
    assert body["shipping_address"]["city"] == "Torino"
    assert (body["note"], body["staff_note"], body["tags"]) == ("leave at door", "check id", ["walk-in", "promo"])
    assert (body["return_status"], body["fulfillment_status"], body["payment_status"]) == ("none", "unfulfilled",
                                                                                          "unpaid")


def test_shipping_is_untaxed_unless_the_sale_says_so(api_client, seller):
    TaxRateFactory()
    client = api_client(seller)
    variant = stocked_variant(10, price=D("100.00"))

    untaxed = create_sale(client, line(variant, 1), tax="vat5", shipping_cost="10.00")
    taxed = create_sale(client, line(variant, 1), tax="vat5", shipping_cost="10.00", tax_shipping=True)

    assert (untaxed["tax_total"], untaxed["grand_total"]) == ("5.00", "115.00")
    assert (taxed["tax_total"], taxed["grand_total"]) == ("5.50", "115.50")


def test_prices_including_tax_extract_it(api_client, seller):
    TaxRateFactory()

    body = create_sale(api_client(seller), line(stocked_variant(5), 1, unit_price="105.00"), tax="vat5",
                       prices_include_tax=True)

    assert (body["tax_total"], body["grand_total"]) == ("5.00", "105.00")


# --- refund and returns ----------------------------------------------------------------------------------------------


def test_refund_without_the_refund_permission_is_403(api_client, seller):
    sale = sale_in("completed", seller)

    response = api_client(seller).post(url(sale, "refund"), {"restock": True}, format="json")

    assert error(response, 403)["code"] == "permission_denied"
    assert Sale.objects.get(pk=sale.pk).status == "completed"
    assert not Payment.objects.filter(kind="refund").exists()


def test_refund_with_restock_puts_units_back_and_records_the_refund(api_client, seller, warehouse):
    grant_refund(seller)
    variant = stocked_variant(10, price=D("20.00"))
    sale = sale_in("completed", seller, variant, quantity=3)
    sale_record_payment(sale=sale, amount=D("60.00"), user=seller)

    response = api_client(seller).post(url(sale, "refund"), {"restock": True, "reason": "damaged"}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert (body["status"], body["payment_status"], body["return_status"], body["paid_total"]) == (
        "refunded", "refunded", "full", "0.00")
    assert [(p["kind"], p["amount"]) for p in body["payments"]] == [("payment", "60.00"), ("refund", "60.00")]
    assert level(variant, warehouse) == (10, 0)


def test_refund_without_restock_leaves_stock_with_the_customer_and_the_sale_worth_nothing(
    api_client, staff, warehouse
):
    variant = stocked_variant(10)
    sale = sale_in("confirmed", staff, variant, quantity=3)
    staff.is_superuser = True
    staff.save()

    response = api_client(staff).post(url(sale, "refund"), {"restock": False}, format="json")

    body = response.json()
    assert body["status"] == "refunded"
    assert body["return_status"] == "full"  # every unit counts as returned; `restock` only says where they go
    assert (body["returned_total"], body["net_total"], body["balance_due"]) == (body["grand_total"], "0.00", "0.00")
    assert level(variant, warehouse) == (7, 0)


@pytest.fixture
def returnable(seller):
    """A confirmed, paid sale: 3 × 10.00 and 2 × 7.00, 10 % order discount, VAT 5 % → lines 28.35 and 13.23."""
    first, second = stocked_variant(10, price=D("10.00")), stocked_variant(10, price=D("7.00"))
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            status="confirmed",
            discount=D("10"),
            discount_type="percent",
            tax=TaxRateFactory(),
            items=[ItemData(variant=first, quantity=3), ItemData(variant=second, quantity=2)],
        ),
    )
    assert sale.grand_total == D("41.58")
    sale_record_payment(sale=sale, amount=sale.grand_total, method="card", user=seller)
    grant_refund(seller)  # returns with `refund` give money back: they need the permission
    items = list(sale.items.order_by("pk"))
    return {"sale": sale, "items": items, "variants": (first, second)}


def test_partial_return_answers_201_with_the_sale_and_refunds_what_the_units_were_charged(
    returnable, api_client, seller, warehouse
):
    sale, (first_item, _) = returnable["sale"], returnable["items"]

    response = api_client(seller).post(
        url(sale, "returns"), {"items": [{"item": first_item.pk, "quantity": 1}], "restock": True, "refund": True},
        format="json",
    )

    body = response.json()
    assert response.status_code == 201, body
    assert body["return_status"] == "partial"
    assert [i["quantity_returned"] for i in body["items"]] == [1, 0]
    assert [(p["kind"], p["amount"], p["method"]) for p in body["payments"]][-1] == ("refund", "9.45", "card")
    assert body["paid_total"] == "32.13"
    assert level(returnable["variants"][0], warehouse) == (8, 0)


def test_returning_everything_in_parts_refunds_the_grand_total_and_is_full(returnable, api_client, seller):
    sale, (first_item, second_item) = returnable["sale"], returnable["items"]
    client = api_client(seller)
    client.post(url(sale, "returns"), {"items": [{"item": first_item.pk, "quantity": 1}], "refund": True},
                format="json")

    response = client.post(
        url(sale, "returns"),
        {"items": [{"item": first_item.pk, "quantity": 2}, {"item": second_item.pk, "quantity": 2}], "refund": True},
        format="json",
    )

    body = response.json()
    assert response.status_code == 201, body
    assert body["return_status"] == "full"
    assert sum(D(p["amount"]) for p in body["payments"] if p["kind"] == "refund") == D("41.58")
    assert body["paid_total"] == "0.00"


def test_refund_after_a_partial_return_restocks_and_refunds_only_what_is_still_out(
    returnable, api_client, seller, warehouse
):
    grant_refund(seller)
    sale, (first_item, _) = returnable["sale"], returnable["items"]
    client = api_client(seller)
    client.post(url(sale, "returns"), {"items": [{"item": first_item.pk, "quantity": 1}], "restock": True,
                                       "refund": True}, format="json")

    response = client.post(url(sale, "refund"), {"restock": True}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert [p["amount"] for p in body["payments"] if p["kind"] == "refund"] == ["9.45", "32.13"]
    assert (body["paid_total"], body["payment_status"], body["return_status"]) == ("0.00", "refunded", "full")
    assert [level(variant, warehouse) for variant in returnable["variants"]] == [(10, 0), (10, 0)]


def test_refund_by_staff_without_the_refund_permission_is_403(api_client, staff, seller):
    sale = sale_in("completed", seller)

    assert error(api_client(staff).post(url(sale, "refund"), {}, format="json"), 403)["code"] == "permission_denied"


def test_return_without_restock_leaves_stock_alone(returnable, api_client, seller, warehouse):
    sale, (first_item, _) = returnable["sale"], returnable["items"]

    api_client(seller).post(url(sale, "returns"), {"items": [{"item": first_item.pk, "quantity": 2}]},
                            format="json")

    assert level(returnable["variants"][0], warehouse) == (7, 0)
    assert not Payment.objects.filter(kind="refund").exists()


@pytest.mark.parametrize(("already", "lines", "attr"), [
    (0, [(0, 4)], "items.0.quantity"),
    (0, [(0, 1), (1, 3)], "items.1.quantity"),
    (0, [(0, 2), (0, 2)], "items.1.quantity"),
    (2, [(0, 2)], "items.0.quantity"),
])
def test_returning_more_than_sold_minus_returned_is_400_on_the_line(
    already, lines, attr, returnable, api_client, seller, warehouse
):
    sale, items = returnable["sale"], returnable["items"]
    client = api_client(seller)
    if already:
        client.post(url(sale, "returns"), {"items": [{"item": items[0].pk, "quantity": already}]}, format="json")

    response = client.post(
        url(sale, "returns"),
        {"items": [{"item": items[index].pk, "quantity": quantity} for index, quantity in lines], "refund": True,
         "restock": True},
        format="json",
    )

    assert error(response, 400)["attr"] == attr
    assert [item.quantity_returned for item in sale.items.order_by("pk")] == [already, 0]
    assert level(returnable["variants"][0], warehouse) == (7, 0)


def test_return_on_a_pending_sale_is_409_invalid_transition(api_client, seller):
    sale = sale_in("pending", seller)

    response = api_client(seller).post(url(sale, "returns"), {"items": [{"item": sale.items.get().pk,
                                                                         "quantity": 1}]}, format="json")

    assert error(response, 409)["code"] == "invalid_transition"


# --- the number of queries of the lists does not grow with their length ---------------------------------------------


def sales_with_three_items(seller, count: int) -> None:
    channel = ChannelFactory(code="web")
    variants = [stocked_variant(1000) for _ in range(3)]
    for _ in range(count):
        services.sale_create(
            seller=seller,
            data=services.NewSale(
                customer=CustomerFactory(),
                channel=channel,
                tax=TaxRateFactory(),
                items=[ItemData(variant=variant, quantity=1) for variant in variants],
            ),
        )


# token + user, rate counter, count, sales joined with seller/customer/channel/warehouse/tax, items joined with
# their references, the sales split off them, the promotions applied to them
LIST_QUERIES = 7


@pytest.mark.parametrize("count", [5, 30])
def test_sales_list_queries_do_not_grow_with_the_number_of_sales(count, api_client, seller,
                                                                   django_assert_max_num_queries):
    sales_with_three_items(seller, count)
    client = api_client(seller)

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(SALES)

    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("count", [5, 30])
def test_activity_queries_do_not_grow_with_the_number_of_events(count, api_client, seller,
                                                                 django_assert_max_num_queries):
    sale = sale_in("pending", seller)
    for _ in range(count - 2):
        sale_record_payment(sale=sale, amount=D("0.01"), user=StaffFactory())
    client = api_client(seller)

    with django_assert_max_num_queries(4):  # token, rate counter, sale, events with their users
        response = client.get(url(sale, "activity"))

    assert len(response.json()) == count


@pytest.mark.parametrize("count", [5, 30])
def test_detail_queries_do_not_grow_with_the_number_of_payments(count, api_client, seller,
                                                                django_assert_max_num_queries):
    sale = sale_in("pending", seller)
    for _ in range(count):
        sale_record_payment(sale=sale, amount=D("0.01"), user=UserFactory())
    client = api_client(seller)

    # token + user, sale with its references, items, payments with users, the sales split off it, its promotions
    with django_assert_max_num_queries(7):
        response = client.get(url(sale))

    assert len(response.json()["payments"]) == count
