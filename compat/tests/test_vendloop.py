"""Vendloop POS (seed 001) at /compat/vendloop/: the document's samples, flows and encodings, against the product."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers.factories import CustomerFactory
from inventory.factories import ProductFactory, VariantFactory, default_warehouse
from inventory.models import StockLevel
from inventory.services import stock_receive
from sales import services
from sales.factories import StaffFactory, TaxRateFactory, UserFactory
from sales.models import Sale, SaleEvent
from sales.services import ItemData, NewPayment, NewSale

pytestmark = pytest.mark.django_db

BASE = "/compat/vendloop/sales"
SALE_KEYS = [
    "id", "date", "due_date", "business_id", "store_id", "customer_id", "user_id", "reference_no", "note",
    "order_tax", "paid", "payment_status", "sale_status", "shipping", "staff_note", "sub_total", "grand_total",
    "total_discount", "total_tax", "updated_at", "updated_by", "device_id", "items", "payments", "tax",
]
# Every line carries the variant keys (compat.md lists them; empty values are never left out).
ITEM_KEYS = [
    "item_discount", "item_id", "item_name", "item_price", "item_tax", "item_type", "item_variant_id",
    "item_variant_name", "quantity", "sku", "tax", "tax_method", "unit_code", "unit_id",
]


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.get_or_create(user=user)[0].key}")
    return client


def stock(variant, quantity: int = 50):
    stock_receive(variant=variant, warehouse=default_warehouse(), quantity=quantity, reason="test")
    return variant


def on_hand(variant) -> tuple[int, int]:
    level = StockLevel.objects.get(variant=variant, warehouse=default_warehouse())
    return level.on_hand, level.reserved


@pytest.fixture
def catalogue():
    """The document's sample: shoes in two variants (80, 90), bottle water (100, tax-inclusive product), VAT 5 %."""
    shoes = ProductFactory(name="Shoes", sku="17468468", price=Decimal("80.00"), unit="carton")
    green = stock(VariantFactory(product=shoes, name="Children / Green", sku="17468468-G", price=Decimal("80.00")))
    red = stock(VariantFactory(product=shoes, name="Children / Red", sku="17468468-R", price=Decimal("90.00")))
    water = ProductFactory(name="Bottle Water", sku="16216661", price=Decimal("100.00"), unit="bottle")
    water_variant = stock(water.variants.get(is_default=True))
    vat = TaxRateFactory(code="vat5", name="VAT @5%", rate=Decimal("5.00"))
    return {"shoes": shoes, "green": green, "red": red, "water": water, "water_variant": water_variant, "vat": vat}


def worked_example(catalogue, customer, seller, **extra) -> dict:
    """The sample sale's request: 80×2, 90×2, 100×10, 100 off (fixed), VAT 5 %, paid in cash."""
    return {
        "user_id": str(seller.pk),
        "customer_id": str(customer.pk),
        "status": "completed",
        "discount": 100,
        "discount_type": "fixed",
        "tax_id": catalogue["vat"].pk,
        "note": "",
        "items": [
            {"product_id": str(catalogue["shoes"].pk), "variant_id": catalogue["green"].pk, "price": 80, "quantity": 2},
            {"product_id": str(catalogue["shoes"].pk), "variant_id": catalogue["red"].pk, "price": 90, "quantity": 2},
            {"product_id": str(catalogue["water"].pk), "price": 100, "quantity": 10, "tax_method": "subtraction"},
        ],
        "payments": [{"user_id": str(seller.pk), "reference": "VPAY/509652487123", "amount": "1302.0000",
                      "paid_by": "cash", "date": "2023-07-18 15:51:43", "note": ""}],
        **extra,
    }


# --- the worked example and the samples ----------------------------------------------------------------


