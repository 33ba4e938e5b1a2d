"""The report as the API writes it: money as strings in the base currency's decimals, like every amount."""

from reports.selectors import Report, Row
from salesproject.api.representation import money

COLUMNS = ("key", "label", "sales", "units", "revenue", "discount", "tax", "cost", "profit", "margin")


def row_dict(row: Row, *, currency: str, costs: bool, key: bool = True) -> dict:
    """One row (`key=False`: the totals, which have no key or label)."""
    margin = row.margin if costs else None
    values = {
        "sales": row.sales,
        "units": row.units,
        "revenue": money(row.revenue, currency),
        "discount": money(row.discount, currency),
        "tax": money(row.tax, currency),
        "cost": money(row.cost, currency) if costs else None,
        "profit": money(row.profit, currency) if costs else None,
        "margin": None if margin is None else money(margin),
    }
    return {"key": row.key, "label": row.label, **values} if key else values


def report_dict(report: Report) -> dict:
    currency, costs = report.base_currency, report.costs_visible
    return {
        "group_by": report.group_by,
        "base_currency": currency,
        "rows": [row_dict(row, currency=currency, costs=costs) for row in report.rows],
        "totals": row_dict(report.totals, currency=currency, costs=costs, key=False),
    }
