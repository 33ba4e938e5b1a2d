"""Promotions and discount codes (money.md "Promotions and discount codes"): `/promotions/`, which ones a
sale takes, the reasons a code is refused, and the usage counted at confirm and given back on cancel."""

import contextlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.tests.factories import ProductGroupFactory, stocked_variant
from sales import services
from sales.models import ExchangeRate, Promotion, SalePromotion
from sales.services import ItemData
from salesproject.errors import DomainError

pytestmark = pytest.mark.django_db

API = "/api/v1"
SALES = f"{API}/sales/"
PROMOTIONS = f"{API}/promotions/"
D = Decimal


def errors(response) -> list[tuple[str, str | None]]:
    return [(e["code"], e["attr"]) for e in response.json()["errors"]]


def detail(response) -> str:
    return response.json()["errors"][0]["detail"]


@pytest.fixture(autouse=True)
def rates(db):
    ExchangeRate.objects.create(currency="EUR", rate=D("1.1"), valid_from=timezone.now() - timedelta(days=365))


@pytest.fixture
def variant(warehouse):
    return stocked_variant(1000)  # 10.00 each


def promotion(**fields) -> Promotion:
    fields.setdefault("name", fields.get("code") or "Promo")
    fields.setdefault("kind", "percent")
    fields.setdefault("value", D("10"))
    products = fields.pop("products", ())
    groups = fields.pop("product_groups", ())
    created = Promotion.objects.create(**fields)
    created.products.set(products)
    created.product_groups.set(groups)
    return created


def sell(client, variant, quantity=1, **body):
    items = body.pop("items", None) or [{"variant": variant.pk, "quantity": quantity}]
    return client.post(SALES, {"items": items, **body}, format="json")


def applied(response) -> list[tuple[str | None, str, str]]:
    assert response.status_code in (200, 201), response.json()
    return [(p["code"], p["scope"], p["amount"]) for p in response.json()["promotions"]]


# --- /promotions/ ------------------------------------------------------------------------------------------


def test_staff_creates_reads_changes_and_deletes_a_promotion(api_client, staff, variant):
    group = ProductGroupFactory(code="shoes")
    client = api_client(staff)
    body = {
        "name": "Shoe week", "code": "SHOES5", "automatic": False, "kind": "fixed", "value": "5",
        "applies_to": "product_groups", "product_groups": ["shoes"], "min_subtotal": "20", "currency": "usd",
        "starts_at": "2024-01-01T00:00:00Z", "ends_at": None, "usage_limit": 100, "active": True,
    }

    created = client.post(PROMOTIONS, body, format="json")

    assert created.status_code == 201, created.json()
    assert created.json() == {
        **body, "id": created.json()["id"], "value": "5.00", "min_subtotal": "20.00", "currency": "USD",
        "products": [], "usage_count": 0,
    }
    assert Promotion.objects.get().product_groups.get() == group
    url = f"{PROMOTIONS}{created.json()['id']}/"
    assert client.get(url).json() == created.json()
    assert client.get(PROMOTIONS).json()["results"] == [created.json()]
    changed = client.patch(url, {"name": "Renamed", "usage_count": 99}, format="json")
    assert (changed.json()["name"], changed.json()["usage_count"]) == ("Renamed", 0)  # usage_count is read-only
    assert client.delete(url).status_code == 204


