"""Customer endpoints: anyone signed in reads, creates and edits; staff delete; addresses nested."""

import pytest

from customers.models import Address, Customer
from customers.tests.factories import AddressFactory, CustomerFactory
from sales.tests.factories import SaleFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/"


def error_codes(response) -> list[tuple[str, str | None]]:
    return [(e["code"], e["attr"]) for e in response.json()["errors"]]


def address(kind: str = "shipping", **fields) -> dict:
    return {"kind": kind, "name": "Ada", "line1": "1 Main St", "city": "Rome", "postal_code": "00100",
            "country": "it", **fields}


def test_a_seller_creates_a_customer_with_addresses(api_client, seller):
    body = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+39 06 1234", "company": "Engines",
            "notes": "VIP", "external_ref": "crm-1", "addresses": [address("billing"), address("shipping")]}

    response = api_client(seller).post(URL, body, format="json")

    assert response.status_code == 201
    data = response.json()
    assert {k: data[k] for k in ("name", "email", "phone", "company", "notes", "external_ref")} == {
        k: body[k] for k in ("name", "email", "phone", "company", "notes", "external_ref")}
    assert [(a["kind"], a["is_default"], a["country"]) for a in data["addresses"]] == [
        ("billing", True, "IT"), ("shipping", True, "IT")]
    assert set(data["addresses"][0]) == {"id", "kind", "is_default", "name", "line1", "line2", "city", "state",
                                         "postal_code", "country", "phone"}


def test_read_and_list_customers(api_client, seller):
    customer = AddressFactory().customer

    listed = api_client(seller).get(URL).json()
    detail = api_client(seller).get(f"{URL}{customer.pk}/").json()

    assert listed["count"] == 1
    assert listed["results"][0] == detail
    assert detail["addresses"][0]["country"] == "IT"


def test_update_replaces_the_addresses_whole(api_client, seller):
    customer = AddressFactory(kind="billing").customer
    AddressFactory(customer=customer, kind="shipping")

    response = api_client(seller).put(
        f"{URL}{customer.pk}/",
        {"name": "New Name", "addresses": [address("shipping", line1="9 New Rd"),
                                           address("shipping", line1="10 New Rd", is_default=True)]},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["name"] == "New Name"
    assert [(a["line1"], a["is_default"]) for a in response.json()["addresses"]] == [
        ("9 New Rd", False), ("10 New Rd", True)]
    assert Address.objects.filter(customer=customer).count() == 2


def test_patch_without_addresses_keeps_them(api_client, seller):
    customer = AddressFactory().customer

    response = api_client(seller).patch(f"{URL}{customer.pk}/", {"phone": "555"}, format="json")

    assert response.status_code == 200
    assert response.json()["phone"] == "555"
    assert len(response.json()["addresses"]) == 1


def test_patch_still_needs_each_address_kind(api_client, seller):
    customer = AddressFactory().customer

    response = api_client(seller).patch(f"{URL}{customer.pk}/", {"addresses": [{"line1": "x"}]}, format="json")

    assert response.status_code == 400
    assert error_codes(response) == [("required", "addresses.0.kind")]
    assert customer.addresses.get().kind == "shipping"


def test_patch_with_empty_addresses_removes_them(api_client, seller):
    customer = AddressFactory().customer

    response = api_client(seller).patch(f"{URL}{customer.pk}/", {"addresses": []}, format="json")

    assert response.json()["addresses"] == []


@pytest.mark.parametrize(
    ("body", "attr", "code"),
    [
        ({}, "name", "required"),
        ({"name": ""}, "name", "blank"),
        ({"name": "x" * 10_000}, "name", "max_length"),
        ({"name": "A", "email": "not-an-email"}, "email", "invalid"),
        ({"name": "A", "addresses": [address(country="ITA")]}, "addresses.0.country", "invalid"),
        ({"name": "A", "addresses": [address(country="1T")]}, "addresses.0.country", "invalid"),
        ({"name": "A", "addresses": [address(kind="home")]}, "addresses.0.kind", "invalid_choice"),
        ({"name": "A", "addresses": [address(line1="x" * 10_000)]}, "addresses.0.line1", "max_length"),
        ({"name": "A", "addresses": [{"line1": "x"}]}, "addresses.0.kind", "required"),
        ({"name": "A", "addresses": {"kind": "billing"}}, "addresses.non_field_errors", "not_a_list"),
        ({"name": "A", "notes": "n" * 10_001}, "notes", "max_length"),
        ({"name": ["A"]}, "name", "invalid"),
    ],
)
def test_create_rejects_bad_input_with_400(api_client, seller, body, attr, code):
    response = api_client(seller).post(URL, body, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["type"] == "validation_error"
    assert (code, attr) in error_codes(response)
    assert not Customer.objects.exists()


def test_a_seller_cannot_delete_a_customer(api_client, seller):
    customer = CustomerFactory()

    response = api_client(seller).delete(f"{URL}{customer.pk}/")

    assert response.status_code == 403
    assert error_codes(response) == [("permission_denied", None)]
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_staff_deletes_a_customer_without_sales(api_client, staff):
    customer = AddressFactory().customer

    assert api_client(staff).delete(f"{URL}{customer.pk}/").status_code == 204
    assert not Customer.objects.exists()


def test_deleting_a_customer_with_sales_is_409_in_use(api_client, staff, warehouse):
    customer = CustomerFactory()
    SaleFactory(customer=customer)

    response = api_client(staff).delete(f"{URL}{customer.pk}/")

    assert response.status_code == 409
    assert error_codes(response) == [("in_use", None)]
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_anonymous_is_401(api_client):
    assert api_client().get(URL).status_code == 401
    assert api_client().post(URL, {"name": "A"}, format="json").status_code == 401


def test_unknown_customer_is_404(api_client, seller):
    assert api_client(seller).get(f"{URL}999999/").status_code == 404


def test_filters_search_and_email(api_client, seller):
    CustomerFactory(name="Ada Lovelace", email="ada@example.com", company="Engines")
    CustomerFactory(name="Alan Turing", email="alan@example.com", phone="+44 1234")
    client = api_client(seller)

    def names(query: str) -> list[str]:
        response = client.get(f"{URL}?{query}")
        assert response.status_code == 200
        return [c["name"] for c in response.json()["results"]]

    assert names("search=engines") == ["Ada Lovelace"]
    assert names("search=1234") == ["Alan Turing"]
    assert names("search=example.com") == ["Ada Lovelace", "Alan Turing"]
    assert names("email=ALAN@example.com") == ["Alan Turing"]
    assert names("email=nobody@example.com") == []


def test_list_query_count_does_not_grow_with_the_page(api_client, seller, django_assert_max_num_queries):
    for _ in range(12):
        customer = AddressFactory(kind="billing").customer
        AddressFactory(customer=customer, kind="shipping")
    client = api_client(seller)

    with django_assert_max_num_queries(5):  # token, rate counter, count, customers, addresses
        response = client.get(URL)

    assert len(response.json()["results"]) == 12
    assert all(len(c["addresses"]) == 2 for c in response.json()["results"])
