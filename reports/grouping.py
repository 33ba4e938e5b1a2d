"""How each `group_by` of `/reports/sales/` groups: by a column of the sale, or by a column of its lines.

A *sale* grouping puts each sale in exactly one row (its day, its seller, …), so every figure,
`sales` included, adds up over the rows. A *line* grouping (product, variant, product group)
puts each line in the row of its product: a sale counts once in every row it has lines in, so
the rows' `sales` may add up to more than the total; the money adds up exactly (see
`reports.selectors`). Time groupings use `sold_at` (the sale date of records.md) in `TIME_ZONE`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db.models import DateField, F
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek


class GroupBy:
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    PRODUCT = "product"
    VARIANT = "variant"
    PRODUCT_GROUP = "product_group"
    SELLER = "seller"
    CHANNEL = "channel"
    STORE = "store"
    CUSTOMER = "customer"
    CURRENCY = "currency"


@dataclass(frozen=True)
class Grouping:
    name: str
    per_line: bool  # grouped by a column of the lines (else of the sale)
    key: Callable[[str], object]  # the key's expression, given the path to the sale ("" or "sale__")
    label: Callable[[str], object] | None = None  # the label's expression (None: made from the key)
    time: bool = False  # rows in key order (else by revenue, largest first)
    none_label: str = ""  # the label of the row whose key is null

    def label_of(self, key, label) -> str:
        if key is None:
            return self.none_label
        if self.time:
            return _time_label(self.name, key)
        return str(key) if label is None else str(label)

    def key_of(self, key):
        return key.isoformat()[: 7 if self.name == GroupBy.MONTH else 10] if isinstance(key, date) else key


def _time_label(name: str, day: date) -> str:
    if name == GroupBy.WEEK:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if name == GroupBy.MONTH:
        return day.strftime("%B %Y")
    return day.isoformat()


def _trunc(kind):
    return lambda sale: kind(f"{sale}sold_at", output_field=DateField())


GROUPINGS: dict[str, Grouping] = {
    g.name: g
    for g in (
        Grouping(GroupBy.DAY, False, _trunc(TruncDay), time=True),
        Grouping(GroupBy.WEEK, False, _trunc(TruncWeek), time=True),
        Grouping(GroupBy.MONTH, False, _trunc(TruncMonth), time=True),
        Grouping(GroupBy.SELLER, False, lambda s: F(f"{s}seller_id"), lambda s: F(f"{s}seller__username")),
        Grouping(
            GroupBy.CHANNEL, False, lambda s: F(f"{s}channel__code"), lambda s: F(f"{s}channel__name"),
            none_label="No channel",
        ),
        Grouping(
            GroupBy.STORE, False, lambda s: F(f"{s}store__code"), lambda s: F(f"{s}store__name"),
            none_label="No store",
        ),
        Grouping(
            GroupBy.CUSTOMER, False, lambda s: F(f"{s}customer_id"), lambda s: F(f"{s}customer__name"),
            none_label="No customer",
        ),
        Grouping(GroupBy.CURRENCY, False, lambda s: F(f"{s}currency")),
        Grouping(GroupBy.PRODUCT, True, lambda s: F("product_id"), lambda s: F("product__name")),
        Grouping(GroupBy.VARIANT, True, lambda s: F("variant_id"), lambda s: F("variant__sku")),
        Grouping(
            GroupBy.PRODUCT_GROUP, True, lambda s: F("product_group__code"), lambda s: F("product_group__name"),
            none_label="No product group",
        ),
    )
}
GROUP_BY_CHOICES = tuple(GROUPINGS)

# The row of a line grouping that holds what belongs to no line: shipping and its tax, and the cents
# by which converting each sale's totals differs from converting each of its lines.
ORDER_LEVEL_KEY = "order"
ORDER_LEVEL_LABEL = "Order level (shipping, conversion rounding)"