def test_a_product_promotion_names_product_ids(api_client, staff, variant):
    response = api_client(staff).post(
        PROMOTIONS,
        {"name": "P", "automatic": True, "kind": "percent", "value": "15", "applies_to": "products",
         "products": [variant.product_id]},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["products"] == [variant.product_id]
    assert response.json()["code"] is None and response.json()["currency"] is None
    assert response.json()["value"] == "15.00"


def test_promotions_are_for_staff_only_reads_included(api_client, seller):
    assert api_client(seller).get(PROMOTIONS).status_code == 403
    assert api_client().get(PROMOTIONS).status_code == 401


@pytest.mark.parametrize(
    ("body", "attr", "code"),
    [
        ({"kind": "fixed", "value": "5"}, "currency", "required"),
        ({"kind": "percent", "value": "101"}, "value", "max_value"),
        ({"applies_to": "order", "products": ["PRODUCT"]}, "products", "invalid"),
        ({"applies_to": "products", "product_groups": ["shoes"], "products": ["PRODUCT"]}, "product_groups",
         "invalid"),
        ({"applies_to": "order", "product_groups": ["shoes"]}, "product_groups", "invalid"),
        ({"applies_to": "products"}, "products", "required"),
        ({"applies_to": "product_groups"}, "product_groups", "required"),
        ({"automatic": False, "code": None}, "code", "required"),
        ({"starts_at": "2025-01-02T00:00:00Z", "ends_at": "2025-01-01T00:00:00Z"}, "ends_at", "invalid"),
        ({"kind": "fixed", "value": "5.5", "currency": "JPY"}, "value", "max_decimal_places"),
        ({"products": [999999], "applies_to": "products"}, "products", "does_not_exist"),
        ({"product_groups": ["nope"], "applies_to": "product_groups"}, "product_groups", "does_not_exist"),
    ],
)
def test_bad_promotions_are_refused(api_client, staff, variant, body, attr, code):
    ProductGroupFactory(code="shoes")
    body = {"name": "P", "code": "P1", "kind": "percent", "value": "10", **body}
    if "products" in body:
        body["products"] = [variant.product_id if p == "PRODUCT" else p for p in body["products"]]

    response = api_client(staff).post(PROMOTIONS, body, format="json")

    assert response.status_code == 400, response.json()
    assert errors(response) == [(code, attr)]


def test_a_taken_code_is_refused(api_client, staff):
    promotion(code="SAVE10")

    response = api_client(staff).post(PROMOTIONS, {"name": "P", "code": "SAVE10", "kind": "percent", "value": "5"},
                                      format="json")

    assert response.status_code == 400
    assert errors(response) == [("unique", "code")]


def test_a_promotion_sales_were_priced_with_is_in_use(api_client, staff, seller, variant):
    used = promotion(code="SAVE10")
    sell(api_client(seller), variant, discount_code="SAVE10")

    response = api_client(staff).delete(f"{PROMOTIONS}{used.pk}/")

    assert response.status_code == 409
    assert errors(response) == [("in_use", None)]


# --- which promotions a sale takes ---------------------------------------------------------------------


def test_an_automatic_order_promotion_applies_by_itself(api_client, seller, variant):
    promotion(name="Spring", automatic=True, value=D("10"))

    response = sell(api_client(seller), variant, 3)

    assert applied(response) == [(None, "order", "3.00")]
    assert response.json()["promotions"][0]["name"] == "Spring"
    assert (response.json()["discount_total"], response.json()["grand_total"]) == ("3.00", "27.00")
    assert response.json()["discount_code"] == ""


def test_a_promotion_that_is_not_automatic_needs_its_code(api_client, seller, variant):
    promotion(code="SAVE10")

    assert applied(sell(api_client(seller), variant)) == []


def test_a_discount_code_applies_its_promotion(api_client, seller, variant):
    created = promotion(code="SAVE10", value=D("10"))

    response = sell(api_client(seller), variant, 2, discount_code="SAVE10")

    assert applied(response) == [("SAVE10", "order", "2.00")]
    assert response.json()["promotions"][0]["id"] == created.pk
    assert response.json()["discount_code"] == "SAVE10"
    assert response.json()["grand_total"] == "18.00"


def test_a_discount_code_is_matched_whatever_its_case(api_client, seller, variant):
    promotion(code="SAVE10")

    response = sell(api_client(seller), variant, discount_code="save10")

    assert applied(response) == [("SAVE10", "order", "1.00")]
    assert response.json()["discount_code"] == "SAVE10"


def test_the_codes_promotion_takes_its_scope_even_when_an_automatic_one_gives_more(api_client, seller, variant):
    promotion(name="Big", automatic=True, value=D("50"))
    promotion(code="SMALL", value=D("5"))

    response = sell(api_client(seller), variant, 2, discount_code="SMALL")

    assert applied(response) == [("SMALL", "order", "1.00")]


def test_of_several_automatic_order_promotions_the_largest_applies(api_client, seller, variant):
    promotion(name="Five", automatic=True, value=D("5"))
    promotion(name="Three off", automatic=True, kind="fixed", value=D("3"), currency="USD")

    response = sell(api_client(seller), variant, 2)  # 5% of 20.00 = 1.00 < 3.00

    assert [(p["name"], p["amount"]) for p in response.json()["promotions"]] == [("Three off", "3.00")]


def test_a_product_promotion_discounts_only_its_products_lines(api_client, seller, variant, warehouse):
    other = stocked_variant(100)
    promotion(name="This one", automatic=True, value=D("20"), applies_to="products", products=[variant.product])

    response = sell(
        api_client(seller), variant,
        items=[{"variant": variant.pk, "quantity": 1}, {"variant": other.pk, "quantity": 1}],
    )

    assert applied(response) == [(None, "line", "2.00")]
    assert [item["discount_total"] for item in response.json()["items"]] == ["2.00", "0.00"]


def test_a_group_promotion_discounts_the_lines_of_its_group(api_client, seller, warehouse):
    shoes = ProductGroupFactory(code="shoes")
    shoe = stocked_variant(10, product_group=shoes)
    hat = stocked_variant(10)
    promotion(code="SHOES", value=D("50"), applies_to="product_groups", product_groups=[shoes])

    response = sell(
        api_client(seller), shoe, discount_code="SHOES",
        items=[{"variant": hat.pk, "quantity": 1}, {"variant": shoe.pk, "quantity": 2}],
    )

    assert applied(response) == [("SHOES", "line", "10.00")]
    assert [item["discount_total"] for item in response.json()["items"]] == ["0.00", "10.00"]


def test_a_line_promotion_and_an_order_promotion_both_apply(api_client, seller, variant):
    promotion(name="Line", automatic=True, value=D("10"), applies_to="products", products=[variant.product])
    promotion(code="ORDER", kind="fixed", value=D("2"), currency="USD")

    response = sell(api_client(seller), variant, 2, discount_code="ORDER")

    assert set(applied(response)) == {(None, "line", "2.00"), ("ORDER", "order", "2.00")}
    assert response.json()["discount_total"] == "4.00"


@pytest.mark.parametrize(
    "fields",
    [
        {"active": False},
        {"starts_at": timezone.now() + timedelta(days=1)},
        {"ends_at": timezone.now() - timedelta(seconds=1)},
        {"usage_limit": 1, "usage_count": 1},
        {"min_subtotal": D("10.01")},
        {"kind": "fixed", "value": D("1"), "currency": "EUR"},
        {"currency": "EUR"},
    ],
    ids=["inactive", "not-started", "expired", "used-up", "minimum", "fixed-other-currency", "other-currency"],
)
def test_an_automatic_promotion_that_does_not_match_stays_out(api_client, seller, variant, fields):
    promotion(name="Auto", automatic=True, **fields)

    assert applied(sell(api_client(seller), variant)) == []


def test_an_automatic_promotion_whose_minimum_is_met_applies(api_client, seller, variant):
    promotion(name="Auto", automatic=True, min_subtotal=D("20.00"))

    assert applied(sell(api_client(seller), variant, 2)) == [(None, "order", "2.00")]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (None, "Unknown"),
        ({"active": False}, "inactive"),
        ({"starts_at": timezone.now() + timedelta(days=1)}, "not valid before"),
        ({"ends_at": timezone.now() - timedelta(seconds=1)}, "expired"),
        ({"usage_limit": 2, "usage_count": 2}, "used up"),
        ({"min_subtotal": D("50")}, "at least 50.00"),
        ({"kind": "fixed", "value": D("1"), "currency": "EUR"}, "in EUR"),
    ],
    ids=["unknown", "inactive", "not-started", "expired", "used-up", "minimum", "other-currency"],
)
def test_a_code_that_cannot_apply_is_refused_saying_why(api_client, seller, variant, fields, words):
    if fields is not None:
        promotion(code="CODE", **fields)

    response = sell(api_client(seller), variant, discount_code="CODE")

    assert response.status_code == 400
    assert errors(response) == [("invalid_discount_code", "discount_code")]
    assert words in detail(response)


