"""Omnilabs channel sales (seed 002) at /compat/omnilabs/: every sample of the document, its flows (status,
warehouse, carrier, product group, invoice) with their effects seen through /api/v1/, scoping and bad input in
Omnilabs' error envelope."""

import base64
import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.tests.factories import CustomerFactory
from inventory.models import StockLevel
from inventory.tests.factories import ProductGroupFactory, WarehouseFactory, stocked_variant
from sales import services
from sales.models import Invoice, Sale, Store, StoreMembership, StoreRole
from sales.services import ItemData
from sales.tests.factories import CarrierFactory, ChannelFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

BASE = "/compat/omnilabs"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MILANO = {"line1": "Via Macedonio Melloni", "city": "Milano", "postal_code": "20129", "country": "IT"}
MILANO_SHOWN = {"street": "Via Macedonio Melloni", "city": "Milano", "postal_code": "20129", "country": "Italy"}


def sale_of(seller, *, status="pending", quantity=1, variant=None, unit_price=None, **fields) -> Sale:
    variant = variant or stocked_variant(10)
    line = ItemData(variant=variant, quantity=quantity, unit_price=unit_price)
    data = services.NewSale(items=[line], status=status, **fields)
    return services.sale_create(seller=seller, data=data)


def level(variant, warehouse) -> tuple[int, int]:
    return StockLevel.objects.values_list("on_hand", "reserved").get(variant=variant, warehouse=warehouse)


def v1_sale(client, sale) -> dict:
    response = client.get(f"/api/v1/sales/{sale.pk}/")
    assert response.status_code == 200, response.json()
    return response.json()


def ok(response) -> None:
    assert response.status_code == 200, response.content
    assert response.json() == "ok"


def envelope(response, status: int) -> dict:
    """Omnilabs' error body, checked field for field."""
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"statusCode", "message", "error"}, body
    assert body["statusCode"] == status and body["message"]
    return body


def grant_refund(user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="refund_sale", content_type__app_label="sales"))


def curl_d(client, path: str, body: dict, **extra):
    """`curl -d '{…}'` as the document writes it: a JSON object sent as `application/x-www-form-urlencoded`."""
    return client.post(path, json.dumps(body), content_type="application/x-www-form-urlencoded", **extra)


# --- the document's samples ---------------------------------------------------------------------------------