def test_worked_example_answers_the_documents_totals(catalogue):
    seller, customer = UserFactory(), CustomerFactory()
    body = worked_example(catalogue, customer, seller, date="2023-07-18 15:51:43", reference="SALE/POS/725185062173")
    response = client_for(seller).post(BASE, body, format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert (answer["status"], answer["message"]) == (True, "Sale record added")
    data = answer["data"]
    assert list(data) == [*SALE_KEYS[:8], "reference", *SALE_KEYS[8:]]
    assert data["sub_total"] == "1340.0000"
    assert data["order_tax"] == "62.0000"
    assert data["total_tax"] == "62.0000"
    assert data["total_discount"] == "100.0000"
    assert data["grand_total"] == "1302.0000"
    assert data["paid"] == "1302.0000"
    assert data["shipping"] == "0.0000"
    assert (data["payment_status"], data["sale_status"]) == ("paid", "completed")
    assert data["date"] == "2023-07-18 15:51:43"
    assert data["reference_no"] == data["reference"] == "SALE/POS/725185062173"
    assert (data["business_id"], data["customer_id"], data["user_id"]) == ("1", str(customer.pk), str(seller.pk))
    assert (data["due_date"], data["device_id"], data["note"], data["staff_note"]) == (None, None, "", "")
    assert data["tax"] == {"id": str(catalogue["vat"].pk), "name": "VAT @5%", "code": "vat5", "rate": "5.0000",
                           "type": "percent"}
    green, red, water = data["items"]
    assert list(green) == ITEM_KEYS
    assert green == {
        "item_discount": "0.0000", "item_id": str(catalogue["shoes"].pk), "item_name": "Shoes (Children / Green)",
        "item_price": "80.0000", "item_tax": "0.0000", "item_type": "standard",
        "item_variant_id": str(catalogue["green"].pk), "item_variant_name": "Children / Green",
        "quantity": "2.0000", "sku": "17468468-G", "tax": None, "tax_method": "addition", "unit_code": "carton",
        "unit_id": None,
    }
    assert (red["item_price"], red["quantity"], red["item_variant_name"]) == ("90.0000", "2.0000", "Children / Red")
    assert list(water) == ITEM_KEYS  # a product without variants: the keys are there, empty
    assert (water["item_variant_id"], water["item_variant_name"]) == (None, None)
    assert (water["item_name"], water["item_price"], water["quantity"], water["sku"], water["unit_code"]) == (
        "Bottle Water", "100.0000", "10.0000", "16216661", "bottle"
    )
    [payment] = data["payments"]
    assert payment == {"id": payment["id"], "date": "2023-07-18 15:51:43", "user_id": str(seller.pk),
                       "reference_no": "VPAY/509652487123", "paid_by": "cash", "amount": "1302.0000"}


def test_a_named_default_variant_is_shown_as_the_variant(catalogue):
    """A product whose default variant has a name of its own ("Hoodie" / "M") sells that variant: its keys show it."""
    hoodie = ProductFactory(name="Hoodie", sku="HOD", price=Decimal("49.00"))
    medium = hoodie.variants.get(is_default=True)
    medium.name = "M"
    medium.save()
    stock(medium)
    body = {"status": "pending", "items": [{"product_id": hoodie.pk, "variant_id": medium.pk, "quantity": 1}]}
    [line] = client_for(UserFactory()).post(BASE, body, format="json").json()["data"]["items"]
    shown = (line["item_name"], line["item_variant_id"], line["item_variant_name"])
    assert shown == ("Hoodie (M)", str(medium.pk), "M")


def test_the_sample_reads_back_the_same_through_list_and_fetch(catalogue):
    seller, customer = UserFactory(), CustomerFactory()
    created = client_for(seller).post(BASE, worked_example(catalogue, customer, seller), format="json").json()["data"]
    created.pop("reference")
    for path in (BASE, BASE + "/"):
        listed = client_for(seller).get(path).json()
        assert listed == {"status": True, "message": "Sale records found", "data": [created],
                          "metadata": {"limit": 50, "start": 1, "total": 1}}
    fetched = client_for(seller).get(f"{BASE}/{created['id']}").json()
    assert fetched == {"status": True, "message": "Sale record found", "data": created}


def test_the_create_sample_request_in_every_encoding(catalogue):
    """The document's curl (JSON as form), PHP http_build_query (items JSON encoded), FormData and nested keys."""
    seller, customer = UserFactory(), CustomerFactory()
    tax2 = TaxRateFactory(code="vat10", name="VAT 10", rate=Decimal("10.00"))
    line = {"product_id": str(catalogue["shoes"].pk), "price": 100, "discount": 5, "discount_type": "percent",
            "quantity": 5, "variant_id": catalogue["green"].pk}
    payments = [
        {"user_id": str(seller.pk), "reference": "170652348409", "amount": 100, "paid_by": "cash",
         "date": "2024-07-18 04:37:29", "note": ""},
        {"user_id": str(seller.pk), "reference": "170652348410", "amount": 100, "paid_by": "deposit",
         "date": "2024-07-18 04:37:29", "note": ""},
    ]
    fields = {"user_id": str(seller.pk), "customer_id": str(customer.pk), "status": "completed",
              "date": "2024-07-18 04:37:29", "discount": 5, "discount_type": "percent", "tax_id": tax2.pk,
              "note": ""}
    client = client_for(seller)

    def send(reference: str, kind: str):
        body = {**fields, "reference": reference}
        paid = [{**p, "reference": f"{reference}-{p['reference']}"} for p in payments]
        if kind == "curl":
            raw = json.dumps({**body, "items": [line], "payments": paid})
            return client.post(BASE, raw, content_type="application/x-www-form-urlencoded")
        if kind == "php":
            raw = urlencode({**body, "items": json.dumps([line]), "payments": json.dumps(paid)})
            return client.post(BASE, raw, content_type="application/x-www-form-urlencoded")
        if kind == "formdata":
            return client.post(BASE, {**body, "items": json.dumps([line]), "payments": json.dumps(paid)},
                               format="multipart")
        nested = {f"items[0][{k}]": v for k, v in line.items()}
        nested.update({f"payments[{i}][{k}]": v for i, p in enumerate(paid) for k, v in p.items()})
        return client.post(BASE, urlencode({**body, **nested}), content_type="application/x-www-form-urlencoded")

    for kind in ("curl", "php", "formdata", "nested"):
        response = send(f"1706523484-{kind}", kind)
        assert response.status_code == 201, (kind, response.content)
        data = response.json()["data"]
        # 5 × 100 = 500, 5 % off the line (475), 5 % off the sale (451.25), VAT 10 % added (496.38)
        assert (data["sub_total"], data["total_discount"], data["grand_total"]) == (
            "500.0000", "48.7500", "496.3800"
        ), kind
        assert data["items"][0]["item_discount"] == "25.0000"
        assert data["tax"]["code"] == "vat10"
        assert [p["paid_by"] for p in data["payments"]] == ["cash", "deposit"]
        assert (data["paid"], data["payment_status"]) == ("200.0000", "partial")
        assert data["reference"] == f"1706523484-{kind}"


def test_a_created_sale_is_the_products_sale(catalogue):
    """Visible through /api/v1/: the status, the stock committed, the ledger, and which API made it."""
    seller, customer = UserFactory(), CustomerFactory()
    before = on_hand(catalogue["water_variant"])
    data = client_for(seller).post(BASE, worked_example(catalogue, customer, seller), format="json").json()["data"]
    v1 = client_for(seller).get(f"/api/v1/sales/{data['id']}/").json()
    assert (v1["status"], v1["grand_total"], v1["payment_status"]) == ("completed", "1302.00", "paid")
    assert on_hand(catalogue["water_variant"]) == (before[0] - 10, before[1])
    created = SaleEvent.objects.get(sale_id=data["id"], type="created")
    assert created.data["source"] == "compat-vendloop"


def test_a_pending_sale_reserves_stock_and_delete_gives_it_back(catalogue):
    seller, customer = UserFactory(), CustomerFactory()
    body = worked_example(catalogue, customer, seller, status="pending", payments=[])
    before = on_hand(catalogue["water_variant"])
    data = client_for(seller).post(BASE, body, format="json").json()["data"]
    assert (data["sale_status"], data["payment_status"], data["paid"]) == ("pending", "due", "0.0000")
    assert on_hand(catalogue["water_variant"]) == (before[0], before[1] + 10)
    response = client_for(seller).post(f"{BASE}/delete", {"id": data["id"]}, format="multipart")
    assert response.status_code == 200
    assert response.json() == {"status": True, "message": "Sale record deleted"}
    assert on_hand(catalogue["water_variant"]) == before
    assert not Sale.objects.filter(pk=data["id"]).exists()
    assert client_for(seller).get(f"/api/v1/sales/{data['id']}/").status_code == 404


def test_delete_takes_curls_quoted_form_value_and_json(catalogue):
    seller = UserFactory()
    ids = [services.sale_create(seller=seller, data=NewSale(
        items=(ItemData(variant=catalogue["green"], quantity=1),), status="pending")).pk for _ in range(2)]
    client = client_for(seller)
    assert client.post(f"{BASE}/delete", {"id": f'"{ids[0]}"'}, format="multipart").status_code == 200
    raw = json.dumps({"id": ids[1]})
    assert client.post(f"{BASE}/delete", raw, content_type="application/x-www-form-urlencoded").status_code == 200
    assert not Sale.objects.filter(pk__in=ids).exists()


def test_a_sale_with_money_history_is_not_deleted(catalogue):
    seller = UserFactory()
    sale = services.sale_create(seller=seller, data=NewSale(
        items=(ItemData(variant=catalogue["green"], quantity=1),), status="pending",
        payments=(NewPayment(amount=Decimal("10.00")),)))
    response = client_for(seller).post(f"{BASE}/delete", {"id": sale.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["status"] is False
    assert "payments" in response.json()["message"]
    assert Sale.objects.filter(pk=sale.pk).exists()


# --- reads --------------------------------------------------------------------------------------------


def _sale(seller, variant, *, customer=None, sold_at=None, reference=None):
    return services.sale_create(seller=seller, data=NewSale(
        items=(ItemData(variant=variant, quantity=1),), status="pending", customer=customer, sold_at=sold_at,
        reference=reference))


def test_list_filters_and_pages_newest_sale_date_first(catalogue):
    seller, customer = UserFactory(), CustomerFactory()
    days = [datetime(2024, 7, d, 12, tzinfo=UTC) for d in (1, 3, 2)]
    sales = [_sale(seller, catalogue["green"], sold_at=day) for day in days]
    water_sale = _sale(seller, catalogue["water_variant"], customer=customer,
                       sold_at=datetime(2024, 6, 1, tzinfo=UTC))
    client = client_for(seller)
    ids = [row["id"] for row in client.get(BASE).json()["data"]]
    assert ids == [str(s.pk) for s in (sales[1], sales[2], sales[0], water_sale)]
    page = client.get(BASE, {"limit": 2, "start": 2}).json()
    assert [row["id"] for row in page["data"]] == [str(sales[2].pk), str(sales[0].pk)]
    assert page["metadata"] == {"limit": 2, "start": 2, "total": 4}
    assert [r["id"] for r in client.get(BASE, {"customer_id": customer.pk}).json()["data"]] == [str(water_sale.pk)]
    assert [r["id"] for r in client.get(BASE, {"product_id": catalogue["water"].pk}).json()["data"]] == [
        str(water_sale.pk)
    ]
    assert len(client.get(BASE, {"variant_id": catalogue["green"].pk}).json()["data"]) == 3
    assert len(client.get(BASE, {"user_id": seller.pk}).json()["data"]) == 4
    dated = client.get(BASE, {"start_date": "2024-07-02", "end_date": "2024-07-03 23:59:59"}).json()
    assert [r["id"] for r in dated["data"]] == [str(sales[1].pk), str(sales[2].pk)]


def test_nothing_found_is_the_documents_404(catalogue):
    seller = UserFactory()
    response = client_for(seller).get(BASE)
    assert response.status_code == 404
    assert response.json() == {"status": False, "message": "Sale records not found"}
    _sale(seller, catalogue["green"])
    assert client_for(seller).get(BASE, {"start": 5}).status_code == 404


def test_fetch_by_reference_and_the_ignored_reference_parameter(catalogue):
    seller = UserFactory()
    sale = _sale(seller, catalogue["green"], reference="SALE/POS/725185062173")
    other = _sale(seller, catalogue["green"])
    client = client_for(seller)
    assert client.get(f"{BASE}/SALE/POS/725185062173").json()["data"]["id"] == str(sale.pk)
    assert client.get(f"{BASE}/{sale.pk}", {"reference": other.reference}).json()["data"]["id"] == str(sale.pk)
    missing = client.get(f"{BASE}/NOPE-1")
    assert (missing.status_code, missing.json()) == (404, {"status": False, "message": "Sale record not found"})
    # A client that sends the reference without an id: the list narrowed to that sale.
    by_reference = client.get(BASE + "/", {"reference": "SALE/POS/725185062173"}).json()
    assert [row["id"] for row in by_reference["data"]] == [str(sale.pk)]
    assert by_reference["metadata"]["total"] == 1


def test_another_sellers_sale_is_not_found(catalogue):
    owner, other = UserFactory(), UserFactory()
    sale = _sale(owner, catalogue["green"])
    client = client_for(other)
    for path in (f"{BASE}/{sale.pk}", f"{BASE}/{sale.reference}"):
        assert client.get(path).json() == {"status": False, "message": "Sale record not found"}
    assert client.get(BASE).status_code == 404
    response = client.post(f"{BASE}/delete", {"id": sale.pk}, format="json")
    assert (response.status_code, response.json()["message"]) == (404, "Sale record not found")
    assert Sale.objects.filter(pk=sale.pk).exists()
    assert client_for(StaffFactory()).get(f"{BASE}/{sale.pk}").status_code == 200


# --- taxes and methods ----------------------------------------------------------------------------


def test_a_lines_own_tax_by_code_with_its_method(catalogue):
    seller = UserFactory()
    body = {"status": "pending", "items": [
        {"variant_id": catalogue["green"].pk, "price": "105.0000", "quantity": "1.0000", "tax_id": "vat5",
         "tax_method": "subtraction"},
        {"variant_id": catalogue["red"].pk, "price": "100", "quantity": 1, "tax_id": catalogue["vat"].pk,
         "tax_method": "addition"},
    ]}
    data = client_for(seller).post(BASE, body, format="json").json()["data"]
    included, added = data["items"]
    assert (included["tax_method"], included["item_tax"], included["tax"]["code"]) == ("subtraction", "5.0000", "vat5")
    assert (added["tax_method"], added["item_tax"]) == ("addition", "5.0000")
    assert (data["order_tax"], data["total_tax"], data["grand_total"], data["tax"]) == (
        "0.0000", "10.0000", "210.0000", None
    )


# --- refusals -----------------------------------------------------------------------------------------


def test_short_stock_and_bad_lines_fail_to_add_the_sale(catalogue):
    seller = UserFactory()
    client = client_for(seller)
    short = client.post(BASE, {"status": "completed", "items": [{"variant_id": catalogue["green"].pk,
                                                                  "quantity": 999}]}, format="json")
    assert short.status_code == 400
    assert short.json()["status"] is False
    assert short.json()["message"].startswith("Failed to add sale: ")
    for body, named in (
        ({"status": "completed", "items": [{"product_id": 999999, "quantity": 1}]}, "items.0.product_id"),
        ({"status": "completed", "items": "[{"}, "JSON"),
        ({"status": "completed", "items": [{"variant_id": catalogue["green"].pk, "quantity": "1.5"}]},
         "items.0.quantity"),
        ({"status": "pending", "items": [{"variant_id": catalogue["green"].pk, "quantity": 1, "price": "1e999999999"}]},
         "items.0.price"),
        ({"status": "pending", "items": [{"variant_id": catalogue["green"].pk, "quantity": 1, "price": "1.005"}]},
         "items.0.price"),
        ({"status": "shipped", "items": [{"variant_id": catalogue["green"].pk, "quantity": 1}]}, "status"),
        ({"items": [{"variant_id": catalogue["green"].pk, "quantity": 1}]}, "status"),
        ({"status": "pending", "items": [{"variant_id": catalogue["green"].pk, "quantity": 1}],
          "payments": [{"amount": 5, "paid_by": "bitcoin"}]}, "payments.0.paid_by"),
        ({"status": "pending"}, "items: This field is required"),
        ({"status": "pending", "items": "[]"}, "items: This field is required"),
        ({"status": "pending", "date": "garbage", "items": [{"variant_id": catalogue["green"].pk, "quantity": 1}]},
         "Failed to add sale: date: "),
        ({"status": "pending", "items": [{"variant_id": catalogue["green"].pk, "quantity": 1, "tax_id": "vat5",
                                          "tax_method": "inclusive"}]}, "tax_method: Use addition or subtraction."),
        ({"status": "pending", "items": [{"variant_id": catalogue["green"].pk, "quantity": 1, "tax_id": "vat5",
                                          "tax_method": ["addition"]}]}, "tax_method: Use addition or subtraction."),
    ):
        response = client.post(BASE, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert named in response.json()["message"], response.json()
    assert not Sale.objects.exists()


def test_selling_for_another_user_is_staff_only(catalogue):
    seller, other, staff = UserFactory(), UserFactory(), StaffFactory()
    body = {"user_id": other.pk, "status": "pending", "items": [{"variant_id": catalogue["green"].pk,
                                                                 "quantity": 1}]}
    refused = client_for(seller).post(BASE, body, format="json")
    assert refused.status_code == 403
    assert refused.json()["status"] is False
    paid_for_other = {**body, "user_id": seller.pk, "payments": [{"user_id": other.pk, "amount": 1}]}
    assert client_for(seller).post(BASE, paid_for_other, format="json").status_code == 403
    made = client_for(staff).post(BASE, body, format="json")
    assert made.status_code == 201
    assert made.json()["data"]["user_id"] == str(other.pk)


def test_no_token_and_wrong_method_answer_in_the_envelope(catalogue):
    response = APIClient().get(BASE)
    assert response.status_code == 401
    assert response.json()["status"] is False
    assert response["WWW-Authenticate"].startswith("Bearer")
    wrong = client_for(UserFactory()).get(f"{BASE}/delete")
    assert wrong.status_code in (404, 405)
    assert wrong.json()["status"] is False
    bad = client_for(UserFactory()).get(BASE, {"limit": "x"})
    assert (bad.status_code, bad.json()["status"]) == (400, False)


def test_a_completed_sale_is_not_deleted(catalogue):
    seller = UserFactory()
    sale = services.sale_create(seller=seller, data=NewSale(
        items=(ItemData(variant=catalogue["green"], quantity=1),), status="completed"))
    response = client_for(seller).post(f"{BASE}/delete", {"id": sale.pk}, format="json")
    assert (response.status_code, response.json()["status"]) == (409, False)
    assert Sale.objects.filter(pk=sale.pk).exists()


def test_the_list_costs_the_same_queries_for_more_sales(catalogue, django_assert_max_num_queries):
    seller = UserFactory()
    client = client_for(seller)
    _sale(seller, catalogue["green"])
    client.get(BASE)  # token and session caches warm
    for _ in range(5):
        _sale(seller, catalogue["red"])
    with django_assert_max_num_queries(10):
        assert len(client.get(BASE).json()["data"]) == 6


def test_a_keyed_create_is_made_once(catalogue):
    seller = UserFactory()
    client = client_for(seller)
    body = {"status": "pending", "items": [{"variant_id": catalogue["green"].pk, "quantity": 1}]}
    first = client.post(BASE, body, format="json", HTTP_IDEMPOTENCY_KEY="vendloop-1")
    again = client.post(BASE, body, format="json", HTTP_IDEMPOTENCY_KEY="vendloop-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Sale.objects.count() == 1


def test_a_transient_conflict_is_not_replayed_under_its_key(catalogue, monkeypatch):
    """A create that lost a race (v1's transient `conflict`) did nothing: the retry with the same key runs again."""
    from salesproject.api.exceptions import Conflict

    seller = UserFactory()
    client = client_for(seller)
    body = {"status": "pending", "items": [{"variant_id": catalogue["green"].pk, "quantity": 1}]}
    real_create = services.sale_create

    def lose_the_race(**kwargs):
        monkeypatch.setattr(services, "sale_create", real_create)
        raise Conflict()

    monkeypatch.setattr(services, "sale_create", lose_the_race)
    lost = client.post(BASE, body, format="json", HTTP_IDEMPOTENCY_KEY="vendloop-race")
    assert (lost.status_code, lost.json()["status"]) == (400, False)
    assert "try again" in lost.json()["message"]
    retried = client.post(BASE, body, format="json", HTTP_IDEMPOTENCY_KEY="vendloop-race")
    assert retried.status_code == 201, retried.content
    assert Sale.objects.count() == 1
