"""The inventory factories, importable by runtime code (`seed_demo`): they live in `inventory/factories.py`."""

from inventory.factories import (
    ProductFactory,
    ProductGroupFactory,
    VariantFactory,
    WarehouseFactory,
    default_warehouse,
    stocked_variant,
)

__all__ = [
    "ProductFactory",
    "ProductGroupFactory",
    "VariantFactory",
    "WarehouseFactory",
    "default_warehouse",
    "stocked_variant",
]
