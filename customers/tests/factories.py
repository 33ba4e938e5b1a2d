"""The customers factories, importable by runtime code (`seed_demo`): they live in `customers/factories.py`."""

from customers.factories import (
    AddressFactory,
    CustomerFactory,
)

__all__ = [
    "AddressFactory",
    "CustomerFactory",
]
