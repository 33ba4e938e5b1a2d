"""Scope: a seller sees only the sales they sold, on every route; staff see all; nobody anonymous sees anything."""

import base64

import pytest
from django.contrib.auth.models import Permission

from customers.tests.factories import CustomerFactory
from inventory.models import StockLevel, StockMovement
from inventory.tests.factories import stocked_variant
from payments.models import Payment
from sales import services
from sales.models import Invoice, Sale, SaleEvent, SaleItem
from sales.services import ItemData, sale_record_payment
from sales.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SALES = "/api/v1/sales/"
PDF = b"%PDF-1.4\n%%EOF\n"


def world() -> dict:
    """Every row a refused request must leave as it was."""
    return {
        "sales": list(Sale.objects.order_by("pk").values()),
        "items": list(SaleItem.objects.order_by("pk").values()),
        "events": SaleEvent.objects.count(),
        "movements": StockMovement.objects.count(),
        "payments": Payment.objects.count(),
        "invoices": Invoice.objects.count(),
        "stock": list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "reserved")),
    }


def make_sale(seller, state: str, *, history: bool = True, **kwargs) -> Sale:
    """A sale of 2 units in `state`, through the services; with `history`, paid in full and with an invoice.

    A sale with history is never deleted, so the DELETE route's sale has none.
    """
    create_as = {"in_delivery": "confirmed"}
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(10), quantity=2)],
            status=create_as.get(state, state),
            **kwargs,
        ),
    )
    if state == "in_delivery":
        services.sale_ship(sale=sale, user=seller)
    if history:
        services.sale_attach_invoice(sale=sale, user=seller, content=PDF, filename="a.pdf")
        if sale.grand_total:
            sale_record_payment(sale=sale, amount=sale.grand_total, user=seller)
    return Sale.objects.get(pk=sale.pk)


def may_refund(user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="refund_sale", content_type__app_label="sales"))


# Every route under one sale: (method, path under the sale, the state in which the owner's request succeeds, body).
# `{item}` is replaced by the id of the sale's item.
ROUTES = [
    ("get", "", "pending", None),
    ("patch", "", "pending", {"note": "mine now"}),
    ("delete", "", "pending", None),
    ("get", "transitions/", "pending", None),
    ("post", "status/", "pending", {"status": "confirmed"}),
    ("post", "submit/", "draft", None),
    ("post", "confirm/", "pending", None),
    ("post", "ship/", "confirmed", {"tracking_code": "T1"}),
    ("post", "complete/", "in_delivery", None),
    ("post", "cancel/", "pending", {"reason": "fraud"}),
    ("post", "reject/", "pending", {"reason": "no"}),
    ("post", "refund/", "completed", {"restock": True}),
    ("get", "activity/", "pending", None),
    ("patch", "items/{item}/", "pending", {"tracking_code": "T1"}),
    ("get", "payments/", "pending", None),
    ("post", "payments/", "pending", {"amount": "1.00", "method": "cash"}),
    ("post", "returns/", "confirmed", {"items": [{"item": "{item}", "quantity": 1}], "refund": True}),
    ("get", "invoice/", "pending", None),
    ("post", "invoice/", "pending", {"invoice": base64.b64encode(PDF).decode(), "filename": "b.pdf"}),
]
ROUTE_IDS = [f"{method}-{path or 'detail'}" for method, path, _, _ in ROUTES]


def request(client, method: str, sale: Sale, path: str, body):
    item = sale.items.get()
    path = f"{SALES}{sale.pk}/{path.replace('{item}', str(item.pk))}"
    if body is not None:
        body = {
            key: [{k: item.pk if v == "{item}" else v for k, v in line.items()} for line in value]
            if key == "items" else value
            for key, value in body.items()
        }
        return getattr(client, method)(path, body, format="json")
    return getattr(client, method)(path)


@pytest.fixture
def seller_a(db):
    user = UserFactory(username="alice")
    may_refund(user)
    return user


@pytest.fixture
def seller_b(db):
    user = UserFactory(username="bob")
    may_refund(user)
    return user


@pytest.mark.parametrize(("method", "path", "state", "body"), ROUTES, ids=ROUTE_IDS)
def test_the_owner_may_use_the_route(method, path, state, body, api_client, seller_a, warehouse):
    """The control for the 404s below: the same request from the seller succeeds."""
    sale = make_sale(seller_a, state, history=method != "delete")

    response = request(api_client(seller_a), method, sale, path, body)

    assert 200 <= response.status_code < 300, getattr(response, "data", response.status_code)