def test_get_sale_by_id_reproduces_the_sale_resource_of_the_document(api_client, seller):
    """The sample: a sale of 1 × 26.95 EUR in Italy, moved to IN_DELIVERY after its carrier (DPD) was set."""
    client = api_client(seller)
    customer = CustomerFactory(name="Luca Santini", email="luca@gmail.com")
    channel = ChannelFactory(code="omni-store", name="Omni store")
    warehouse = WarehouseFactory(code="uae-sec", name="UAE (sec)")
    variant = stocked_variant(
        5, warehouse=warehouse, sku="1", name="The 3p Fulfilled Snowboard", price=Decimal("26.95")
    )
    dpd = CarrierFactory(
        code="dpd", name="DPD", tracking_url_template="https://www.dpdgroup.com/fr/mydpd/my-parcels/search?"
    )
    sale = sale_of(
        seller,
        variant=variant,
        unit_price=Decimal("26.95"),
        warehouse=warehouse,
        customer=customer,
        channel=channel,
        currency="EUR",
        exchange_rate=Decimal("1.1"),
        sold_at=datetime(2024, 7, 26, 8, 3, 48, tzinfo=UTC),
        billing_address=MILANO,
        shipping_address=MILANO,
        external_id="clz2me042000a14c4iolkjiqg",
    )
    ok(curl_d(client, f"{BASE}/sale/{sale.pk}/status", {"status": "CONFIRMED"}))
    item = f"{BASE}/sale/{sale.pk}/item/{variant.product_id}"
    ok(curl_d(client, f"{item}/carrier", {"carrier_id": dpd.code, "user": str(seller.pk)}))
    # The tracking code comes from the carrier's integration (v1's item update); the link is the carrier's.
    services.sale_update_item(item=sale.items.get(), user=seller, data={"tracking_code": "123456789"})
    ok(curl_d(client, f"{BASE}/sale/{sale.pk}/status", {"status": "IN_DELIVERY"}))

    response = client.get(f"{BASE}/sale/{sale.pk}")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert list(body) == [
        "id",
        "secondary_id",
        "human_id",
        "team_id",
        "channel_type",
        "channel_id",
        "amount",
        "discount",
        "currency",
        "shipping_cost",
        "country",
        "status",
        "date",
        "client",
        "products",
        "activity",
    ]
    assert body["id"] == str(sale.pk)
    assert body["secondary_id"] == "clz2me042000a14c4iolkjiqg"
    assert body["human_id"] == sale.number
    assert body["team_id"] is None  # no store
    assert body["channel_type"] == channel.kind and body["channel_id"] == str(channel.pk)
    assert body["amount"] == 26.95 and body["discount"] == 0 and body["shipping_cost"] == 0
    assert body["currency"] == "EUR" and body["country"] == "Italy" and body["status"] == "IN_DELIVERY"
    assert body["date"] == "2024-07-26T08:03:48.000Z"
    assert body["client"] == {
        "id": str(customer.pk),
        "name": "Luca Santini",
        "email": "luca@gmail.com",
        "delivery_address": MILANO_SHOWN,
        "invoice_address": MILANO_SHOWN,
    }
    assert body["products"] == [
        {
            "name": "The 3p Fulfilled Snowboard",
            "sku": "1",
            "qty": 1,
            "price": 26.95,
            "warehouse": {"name": "UAE (sec)"},
            "carrier": {
                "type": "DPD",
                "tracking_code": "123456789",
                "tracking_link": "https://www.dpdgroup.com/fr/mydpd/my-parcels/search?",
            },
        }
    ]
    # The sample's two last entries: the carrier got the data, then the team moved it to IN_DELIVERY.
    tail = body["activity"][-2:]
    assert [entry["type"] for entry in tail] == ["DATA_COMMUNICATED_TO_CARRIER", "UPDATED_STATUS_BY_TEAM"]
    assert "status" not in tail[0] and tail[1]["status"] == "IN_DELIVERY"
    assert all(
        set(entry) <= {"type", "status", "created_at"} and ISO_MS.match(entry["created_at"])
        for entry in body["activity"]
    )
    assert body["activity"][0]["type"] == "CREATED"
    assert json.loads(json.dumps(body)) == body  # ids strings, money numbers: plain JSON


def test_get_sale_answers_null_for_what_the_product_does_not_have(api_client, seller):
    sale = sale_of(seller)
    body = api_client(seller).get(f"{BASE}/sale/{sale.pk}").json()
    assert body["team_id"] is None and body["channel_type"] is None and body["channel_id"] is None
    assert body["client"] is None and body["country"] is None
    assert body["secondary_id"] == sale.reference  # no external id: the sale's own reference
    assert body["products"][0]["carrier"] is None


def test_list_of_sales_reproduces_the_document_sample_with_its_filters(api_client, seller):
    client = api_client(seller)
    store = ChannelFactory(code="test-store", name="Test Store")
    variant = stocked_variant(10, price=Decimal("2629.95"))
    sale = sale_of(seller, variant=variant, channel=store, shipping_address=MILANO, external_id="5875814957289")
    sale_of(seller, channel=store, shipping_address=MILANO, status="confirmed")  # not NEW
    sale_of(seller, shipping_address=MILANO)  # another channel (none)
    sale_of(seller, channel=store, shipping_address={**MILANO, "country": "FR"})  # France
    sale_of(UserFactory(), channel=store, shipping_address=MILANO)  # another seller's

    response = client.get(
        f"{BASE}/sales", {"channel": store.pk, "country": "Italy", "status": "NEW", "page": 1, "take": 10}
    )

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "data": [
            {
                "id": str(sale.pk),
                "secondary_id": "5875814957289",
                "human_id": sale.number,
                "amount": 2629.95,
                "country": "Italy",
                "status": "NEW",
                "channel": {"name": "Test Store", "type": store.kind},
            }
        ],
        "total": 1,
        "take": 10,
        "current_page": 1,
        "last_page": 1,
    }
    # The channel by its code, the country by its ISO code, the word in any case: the same sale.
    again = client.get(f"{BASE}/sales", {"channel": "test-store", "country": "it", "status": "new"}).json()
    assert [row["id"] for row in again["data"]] == [str(sale.pk)]


