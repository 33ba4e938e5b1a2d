"""`/reports/sales/`: revenue, units, discount, tax, cost and profit of the matching sales, grouped.

Which sales: the reader's scope with every `/sales/` filter applied, then only those that make
revenue (confirmed, in delivery, completed: `REVENUE_STATUSES`); every figure is over those same
sales. Every amount is in the base currency, each record converted with its own sale's rate and
rounded to the base currency's decimals before it is added up (`reports.expressions`). Everything
is added up in the database, two GROUP BY queries whatever the number of sales:

- over the sales: `sales` (count), `revenue` = `net_total` (grand total minus returns, tax and
  shipping included: the summary's `total_revenue`), `discount` = `discount_total` and `tax` =
  `tax_total` as charged (returns do not give discount or tax back here);
- over their lines: `units` = units sold minus cancelled minus returned, `cost` = `cost_price` ×
  those units (returned units cost nothing: they are back or written off elsewhere), and the
  line's net without tax minus its returned share, from which `profit` = net − cost and
  `margin` = profit / net × 100 (2 decimals; null when net is 0). Shipping is no line's: it is in
  revenue, never in profit.

A line grouping (product, variant, product group) takes revenue, discount and tax from the lines
too: the line's `total` minus what its returned units were charged (as `charged_for_units`),
converted per line. Shipping, its tax and the cents by which converting per line differs from
converting per sale go in one more row, `key` "order", so the rows still add up to the totals and
the totals are the sale figures. Sellers (non-staff) get null cost, profit and margin.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, QuerySet, Sum

from reports.expressions import share, to_base
from reports.grouping import GROUPINGS, ORDER_LEVEL_KEY, ORDER_LEVEL_LABEL, Grouping
from sales.models import REVENUE_STATUSES, Sale, SaleItem, margin_percent
from salesproject.money import ZERO, minor_units

SALE_FIGURES = ("revenue", "discount", "tax")
LINE_FIGURES = ("units", "cost", "net")


def base_currency() -> str:
    return getattr(settings, "SALES_BASE_CURRENCY", "USD")


@dataclass
class Row:
    key: object
    label: str
    sales: int = 0
    units: int = 0
    revenue: Decimal = ZERO
    discount: Decimal = ZERO
    tax: Decimal = ZERO
    cost: Decimal = ZERO
    net: Decimal = ZERO  # the lines' net without tax, after returns: the base of the margin

    @property
    def profit(self) -> Decimal:
        return self.net - self.cost

    @property
    def margin(self) -> Decimal | None:
        return margin_percent(self.profit, self.net)

    def add(self, other: "Row") -> None:
        for name in ("sales", "units", "revenue", "discount", "tax", "cost", "net"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Report:
    group_by: str
    base_currency: str
    rows: list[Row]
    totals: Row
    costs_visible: bool


def sales_report(*, queryset: QuerySet[Sale], user, group_by: str) -> Report:
    """The report of the sales in `queryset` (the reader's scope, the list's filters applied)."""
    grouping = GROUPINGS[group_by]
    base = base_currency()
    places = minor_units(base)
    sales = queryset.filter(status__in=REVENUE_STATUSES).order_by()
    lines = SaleItem.objects.using(sales.db).filter(sale__in=sales.values("pk")).order_by()
    if grouping.per_line:
        rows = _rows(grouping, _line_figures(lines, places, grouping=grouping, per_line=True))
        overall = _sale_figures(sales, places)
        totals = _sum(rows.values())
        totals.sales = int(overall["sales"])
        # What no line holds (shipping, its tax, conversion cents): the sale figures minus the lines'.
        order_level = Row(key=ORDER_LEVEL_KEY, label=ORDER_LEVEL_LABEL)
        for name in SALE_FIGURES:
            whole = overall[name] if overall[name] is not None else ZERO
            setattr(order_level, name, whole - getattr(totals, name))
            setattr(totals, name, whole)
        ordered = _ordered(grouping, list(rows.values()))
        if any(getattr(order_level, name) for name in SALE_FIGURES):
            ordered.append(order_level)
    else:
        rows = _rows(grouping, _sale_figures(sales, places, grouping))
        for values in _line_figures(lines, places, grouping=grouping, per_line=False):
            key = grouping.key_of(values["key"])
            row = rows.setdefault(key, Row(key=key, label=grouping.label_of(values["key"], None)))
            for name in LINE_FIGURES:
                setattr(row, name, values[name] if values[name] is not None else getattr(row, name))
        ordered = _ordered(grouping, list(rows.values()))
        totals = _sum(ordered)
    return Report(group_by=group_by, base_currency=base, rows=ordered, totals=totals, costs_visible=user.is_staff)


FIGURES = ("sales", "units", *SALE_FIGURES, "cost", "net")


def _rows(grouping: Grouping, values) -> dict[object, Row]:
    rows: dict[object, Row] = {}
    for entry in values:
        key = grouping.key_of(entry["key"])
        row = Row(key=key, label=grouping.label_of(entry["key"], entry.get("label")))
        for name in FIGURES:
            if entry.get(name) is not None:
                setattr(row, name, entry[name])
        row.sales, row.units = int(row.sales), int(row.units)
        rows[key] = row
    return rows


def _sum(rows) -> Row:
    totals = Row(key=None, label="Total")
    for row in rows:
        totals.add(row)
    return totals


def _ordered(grouping: Grouping, rows: list[Row]) -> list[Row]:
    if grouping.time:
        return sorted(rows, key=lambda row: row.key)
    # Largest revenue first; equal revenue in key order, the row without a key last.
    return sorted(rows, key=lambda row: (-row.revenue, row.key is None, row.key if row.key is not None else 0))


def _sale_figures(sales: QuerySet[Sale], places: int, grouping: Grouping | None = None):
    """Count, revenue, discount and tax of the sales: per group of `grouping`, or over them all."""
    figures = {
        "sales": Count("pk"),
        "revenue": Sum(to_base(F("grand_total") - F("returned_total"), base_places=places)),
        "discount": Sum(to_base(F("discount_total"), base_places=places)),
        "tax": Sum(to_base(F("tax_total"), base_places=places)),
    }
    if grouping is None:
        return sales.aggregate(**figures)
    keys = {"key": grouping.key("")}
    if grouping.label is not None:
        keys["label"] = grouping.label("")
    return sales.values(**keys).annotate(**figures)


def _line_figures(lines: QuerySet[SaleItem], places: int, *, grouping: Grouping, per_line: bool):
    """Units, cost and net without tax after returns of the lines, per group: of the sale's key (a sale
    grouping) or of the line's own (`per_line`, which also gives the rows' sales, revenue, discount, tax)."""
    currency, rate = "sale__currency", "sale__exchange_rate"
    active = F("quantity") - F("quantity_cancelled")
    kept = active - F("quantity_returned")
    net = F("total") - F("tax_total")

    def base(amount):
        return to_base(amount, rate=rate, base_places=places)

    def after_returns(amount):
        return amount - share(amount, F("quantity_returned"), active, currency=currency)

    figures = {
        "units": Sum(kept),
        "cost": Sum(base(F("cost_price") * kept)),
        "net": Sum(base(after_returns(net))),
    }
    if not per_line:
        return lines.values(key=grouping.key("sale__")).annotate(**figures)
    figures.update(
        sales=Count("sale_id", distinct=True),
        revenue=Sum(base(after_returns(F("total")))),
        discount=Sum(base(F("discount_total"))),
        tax=Sum(base(F("tax_total"))),
    )
    return lines.values(key=grouping.key(""), label=grouping.label("")).annotate(**figures)
