"""Taxes through the API (money.md "Taxes", "Currencies and minor units"): per-line taxes, fixed excises,
combined rates with their components, custom tax, currencies without and with three decimals."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from inventory.tests.factories import stocked_variant
from sales.models import ExchangeRate, Sale, TaxRate
from sales.tests.factories import StaffFactory, TaxRateFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
SALES = "/api/v1/sales/"
TAXES = "/api/v1/taxes/"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
def client(api_client):
    return api_client(UserFactory())


@pytest.fixture
def staff_client(api_client):
    return api_client(StaffFactory())


def errors(response) -> list[tuple[str, str | None]]:
    return [(e["code"], e["attr"]) for e in response.json()["errors"]]


def line(variant, quantity: int = 1, **extra) -> dict:
    return {"variant": variant.pk, "quantity": quantity, **extra}


def create(client, *lines: dict, **body) -> dict:
    response = client.post(SALES, {"items": list(lines), **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def combined():
    tax = TaxRate.objects.create(code="sf", name="San Francisco", rate=D("8.63"))
    tax.components.create(name="California", jurisdiction="state", rate=D("6.00"))
    tax.components.create(name="San Francisco County", jurisdiction="county", location="SF", rate=D("0.25"))
    tax.components.create(name="San Francisco", jurisdiction="city", rate=D("2.38"))
    return tax


def test_a_line_tax_overrides_the_sales_tax(client):
    TaxRateFactory(code="vat20", name="VAT 20%", rate=D("20.00"))
    TaxRateFactory(code="vat5", name="VAT 5%", rate=D("5.00"))
    variant = stocked_variant(10)

    sale = create(client, line(variant, unit_price="100.00"), line(variant, unit_price="100.00", tax="vat5"),
                  tax="vat20")

    first, second = sale["items"]
    assert (first["tax"], first["tax_rate"], first["tax_total"]) == (None, "20.00", "20.00")
    assert (second["tax"], second["tax_rate"], second["tax_total"]) == ("vat5", "5.00", "5.00")
    assert (sale["tax_total"], sale["grand_total"]) == ("25.00", "225.00")
    assert [(t["code"], t["rate"], t["amount"]) for t in sale["tax_lines"]] == [
        ("vat20", "20.00", "20.00"), ("vat5", "5.00", "5.00"),
    ]


def test_an_inclusive_line_in_an_exclusive_sale(client):
    TaxRateFactory(code="vat20", name="VAT 20%", rate=D("20.00"))
    variant = stocked_variant(10)

    sale = create(client, line(variant, unit_price="100.00"), line(variant, unit_price="120.00", tax_included=True),
                  tax="vat20")

    first, second = sale["items"]
    assert (first["tax_included"], first["tax_total"], first["total"]) == (False, "20.00", "120.00")
    assert (second["tax_included"], second["tax_total"], second["total"]) == (True, "20.00", "120.00")
    assert (sale["prices_include_tax"], sale["tax_total"], sale["grand_total"]) == (False, "40.00", "240.00")


def test_a_fixed_excise_is_charged_per_unit(client):
    TaxRate.objects.create(code="excise", name="Excise", kind="fixed", rate=D("0.35"))
    variant = stocked_variant(10)

    sale = create(client, line(variant, 3, unit_price="2.00", tax="excise"))

    assert (sale["items"][0]["tax_rate"], sale["items"][0]["tax_total"]) == ("0.35", "1.05")
    assert (sale["tax_total"], sale["grand_total"]) == ("1.05", "7.05")
    assert sale["tax_lines"] == [
        {"code": "excise", "name": "Excise", "jurisdiction": "", "rate": "0.35", "amount": "1.05"}
    ]


def test_a_combined_tax_is_charged_as_its_components(client, combined):
    variant = stocked_variant(20)

    sale = create(client, line(variant, 7, unit_price="19.99"), line(variant, 3, unit_price="4.95"), tax="sf")

    assert sale["tax_total"] == "13.36"  # 12.08 + 1.28, per line
    assert [(t["jurisdiction"], t["name"], t["rate"]) for t in sale["tax_lines"]] == [
        ("state", "California", "6.00"), ("county", "San Francisco County", "0.25"), ("city", "San Francisco", "2.38"),
    ]
    assert sum(D(t["amount"]) for t in sale["tax_lines"]) == D(sale["tax_total"])
    assert sum(D(i["tax_total"]) for i in sale["items"]) == D(sale["tax_total"])
    assert D(sale["grand_total"]) == sum(D(i["total"]) for i in sale["items"])


def test_custom_tax_is_shared_over_the_lines_by_their_net(client):
    TaxRateFactory(code="vat20", name="VAT 20%", rate=D("20.00"))
    variant = stocked_variant(10)

    sale = create(client, line(variant, unit_price="30.00"), line(variant, unit_price="10.00"),
                  tax="vat20", tax_calculation="custom", tax_amount="4.01")

    assert (sale["tax_calculation"], sale["tax_amount"], sale["tax_total"]) == ("custom", "4.01", "4.01")
    assert [i["tax_total"] for i in sale["items"]] == ["3.01", "1.00"]
    assert sale["grand_total"] == "44.01"
    assert [(t["code"], t["amount"]) for t in sale["tax_lines"]] == [("custom", "4.01")]


def test_custom_tax_above_the_net_is_refused(client):
    response = client.post(SALES, {"items": [line(stocked_variant(10), unit_price="3.00")],
                                   "tax_calculation": "custom", "tax_amount": "3.01"}, format="json")

    assert response.status_code == 400
    assert errors(response) == [("max_value", "tax_amount")]


def test_a_patch_switches_to_custom_tax_and_back(client):
    TaxRateFactory(code="vat20", name="VAT 20%", rate=D("20.00"))
    sale = create(client, line(stocked_variant(10), unit_price="10.00"), tax="vat20")

    custom = client.patch(f"{SALES}{sale['id']}/", {"tax_calculation": "custom", "tax_amount": "1.50"}, format="json")
    assert custom.status_code == 200, custom.json()
    assert (custom.json()["tax_total"], custom.json()["grand_total"]) == ("1.50", "11.50")
    default = client.patch(f"{SALES}{sale['id']}/", {"tax_calculation": "default"}, format="json")
    assert (default.json()["tax_total"], default.json()["grand_total"]) == ("2.00", "12.00")


def test_a_jpy_sale_has_no_decimals(client):
    ExchangeRate.objects.create(currency="JPY", rate=D("0.0067"), valid_from=LONG_AGO)
    TaxRateFactory(code="jct10", name="JCT 10%", rate=D("10.00"))

    sale = create(client, line(stocked_variant(10), 3, unit_price="1500"), currency="JPY", tax="jct10",
                  shipping_cost="500")

    assert sale["items"][0]["unit_price"] == "1500"
    assert (sale["subtotal"], sale["tax_total"], sale["shipping_cost"], sale["grand_total"]) == (
        "4500", "450", "500", "5450",
    )
    assert sale["tax_lines"][0]["amount"] == "450"


def test_a_jpy_price_with_decimals_is_refused(client):
    ExchangeRate.objects.create(currency="JPY", rate=D("0.0067"), valid_from=LONG_AGO)

    response = client.post(SALES, {"items": [line(stocked_variant(10), unit_price="1500.5")], "currency": "JPY"},
                           format="json")

    assert response.status_code == 400
    assert errors(response) == [("max_decimal_places", "items.0.unit_price")]


def test_a_kwd_sale_has_three_decimals(client):
    ExchangeRate.objects.create(currency="KWD", rate=D("3.25"), valid_from=LONG_AGO)
    TaxRateFactory(code="vat5", name="VAT 5%", rate=D("5.00"))

    sale = create(client, line(stocked_variant(10), 3, unit_price="1.005"), currency="KWD", tax="vat5")

    assert sale["items"][0]["unit_price"] == "1.005"
    assert (sale["subtotal"], sale["tax_total"], sale["grand_total"]) == ("3.015", "0.151", "3.166")
    assert Sale.objects.get(pk=sale["id"]).grand_total == D("3.166")


def test_a_usd_price_with_three_decimals_is_refused(client):
    response = client.post(SALES, {"items": [line(stocked_variant(10), unit_price="1.005")]}, format="json")

    assert response.status_code == 400
    assert errors(response) == [("max_decimal_places", "items.0.unit_price")]


# --- /taxes/ -------------------------------------------------------------------------------------


def test_a_tax_with_components_takes_their_sum(staff_client):
    body = {"code": "sf", "name": "San Francisco", "components": [
        {"name": "California", "jurisdiction": "state", "rate": "6.00"},
        {"name": "SF County", "jurisdiction": "county", "location": "San Francisco", "rate": "0.25"},
        {"name": "SF", "jurisdiction": "city", "rate": "2.38"},
    ]}

    response = staff_client.post(TAXES, body, format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["kind"], response.json()["rate"]) == ("percent", "8.63")
    assert [c["jurisdiction"] for c in response.json()["components"]] == ["state", "county", "city"]
    assert TaxRate.objects.get(code="sf").components.count() == 3


def test_a_rate_that_differs_from_the_components_sum_is_refused(staff_client):
    body = {"code": "sf", "name": "San Francisco", "rate": "8.50", "components": [
        {"name": "California", "jurisdiction": "state", "rate": "6.00"},
        {"name": "SF", "jurisdiction": "city", "rate": "2.38"},
    ]}

    response = staff_client.post(TAXES, body, format="json")

    assert response.status_code == 400
    assert errors(response) == [("invalid", "rate")]
    assert not TaxRate.objects.filter(code="sf").exists()


def test_a_percent_rate_above_100_is_refused_but_a_fixed_one_is_not(staff_client):
    percent = staff_client.post(TAXES, {"code": "big", "name": "Big", "rate": "100.01"}, format="json")
    fixed = staff_client.post(TAXES, {"code": "duty", "name": "Duty", "kind": "fixed", "rate": "150.00"},
                              format="json")

    assert percent.status_code == 400
    assert errors(percent) == [("max_value", "rate")]
    assert fixed.status_code == 201, fixed.json()