def test_list_pages_newest_first(api_client, seller):
    sales = [sale_of(seller) for _ in range(3)]
    client = api_client(seller)
    first = client.get(f"{BASE}/sales", {"take": 2}).json()
    second = client.get(f"{BASE}/sales", {"take": 2, "page": 2}).json()
    assert [row["id"] for row in first["data"] + second["data"]] == [str(s.pk) for s in reversed(sales)]
    assert (first["total"], first["take"], first["current_page"], first["last_page"]) == (3, 2, 1, 2)
    assert second["current_page"] == 2 and len(second["data"]) == 1
    assert client.get(f"{BASE}/sales", {"country": "Atlantis"}).json()["data"] == []


@pytest.mark.parametrize("query", [{"take": 0}, {"take": 101}, {"page": "x"}, {"status": "SHIPPED"}])
def test_list_refuses_bad_parameters_in_the_envelope(api_client, seller, query):
    body = envelope(api_client(seller).get(f"{BASE}/sales", query), 400)
    assert body["error"] == "Bad Request"


def test_statuses_reproduce_the_document_sample(api_client, seller):
    grant_refund(seller)
    sale = sale_of(seller, status="confirmed")
    services.sale_ship(sale=sale, user=seller)
    response = api_client(seller).get(f"{BASE}/sale/{sale.pk}/statuses")
    assert response.status_code == 200
    assert response.json() == ["COMPLETED", "REFUNDED"]


def test_statuses_are_those_the_caller_may_use(api_client, seller):
    """Without the refund permission, REFUNDED is not offered; a draft may become NEW (submitted) or CANCELED."""
    client = api_client(seller)
    shipped = sale_of(seller, status="confirmed")
    services.sale_ship(sale=shipped, user=seller)
    assert client.get(f"{BASE}/sale/{shipped.pk}/statuses").json() == ["COMPLETED"]
    draft = sale_of(seller, status="draft")
    assert client.get(f"{BASE}/sale/{draft.pk}/statuses").json() == ["NEW", "CANCELED"]


def test_activity_reproduces_the_document_sample(api_client, seller):
    client = api_client(seller)
    sale = sale_of(seller, status="confirmed")
    services.sale_ship(sale=sale, user=seller, carrier=CarrierFactory(code="dpd", name="DPD"), tracking_code="123")

    response = client.get(f"{BASE}/sale/{sale.pk}/activity")

    assert response.status_code == 200
    body = response.json()
    assert [(e["type"], e.get("status")) for e in body] == [
        ("CREATED", None),
        ("UPDATED_STATUS_BY_TEAM", "NEW"),
        ("UPDATED_STATUS_BY_TEAM", "CONFIRMED"),
        ("DATA_COMMUNICATED_TO_CARRIER", None),
        ("UPDATED_STATUS_BY_TEAM", "IN_DELIVERY"),
    ]
    for entry in body:
        assert set(entry) == ({"id", "sale_id", "type", "created_at"} | ({"status"} if "status" in entry else set()))
        assert entry["sale_id"] == str(sale.pk) and entry["id"].isdigit() and ISO_MS.match(entry["created_at"])
    # The fulfilment's carrier shows on the line.
    products = client.get(f"{BASE}/sale/{sale.pk}").json()["products"]
    assert products[0]["carrier"] == {
        "type": "DPD",
        "tracking_code": "123",
        "tracking_link": "https://track.example.com/123",
    }


