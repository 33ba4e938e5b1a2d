"""Channels, carriers and tax rates: everyone signed in reads, staff write, in-use rows stay."""

import pytest

from sales.models import Carrier, Channel, TaxRate
from sales.tests.factories import CarrierFactory, ChannelFactory, SaleFactory, TaxRateFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
CASES = [
    ("channels", {"code": "pos", "name": "Shop till", "kind": "pos"}),
    ("carriers", {"code": "dhl", "name": "DHL", "tracking_url_template": "https://dhl.example/{tracking_code}"}),
    ("taxes", {"code": "vat22", "name": "VAT 22%", "kind": "percent", "rate": "22.00", "components": []}),
]


def error_codes(response) -> list[tuple[str, str | None]]:
    return [(e["code"], e["attr"]) for e in response.json()["errors"]]


@pytest.mark.parametrize(("path", "body"), CASES)
def test_staff_creates_reads_changes_and_deletes(api_client, staff, seller, path, body):
    client = api_client(staff)

    created = client.post(f"{API}/{path}/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json() == {"id": created.json()["id"], **body}
    url = f"{API}/{path}/{created.json()['id']}/"

    assert api_client(seller).get(url).json() == created.json()
    assert api_client(seller).get(f"{API}/{path}/").json()["results"] == [created.json()]
    assert client.patch(url, {"name": "Renamed"}, format="json").json()["name"] == "Renamed"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(("path", "body"), CASES)
def test_a_seller_cannot_write(api_client, seller, path, body):
    response = api_client(seller).post(f"{API}/{path}/", body, format="json")

    assert response.status_code == 403
    assert error_codes(response) == [("permission_denied", None)]


@pytest.mark.parametrize("path", ["channels", "carriers", "taxes"])
def test_anonymous_is_401(api_client, path):
    assert api_client().get(f"{API}/{path}/").status_code == 401


def test_tax_rate_is_a_two_place_percent(api_client, staff):
    response = api_client(staff).post(f"{API}/taxes/", {"code": "vat5", "name": "VAT", "rate": 5}, format="json")

    assert response.json()["rate"] == "5.00"


@pytest.mark.parametrize(
    ("path", "body", "attr", "code"),
    [
        ("taxes", {"code": "t", "name": "T", "rate": "101"}, "rate", "max_value"),
        ("taxes", {"code": "t", "name": "T", "rate": -1}, "rate", "min_value"),
        ("taxes", {"code": "t", "name": "T", "rate": "abc"}, "rate", "invalid"),
        ("taxes", {"code": "t", "name": "T"}, "rate", "required"),
        ("channels", {"code": "c", "name": "C", "kind": "telepathy"}, "kind", "invalid_choice"),
        ("channels", {"code": "with space", "name": "C"}, "code", "invalid"),
        ("carriers", {"code": "c", "name": "C", "tracking_url_template": "x" * 10_000}, "tracking_url_template",
         "max_length"),
        ("carriers", {"code": "c" * 10_000, "name": "C"}, "code", "max_length"),
    ],
)
def test_bad_input_is_400(api_client, staff, path, body, attr, code):
    response = api_client(staff).post(f"{API}/{path}/", body, format="json")

    assert response.status_code == 400
    assert (code, attr) in error_codes(response)


def test_duplicate_code_is_400_unique(api_client, staff):
    ChannelFactory(code="web")

    response = api_client(staff).post(f"{API}/channels/", {"code": "web", "name": "Web"}, format="json")

    assert response.status_code == 400
    assert error_codes(response) == [("unique", "code")]


def test_deleting_reference_data_sales_use_is_409_in_use(api_client, staff, warehouse):
    channel, tax = ChannelFactory(code="web"), TaxRateFactory(code="vat5")
    sale = SaleFactory(channel=channel, tax=tax)
    carrier = CarrierFactory(code="dhl")
    sale.items.update(carrier=carrier)
    client = api_client(staff)

    for path, obj in (("channels", channel), ("taxes", tax), ("carriers", carrier)):
        response = client.delete(f"{API}/{path}/{obj.pk}/")
        assert response.status_code == 409, path
        assert error_codes(response) == [("in_use", None)]
    assert (Channel.objects.count(), TaxRate.objects.count(), Carrier.objects.count()) == (1, 1, 1)


@pytest.mark.parametrize(("path", "factory"), [
    ("channels", ChannelFactory), ("carriers", CarrierFactory), ("taxes", TaxRateFactory),
])
def test_list_query_count_is_constant(api_client, seller, django_assert_max_num_queries, path, factory):
    for n in range(12):
        factory(code=f"code-{n}")
    client = api_client(seller)

    # token, rate counter, count, rows (+ a tax's components, in one query for the page)
    with django_assert_max_num_queries(5 if path == "taxes" else 4):
        response = client.get(f"{API}/{path}/")

    assert len(response.json()["results"]) == 12