def test_a_line_code_for_none_of_the_items_is_refused(api_client, seller, variant, warehouse):
    other = stocked_variant(10)
    promotion(code="OTHER", applies_to="products", products=[other.product])

    response = sell(api_client(seller), variant, discount_code="OTHER")

    assert response.status_code == 400
    assert errors(response) == [("invalid_discount_code", "discount_code")]


def test_a_code_in_the_sales_currency_applies(api_client, seller, variant):
    promotion(code="EUR2", kind="fixed", value=D("2"), currency="EUR")

    response = api_client(seller).post(
        SALES, {"currency": "EUR", "discount_code": "EUR2",
                "items": [{"variant": variant.pk, "quantity": 1, "unit_price": "10.00"}]},
        format="json",
    )

    assert applied(response) == [("EUR2", "order", "2.00")]


# --- editing --------------------------------------------------------------------------------------------


def test_a_code_added_while_pending_reprices_the_sale(api_client, seller, variant):
    promotion(code="SAVE10")
    client = api_client(seller)
    created = sell(client, variant, 2)

    patched = client.patch(f"{SALES}{created.json()['id']}/", {"discount_code": "SAVE10"}, format="json")

    assert applied(patched) == [("SAVE10", "order", "2.00")]
    assert patched.json()["grand_total"] == "18.00"
    assert client.get(f"{SALES}{created.json()['id']}/").json()["promotions"] == patched.json()["promotions"]


