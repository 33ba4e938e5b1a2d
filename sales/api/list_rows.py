"""The sales list built from plain rows: the JSON of `SaleListSerializer`, at a fraction of the Python.

A page of 50 sales with their lines through model instances and nested DRF
serializers costs tens of milliseconds of CPU (about 10,000 attribute reads,
model inits and field lookups per page), far more than its two queries. Here the
sales and their lines come as `values()` rows (related codes and names joined in)
and are turned into the same dictionaries directly; the few conversions that
have rules (money, times) reuse DRF's own fields, so the output cannot drift from
the serializers. `sales/tests/test_list_rows.py` compares both on varied sales.
"""

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from rest_framework import serializers

from sales.models import Sale, SaleItem

SALE_VALUES = (
    "id",
    "number",
    "reference",
    "external_id",
    "status",
    "payment_status",
    "fulfillment_status",
    "return_status",
    "seller_id",
    "seller__username",
    "customer_id",
    "customer__name",
    "customer__email",
    "channel__code",
    "warehouse__code",
    "currency",
    "discount",
    "discount_type",
    "subtotal",
    "discount_total",
    "tax_total",
    "shipping_cost",
    "tax_shipping",
    "grand_total",
    "paid_total",
    "returned_total",
    "tax_id",
    "tax__code",
    "tax__name",
    "tax__rate",
    "prices_include_tax",
    "billing_address",
    "shipping_address",
    "note",
    "staff_note",
    "tags",
    "cancel_reason",
    "sold_at",
    "created_at",
    "updated_at",
    "confirmed_at",
    "shipped_at",
    "completed_at",
    "cancelled_at",
)
ITEM_VALUES = (
    "id",
    "sale_id",
    "product_id",
    "variant_id",
    "sku",
    "name",
    "quantity",
    "unit_price",
    "discount",
    "discount_type",
    "subtotal",
    "discount_total",
    "tax_total",
    "total",
    "quantity_returned",
    "warehouse__code",
    "carrier__code",
    "tracking_code",
    "tracking_url",
    "product_group__code",
)
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "state", "postal_code", "country", "phone")

_drf_money = serializers.DecimalField(max_digits=14, decimal_places=2).to_representation
_drf_time = serializers.DateTimeField().to_representation


def _money(value) -> str:
    """DRF's string for a money value; a column of scale 2 already is it, without the per-value quantize."""
    if type(value) is Decimal and value.as_tuple().exponent == -2:
        return str(value)
    return _drf_money(value)


def _time(value, zone=None) -> str:
    """DRF's ISO 8601 string for an aware date-time in the current time zone ("Z" for UTC).

    Thousands of these per page: callers may look the current time zone up once and pass it
    (DateTimeField looks it up for every value); anything unusual goes to DRF itself.
    """
    if type(value) is datetime and value.tzinfo is not None:
        text = value.astimezone(zone or timezone.get_current_timezone()).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return _drf_time(value)


def sale_rows(queryset):
    """The list's queryset as rows (its filters, order and database kept)."""
    return queryset.values(*SALE_VALUES)


def _when(value, zone=None):
    return _time(value, zone) if value else None


def _address(value):
    if value is None:
        return None
    return {name: (None if value[name] is None else str(value[name])) for name in ADDRESS_FIELDS if name in value}


def _item(row: dict) -> dict:
    return {
        "id": row["id"],
        "product": row["product_id"],
        "variant": row["variant_id"],
        "sku": row["sku"],
        "name": row["name"],
        "quantity": row["quantity"],
        "unit_price": _money(row["unit_price"]),
        "discount": _money(row["discount"]),
        "discount_type": row["discount_type"],
        "subtotal": _money(row["subtotal"]),
        "discount_total": _money(row["discount_total"]),
        "tax_total": _money(row["tax_total"]),
        "total": _money(row["total"]),
        "quantity_returned": row["quantity_returned"],
        "warehouse": row["warehouse__code"],
        "carrier": row["carrier__code"],
        "tracking_code": row["tracking_code"],
        "tracking_url": row["tracking_url"],
        "product_group": row["product_group__code"],
    }


def render_sales(rows: list[dict], *, user, using: str) -> list[dict]:
    """The list representation of these sale rows, their lines read in one query from the same database."""
    lines = defaultdict(list)
    zone = timezone.get_current_timezone()
    ids = [row["id"] for row in rows]
    if ids:
        items = SaleItem.objects.using(using).filter(sale_id__in=ids).order_by("pk").values(*ITEM_VALUES)
        for item in items:
            lines[item["sale_id"]].append(_item(item))
    transitions: dict[str, list[str]] = {}  # per status: the same for every sale of that status and this user

    def allowed(status: str) -> list[str]:
        if status not in transitions:
            transitions[status] = Sale(status=status).available_transitions_for(user)
        return list(transitions[status])

    return [sale_dict(row, items=lines[row["id"]], transitions=allowed(row["status"]), zone=zone) for row in rows]


def sale_dict(
    row: dict, *, items: list[dict], transitions: list[str], zone, payments: list[dict] | None = None
) -> dict:
    """One sale's JSON from its row (`SALE_VALUES` keys): the list's entry, or with `payments` the detail's."""
    sale = {
        "id": row["id"],
        "number": row["number"],
        "reference": row["reference"],
        "external_id": row["external_id"],
        "status": row["status"],
        "payment_status": row["payment_status"],
        "fulfillment_status": row["fulfillment_status"],
        "return_status": row["return_status"],
        "seller": {"id": row["seller_id"], "username": row["seller__username"]},
        "customer": None
        if row["customer_id"] is None
        else {"id": row["customer_id"], "name": row["customer__name"], "email": row["customer__email"]},
        "channel": row["channel__code"],
        "warehouse": row["warehouse__code"],
        "currency": row["currency"],
        "items": items,
        "discount": _money(row["discount"]),
        "discount_type": row["discount_type"],
        "subtotal": _money(row["subtotal"]),
        "discount_total": _money(row["discount_total"]),
        "tax_total": _money(row["tax_total"]),
        "shipping_cost": _money(row["shipping_cost"]),
        "tax_shipping": row["tax_shipping"],
        "grand_total": _money(row["grand_total"]),
        "paid_total": _money(row["paid_total"]),
        "returned_total": _money(row["returned_total"]),
        "net_total": _money(row["grand_total"] - row["returned_total"]),
        "balance_due": _money(row["grand_total"] - row["returned_total"] - row["paid_total"]),
        "tax": None
        if row["tax_id"] is None
        else {"code": row["tax__code"], "name": row["tax__name"], "rate": _money(row["tax__rate"])},
        "prices_include_tax": row["prices_include_tax"],
        "billing_address": _address(row["billing_address"]),
        "shipping_address": _address(row["shipping_address"]),
    }
    if payments is not None:  # the detail's: between the addresses and the notes, as SaleSerializer orders them
        sale["payments"] = payments
    sale |= {
        "note": row["note"],
        "staff_note": row["staff_note"],
        "tags": None if row["tags"] is None else [None if tag is None else str(tag) for tag in row["tags"]],
        "cancel_reason": row["cancel_reason"],
        "available_transitions": transitions,
        "sold_at": _when(row["sold_at"], zone),
        "created_at": _when(row["created_at"], zone),
        "updated_at": _when(row["updated_at"], zone),
        "confirmed_at": _when(row["confirmed_at"], zone),
        "shipped_at": _when(row["shipped_at"], zone),
        "completed_at": _when(row["completed_at"], zone),
        "cancelled_at": _when(row["cancelled_at"], zone),
    }
    return sale