# --- POST /sale/{id}/status ---------------------------------------------------------------------------------


def test_status_words_run_the_transitions_and_move_stock_as_v1(api_client, seller, warehouse):
    """NEW submits a draft (reserves), CONFIRMED commits, COMPLETED completes: the curl line's own encoding."""
    client = api_client(seller)
    variant = stocked_variant(10)
    sale = sale_of(seller, status="draft", variant=variant, quantity=3)
    ok(curl_d(client, f"{BASE}/sale/{sale.pk}/status", {"status": "NEW"}))
    assert level(variant, warehouse) == (10, 3) and v1_sale(client, sale)["status"] == "pending"
    ok(client.post(f"{BASE}/sale/{sale.pk}/status", {"status": "CONFIRMED"}, format="json"))
    assert level(variant, warehouse) == (7, 0) and v1_sale(client, sale)["status"] == "confirmed"
    ok(
        client.post(
            f"{BASE}/sale/{sale.pk}/status", "status=COMPLETED", content_type="application/x-www-form-urlencoded"
        )
    )
    assert v1_sale(client, sale)["status"] == "completed"
    assert client.get(f"{BASE}/sale/{sale.pk}").json()["status"] == "COMPLETED"


@pytest.mark.parametrize(
    ("word", "status", "stock"),
    [
        ("CANCELED", "cancelled", (10, 0)),
        ("REJECTED", "rejected", (10, 0)),
    ],
)
def test_canceled_and_rejected_give_the_reservation_back(api_client, seller, warehouse, word, status, stock):
    client = api_client(seller)
    variant = stocked_variant(10)
    sale = sale_of(seller, variant=variant, quantity=2)
    assert level(variant, warehouse) == (10, 2)
    ok(curl_d(client, f"{BASE}/sale/{sale.pk}/status", {"status": word}))
    assert level(variant, warehouse) == stock
    assert v1_sale(client, sale)["status"] == status
    assert client.get(f"{BASE}/sale/{sale.pk}").json()["status"] == word


def test_canceled_after_confirm_puts_the_units_back(api_client, seller, warehouse):
    client = api_client(seller)
    variant = stocked_variant(10)
    sale = sale_of(seller, variant=variant, quantity=4, status="confirmed")
    assert level(variant, warehouse) == (6, 0)
    ok(curl_d(client, f"{BASE}/sale/{sale.pk}/status", {"status": "CANCELED"}))
    assert level(variant, warehouse) == (10, 0)


def test_refunded_is_the_document_example_and_needs_the_refund_permission(api_client, seller):
    client = api_client(seller)
    sale = sale_of(seller, status="completed")
    envelope(curl_d(client, f"{BASE}/sale/{sale.pk}/status", {"status": "REFUNDED"}), 403)
    grant_refund(seller)
    ok(
        api_client(Sale.objects.get(pk=sale.pk).seller).post(
            f"{BASE}/sale/{sale.pk}/status", '{"status": "REFUNDED"}', content_type="application/x-www-form-urlencoded"
        )
    )
    assert v1_sale(client, sale)["status"] == "refunded"


def test_a_status_the_sale_cannot_take_is_a_409(api_client, seller):
    sale = sale_of(seller, status="completed")
    body = envelope(curl_d(api_client(seller), f"{BASE}/sale/{sale.pk}/status", {"status": "NEW"}), 409)
    assert body["error"] == "Conflict"
    assert body["message"] == f"Sale {sale.pk} is COMPLETED: it cannot become NEW. Allowed: none."  # its words
    draft = sale_of(seller, status="draft")
    body = envelope(curl_d(api_client(seller), f"{BASE}/sale/{draft.pk}/status", {"status": "CONFIRMED"}), 409)
    assert body["message"] == f"Sale {draft.pk} is NEW: it cannot become CONFIRMED. Allowed: NEW, CANCELED."