def test_removing_the_code_removes_its_promotion(api_client, seller, variant):
    promotion(code="SAVE10")
    client = api_client(seller)
    created = sell(client, variant, 2, discount_code="SAVE10")

    patched = client.patch(f"{SALES}{created.json()['id']}/", {"discount_code": ""}, format="json")

    assert applied(patched) == []
    assert patched.json()["grand_total"] == "20.00"
    assert not SalePromotion.objects.exists()


def test_repricing_replaces_the_applied_promotions(api_client, seller, variant):
    promotion(code="SAVE10")
    client = api_client(seller)
    created = sell(client, variant, 2, discount_code="SAVE10")

    patched = client.patch(f"{SALES}{created.json()['id']}/", {"items": [{"variant": variant.pk, "quantity": 5}]},
                           format="json")

    assert applied(patched) == [("SAVE10", "order", "5.00")]
    assert SalePromotion.objects.count() == 1


def test_a_bad_code_in_a_patch_is_refused_and_changes_nothing(api_client, seller, variant):
    client = api_client(seller)
    created = sell(client, variant)

    response = client.patch(f"{SALES}{created.json()['id']}/", {"discount_code": "NOPE"}, format="json")

    assert response.status_code == 400
    assert errors(response) == [("invalid_discount_code", "discount_code")]
    assert client.get(f"{SALES}{created.json()['id']}/").json()["discount_code"] == ""


def test_the_code_of_a_confirmed_sale_cannot_change(api_client, seller, variant):
    promotion(code="SAVE10")
    client = api_client(seller)
    created = sell(client, variant, status="confirmed")

    response = client.patch(f"{SALES}{created.json()['id']}/", {"discount_code": "SAVE10"}, format="json")

    assert response.status_code == 409
    assert errors(response) == [("sale_locked", "discount_code")]


