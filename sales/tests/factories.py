"""The sales factories, importable by runtime code (`seed_demo`): they live in `sales/factories.py`."""

from sales.factories import (
    CarrierFactory,
    ChannelFactory,
    SaleFactory,
    StaffFactory,
    TaxRateFactory,
    UserFactory,
)

__all__ = [
    "CarrierFactory",
    "ChannelFactory",
    "SaleFactory",
    "StaffFactory",
    "TaxRateFactory",
    "UserFactory",
]
