"""The customer admin (addresses inline), driven with the Django test client as a logged-in staff user."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from customers.models import Address, AddressKind, Customer
from customers.tests.factories import AddressFactory, CustomerFactory
from sales.tests.factories import SaleFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

ADMIN = "/admin/customers/customer"


@pytest.fixture
def client(db) -> Client:
    client = Client()
    client.force_login(StaffFactory(is_superuser=True))
    return client


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def customer_form(**fields) -> dict[str, str]:
    return {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "",
        "company": "",
        "notes": "",
        "external_ref": "",
        **fields,
    }


def management(total: int, initial: int) -> dict[str, str]:
    return {
        "addresses-TOTAL_FORMS": str(total),
        "addresses-INITIAL_FORMS": str(initial),
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
    }


def address_row(index: int, *, pk: int | None = None, **fields) -> dict[str, str]:
    values = {
        "kind": "shipping",
        "is_default": "",
        "name": "",
        "line1": "",
        "line2": "",
        "city": "",
        "state": "",
        "postal_code": "",
        "country": "",
        "phone": "",
        **fields,
    }
    row = {f"addresses-{index}-{key}": value for key, value in values.items() if value != ""}
    if pk is not None:
        row[f"addresses-{index}-id"] = str(pk)
    return row


@pytest.mark.parametrize("query", ["", "?q=ada", "?q=ACME", "?q=ext-7"])
def test_list_and_search_answer_200(client, query):
    CustomerFactory(name="Ada", company="ACME", external_ref="ext-7")

    response = client.get(f"{ADMIN}/{query}")

    assert response.status_code == 200
    assert [c.name for c in response.context["cl"].result_list] == ["Ada"]


def test_add_and_change_pages_answer_200(client):
    customer = AddressFactory().customer

    assert client.get(f"{ADMIN}/add/").status_code == 200
    assert client.get(f"{ADMIN}/{customer.pk}/change/").status_code == 200


def test_a_non_staff_user_is_sent_to_the_login_page(db):
    client = Client()
    client.force_login(UserFactory())

    response = client.get(f"{ADMIN}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_adding_a_customer_with_addresses_goes_through_the_service(client):
    data = {
        **customer_form(),
        **management(2, 0),
        **address_row(0, kind="billing", name="Ada", line1="1 Main St", city="London", country="gb"),
        **address_row(1, kind="shipping", name="Ada", line1="2 Dock Rd", city="Leeds", country="gb"),
    }

    response = client.post(f"{ADMIN}/add/", data)

    assert response.status_code == 302
    customer = Customer.objects.get(email="ada@example.com")
    addresses = sorted((a.kind, a.city, a.country, a.is_default) for a in customer.addresses.all())
    # The service upper-cases countries and makes the first address of each kind the default.
    assert addresses == [("billing", "London", "GB", True), ("shipping", "Leeds", "GB", True)]


def test_changing_only_the_customer_keeps_its_addresses(client):
    address = AddressFactory(city="Turin")
    customer = address.customer
    data = {
        **customer_form(name="Renamed", email=customer.email),
        **management(1, 1),
        **address_row(
            0,
            pk=address.pk,
            kind=address.kind,
            is_default="on",
            name=address.name,
            line1=address.line1,
            city=address.city,
            postal_code=address.postal_code,
            country=address.country,
        ),
    }

    response = client.post(f"{ADMIN}/{customer.pk}/change/", data)

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "Renamed"
    assert list(customer.addresses.values_list("pk", "city")) == [(address.pk, "Turin")]


def test_removing_an_address_does_not_touch_a_past_sales_copy(client, warehouse):
    address = AddressFactory(city="Turin", kind=AddressKind.SHIPPING)
    customer = address.customer
    sale = SaleFactory(customer=customer)
    data = {
        **customer_form(name=customer.name, email=customer.email),
        **management(1, 1),
        **address_row(0, pk=address.pk, kind=address.kind, is_default="on", city=address.city, DELETE="on"),
    }

    response = client.post(f"{ADMIN}/{customer.pk}/change/", data)

    assert response.status_code == 302
    assert not Address.objects.filter(customer=customer).exists()
    sale.refresh_from_db()
    assert sale.shipping_address["city"] == "Turin"


def test_deleting_a_customer_without_sales_goes_through_the_service(client):
    customer = AddressFactory().customer

    response = client.post(f"{ADMIN}/{customer.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_a_customer_with_sales_is_not_deleted(client, warehouse):
    customer = CustomerFactory()
    SaleFactory(customer=customer)

    response = client.post(f"{ADMIN}/{customer.pk}/delete/", {"post": "yes"})

    # Sales protect their customer: the admin says so before asking the service.
    assert response.status_code == 200
    assert "protected related objects" in response.content.decode()
    assert Customer.objects.filter(pk=customer.pk).exists()
