"""The sales list built from plain rows: the JSON of `SaleListSerializer`, at a fraction of the Python.

A page of 50 sales with their lines through model instances and nested DRF
serializers costs tens of milliseconds of CPU (about 10,000 attribute reads,
model inits and field lookups per page), far more than its two queries. Here the
sales and their lines come as `values()` rows (related codes and names joined in)
and are turned into the same dictionaries directly, by functions generated from
the same field tables as the serializers (`sales.api.representation`: which
columns to read and how each field says its value); the few conversions that
have rules (money, times) reuse DRF's own fields, so the output cannot drift from
the serializers. `sales/tests/test_list_rows.py` compares both on varied sales.
"""

import functools
from collections import defaultdict
from decimal import Decimal

from django.db.models import OuterRef, Subquery
from django.db.models.constants import LOOKUP_SEP
from django.utils import timezone

from sales.api.representation import APPLIED_PROMOTION, ITEM, SALE
from sales.models import Sale, SaleItem, SalePromotion, margin_percent
from salesproject.api.representation import money

__all__ = ["item_dict", "profits", "quantities", "render_sales", "sale_dict", "sale_rows"]


def sale_rows(queryset):
    """The list's queryset as rows (its filters, order and database kept): the columns `SALE` reads.

    The related names and codes (`channel__code`, `seller__username`, ...) are scalar subqueries in the select list,
    not joins: ten joined tables took PostgreSQL longer to plan (about 13 ms at 1 M sales: the join order search)
    than to run (under 1 ms), and a subquery per related value on a page of 50 rows costs next to nothing."""
    own, related = _row_columns(SALE.columns())
    return queryset.annotate(**related).values(*own, *related)


@functools.cache
def _row_columns(columns: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, Subquery]]:
    """Of `columns` (the table's, so a field added to it is read at once): those on the sale's own table, and
    {`relation__field`: the subquery reading it} for the others."""
    own, related = [], {}
    for column in columns:
        if LOOKUP_SEP not in column:
            own.append(column)
            continue
        relation, name = column.split(LOOKUP_SEP)
        field = Sale._meta.get_field(relation)
        target = field.related_model._base_manager.filter(pk=OuterRef(field.attname)).order_by().values(name)[:1]
        related[column] = Subquery(target)
    return tuple(own), related


def item_dict(row: dict) -> dict:
    """One item's JSON from its row (`ITEM.columns()` keys)."""
    return ITEM.row_renderer()(row, None, None, False)


def quantities(items: list[dict]) -> dict[str, int]:
    """The sale's `total_quantity`, `quantity_remaining` and `total_weight` from its rendered items."""
    total = sum(item["quantity"] - item["quantity_cancelled"] for item in items)
    return {
        "total_quantity": total,
        "quantity_remaining": total - sum(item["quantity_fulfilled"] for item in items),
        "total_weight": sum((item["weight"] or 0) * (item["quantity"] - item["quantity_cancelled"]) for item in items),
    }


def profits(items: list[dict], *, currency: str, staff: bool) -> dict[str, str | None]:
    """The sale's `cost_total`, `profit` and `margin` from its rendered items (staff only: None for others,
    whose items carry no cost). What `Sale.cost_total` / `profit` / `margin` say, written as the API writes them."""
    if not staff:
        return {"cost_total": None, "profit": None, "margin": None}
    cost = sum((Decimal(item["cost_total"]) for item in items), Decimal(0))
    profit = sum((Decimal(item["profit"]) for item in items), Decimal(0))
    net = sum((Decimal(item["total"]) - Decimal(item["tax_total"]) for item in items), Decimal(0))
    margin = margin_percent(profit, net)
    return {
        "cost_total": money(cost, currency),
        "profit": money(profit, currency),
        "margin": None if margin is None else money(margin),
    }


def render_sales(rows: list[dict], *, user, using: str) -> list[dict]:
    """The list representation of these sale rows, their lines and split-off sales read in one query each."""
    lines = defaultdict(list)
    children = defaultdict(list)
    promotions = defaultdict(list)
    zone = timezone.get_current_timezone()
    staff = user.is_staff
    ids = [row["id"] for row in rows]
    if ids:
        render_item = ITEM.row_renderer()
        items = SaleItem.objects.using(using).filter(sale_id__in=ids).order_by("pk").values("sale_id", *ITEM.columns())
        for item in items:
            lines[item["sale_id"]].append(render_item(item, None, zone, staff))
        split_off = Sale.objects.using(using).filter(parent_id__in=ids).order_by("pk").values_list("parent_id", "pk")
        for parent_id, child_id in split_off:
            children[parent_id].append(child_id)
        render_promotion = APPLIED_PROMOTION.row_renderer()
        applied = SalePromotion.objects.using(using).filter(sale_id__in=ids).order_by("pk")
        for promotion in applied.values("sale_id", *APPLIED_PROMOTION.columns()):
            promotions[promotion["sale_id"]].append(render_promotion(promotion, None, zone, staff))
    transitions: dict[str, list[str]] = {}  # per status: the same for every sale of that status and this user

    def allowed(status: str) -> list[str]:
        if status not in transitions:
            transitions[status] = Sale(status=status).available_transitions_for(user)
        return list(transitions[status])

    return [
        sale_dict(
            row, items=lines[row["id"]], transitions=allowed(row["status"]), children=children[row["id"]],
            zone=zone, staff=staff, promotions=promotions[row["id"]],
        )
        for row in rows
    ]


def sale_dict(
    row: dict,
    *,
    items: list[dict],
    transitions: list[str],
    children: list[int],
    zone,
    staff: bool,
    payments: list[dict] | None = None,
    promotions: list[dict] | None = None,
) -> dict:
    """One sale's JSON from its row (`SALE.columns()` keys): the list's entry, or with `payments` the detail's."""
    ctx = {
        "items": items,
        "available_transitions": transitions,
        "payments": payments,
        "children": children,
        "promotions": promotions or [],
        "is_partial": row["parent_id"] is not None or bool(children),
        **quantities(items),
        **profits(items, currency=row["currency"], staff=staff),
    }
    return SALE.row_renderer(detail=payments is not None)(row, ctx, zone, staff)