def test_submitting_short_stock_is_a_409(api_client, seller):
    variant = stocked_variant(1)
    sale = sale_of(seller, status="draft", variant=variant, quantity=5)
    envelope(curl_d(api_client(seller), f"{BASE}/sale/{sale.pk}/status", {"status": "NEW"}), 409)
    assert Sale.objects.get(pk=sale.pk).status == "draft"


@pytest.mark.parametrize("body", [{"status": "SHIPPED"}, {}, {"status": ["NEW"]}, ["NEW"], {"status": None}])
def test_a_bad_status_body_is_a_400(api_client, seller, body):
    sale = sale_of(seller)
    envelope(api_client(seller).post(f"{BASE}/sale/{sale.pk}/status", body, format="json"), 400)


def test_malformed_json_is_a_400(api_client, seller):
    sale = sale_of(seller)
    response = api_client(seller).post(f"{BASE}/sale/{sale.pk}/status", '{"status": ', content_type="application/json")
    envelope(response, 400)


def test_idempotency_key_replays_the_answer(api_client, seller):
    client = api_client(seller)
    sale = sale_of(seller)
    first = curl_d(client, f"{BASE}/sale/{sale.pk}/status", {"status": "CONFIRMED"}, HTTP_IDEMPOTENCY_KEY="k1")
    again = curl_d(client, f"{BASE}/sale/{sale.pk}/status", {"status": "CONFIRMED"}, HTTP_IDEMPOTENCY_KEY="k1")
    ok(first)
    ok(again)
    assert again["Idempotent-Replayed"] == "true"


# --- item routes ------------------------------------------------------------------------------------------------


def test_warehouse_of_a_pending_line_moves_its_reservation(api_client, seller, warehouse):
    client = api_client(seller)
    other = WarehouseFactory(code="uae-sec", name="UAE (sec)")
    variant = stocked_variant(10)
    stocked_variant(0)  # another product, not on the sale
    from inventory import services as stock_services

    stock_services.stock_receive(variant=variant, warehouse=other, quantity=5, reason="test")
    sale = sale_of(seller, variant=variant, quantity=2)
    path = f"{BASE}/sale/{sale.pk}/item/{variant.product_id}/warehouse"

    ok(curl_d(client, path, {"warehouse_id": str(other.pk), "user": str(seller.pk)}))

    assert level(variant, warehouse) == (10, 0) and level(variant, other) == (5, 2)
    assert v1_sale(client, sale)["items"][0]["warehouse"] == "uae-sec"
    assert client.get(f"{BASE}/sale/{sale.pk}").json()["products"][0]["warehouse"] == {"name": "UAE (sec)"}
    ok(curl_d(client, path, {"warehouse_id": warehouse.code, "user": str(seller.pk)}))  # by code too
    assert level(variant, warehouse) == (10, 2) and level(variant, other) == (5, 0)


def test_carrier_and_product_group_are_set_on_every_line_of_the_product(api_client, seller):
    client = api_client(seller)
    variant = stocked_variant(10)
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(items=[ItemData(variant=variant, quantity=1), ItemData(variant=variant, quantity=2)]),
    )
    dpd, group = CarrierFactory(code="dpd", name="DPD"), ProductGroupFactory(code="boards")

    ok(
        curl_d(
            client,
            f"{BASE}/sale/{sale.pk}/item/{variant.product_id}/carrier",
            {"carrier_id": dpd.pk, "user": seller.pk},
        )
    )
    ok(
        client.post(
            f"{BASE}/sale/{sale.pk}/item/{variant.sku}/product-group",  # the product named by its sku
            {"product_group_id": "boards", "user": str(seller.pk)},
            format="json",
        )
    )

    items = v1_sale(client, sale)["items"]
    assert [(i["carrier"], i["product_group"]) for i in items] == [("dpd", "boards"), ("dpd", "boards")]
    assert [e["type"] for e in client.get(f"{BASE}/sale/{sale.pk}/activity").json()][-4:] == [
        "DATA_COMMUNICATED_TO_CARRIER",
        "DATA_COMMUNICATED_TO_CARRIER",
        "ITEM_UPDATED",
        "ITEM_UPDATED",
    ]
    ok(curl_d(client, f"{BASE}/sale/{sale.pk}/item/{variant.product_id}/carrier", {"carrier_id": None}))
    assert [i["carrier"] for i in v1_sale(client, sale)["items"]] == [None, None]
    assert group.pk


