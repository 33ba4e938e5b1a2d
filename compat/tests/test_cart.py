"""Seed 000, cart sales at /compat/cart/: the document's samples and flows, their effects through /api/v1/."""

import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from inventory.models import StockLevel, Variant
from inventory.tests.factories import VariantFactory, stocked_variant
from sales import services
from sales.models import Sale, SaleEvent, Store, StoreMembership, StoreRole
from sales.services import ItemData
from sales.tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

BASE = "/compat/cart"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def catalogue():
    """The document's laptop (one variant) and mouse (named by variant), 10 units each."""
    laptop = stocked_variant(10, name="Laptop Dell XPS 15", price=Decimal("1399.00"),
                             image_url="https://cdn.example.com/laptop.jpg")
    mouse = stocked_variant(10, name="Wireless Mouse", price=Decimal("29.99"))
    return {"laptop": laptop, "mouse": mouse}


def stock(variant: Variant) -> tuple[int, int]:
    level = StockLevel.objects.get(variant=variant)
    return level.on_hand, level.reserved


def sample_body(catalogue) -> dict:
    laptop, mouse = catalogue["laptop"], catalogue["mouse"]
    return {
        "products": [
            {"productId": f"prod_{laptop.product_id}", "quantity": 2, "price": 1299.99},
            {"productId": f"prod_{mouse.product_id}", "quantity": 1, "price": 29.99, "variantId": f"var_{mouse.pk}"},
        ]
    }


def create(client, catalogue) -> dict:
    response = client.post(f"{BASE}/sells", sample_body(catalogue), format="json")
    assert response.status_code == 201, response.content
    return response.json()["sell"]


def make_sale(seller, variant, quantity=1, status="pending", **fields) -> Sale:
    return services.sale_create(
        seller=seller, data=services.NewSale(items=[ItemData(variant=variant, quantity=quantity, **fields)],
                                             status=status),
    )


# --- POST /sells ---------------------------------------------------------------------------------------


def test_create_answers_the_documents_sample(api_client, seller, catalogue):
    laptop, mouse = catalogue["laptop"], catalogue["mouse"]
    sell = create(api_client(seller), catalogue)
    sale = Sale.objects.get()
    assert sell == {
        "id": f"sell_{sale.pk}",
        "userId": f"usr_{seller.pk}",
        "products": [
            {"productId": f"prod_{laptop.product_id}", "name": "Laptop Dell XPS 15", "quantity": 2,
             "price": 1299.99, "subtotal": 2599.98},
            {"productId": f"prod_{mouse.product_id}", "name": "Wireless Mouse", "quantity": 1, "price": 29.99,
             "variantId": f"var_{mouse.pk}", "subtotal": 29.99},
        ],
        "total": 2629.97,
        "status": "pending",
        "createdAt": sell["createdAt"],
    }
    assert ISO_Z.match(sell["createdAt"])
    assert "confirmedAt" not in sell


def test_create_reserves_stock_and_is_a_pending_sale_in_v1(api_client, seller, catalogue):
    client = api_client(seller)
    sell = create(client, catalogue)
    assert stock(catalogue["laptop"]) == (10, 2)
    assert stock(catalogue["mouse"]) == (10, 1)
    v1 = client.get(f"/api/v1/sales/{sell['id'].removeprefix('sell_')}/").json()
    assert v1["status"] == "pending"
    assert v1["grand_total"] == "2629.97"
    assert v1["seller"]["id"] == seller.pk
    created = SaleEvent.objects.get(sale_id=v1["id"], type="created")
    assert created.data["source"] == "compat-cart"


