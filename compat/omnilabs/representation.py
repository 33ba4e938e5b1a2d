"""Omnilabs' words for the product's data: the translation tables, and the sale as its document shows it.

Ids are strings, money JSON numbers (`0` and `26.95` as the sample writes them), dates ISO with milliseconds
and `Z`; what the product has no data for is `null`, the document's own empty value (`"channel_type": null`).
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from compat.omnilabs.countries import COUNTRIES, COUNTRY_CODES
from sales.models import Sale, SaleEvent, SaleEventType, SaleItem, SaleStatus

# The product's status → Omnilabs' word.
STATUS_WORDS = {
    SaleStatus.DRAFT: "NEW",
    SaleStatus.PENDING: "NEW",
    SaleStatus.CONFIRMED: "CONFIRMED",
    SaleStatus.IN_DELIVERY: "IN_DELIVERY",
    SaleStatus.COMPLETED: "COMPLETED",
    SaleStatus.CANCELLED: "CANCELED",
    SaleStatus.REJECTED: "REJECTED",
    SaleStatus.REFUNDED: "REFUNDED",
}
WORDS = tuple(dict.fromkeys(STATUS_WORDS.values()))
# The statuses a `?status=` word selects.
WORD_STATUSES = {word: tuple(s for s, w in STATUS_WORDS.items() if w == word) for word in WORDS}
# The status `POST /sale/{id}/status` moves a sale to for each word (NEW: submitted, the draft's next step).
WORD_TARGETS = {word: statuses[-1] for word, statuses in WORD_STATUSES.items()}

# Activity: the product's event type → Omnilabs' type; any other type is the product's in upper case.
ACTIVITY_TYPES = {
    SaleEventType.STATUS_CHANGED: "UPDATED_STATUS_BY_TEAM",
    SaleEventType.FULFILLMENT_CREATED: "DATA_COMMUNICATED_TO_CARRIER",
}
CARRIER_DATA = "DATA_COMMUNICATED_TO_CARRIER"
# A line update that tells the carrier something: its carrier or tracking code changed.
CARRIER_CHANGES = frozenset({"carrier", "tracking_code"})


def text(value: Any) -> str | None:
    """A string, or null for nothing."""
    return str(value) if value not in (None, "") else None


def number(amount: Decimal) -> int | float:
    """Money as a JSON number: `0`, `26.95` (the product's amounts are already in the currency's minor units)."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def country_name(code: str) -> str | None:
    """`IT` → `Italy`; a code the table does not know stays as it is."""
    return COUNTRIES[code][0] if code in COUNTRIES else text(code)


def country_code(value: str) -> str | None:
    """A country as a filter names it (`Italy`, `it`, `ITA`) → the product's code, None when unknown."""
    return COUNTRY_CODES.get(value.strip().casefold())


def address(value: dict) -> dict | None:
    if not any(value.get(key) for key in ("line1", "line2", "city", "postal_code", "country")):
        return None
    street = ", ".join(part for part in (value.get("line1"), value.get("line2")) if part)
    return {
        "street": text(street),
        "city": text(value.get("city")),
        "postal_code": text(value.get("postal_code")),
        "country": country_name(value.get("country") or ""),
    }


def channel(sale: Sale) -> dict | None:
    return {"name": sale.channel.name, "type": sale.channel.kind} if sale.channel is not None else None


def sale_row(sale: Sale) -> dict:
    """One sale of `GET /sales` (`channel` loaded)."""
    return {
        "id": str(sale.pk),
        "secondary_id": sale.external_id or sale.reference,
        "human_id": sale.number,
        "amount": number(sale.grand_total),
        "country": country_name(sale.shipping_country),
        "status": STATUS_WORDS[sale.status],
        "channel": channel(sale),
    }


def client(sale: Sale) -> dict | None:
    customer = sale.customer
    delivery, invoice = address(sale.shipping_address), address(sale.billing_address)
    if customer is None and delivery is None and invoice is None:
        return None
    return {
        "id": str(customer.pk) if customer else None,
        "name": text(customer.name if customer else sale.shipping_address.get("name")),
        "email": text(customer.email) if customer else None,
        "delivery_address": delivery,
        "invoice_address": invoice,
    }


def carrier(item: SaleItem) -> dict | None:
    """The line's carrier and tracking; else those of the latest live fulfilment that sent it."""
    sources = [item, *(line.fulfillment for line in reversed(item.fulfillment_lines.all()) if line.fulfillment.is_live)]
    for source in sources:
        if source.carrier is not None or source.tracking_code:
            return {
                "type": source.carrier.name if source.carrier is not None else None,
                "tracking_code": text(source.tracking_code),
                "tracking_link": text(source.tracking_url),
            }
    return None


def product(item: SaleItem) -> dict:
    return {
        "name": item.name,
        "sku": item.sku,
        "qty": item.quantity_active,
        "price": number(item.unit_price),
        "warehouse": {"name": item.warehouse.name},
        "carrier": carrier(item),
    }


def activity_type(event: SaleEvent) -> str:
    if event.type == SaleEventType.ITEM_UPDATED and CARRIER_CHANGES & set((event.data or {}).get("changes") or {}):
        return CARRIER_DATA
    return ACTIVITY_TYPES.get(event.type, event.type.upper())


def activity(event: SaleEvent, *, full: bool = False) -> dict:
    """One entry of the activity log; `full` (`GET …/activity`) adds its id and the sale's."""
    row: dict[str, Any] = {"id": str(event.pk), "sale_id": str(event.sale_id)} if full else {}
    row["type"] = activity_type(event)
    if event.type == SaleEventType.STATUS_CHANGED:
        row["status"] = STATUS_WORDS.get(event.to_status)
    row["created_at"] = timestamp(event.created_at)
    return row


def sale_resource(sale: Sale) -> dict:
    """`GET /sale/{id}`: the Sale resource (loaded by `views.sale_detail_queryset`)."""
    return {
        "id": str(sale.pk),
        "secondary_id": sale.external_id or sale.reference,
        "human_id": sale.number,
        "team_id": text(sale.store_id),
        "channel_type": sale.channel.kind if sale.channel is not None else None,
        "channel_id": text(sale.channel_id),
        "amount": number(sale.grand_total),
        "discount": number(sale.discount_total),
        "currency": sale.currency,
        "shipping_cost": number(sale.shipping_cost),
        "country": country_name(sale.shipping_country),
        "status": STATUS_WORDS[sale.status],
        "date": timestamp(sale.sold_at),
        "client": client(sale),
        "products": [product(item) for item in sale.items.all()],
        "activity": [activity(event) for event in sale.events.all()],
    }