def test_item_routes_refuse_what_they_cannot_do(api_client, seller):
    client = api_client(seller)
    sale = sale_of(seller)
    product = sale.items.get().product_id
    item = f"{BASE}/sale/{sale.pk}/item"
    assert "not on sale" in envelope(curl_d(client, f"{item}/999999/carrier", {"carrier_id": None}), 404)["message"]
    envelope(curl_d(client, f"{item}/{product}/warehouse", {"warehouse_id": "nope"}), 400)
    envelope(curl_d(client, f"{item}/{product}/warehouse", {"warehouse_id": None}), 400)
    envelope(curl_d(client, f"{item}/{product}/warehouse", {}), 400)
    envelope(curl_d(client, f"{item}/{product}/product-group", {"product_group_id": {"a": 1}}), 400)
    # Naming another user is for staff only.
    other = UserFactory()
    body = envelope(curl_d(client, f"{item}/{product}/carrier", {"carrier_id": None, "user": str(other.pk)}), 403)
    assert body["error"] == "Forbidden"
    staff = StaffFactory()
    ok(curl_d(api_client(staff), f"{item}/{product}/carrier", {"carrier_id": CarrierFactory().code, "user": other.pk}))
    assert sale.events.order_by("-pk").first().user == other
    closed = sale_of(seller, status="pending")
    services.sale_cancel(sale=closed, user=seller)
    envelope(
        curl_d(client, f"{BASE}/sale/{closed.pk}/item/{closed.items.get().product_id}/carrier", {"carrier_id": None}),
        409,
    )


# --- invoice ------------------------------------------------------------------------------------------------


def test_invoice_base64_is_attached_like_v1(api_client, seller):
    client = api_client(seller)
    sale = sale_of(seller, status="confirmed")
    ok(
        curl_d(
            client,
            f"{BASE}/sale/{sale.pk}/invoice",
            {"user": str(seller.pk), "invoice": base64.b64encode(PDF).decode()},
        )
    )
    invoice = Invoice.objects.get(sale=sale)
    assert invoice.content_type == "application/pdf" and invoice.file.read() == PDF
    assert client.get(f"{BASE}/sale/{sale.pk}/activity").json()[-1]["type"] == "INVOICE_ATTACHED"
    assert client.get(f"/api/v1/sales/{sale.pk}/invoice/").status_code == 200


@pytest.mark.parametrize(
    ("content", "status"), [("not base64!", 400), (base64.b64encode(b"hello").decode(), 400), ("", 400), (None, 400)]
)
def test_invoice_refuses_what_is_not_an_invoice(api_client, seller, content, status):
    sale = sale_of(seller)
    envelope(api_client(seller).post(f"{BASE}/sale/{sale.pk}/invoice", {"invoice": content}, format="json"), status)
    assert not Invoice.objects.filter(sale=sale).exists()


# --- scope, auth, methods -------------------------------------------------------------------------------------


ROUTES = [
    ("get", "/sale/{id}", None),
    ("get", "/sale/{id}/statuses", None),
    ("get", "/sale/{id}/activity", None),
    ("post", "/sale/{id}/status", {"status": "CONFIRMED"}),
    ("post", "/sale/{id}/item/1/warehouse", {"warehouse_id": "MAIN"}),
    ("post", "/sale/{id}/item/1/carrier", {"carrier_id": None}),
    ("post", "/sale/{id}/item/1/product-group", {"product_group_id": None}),
    ("post", "/sale/{id}/invoice", {"invoice": base64.b64encode(PDF).decode()}),
]


