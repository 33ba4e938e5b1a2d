"""Customer services: the only code that changes customers and their addresses."""

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from customers.models import Address, Customer
from salesproject.errors import InUse
from salesproject.metadata import metadata_merge

CUSTOMER_FIELDS = ("name", "email", "email_opt_out", "phone", "company", "notes", "external_ref")
ADDRESS_FIELDS = ("kind", "is_default", *Address.SNAPSHOT_FIELDS)


def _replace_addresses(customer: Customer, addresses: Sequence[dict[str, Any]]) -> None:
    """Replace the addresses whole; the first of each kind is the default unless one says otherwise."""
    customer.addresses.all().delete()
    built = [Address(customer=customer, **{k: v for k, v in data.items() if k in ADDRESS_FIELDS}) for data in addresses]
    for address in built:
        address.country = (address.country or "").upper()
    for kind in {a.kind for a in built}:
        of_kind = [a for a in built if a.kind == kind]
        defaults = [a for a in of_kind if a.is_default]
        for address in of_kind:
            address.is_default = False
        (defaults[0] if defaults else of_kind[0]).is_default = True
    Address.objects.bulk_create(built)


@transaction.atomic
def customer_create(*, name: str, addresses: Sequence[dict[str, Any]] = (), **fields: Any) -> Customer:
    """Create a customer with its addresses."""
    customer = Customer(name=name, **{k: v for k, v in fields.items() if k in CUSTOMER_FIELDS and v is not None})
    customer.price_list = fields.get("price_list")
    customer.metadata = metadata_merge({}, fields.get("metadata"))
    customer.full_clean()
    customer.save()
    if addresses:
        _replace_addresses(customer, addresses)
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, data: dict[str, Any]) -> Customer:
    """Change a customer; past sales keep their own copy of the addresses."""
    for name in CUSTOMER_FIELDS:
        if name in data and data[name] is not None:
            setattr(customer, name, data[name])
    if "price_list" in data:  # null takes the customer off any list
        customer.price_list = data["price_list"]
    if "metadata" in data:  # merged: a key set to null is removed
        customer.metadata = metadata_merge(customer.metadata, data["metadata"])
    customer.full_clean()
    customer.save()
    if "addresses" in data and data["addresses"] is not None:
        _replace_addresses(customer, data["addresses"])
    return customer


def customer_delete(*, customer: Customer) -> None:
    """Delete a customer that no sale names."""
    if customer.sales.exists():
        raise InUse("This customer has sales and cannot be deleted.")
    customer.delete()
