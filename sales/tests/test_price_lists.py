"""Price lists: `/price-lists/` and the unit price of a line sent without one (money.md "Price lists")."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from inventory.tests.factories import stocked_variant
from sales.models import ExchangeRate, PriceList, PriceListEntry
from sales.tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
SALES = f"{API}/sales/"
D = Decimal


def errors(response) -> list[tuple[str, str | None]]:
    return [(e["code"], e["attr"]) for e in response.json()["errors"]]


@pytest.fixture(autouse=True)
def rates(db):
    """Sales in EUR and JPY have a rate to the base currency (USD)."""
    past = timezone.now() - timedelta(days=365)
    ExchangeRate.objects.create(currency="EUR", rate=D("1.1"), valid_from=past)
    ExchangeRate.objects.create(currency="JPY", rate=D("0.0067"), valid_from=past)


@pytest.fixture
def variant(warehouse):
    return stocked_variant(100)  # catalogue price 10.00


def price_list(code="vip", currency="USD", *, variant=None, tiers=((1, "8.00"),), **fields) -> PriceList:
    listed = PriceList.objects.create(code=code, name=code.upper(), currency=currency, **fields)
    for min_quantity, price in tiers if variant is not None else ():
        PriceListEntry.objects.create(price_list=listed, variant=variant, min_quantity=min_quantity, price=D(price))
    return listed


def sell(client, variant, quantity=1, **body):
    return client.post(SALES, {"items": [{"variant": variant.pk, "quantity": quantity}], **body}, format="json")


def unit_price(response) -> str:
    assert response.status_code == 201, response.json()
    return response.json()["items"][0]["unit_price"]


# --- /price-lists/ -----------------------------------------------------------------------------------


def test_staff_creates_a_list_with_tiers_and_everyone_reads_it(api_client, staff, seller, variant):
    ChannelFactory(code="web")
    body = {
        "code": "wholesale", "name": "Wholesale", "currency": "eur", "channel": "web",
        "valid_from": "2024-01-01T00:00:00Z", "valid_to": None, "active": True,
        "prices": [
            {"variant": variant.pk, "price": "9.5", "min_quantity": 1},
            {"variant": variant.pk, "price": "8.00", "min_quantity": 10},
        ],
    }

    created = api_client(staff).post(f"{API}/price-lists/", body, format="json")

    assert created.status_code == 201, created.json()
    assert created.json() == {
        **body, "id": created.json()["id"], "currency": "EUR",
        "prices": [
            {"variant": variant.pk, "price": "9.50", "min_quantity": 1},
            {"variant": variant.pk, "price": "8.00", "min_quantity": 10},
        ],
    }
    url = f"{API}/price-lists/{created.json()['id']}/"
    assert api_client(seller).get(url).json() == created.json()
    assert api_client(seller).get(f"{API}/price-lists/").json()["results"] == [created.json()]


def test_a_patch_with_prices_replaces_them_whole(api_client, staff, variant):
    listed = price_list(variant=variant, tiers=((1, "8.00"), (5, "7.00")))

    response = api_client(staff).patch(
        f"{API}/price-lists/{listed.pk}/", {"prices": [{"variant": variant.pk, "price": "6.00"}]}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["prices"] == [{"variant": variant.pk, "price": "6.00", "min_quantity": 1}]


def test_a_seller_cannot_write_price_lists(api_client, seller):
    response = api_client(seller).post(f"{API}/price-lists/", {"code": "x", "name": "X", "currency": "USD"},
                                       format="json")

    assert response.status_code == 403


def test_anonymous_cannot_read_price_lists(api_client):
    assert api_client().get(f"{API}/price-lists/").status_code == 401


@pytest.mark.parametrize(
    ("prices", "attr", "code"),
    [
        ([{"variant": "VARIANT", "price": "1.5"}], "prices.0.price", "max_decimal_places"),  # JPY has no decimals
        ([{"variant": "VARIANT", "price": "100", "min_quantity": 0}], "prices.0.min_quantity", "min_value"),
        ([{"variant": 999999, "price": "100"}], "prices.0.variant", "does_not_exist"),
        (
            [{"variant": "VARIANT", "price": "100"}, {"variant": "VARIANT", "price": "90"}],
            "prices.1.min_quantity", "unique",
        ),
    ],
)
def test_bad_entries_are_refused(api_client, staff, variant, prices, attr, code):
    prices = [{**entry, "variant": variant.pk if entry["variant"] == "VARIANT" else entry["variant"]}
              for entry in prices]

    response = api_client(staff).post(
        f"{API}/price-lists/", {"code": "yen", "name": "Yen", "currency": "JPY", "prices": prices}, format="json"
    )

    assert response.status_code == 400
    assert errors(response) == [(code, attr)]


def test_a_list_sales_were_priced_with_is_in_use(api_client, staff, seller, variant):
    listed = price_list(variant=variant)
    assert unit_price(sell(api_client(seller), variant, price_list="vip")) == "8.00"

    response = api_client(staff).delete(f"{API}/price-lists/{listed.pk}/")

    assert response.status_code == 409
    assert errors(response) == [("in_use", None)]


def test_an_unused_list_is_deleted(api_client, staff, variant):
    listed = price_list(variant=variant)

    assert api_client(staff).delete(f"{API}/price-lists/{listed.pk}/").status_code == 204
    assert not PriceList.objects.exists()


# --- which price a line takes ---------------------------------------------------------------------------


def test_without_a_list_the_catalogue_price_applies_in_the_base_currency(api_client, seller, variant):
    response = sell(api_client(seller), variant)

    assert unit_price(response) == "10.00"
    assert response.json()["price_list"] is None


def test_without_a_list_a_sale_in_another_currency_has_no_price(api_client, seller, variant):
    response = sell(api_client(seller), variant, currency="EUR", items=[{"variant": variant.pk, "quantity": 1}])

    assert response.status_code == 400
    assert errors(response) == [("no_price", "items.0.unit_price")]


def test_an_explicit_unit_price_needs_no_list_in_another_currency(api_client, seller, variant):
    response = api_client(seller).post(
        SALES, {"currency": "EUR", "items": [{"variant": variant.pk, "quantity": 1, "unit_price": "7.00"}]},
        format="json",
    )

    assert unit_price(response) == "7.00"


def test_the_list_named_by_the_sale_prices_its_lines(api_client, seller, variant):
    price_list(variant=variant)

    response = sell(api_client(seller), variant, price_list="vip")

    assert unit_price(response) == "8.00"
    assert response.json()["price_list"] == "vip"
    assert api_client(seller).get(f"{SALES}{response.json()['id']}/").json()["price_list"] == "vip"


def test_an_explicit_unit_price_wins_over_the_list(api_client, seller, variant):
    price_list(variant=variant)

    response = api_client(seller).post(
        SALES, {"price_list": "vip", "items": [{"variant": variant.pk, "quantity": 1, "unit_price": "9.25"}]},
        format="json",
    )

    assert unit_price(response) == "9.25"


@pytest.mark.parametrize(("quantity", "price"), [(1, "9.00"), (9, "9.00"), (10, "8.00"), (49, "8.00"), (50, "7.00")])
def test_the_largest_tier_not_above_the_quantity_applies(api_client, seller, variant, quantity, price):
    price_list(variant=variant, tiers=((1, "9.00"), (10, "8.00"), (50, "7.00")))

    assert unit_price(sell(api_client(seller), variant, quantity, price_list="vip")) == price


def test_below_the_smallest_tier_the_catalogue_price_applies(api_client, seller, variant):
    price_list(variant=variant, tiers=((10, "8.00"),))

    assert unit_price(sell(api_client(seller), variant, 2, price_list="vip")) == "10.00"


def test_a_list_in_another_currency_than_the_sale_is_refused(api_client, seller, variant):
    price_list("euro", "EUR", variant=variant)

    response = sell(api_client(seller), variant, price_list="euro")

    assert response.status_code == 400
    assert errors(response) == [("currency_mismatch", "price_list")]


def test_an_unknown_list_is_refused(api_client, seller, variant):
    response = sell(api_client(seller), variant, price_list="nope")

    assert response.status_code == 400
    assert errors(response) == [("does_not_exist", "price_list")]


def test_a_list_in_the_sale_currency_prices_a_sale_in_another_currency(api_client, seller, variant):
    price_list("yen", "JPY", variant=variant, tiers=((1, "1500"),))

    response = sell(api_client(seller), variant, currency="JPY", price_list="yen")

    assert unit_price(response) == "1500"


def test_the_customers_list_applies_when_the_sale_names_none(api_client, seller, variant):
    customer = CustomerFactory(price_list=price_list(variant=variant))

    response = sell(api_client(seller), variant, customer=customer.pk)

    assert unit_price(response) == "8.00"
    assert response.json()["price_list"] == "vip"


def test_the_list_the_sale_names_wins_over_the_customers(api_client, seller, variant):
    customer = CustomerFactory(price_list=price_list(variant=variant))
    price_list("promo", variant=variant, tiers=((1, "5.00"),))

    assert unit_price(sell(api_client(seller), variant, customer=customer.pk, price_list="promo")) == "5.00"


def test_the_channels_active_list_applies_without_one_of_the_sale_or_customer(api_client, seller, variant):
    web = ChannelFactory(code="web")
    price_list("web-prices", variant=variant, tiers=((1, "9.00"),), channel=web)

    response = sell(api_client(seller), variant, channel="web")

    assert unit_price(response) == "9.00"
    assert response.json()["price_list"] == "web-prices"


def test_the_customers_list_wins_over_the_channels(api_client, seller, variant):
    web = ChannelFactory(code="web")
    price_list("web-prices", variant=variant, tiers=((1, "9.00"),), channel=web)
    customer = CustomerFactory(price_list=price_list(variant=variant))

    assert unit_price(sell(api_client(seller), variant, channel="web", customer=customer.pk)) == "8.00"


@pytest.mark.parametrize(
    "fields",
    [
        {"active": False},
        {"valid_from": timezone.now() + timedelta(days=1)},
        {"valid_to": timezone.now() - timedelta(days=1)},
    ],
    ids=["inactive", "not-yet-valid", "expired"],
)
def test_a_channel_list_not_active_at_sold_at_does_not_apply(api_client, seller, variant, fields):
    web = ChannelFactory(code="web")
    price_list("web-prices", variant=variant, tiers=((1, "9.00"),), channel=web, **fields)

    response = sell(api_client(seller), variant, channel="web")

    assert unit_price(response) == "10.00"
    assert response.json()["price_list"] is None


def test_a_channel_list_valid_at_a_past_sold_at_applies(api_client, seller, variant):
    web = ChannelFactory(code="web")
    last_year = timezone.now() - timedelta(days=300)
    price_list("old", variant=variant, tiers=((1, "9.00"),), channel=web, valid_to=last_year + timedelta(days=10),
               valid_from=last_year - timedelta(days=10))

    response = sell(api_client(seller), variant, channel="web", sold_at=last_year.isoformat())

    assert unit_price(response) == "9.00"


def test_a_list_without_a_channel_never_applies_by_channel(api_client, seller, variant):
    ChannelFactory(code="web")
    price_list(variant=variant)  # no channel

    assert unit_price(sell(api_client(seller), variant, channel="web")) == "10.00"


def test_a_channel_list_in_another_currency_is_refused(api_client, seller, variant):
    web = ChannelFactory(code="web")
    price_list("euro", "EUR", variant=variant, channel=web)

    response = sell(api_client(seller), variant, channel="web")

    assert response.status_code == 400
    assert errors(response) == [("currency_mismatch", "price_list")]


def test_a_channel_list_in_the_sale_currency_is_preferred(api_client, seller, variant):
    web = ChannelFactory(code="web")
    price_list("a-euro", "EUR", variant=variant, tiers=((1, "7.00"),), channel=web)
    price_list("b-dollar", "USD", variant=variant, tiers=((1, "9.00"),), channel=web)

    assert unit_price(sell(api_client(seller), variant, channel="web")) == "9.00"
    assert unit_price(sell(api_client(seller), variant, channel="web", currency="EUR")) == "7.00"


def test_a_variant_missing_from_a_foreign_currency_list_has_no_price(api_client, seller, variant, warehouse):
    other = stocked_variant(10)
    price_list("euro", "EUR", variant=other)

    response = sell(api_client(seller), variant, currency="EUR", price_list="euro")

    assert response.status_code == 400
    assert errors(response) == [("no_price", "items.0.unit_price")]


def test_patching_items_prices_them_from_the_sales_list(api_client, seller, variant):
    price_list(variant=variant, tiers=((1, "8.00"), (5, "6.00")))
    client = api_client(seller)
    created = sell(client, variant, price_list="vip")

    response = client.patch(
        f"{SALES}{created.json()['id']}/", {"items": [{"variant": variant.pk, "quantity": 5}]}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["items"][0]["unit_price"] == "6.00"
    assert response.json()["price_list"] == "vip"


# --- the customer's list in the customer API ---------------------------------------------------------------


def test_a_customer_gets_and_loses_a_price_list_by_code(api_client, seller, variant):
    price_list(variant=variant)
    client = api_client(seller)

    created = client.post(f"{API}/customers/", {"name": "Ada", "price_list": "vip"}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["price_list"] == "vip"
    url = f"{API}/customers/{created.json()['id']}/"
    assert client.get(url).json()["price_list"] == "vip"

    cleared = client.patch(url, {"price_list": None}, format="json")
    assert cleared.json()["price_list"] is None


def test_a_customer_with_an_unknown_list_is_refused(api_client, seller):
    response = api_client(seller).post(f"{API}/customers/", {"name": "Ada", "price_list": "nope"}, format="json")

    assert response.status_code == 400
    assert errors(response) == [("does_not_exist", "price_list")]


# --- admin ------------------------------------------------------------------------------------------------------


def test_the_admin_writes_a_list_and_its_entries_through_the_service(boss_client, variant):
    form = {
        "code": "admin-list", "name": "Admin", "currency": "usd", "active": "on",
        "prices-TOTAL_FORMS": "1", "prices-INITIAL_FORMS": "0", "prices-MIN_NUM_FORMS": "0",
        "prices-MAX_NUM_FORMS": "1000",
        "prices-0-variant": str(variant.pk), "prices-0-min_quantity": "5", "prices-0-price": "7.50",
    }

    response = boss_client.post("/admin/sales/pricelist/add/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    listed = PriceList.objects.get(code="admin-list")
    assert listed.currency == "USD"
    assert list(listed.prices.values_list("variant_id", "min_quantity", "price")) == [(variant.pk, 5, D("7.500"))]
    assert boss_client.get(f"/admin/sales/pricelist/{listed.pk}/change/").status_code == 200