@pytest.mark.parametrize(("method", "route", "body"), ROUTES)
def test_another_sellers_sale_and_bad_ids_are_not_found(api_client, seller, method, route, body):
    theirs = sale_of(UserFactory())
    client = api_client(seller)
    for sale_id in (theirs.pk, "abc", "0", "99999999999999999999"):
        response = getattr(client, method)(BASE + route.format(id=sale_id), body, format="json")
        assert envelope(response, 404)["error"] == "Not Found"
    assert Sale.objects.get(pk=theirs.pk).status == "pending"


@pytest.mark.parametrize(("method", "route", "body"), [*ROUTES, ("get", "/sales", None)])
def test_no_token_is_a_401_in_the_envelope(api_client, method, route, body):
    response = getattr(api_client(), method)(BASE + route.format(id=1), body, format="json")
    assert envelope(response, 401)["error"] == "Unauthorized"


def test_a_manager_sees_the_store_sales_and_staff_see_all(api_client, seller, warehouse):
    store = Store.objects.create(code="milano", name="Milano", warehouse=warehouse)
    StoreMembership.objects.create(store=store, user=seller)
    manager = UserFactory()
    StoreMembership.objects.create(store=store, user=manager, role=StoreRole.MANAGER)
    sale = sale_of(seller)  # the seller's only store
    assert api_client(StaffFactory()).get(f"{BASE}/sale/{sale.pk}").status_code == 200
    body = api_client(manager).get(f"{BASE}/sale/{sale.pk}").json()
    assert body["team_id"] == str(store.pk)
    assert api_client(manager).get(f"{BASE}/sales").json()["total"] == 1
    assert api_client(UserFactory()).get(f"{BASE}/sales").json()["total"] == 0


def test_a_wrong_method_is_a_405_in_the_envelope(api_client, seller):
    sale = sale_of(seller)
    client = api_client(seller)
    assert envelope(client.delete(f"{BASE}/sale/{sale.pk}"), 405)["error"] == "Method Not Allowed"
    envelope(client.get(f"{BASE}/sale/{sale.pk}/status"), 405)
    envelope(client.post(f"{BASE}/sales", {}, format="json"), 405)


@pytest.mark.parametrize("path", ["/nope", "/sales/x", "/sale/1/items", "/sale/1//", "/"])
def test_an_unknown_path_is_a_404_in_the_envelope(api_client, path):
    response = api_client().post(BASE + path)
    assert envelope(response, 404)["message"] == f"Cannot POST {BASE}{path}"


def test_invoice_as_a_multipart_file(api_client, seller):
    sale = sale_of(seller)
    upload = SimpleUploadedFile("invoice.pdf", PDF, content_type="application/pdf")
    ok(api_client(seller).post(f"{BASE}/sale/{sale.pk}/invoice", {"invoice": upload, "user": seller.pk}))
    assert Invoice.objects.get(sale=sale).file.read() == PDF


def test_the_sale_and_the_list_read_a_fixed_number_of_queries(api_client, seller):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_client(seller)

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured)

    def shipped(lines: int) -> Sale:
        items = [ItemData(variant=stocked_variant(5), quantity=1) for _ in range(lines)]
        sale = services.sale_create(
            seller=seller, data=services.NewSale(items=items, status="confirmed", channel=ChannelFactory())
        )
        return services.sale_ship(sale=sale, user=seller, carrier=CarrierFactory(), tracking_code="1")

    one, three = shipped(1), shipped(3)
    assert queries(f"{BASE}/sale/{one.pk}") == queries(f"{BASE}/sale/{three.pk}")
    small = queries(f"{BASE}/sales?take=1")
    assert queries(f"{BASE}/sales?take=2") == small


