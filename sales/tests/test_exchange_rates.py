"""Exchange rates to the base currency and what sales make of them (money.md): `/exchange-rates/`, the rate a
sale snapshots, its base-currency figures, and summaries that never add currencies up."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from inventory.tests.factories import stocked_variant
from sales import services
from sales.models import ExchangeRate, Sale, SaleItem
from sales.services import ReturnLine

D = Decimal
RATES = "/api/v1/exchange-rates/"
SALES = "/api/v1/sales/"
SUMMARY = f"{SALES}summary/"

pytestmark = pytest.mark.django_db


def when(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def rate(currency: str, value: str, valid_from: str = "2024-01-01T00:00:00Z") -> ExchangeRate:
    return ExchangeRate.objects.create(currency=currency, rate=D(value), valid_from=when(valid_from))


def errors(response, status: int) -> list[tuple[str, str]]:
    assert response.status_code == status, response.json()
    return [(error["code"], error["attr"]) for error in response.json()["errors"]]


def sell(client, currency: str | None = None, price: str = "10.00", quantity: int = 1, **body):
    items = [{"variant": stocked_variant(50).pk, "quantity": quantity, "unit_price": price}]
    if currency:
        body["currency"] = currency
    return client.post(SALES, {"items": items, **body}, format="json")


def sold(client, *args, **kwargs) -> dict:
    response = sell(client, *args, **kwargs)
    assert response.status_code == 201, response.json()
    return response.json()


# --- /exchange-rates/ ------------------------------------------------------------------------------------------


def test_staff_write_rates_and_everyone_reads_them(api_client, staff, seller):
    body = {"currency": "eur", "rate": "1.0837", "valid_from": "2024-03-01T00:00:00Z"}

    created = api_client(staff).post(RATES, body, format="json")

    assert created.status_code == 201, created.json()
    assert created.json() == {
        "id": created.json()["id"],
        "currency": "EUR",
        "rate": "1.08370000",
        "valid_from": "2024-03-01T00:00:00Z",
    }
    listed = api_client(seller).get(RATES).json()
    assert [row["rate"] for row in listed["results"]] == ["1.08370000"]
    assert api_client(seller).post(RATES, body, format="json").status_code == 403
    url = f"{RATES}{created.json()['id']}/"
    assert api_client(seller).patch(url, {"rate": "2"}, format="json").status_code == 403
    assert api_client(staff).patch(url, {"rate": "1.1"}, format="json").json()["rate"] == "1.10000000"
    assert api_client(staff).delete(url).status_code == 204


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"rate": "0"}, ("invalid", "rate")),
        ({"rate": "-1.5"}, ("invalid", "rate")),
        ({"rate": "1.123456789"}, ("max_decimal_places", "rate")),
        ({"currency": "USD"}, ("base_currency", "currency")),  # the base currency is always 1
        ({"currency": "ABC"}, ("invalid", "currency")),
        ({"currency": "EURO"}, ("invalid", "currency")),
    ],
)
def test_a_rate_is_positive_with_up_to_8_decimals_of_an_iso_currency_other_than_the_base(
    api_client, staff, body, expected
):
    response = api_client(staff).post(
        RATES, {"currency": "EUR", "rate": "1.08", "valid_from": "2024-03-01T00:00:00Z", **body}, format="json"
    )

    assert errors(response, 400) == [expected]
    assert not ExchangeRate.objects.exists()


def test_two_rates_of_a_currency_from_the_same_moment_are_refused(api_client, staff):
    rate("EUR", "1.08", "2024-03-01T00:00:00Z")

    response = api_client(staff).post(
        RATES, {"currency": "EUR", "rate": "1.09", "valid_from": "2024-03-01T00:00:00Z"}, format="json"
    )

    assert errors(response, 400) == [("unique", "valid_from")]


# --- the rate a sale snapshots ---------------------------------------------------------------------------------


def test_a_sale_takes_the_latest_rate_valid_when_it_was_sold(api_client, seller, warehouse):
    rate("EUR", "1.05", "2024-01-01T00:00:00Z")
    rate("EUR", "1.10", "2024-03-01T00:00:00Z")
    rate("EUR", "1.20", "2024-06-01T00:00:00Z")  # after the sale
    client = api_client(seller)

    body = sold(client, "EUR", price="10.01", sold_at="2024-05-31T23:59:59Z")

    assert (body["exchange_rate"], body["base_currency"]) == ("1.10000000", "USD")
    assert (body["grand_total"], body["grand_total_base"]) == ("10.01", "11.01")  # 11.011 → 11.01
    on_the_edge = sold(client, "EUR", sold_at="2024-03-01T00:00:00Z")  # valid_from <= sold_at
    assert on_the_edge["exchange_rate"] == "1.10000000"


def test_the_rate_in_the_body_wins(api_client, seller, warehouse):
    rate("EUR", "1.10")

    body = sold(api_client(seller), "EUR", price="99.99", exchange_rate="1.08375")

    assert body["exchange_rate"] == "1.08375000"
    assert body["grand_total_base"] == "108.36"  # 108.3641… half-up to cents
    assert Sale.objects.get(pk=body["id"]).exchange_rate == D("1.08375")


def test_without_a_rate_a_sale_in_another_currency_is_refused(api_client, seller, warehouse):
    rate("EUR", "1.10", "2030-01-01T00:00:00Z")  # not valid yet

    response = sell(api_client(seller), "EUR")

    assert errors(response, 400) == [("exchange_rate_missing", "currency")]
    assert not Sale.objects.exists()


@pytest.mark.parametrize(("given", "expected"), [("0", "invalid"), ("1.000000001", "max_decimal_places")])
def test_a_given_rate_is_positive_with_up_to_8_decimals(api_client, seller, warehouse, given, expected):
    assert errors(sell(api_client(seller), "EUR", exchange_rate=given), 400) == [(expected, "exchange_rate")]


def test_a_sale_in_the_base_currency_is_at_1(api_client, seller, warehouse):
    body = sold(api_client(seller), price="12.34")

    assert (body["currency"], body["exchange_rate"], body["grand_total_base"]) == ("USD", "1.00000000", "12.34")
    assert errors(sell(api_client(seller), "USD", exchange_rate="1.5"), 400) == [("invalid", "exchange_rate")]


def test_a_zero_decimal_currency_and_its_base_value(api_client, seller, warehouse):
    rate("JPY", "0.006731")

    body = sold(api_client(seller), "JPY", price="1500")

    assert (body["grand_total"], body["exchange_rate"], body["grand_total_base"]) == ("1500", "0.00673100", "10.10")


def test_changing_a_rate_later_leaves_the_sales_alone(api_client, staff, seller, warehouse):
    eur = rate("EUR", "1.10")
    body = sold(api_client(seller), "EUR")

    api_client(staff).patch(f"{RATES}{eur.pk}/", {"rate": "2"}, format="json")

    assert api_client(seller).get(f"{SALES}{body['id']}/").json()["exchange_rate"] == "1.10000000"


def test_changing_the_currency_of_an_open_sale_snapshots_the_rate_again(api_client, seller, warehouse):
    rate("EUR", "1.10")
    rate("GBP", "1.25")
    client = api_client(seller)
    body = sold(client, "EUR")

    changed = client.patch(f"{SALES}{body['id']}/", {"currency": "GBP"}, format="json")
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["exchange_rate"], changed.json()["grand_total_base"]) == ("1.25000000", "12.50")

    back = client.patch(f"{SALES}{body['id']}/", {"currency": "USD"}, format="json").json()
    assert back["exchange_rate"] == "1.00000000"

    given = client.patch(f"{SALES}{body['id']}/", {"currency": "EUR", "exchange_rate": "1.2"}, format="json").json()
    assert given["exchange_rate"] == "1.20000000"

    missing = client.patch(f"{SALES}{body['id']}/", {"currency": "CHF"}, format="json")
    assert errors(missing, 400) == [("exchange_rate_missing", "currency")]
    assert Sale.objects.get(pk=body["id"]).currency == "EUR"


def test_a_confirmed_sale_keeps_its_rate(api_client, seller, warehouse):
    rate("EUR", "1.10")
    body = sold(api_client(seller), "EUR", status="confirmed")

    response = api_client(seller).patch(f"{SALES}{body['id']}/", {"exchange_rate": "1.3"}, format="json")

    assert errors(response, 409) == [("sale_locked", "exchange_rate")]


# --- summaries never add currencies up -------------------------------------------------------------------------


@pytest.fixture
def fx_sales(api_client, seller, boss, warehouse):
    """USD, EUR and JPY sales of one seller; one EUR sale has a unit returned."""
    rate("EUR", "1.08375")
    rate("JPY", "0.006731")
    client = api_client(seller)
    sold(client, price="10.00", status="confirmed")
    sold(client, price="5.00", status="pending")
    sold(client, "EUR", price="99.99", status="completed")  # 108.3641… → 108.36
    returned = sold(client, "EUR", price="0.33", quantity=3, status="confirmed", exchange_rate="1.5")  # 1.485 → 1.49
    sold(client, "JPY", price="1500", status="confirmed", payments=[{"amount": "1000"}])  # 10.0965 → 10.10; 6.731
    cancelled = sold(client, "JPY", price="777")
    client.post(f"{SALES}{cancelled['id']}/status/", {"status": "cancelled", "reason": "customer"}, format="json")
    item = SaleItem.objects.get(sale_id=returned["id"])
    services.sale_return(sale=Sale.objects.get(pk=returned["id"]), user=boss, lines=[ReturnLine(item=item, quantity=1)])
    return client


def test_the_summary_gives_base_totals_and_each_currency_in_its_own_money(fx_sales):
    body = fx_sales.get(SUMMARY).json()

    # Revenue in USD: 10.00 + 108.36 + 0.66 × 1.5 = 0.99 + 10.10 (each sale's net converted, then summed).
    assert (body["total_sales"], body["total_revenue"], body["total_paid"]) == (6, "129.45", "6.73")
    assert body["by_status"]["confirmed"] == {"count": 3, "total": "21.09"}
    assert body["by_status"]["completed"] == {"count": 1, "total": "108.36"}
    assert body["by_status"]["pending"] == {"count": 1, "total": "5.00"}
    assert body["by_status"]["cancelled"] == {"count": 1, "total": "5.23"}  # 777 × 0.006731 = 5.229987
    assert body["by_currency"] == {
        "EUR": {"count": 2, "total_revenue": "100.65", "total_paid": "0.00"},
        "JPY": {"count": 2, "total_revenue": "1500", "total_paid": "1000"},
        "USD": {"count": 2, "total_revenue": "10.00", "total_paid": "0.00"},
    }


def test_currency_filters_the_list_and_the_summary(fx_sales):
    listed = fx_sales.get(SALES, {"currency": "eur"}).json()
    summary = fx_sales.get(SUMMARY, {"currency": "JPY", "status": ["confirmed", "cancelled"]}).json()

    assert listed["count"] == 2 and {sale["currency"] for sale in listed["results"]} == {"EUR"}
    assert summary["by_currency"] == {"JPY": {"count": 2, "total_revenue": "1500", "total_paid": "1000"}}
    assert (summary["total_revenue"], summary["total_paid"]) == ("10.10", "6.73")


@pytest.mark.parametrize("value", ["EURO", "E1R", "ABC"])
def test_an_unknown_currency_filter_is_a_400(fx_sales, value):
    assert errors(fx_sales.get(SUMMARY, {"currency": value}), 400) == [("invalid", "currency")]
    assert fx_sales.get(SALES, {"currency": value}).status_code == 400


# --- the admin -------------------------------------------------------------------------------------------------


def test_the_admin_adds_a_rate_through_the_service(boss_client):
    page = "/admin/sales/exchangerate/add/"
    base = {"rate": "0.0067", "valid_from_0": "2024-03-01", "valid_from_1": "00:00:00"}

    added = boss_client.post(page, {**base, "currency": "jpy"})
    refused = boss_client.post(page, {**base, "currency": "USD"})

    assert added.status_code == 302
    assert ExchangeRate.objects.get().currency == "JPY"  # the service's upper case
    assert ExchangeRate.objects.count() == 1 and refused.status_code in (200, 302)
    assert boss_client.get("/admin/sales/exchangerate/").status_code == 200
