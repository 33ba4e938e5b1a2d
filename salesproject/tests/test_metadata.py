"""`metadata` on customers, products, variants and payments (records.md): one validator, one merge, one filter."""

import pytest

from inventory.tests.factories import stocked_variant
from sales.tests.test_api import create_sale, error, line, results
from salesproject.metadata import metadata_merge

pytestmark = pytest.mark.django_db

API = "/api/v1"


def test_merge_sets_replaces_and_removes_keys():
    assert metadata_merge({"a": "1", "b": "2"}, {"b": None, "c": "3", "a": "9"}) == {"a": "9", "c": "3"}
    assert metadata_merge({}, {"gone": None}) == {}


def test_customer_metadata_create_merge_and_filter(api_client, seller):
    client = api_client(seller)
    created = client.post(f"{API}/customers/", {"name": "Ann", "metadata": {"crm": "C-1", "tier": "gold"}},
                          format="json")
    assert created.status_code == 201, created.json()
    other = client.post(f"{API}/customers/", {"name": "Bob", "metadata": {"crm": "C-2"}}, format="json").json()
    customer = created.json()

    patched = client.patch(f"{API}/customers/{customer['id']}/", {"metadata": {"tier": None, "x": "y"}}, format="json")

    assert patched.json()["metadata"] == {"crm": "C-1", "x": "y"}
    assert [row["id"] for row in results(client.get(f"{API}/customers/", {"metadata": "crm:C-2"}))] == [other["id"]]
    assert error(client.get(f"{API}/customers/", {"metadata": "nocolon"}), 400)["attr"] == "metadata"


def test_customer_metadata_limits(api_client, seller):
    response = api_client(seller).post(f"{API}/customers/", {"name": "Ann", "metadata": {"k": "v" * 501}},
                                       format="json")
    assert error(response, 400)["attr"] == "metadata.k"


def test_product_and_variant_metadata(api_client, staff):
    client = api_client(staff)
    body = {
        "sku": "MUG", "name": "Mug", "price": "5.00", "metadata": {"erp": "P-1"},
        "variants": [{"sku": "MUG-R", "metadata": {"color": "red"}}, {"sku": "MUG-B"}],
    }
    product = client.post(f"{API}/products/", body, format="json")
    assert product.status_code == 201, product.json()
    product = product.json()
    assert product["metadata"] == {"erp": "P-1"}
    assert [v["metadata"] for v in product["variants"]] == [{"color": "red"}, {}]

    patched = client.patch(f"{API}/products/{product['id']}/", {"metadata": {"shelf": "3"}}, format="json").json()
    assert patched["metadata"] == {"erp": "P-1", "shelf": "3"}
    red = product["variants"][0]["id"]
    variant = client.patch(f"{API}/variants/{red}/", {"metadata": {"color": None, "size": "M"}}, format="json")
    assert variant.json()["metadata"] == {"size": "M"}

    assert [r["id"] for r in results(client.get(f"{API}/products/", {"metadata": "shelf:3"}))] == [product["id"]]
    assert [r["id"] for r in results(client.get(f"{API}/variants/", {"metadata": "size:M"}))] == [red]
    assert results(client.get(f"{API}/variants/", {"metadata": "color:red"})) == []


def test_payment_metadata_on_record_and_filter(api_client, seller, warehouse):
    client = api_client(seller)
    sale = create_sale(client, line(stocked_variant(5, warehouse=warehouse), 1))

    response = client.post(f"{API}/payments/", {"sale": sale["id"], "amount": "1.00", "metadata": {"psp": "tx-9"}},
                           format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["metadata"] == {"psp": "tx-9"}
    assert [r["id"] for r in results(client.get(f"{API}/payments/", {"metadata": "psp:tx-9"}))] == [
        response.json()["id"]
    ]
    assert client.get(f"{API}/sales/{sale['id']}/").json()["payments"][0]["metadata"] == {"psp": "tx-9"}
    bad = client.post(f"{API}/payments/", {"sale": sale["id"], "amount": "1.00", "metadata": {"": "x"}}, format="json")
    assert error(bad, 400)["attr"] == "metadata"