def test_a_transient_conflict_is_not_replayed_for_the_same_key(api_client, seller, monkeypatch):
    """A lock conflict rolls back with its Idempotency-Key claim: the retry runs (v1's rule), in this envelope too."""
    from salesproject.api.exceptions import Conflict

    client = api_client(seller)
    sale = sale_of(seller)
    real = services.sale_transition_to

    def busy(**kwargs):
        raise Conflict()

    monkeypatch.setattr(services, "sale_transition_to", busy)
    path = f"{BASE}/sale/{sale.pk}/status"
    assert (
        envelope(curl_d(client, path, {"status": "CONFIRMED"}, HTTP_IDEMPOTENCY_KEY="k2"), 409)["error"] == "Conflict"
    )
    monkeypatch.setattr(services, "sale_transition_to", real)
    retry = curl_d(client, path, {"status": "CONFIRMED"}, HTTP_IDEMPOTENCY_KEY="k2")
    ok(retry)
    assert "Idempotent-Replayed" not in retry and Sale.objects.get(pk=sale.pk).status == "confirmed"


def test_a_trailing_slash_is_served_as_express_does(api_client, seller):
    """The document writes no trailing slash; Express (non-strict routing) serves one as well."""
    sale = sale_of(seller)
    client = api_client(seller)
    assert client.get(f"{BASE}/sales/").json()["data"][0]["id"] == str(sale.pk)
    assert client.get(f"{BASE}/sale/{sale.pk}/").json()["id"] == str(sale.pk)
    ok(curl_d(client, f"{BASE}/sale/{sale.pk}/status/", {"status": "CONFIRMED"}))
    assert Sale.objects.get(pk=sale.pk).status == "confirmed"
    assert envelope(client.post(f"{BASE}/sales/"), 405)["error"] == "Method Not Allowed"


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "text/html,application/xhtml+xml,*/*;q=0.8"])
def test_answers_are_json_whatever_accept_says(api_client, seller, accept):
    """Never the browsable API's HTML, never a 406: the answer a client of the document expects."""
    sale = sale_of(seller)
    client = api_client(seller)
    found = client.get(f"{BASE}/sale/{sale.pk}", HTTP_ACCEPT=accept)
    assert found.status_code == 200 and found["Content-Type"] == "application/json"
    assert found.json()["id"] == str(sale.pk)
    missing = client.get(f"{BASE}/sale/0", HTTP_ACCEPT=accept)
    assert missing["Content-Type"] == "application/json"
    assert envelope(missing, 404)["error"] == "Not Found"


def test_the_schema_types_the_path_ids_as_strings():
    """Ids are strings in this document, and `{product_id}` may be a sku."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    item = paths[f"{BASE}/sale/{{sale_id}}/item/{{product_id}}/carrier"]["post"]
    types = {p["name"]: p["schema"] for p in item["parameters"] if p["in"] == "path"}
    assert types == {"sale_id": {"type": "string"}, "product_id": {"type": "string"}}
    assert not any(path.endswith("/") for path in paths if path.startswith(BASE))


def test_refusals_before_the_view_are_in_the_envelope_too(api_client, seller, settings):
    """A NUL in the query and a body over the size limit are refused by middleware, in Omnilabs' envelope."""
    client = api_client(seller)
    body = envelope(client.get(f"{BASE}/sales?status=%00"), 400)
    assert body == {
        "statusCode": 400,
        "message": "status: Null characters are not allowed in query parameters.",
        "error": "Bad Request",
    }
    settings.API_MAX_BODY_BYTES = 100
    sale = sale_of(seller)
    too_large = curl_d(client, f"{BASE}/sale/{sale.pk}/status", {"status": "CONFIRMED", "pad": "x" * 200})
    assert envelope(too_large, 413)["error"] == "Request Entity Too Large"
    assert Sale.objects.get(pk=sale.pk).status == "pending"
