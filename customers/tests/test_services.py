"""Customer services: addresses and their defaults, updates, and deletion guarded by sales."""

import pytest

from customers.models import Address, Customer
from customers.services import customer_create, customer_delete, customer_update
from customers.tests.factories import AddressFactory, CustomerFactory
from sales.tests.factories import SaleFactory
from salesproject.errors import InUse

pytestmark = pytest.mark.django_db


def address(kind: str, line1: str, **fields) -> dict:
    return {"kind": kind, "line1": line1, "city": "Rome", "country": "IT", **fields}


def defaults(customer: Customer) -> dict[str, list[str]]:
    """line1 of the default address(es) of each kind."""
    found: dict[str, list[str]] = {}
    for row in Address.objects.filter(customer=customer, is_default=True).order_by("pk"):
        found.setdefault(row.kind, []).append(row.line1)
    return found


def test_create_stores_fields_and_addresses():
    customer = customer_create(
        name="Ada Lovelace",
        email="ada@example.com",
        company="Engines Ltd",
        addresses=[address("billing", "1 Bill St"), address("shipping", "2 Ship Rd", country="fr")],
    )

    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.name, stored.email, stored.company) == ("Ada Lovelace", "ada@example.com", "Engines Ltd")
    assert sorted(stored.addresses.values_list("kind", "line1", "country")) == [
        ("billing", "1 Bill St", "IT"),
        ("shipping", "2 Ship Rd", "FR"),
    ]


def test_create_makes_the_first_address_of_each_kind_the_default():
    customer = customer_create(
        name="Ada",
        addresses=[
            address("shipping", "1 Ship"),
            address("billing", "1 Bill"),
            address("shipping", "2 Ship"),
            address("billing", "2 Bill"),
        ],
    )

    assert defaults(customer) == {"shipping": ["1 Ship"], "billing": ["1 Bill"]}


def test_create_respects_an_explicit_default():
    customer = customer_create(
        name="Ada",
        addresses=[address("shipping", "1 Ship"), address("shipping", "2 Ship", is_default=True)],
    )

    assert defaults(customer) == {"shipping": ["2 Ship"]}
    assert customer.default_address("shipping").line1 == "2 Ship"


def test_create_keeps_only_one_default_per_kind():
    customer = customer_create(
        name="Ada",
        addresses=[
            address("billing", "1 Bill", is_default=True),
            address("billing", "2 Bill", is_default=True),
            address("shipping", "1 Ship", is_default=True),
            address("shipping", "2 Ship", is_default=True),
        ],
    )

    assert {kind: len(lines) for kind, lines in defaults(customer).items()} == {"billing": 1, "shipping": 1}


def test_create_without_addresses_has_none():
    customer = customer_create(name="Ada")

    assert not customer.addresses.exists()
    assert customer.default_address("billing") is None


def test_update_changes_fields():
    customer = CustomerFactory(name="Old name")

    customer_update(customer=customer, data={"name": "New name", "phone": "+39 06 000"})

    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.name, stored.phone) == ("New name", "+39 06 000")


def test_update_replaces_the_addresses():
    customer = CustomerFactory()
    old = AddressFactory(customer=customer, kind="shipping", line1="Old street")

    customer_update(customer=customer, data={"addresses": [address("billing", "New street")]})

    assert not Address.objects.filter(pk=old.pk).exists()
    assert list(customer.addresses.values_list("kind", "line1", "is_default")) == [("billing", "New street", True)]


def test_update_without_addresses_keeps_them():
    customer = CustomerFactory()
    kept = AddressFactory(customer=customer)

    customer_update(customer=customer, data={"name": "Renamed"})

    assert list(customer.addresses.values_list("pk", flat=True)) == [kept.pk]


def test_delete_of_a_customer_with_sales_raises_in_use(seller, warehouse):
    customer = CustomerFactory()
    SaleFactory(seller=seller, customer=customer)

    with pytest.raises(InUse) as info:
        customer_delete(customer=customer)

    assert info.value.code == "in_use"
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_delete_of_a_customer_without_sales_removes_it_and_its_addresses():
    customer = CustomerFactory()
    AddressFactory(customer=customer)

    customer_delete(customer=customer)

    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert not Address.objects.filter(customer_id=customer.pk).exists()