def test_the_list_shows_the_promotions_as_the_detail_does(api_client, seller, variant):
    promotion(code="SAVE10")
    promotion(name="Line", automatic=True, value=D("10"), applies_to="products", products=[variant.product])
    client = api_client(seller)
    created = sell(client, variant, 2, discount_code="SAVE10")

    listed = client.get(SALES).json()["results"][0]

    assert listed["promotions"] == created.json()["promotions"]
    assert listed["promotions"] == client.get(f"{SALES}{created.json()['id']}/").json()["promotions"]
    assert len(listed["promotions"]) == 2


# --- usage --------------------------------------------------------------------------------------------------


def used(code: str) -> int:
    return Promotion.objects.get(code=code).usage_count


def test_usage_is_counted_at_confirm_not_before(api_client, seller, staff, variant):
    promotion(code="SAVE10")
    created = sell(api_client(seller), variant, discount_code="SAVE10")
    assert used("SAVE10") == 0

    confirmed = api_client(staff).post(f"{SALES}{created.json()['id']}/confirm/", format="json")

    assert confirmed.status_code == 200, confirmed.json()
    assert used("SAVE10") == 1


@pytest.mark.parametrize("status", ["confirmed", "completed"])
def test_a_sale_created_confirmed_or_completed_counts_at_once(api_client, seller, variant, status):
    promotion(code="SAVE10")
    promotion(name="Auto", automatic=True, applies_to="products", products=[variant.product], value=D("5"))

    sell(api_client(seller), variant, discount_code="SAVE10", status=status)

    assert used("SAVE10") == 1
    assert Promotion.objects.get(name="Auto").usage_count == 1


def test_the_last_use_taken_before_confirm_is_a_409(api_client, seller, staff, variant):
    promotion(code="ONCE", usage_limit=1)
    first = sell(api_client(seller), variant, discount_code="ONCE")
    second = sell(api_client(seller), variant, discount_code="ONCE")  # both pending: nothing used yet
    assert api_client(staff).post(f"{SALES}{first.json()['id']}/confirm/", format="json").status_code == 200

    response = api_client(staff).post(f"{SALES}{second.json()['id']}/confirm/", format="json")

    assert response.status_code == 409
    assert errors(response) == [("invalid_discount_code", "discount_code")]
    assert used("ONCE") == 1
    assert api_client(staff).get(f"{SALES}{second.json()['id']}/").json()["status"] == "pending"


def test_a_sale_created_confirmed_on_a_used_up_code_is_refused(api_client, seller, variant):
    promotion(code="ONCE", usage_limit=1, usage_count=1)

    response = sell(api_client(seller), variant, discount_code="ONCE", status="confirmed")

    assert response.status_code == 400
    assert errors(response) == [("invalid_discount_code", "discount_code")]


def test_cancelling_before_fulfilment_gives_the_use_back(api_client, seller, staff, boss, variant):
    promotion(code="SAVE10")
    created = sell(api_client(seller), variant, discount_code="SAVE10", status="confirmed")
    assert used("SAVE10") == 1

    response = api_client(boss).post(f"{SALES}{created.json()['id']}/cancel/", {}, format="json")

    assert response.status_code == 200, response.json()
    assert used("SAVE10") == 0
    # A second cancel is refused by the state machine, so the use cannot be given back twice.
    assert api_client(boss).post(f"{SALES}{created.json()['id']}/cancel/", {}, format="json").status_code == 409
    assert used("SAVE10") == 0


def test_cancelling_a_pending_sale_gives_nothing_back(api_client, seller, boss, variant):
    promotion(code="SAVE10", usage_count=3)
    created = sell(api_client(seller), variant, discount_code="SAVE10")

    api_client(boss).post(f"{SALES}{created.json()['id']}/cancel/", {}, format="json")

    assert used("SAVE10") == 3


def test_cancelling_after_some_units_went_out_keeps_the_use(seller, variant):
    promotion(code="SAVE10")
    sale = services.sale_create(
        seller=seller, data=services.NewSale(status="confirmed", discount_code="SAVE10",
                                             items=[ItemData(variant=variant, quantity=2)]),
    )
    item = sale.items.get()
    services.sale_fulfil(sale=sale, user=None, lines=[services.ItemQuantity(item=item, quantity=1)])

    with contextlib.suppress(DomainError):  # a sale partly sent may not be cancellable at all: nothing changes
        services.sale_cancel(sale=sale, user=None)

    assert used("SAVE10") == 1


