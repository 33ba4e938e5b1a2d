"""Stock services: the only code that changes stock levels.

Every operation goes through `_apply`, which locks the stock rows it touches
with `SELECT … FOR UPDATE` ordered by primary key (so two operations can never
deadlock each other), checks the result against the rules, writes the new
levels and appends one ledger row per change. Callers wrap it in their own
transaction when it is part of a larger write (a sale transition).
"""

from inventory.services.catalogue import (
    VariantData,
    default_warehouse,
    product_create,
    product_delete,
    product_group_create,
    product_group_delete,
    product_group_update,
    product_update,
    resolve_variant,
    variant_create,
    variant_delete,
    variant_update,
    warehouse_create,
    warehouse_delete,
    warehouse_update,
)
from inventory.services.stock import (
    InsufficientStock,
    NotStocked,
    Shortage,
    StockKey,
    StockLine,
    lock_stock_levels,
    stock_adjust,
    stock_commit,
    stock_rebalance,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_reserve_and_commit,
    stock_restock,
)

__all__ = [
    "InsufficientStock",
    "NotStocked",
    "Shortage",
    "StockKey",
    "StockLine",
    "VariantData",
    "default_warehouse",
    "lock_stock_levels",
    "product_create",
    "product_delete",
    "product_group_create",
    "product_group_delete",
    "product_group_update",
    "product_update",
    "resolve_variant",
    "stock_adjust",
    "stock_commit",
    "stock_rebalance",
    "stock_receive",
    "stock_release",
    "stock_reserve",
    "stock_reserve_and_commit",
    "stock_restock",
    "variant_create",
    "variant_delete",
    "variant_update",
    "warehouse_create",
    "warehouse_delete",
    "warehouse_update",
]