def test_create_takes_bare_ids_and_the_catalogue_price(api_client, seller, catalogue):
    laptop = catalogue["laptop"]
    body = {"products": [{"productId": laptop.product_id, "quantity": "1"}]}
    response = api_client(seller).post(f"{BASE}/sells", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["sell"]["products"][0]["price"] == 1399.0
    assert response.json()["sell"]["total"] == 1399.0


def test_create_reads_json_sent_with_curls_default_form_type(api_client, seller, catalogue):
    response = api_client(seller).post(
        f"{BASE}/sells", json.dumps(sample_body(catalogue)), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 201, response.content
    assert response.json()["sell"]["total"] == 2629.97


def test_a_product_with_several_variants_names_its_variant(api_client, seller, catalogue):
    mouse = catalogue["mouse"]
    VariantFactory(product=mouse.product)
    body = {"products": [{"productId": f"prod_{mouse.product_id}", "variantId": f"var_{mouse.pk}", "quantity": 1}]}
    client = api_client(seller)
    sell = client.post(f"{BASE}/sells", body, format="json").json()["sell"]
    listed = client.get(f"{BASE}/sells").json()["sells"][0]
    assert sell["products"][0]["variantId"] == listed["products"][0]["variantId"] == f"var_{mouse.pk}"
    body["products"][0].pop("variantId")
    response = client.post(f"{BASE}/sells", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "required"


def test_errors_name_the_documents_fields_not_the_products(api_client, seller, catalogue):
    mouse = catalogue["mouse"]
    VariantFactory(product=mouse.product)
    client = api_client(seller)
    response = client.post(f"{BASE}/sells", {"products": [{"productId": mouse.product_id, "quantity": 1}]},
                           format="json")
    assert response.json()["message"].startswith("products.0.variantId: ")
    body = {"products": [{"productId": catalogue["laptop"].product_id, "quantity": 11}]}
    assert client.post(f"{BASE}/sells", body, format="json").json()["message"].startswith("products.0.quantity: ")
    response = client.post(f"{BASE}/sells", {"products": []}, format="json")
    assert response.json()["message"] == "products: This list may not be empty."


@pytest.mark.parametrize("fmt", ["json", "multipart"])
def test_empty_optional_fields_are_no_value(api_client, seller, catalogue, fmt):
    """A form's `variantId=` / `price=` (FormData, http_build_query), or `""` in JSON: as if left out."""
    laptop = catalogue["laptop"]
    line = {"productId": f"prod_{laptop.product_id}", "quantity": 1, "variantId": "", "price": ""}
    if fmt == "json":
        response = api_client(seller).post(f"{BASE}/sells", {"products": [line]}, format="json")
    else:
        form = {f"products[0][{key}]": value for key, value in line.items()}
        response = api_client(seller).post(f"{BASE}/sells", form, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["sell"]["products"][0]["price"] == 1399.0


def test_short_stock_is_409_and_nothing_is_kept(api_client, seller, catalogue):
    body = {"products": [{"productId": f"prod_{catalogue['laptop'].product_id}", "quantity": 11}]}
    response = api_client(seller).post(f"{BASE}/sells", body, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "insufficient_stock"
    assert response.json()["message"]
    assert not Sale.objects.exists()
    assert stock(catalogue["laptop"]) == (10, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "products"),
        ({"products": []}, "products"),
        ({"products": "x"}, "products"),
        ({"products": [{"productId": "prod_999999", "quantity": 1}]}, "productId"),
        ({"products": [{"productId": "nope", "quantity": 1}]}, "productId"),
        ({"products": [{"productId": "LAPTOP", "quantity": 0}]}, "quantity"),
        ({"products": [{"productId": "LAPTOP", "quantity": 1.5}]}, "quantity"),
        ({"products": [{"productId": "LAPTOP", "quantity": 1, "price": -1}]}, "price"),
    ],
)
def test_bad_bodies_are_400_in_the_documents_envelope(api_client, seller, catalogue, body, field):
    laptop = f"prod_{catalogue['laptop'].product_id}"
    for line in body.get("products") or []:
        if isinstance(line, dict) and line.get("productId") == "LAPTOP":
            line["productId"] = laptop
    response = api_client(seller).post(f"{BASE}/sells", body, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"error", "message"}
    assert field in response.json()["message"]


def test_malformed_json_is_400(api_client, seller):
    response = api_client(seller).post(f"{BASE}/sells", "{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"


def test_no_token_is_401_and_a_wrong_method_405(api_client, seller):
    response = APIClient().get(f"{BASE}/sells")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    response = api_client(seller).patch(f"{BASE}/sells", {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_idempotency_key_replays_the_first_sale(api_client, seller, catalogue):
    client = api_client(seller)
    first = client.post(f"{BASE}/sells", sample_body(catalogue), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(f"{BASE}/sells", sample_body(catalogue), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Sale.objects.count() == 1


# --- GET /sells --------------------------------------------------------------------------------------


def test_list_answers_the_documents_sample_totals(api_client, seller, catalogue):
    laptop = stocked_variant(10, name="Laptop Dell XPS 15")
    mouse = stocked_variant(10, name="Wireless Mouse")
    first = make_sale(seller, laptop, 2, "confirmed", unit_price=Decimal("1299.99"))
    second = make_sale(seller, mouse, 5, unit_price=Decimal("29.99"))
    body = api_client(seller).get(f"{BASE}/sells").json()
    assert body["totalSales"] == 2
    assert body["totalRevenue"] == 2749.93
    newest, older = body["sells"]
    assert newest["id"] == f"sell_{second.pk}" and older["id"] == f"sell_{first.pk}"
    assert newest["products"] == [
        {"productId": f"prod_{mouse.product_id}", "name": "Wireless Mouse", "quantity": 5, "price": 29.99,
         "subtotal": 149.95}
    ]
    assert (newest["total"], newest["status"]) == (149.95, "pending")
    assert "confirmedAt" not in newest
    assert (older["total"], older["status"]) == (2599.98, "confirmed")
    assert ISO_Z.match(older["confirmedAt"]) and ISO_Z.match(older["createdAt"])


def test_revenue_leaves_out_cancelled_and_converts_each_sale(api_client, seller):
    variant = stocked_variant(20)
    make_sale(seller, variant, 1, unit_price=Decimal("100.00"))
    cancelled = make_sale(seller, variant, 1, unit_price=Decimal("50.00"))
    services.sale_cancel(sale=cancelled, user=seller)
    services.sale_create(seller=seller, data=services.NewSale(
        items=[ItemData(variant=variant, quantity=1, unit_price=Decimal("10.00"))], currency="EUR",
        exchange_rate=Decimal("1.1"),
    ))
    body = api_client(seller).get(f"{BASE}/sells").json()
    assert body["totalSales"] == 3
    assert body["totalRevenue"] == 111.0
    assert [sell["status"] for sell in body["sells"]] == ["pending", "cancelled", "pending"]


def test_list_is_the_callers_own_and_staff_see_all(api_client, seller, catalogue):
    other = UserFactory()
    mine = make_sale(seller, catalogue["laptop"])
    theirs = make_sale(other, catalogue["mouse"])
    assert [s["id"] for s in api_client(seller).get(f"{BASE}/sells").json()["sells"]] == [f"sell_{mine.pk}"]
    staff = api_client(StaffFactory()).get(f"{BASE}/sells").json()
    assert [s["id"] for s in staff["sells"]] == [f"sell_{theirs.pk}", f"sell_{mine.pk}"]
    assert staff["sells"][0]["userId"] == f"usr_{other.pk}"


def test_status_words_follow_the_documents_table(api_client, seller):
    variant = stocked_variant(20)
    expected = {}
    for status in ("draft", "pending", "confirmed", "completed"):
        expected[make_sale(seller, variant, status=status).pk] = {"draft": "pending", "completed": "confirmed"}.get(
            status, status
        )
    rejected = make_sale(seller, variant)
    services.sale_reject(sale=rejected, user=seller)
    expected[rejected.pk] = "cancelled"
    answered = {int(s["id"][5:]): s["status"] for s in api_client(seller).get(f"{BASE}/sells").json()["sells"]}
    assert answered == expected


# --- GET /sells/detail/:id -----------------------------------------------------------------------------


def test_detail_answers_the_documents_sample(api_client, seller, catalogue):
    laptop = catalogue["laptop"]
    sale = make_sale(seller, laptop, 2, "confirmed", unit_price=Decimal("1299.99"))
    client = api_client(seller)
    for ident in (f"sell_{sale.pk}", str(sale.pk)):
        response = client.get(f"{BASE}/sells/detail/{ident}")
        assert response.status_code == 200
        sell = response.json()["sell"]
        assert sell == {
            "id": f"sell_{sale.pk}",
            "userId": f"usr_{seller.pk}",
            "products": [
                {"productId": f"prod_{laptop.product_id}", "name": "Laptop Dell XPS 15", "quantity": 2,
                 "price": 1299.99, "subtotal": 2599.98, "image": "https://cdn.example.com/laptop.jpg"}
            ],
            "total": 2599.98,
            "status": "confirmed",
            "createdAt": sell["createdAt"],
            "confirmedAt": sell["confirmedAt"],
        }
        assert ISO_Z.match(sell["confirmedAt"])


def test_a_line_without_an_image_answers_null(api_client, seller, catalogue):
    sale = make_sale(seller, catalogue["mouse"])
    sell = api_client(seller).get(f"{BASE}/sells/detail/sell_{sale.pk}").json()["sell"]
    assert sell["products"][0]["image"] is None


@pytest.mark.parametrize("ident", ["sell_999999", "999999", "abc", "sell_", "0", "-1", "9" * 40])
def test_unknown_ids_are_404_sale_not_found(api_client, seller, ident):
    response = api_client(seller).get(f"{BASE}/sells/detail/{ident}")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "Sale not found."}


# --- PUT /sells/confirm/:id, PUT /sells/cancel/:id, DELETE /sells/:id -----------------------------------


def test_confirm_answers_the_documents_sample_and_commits_stock(api_client, seller, catalogue):
    client = api_client(seller)
    sell = create(client, catalogue)
    response = client.put(f"{BASE}/sells/confirm/{sell['id']}", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    laptop, mouse = catalogue["laptop"], catalogue["mouse"]
    assert body == {
        "message": "Sale confirmed successfully",
        "sell": {
            "id": sell["id"],
            "status": "confirmed",
            "confirmedAt": body["sell"]["confirmedAt"],
            "products": [
                {"productId": f"prod_{laptop.product_id}", "quantity": 2, "price": 1299.99},
                {"productId": f"prod_{mouse.product_id}", "quantity": 1, "price": 29.99},
            ],
            "total": 2629.97,
        },
    }
    assert ISO_Z.match(body["sell"]["confirmedAt"])
    assert stock(laptop) == (8, 0) and stock(mouse) == (9, 0)
    assert client.get(f"/api/v1/sales/{sell['id'][5:]}/").json()["status"] == "confirmed"
    again = client.put(f"{BASE}/sells/confirm/{sell['id']}", {}, format="json")
    assert again.status_code == 409
    assert again.json()["error"] == "invalid_transition"


def test_cancel_answers_the_documents_sample_and_releases_stock(api_client, seller, catalogue):
    client = api_client(seller)
    sell = create(client, catalogue)
    response = client.put(f"{BASE}/sells/cancel/{sell['id']}")  # the document's curl sends no body
    assert response.status_code == 200, response.content
    assert response.json() == {"message": "Sale cancelled successfully", "sellId": sell["id"]}
    assert stock(catalogue["laptop"]) == (10, 0)
    assert client.get(f"/api/v1/sales/{sell['id'][5:]}/").json()["status"] == "cancelled"
    assert client.get(f"{BASE}/sells/detail/{sell['id']}").json()["sell"]["status"] == "cancelled"


def test_delete_sell_cancels_a_confirmed_sale_and_restocks(api_client, seller, catalogue):
    client = api_client(seller)
    sell = create(client, catalogue)
    client.put(f"{BASE}/sells/confirm/{sell['id']}", {}, format="json")
    response = client.delete(f"{BASE}/sells/{sell['id'][5:]}")
    assert response.status_code == 200, response.content
    assert response.json() == {"message": "Sale cancelled successfully", "sellId": sell["id"]}
    assert stock(catalogue["laptop"]) == (10, 0)
    assert Sale.objects.get().status == "cancelled"  # kept: the document's deleteSell cancels
    again = client.delete(f"{BASE}/sells/{sell['id']}")
    assert again.status_code == 409


def test_complete_sale_flow_of_the_document(api_client, seller, catalogue):
    """createSell → confirmSell on success; createSell → deleteSell when the payment fails."""
    client = api_client(seller)
    paid = create(client, catalogue)
    confirmed = client.put(f"{BASE}/sells/confirm/{paid['id']}", {}, format="json").json()
    assert confirmed["sell"]["total"] == paid["total"]
    failed = create(client, catalogue)
    assert client.delete(f"{BASE}/sells/{failed['id']}").status_code == 200
    listing = client.get(f"{BASE}/sells").json()
    assert [s["status"] for s in listing["sells"]] == ["cancelled", "confirmed"]
    assert listing["totalRevenue"] == 2629.97
    assert stock(catalogue["laptop"]) == (8, 0)


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "sells/detail/{}"), ("put", "sells/confirm/{}"), ("put", "sells/cancel/{}"), ("delete", "sells/{}")],
)
def test_another_sellers_sale_is_not_found_and_unchanged(api_client, seller, catalogue, method, path):
    sale = make_sale(UserFactory(), catalogue["laptop"])
    response = getattr(api_client(seller), method)(f"{BASE}/{path.format(f'sell_{sale.pk}')}")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "Sale not found."}
    sale.refresh_from_db()
    assert sale.status == "pending"
    assert stock(catalogue["laptop"]) == (10, 1)


def test_staff_may_confirm_anyones_sale(api_client, seller, catalogue):
    sale = make_sale(seller, catalogue["laptop"])
    response = api_client(StaffFactory()).put(f"{BASE}/sells/confirm/sell_{sale.pk}", {}, format="json")
    assert response.status_code == 200
    assert response.json()["sell"]["status"] == "confirmed"


def test_the_list_costs_the_same_queries_for_one_sale_or_many(api_client, seller, django_assert_max_num_queries):
    client = api_client(seller)
    make_sale(seller, stocked_variant(50))
    client.get(f"{BASE}/sells")  # warm the token's row
    with CaptureQueriesContext(connection) as one:
        client.get(f"{BASE}/sells")
    for _ in range(4):
        make_sale(seller, stocked_variant(5), 2)
    with django_assert_max_num_queries(len(one.captured_queries)):
        body = client.get(f"{BASE}/sells").json()
    assert body["totalSales"] == 5


def test_a_store_manager_sees_and_confirms_the_stores_sales(api_client, seller, warehouse):
    store = Store.objects.create(code="south", name="South", warehouse=warehouse)
    StoreMembership.objects.create(store=store, user=seller, role=StoreRole.SELLER)
    manager = UserFactory()
    StoreMembership.objects.create(store=store, user=manager, role=StoreRole.MANAGER)
    sale = make_sale(seller, stocked_variant(5))
    assert sale.store_id == store.pk
    client = api_client(manager)
    assert [s["id"] for s in client.get(f"{BASE}/sells").json()["sells"]] == [f"sell_{sale.pk}"]
    assert client.put(f"{BASE}/sells/confirm/sell_{sale.pk}", {}, format="json").status_code == 200


def test_paths_with_a_trailing_slash_work_and_unknown_ones_are_404_in_the_documents_envelope(
    api_client, seller, catalogue
):
    client = api_client(seller)
    sell = client.post(f"{BASE}/sells/", sample_body(catalogue), format="json").json()["sell"]
    assert client.get(f"{BASE}/sells/detail/{sell['id']}/").json()["sell"]["id"] == sell["id"]
    assert client.put(f"{BASE}/sells/confirm/{sell['id']}/", {}, format="json").json()["sell"]["status"] == "confirmed"
    assert client.get(f"{BASE}/sells/").json()["totalSales"] == 1
    response = client.get(f"{BASE}/nope")
    assert response.status_code == 404
    assert set(response.json()) == {"error", "message"} and response.json()["error"] == "not_found"