def test_the_fast_renderers_say_what_the_serializers_say_about_promotions(seller, staff, variant):
    from rest_framework.test import APIRequestFactory

    from sales import selectors
    from sales.api import list_rows
    from sales.api.serializers import SaleListSerializer
    from sales.tests.test_detail_rows import assert_renders_like_the_serializer, loaded
    from sales.tests.test_list_rows import as_json

    promotion(code="EUR2", kind="fixed", value=D("2"), currency="EUR")
    promotion(name="Line", automatic=True, value=D("12.5"), applies_to="products", products=[variant.product])
    created = services.sale_create(
        seller=seller,
        data=services.NewSale(currency="EUR", discount_code="EUR2",
                              items=[ItemData(variant=variant, quantity=3, unit_price=D("3.33"))]),
    )
    services.sale_create(seller=seller, data=services.NewSale(items=[ItemData(variant=variant, quantity=1)]))

    assert_renders_like_the_serializer(created, staff)  # as the create hands it back, nothing read again
    detail = assert_renders_like_the_serializer(loaded(created), staff)
    request = APIRequestFactory().get(SALES)
    request.user = staff
    queryset = selectors.sale_scope(user=staff)
    expected = as_json(SaleListSerializer(selectors.sale_with_related(queryset), many=True,
                                          context={"request": request}).data)
    rendered = as_json(list_rows.render_sales(list(list_rows.sale_rows(queryset)), user=staff, using="default"))
    assert rendered == expected
    assert {p["scope"] for p in detail["promotions"]} == {"line", "order"}


def test_the_admin_writes_a_promotion_through_the_service_and_shows_its_usage(boss_client, variant):
    form = {"name": "Admin promo", "code": "ADMIN", "active": "on", "kind": "percent", "value": "10",
            "applies_to": "products", "products": [str(variant.product_id)]}

    response = boss_client.post("/admin/sales/promotion/add/", form)

    assert response.status_code == 302, response.content.decode()[:3000]
    created = Promotion.objects.get(code="ADMIN")
    assert list(created.products.all()) == [variant.product]
    page = boss_client.get(f"/admin/sales/promotion/{created.pk}/change/")
    assert page.status_code == 200
    assert b'name="usage_count"' not in page.content  # read-only


def test_the_admin_refuses_a_fixed_promotion_without_currency(boss_client):
    form = {"name": "Bad", "code": "BAD", "active": "on", "kind": "fixed", "value": "10", "applies_to": "order"}

    boss_client.post("/admin/sales/promotion/add/", form, follow=True)

    assert not Promotion.objects.filter(code="BAD").exists()


def test_stored_candidates_reprice_a_sale_as_it_was_priced(seller, variant):
    from sales.services._common import apply_pricing
    from sales.services.promotions import stored_candidates

    promotion(code="SMALL", value=D("5"))
    promotion(name="Big", automatic=True, value=D("50"))
    promotion(name="Line", automatic=True, value=D("10"), applies_to="products", products=[variant.product])
    sale = services.sale_create(
        seller=seller, data=services.NewSale(discount_code="SMALL", items=[ItemData(variant=variant, quantity=4)]),
    )
    before = sorted((row.promotion.name, row.scope, row.amount) for row in sale.applied_promotions.all())
    Promotion.objects.update(active=False)  # what was chosen then still prices it

    items = list(sale.items.all())
    again = apply_pricing(sale, items, promotions=stored_candidates(sale, items).inputs)

    names = {p.pk: p.name for p in Promotion.objects.all()}
    assert sorted((names[a.id], a.scope, a.amount) for a in again) == before
    assert [name for name, _, _ in before] == ["Line", "SMALL"]