@pytest.mark.parametrize(("method", "path", "state", "body"), ROUTES, ids=ROUTE_IDS)
def test_another_sellers_sale_is_404_and_untouched(method, path, state, body, api_client, seller_a, seller_b,
                                                    warehouse):
    sale = make_sale(seller_a, state, history=method != "delete")
    before = world()

    response = request(api_client(seller_b), method, sale, path, body)

    assert response.status_code == 404, response.json()
    assert response.json()["errors"][0]["code"] == "not_found"
    assert world() == before


@pytest.mark.parametrize(("method", "path", "state", "body"), ROUTES, ids=ROUTE_IDS)
def test_staff_may_use_the_route_on_any_sale(method, path, state, body, api_client, seller_a, staff, warehouse):
    staff.is_superuser = True
    staff.save()
    sale = make_sale(seller_a, state, history=method != "delete")

    response = request(api_client(staff), method, sale, path, body)

    assert 200 <= response.status_code < 300, getattr(response, "data", response.status_code)


@pytest.mark.parametrize(("method", "path", "state", "body"), ROUTES, ids=ROUTE_IDS)
def test_anonymous_is_401_on_every_sale_route(method, path, state, body, api_client, seller_a, warehouse):
    sale = make_sale(seller_a, state, history=method != "delete")
    before = world()

    response = request(api_client(), method, sale, path, body)

    assert response.status_code == 401, response.json()
    assert response.json()["errors"][0]["code"] == "not_authenticated"
    assert world() == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", SALES, None),
        ("post", SALES, {"items": []}),
        ("get", f"{SALES}summary/", None),
        ("get", "/api/v1/payments/", None),
        ("post", "/api/v1/payments/", {"amount": "1.00"}),
        ("post", "/api/v1/payments/assign/", {"sale": 1, "transaction_reference": "T"}),
    ],
)
def test_anonymous_is_401_on_the_collections(method, path, body, api_client, db):
    client = api_client()

    call = getattr(client, method)
    response = call(path, body, format="json", HTTP_X_REQUEST_ID="anon-1") if body else call(
        path, HTTP_X_REQUEST_ID="anon-1"
    )

    assert response.status_code == 401
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "not_authenticated", "detail": response.json()["errors"][0]["detail"], "attr": None}],
        "request_id": "anon-1",
    }


# --- lists, search and summary ------------------------------------------------------------------------------------


@pytest.fixture
def two_sellers(seller_a, seller_b, warehouse):
    customer = CustomerFactory(name="Carla Secret", email="carla@secret.example")
    a = make_sale(seller_a, "confirmed", reference="ALICE-1", customer=customer, external_id="EXT-ALICE")
    b = make_sale(seller_b, "confirmed", reference="BOB-1")
    return {"a": a, "b": b}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_a_sellers_list_holds_only_their_sales(two_sellers, api_client, seller_b):
    assert ids(api_client(seller_b).get(SALES)) == [two_sellers["b"].pk]


@pytest.mark.parametrize(
    "query",
    [
        {"reference": "ALICE-1"},
        {"search": "ALICE"},
        {"search": "carla"},
        {"search": "carla@secret"},
        {"external_id": "EXT-ALICE"},
        {"status": "confirmed", "search": "ALICE-1"},
    ],
)
def test_another_sellers_sale_is_never_found_by_filter_or_search(query, two_sellers, api_client, seller_b):
    assert ids(api_client(seller_b).get(SALES, query)) == []


def test_filtering_by_another_seller_gives_an_empty_list(two_sellers, api_client, seller_a, seller_b):
    assert ids(api_client(seller_b).get(SALES, {"seller": seller_a.pk})) == []


def test_filtering_by_another_sellers_item_sku_gives_an_empty_list(two_sellers, api_client, seller_b):
    sku = two_sellers["a"].items.get().sku

    assert ids(api_client(seller_b).get(SALES, {"search": sku})) == []


def test_summary_counts_only_the_sellers_own_sales(two_sellers, api_client, seller_b):
    body = api_client(seller_b).get(f"{SALES}summary/").json()

    assert body["total_sales"] == 1
    assert body["total_revenue"] == str(two_sellers["b"].grand_total)
    assert body["by_status"]["confirmed"]["count"] == 1


def test_staff_list_and_summary_hold_every_sale(two_sellers, api_client, staff):
    client = api_client(staff)

    assert sorted(ids(client.get(SALES))) == sorted([two_sellers["a"].pk, two_sellers["b"].pk])
    assert client.get(f"{SALES}summary/").json()["total_sales"] == 2
    assert ids(client.get(SALES, {"reference": "ALICE-1"})) == [two_sellers["a"].pk]
