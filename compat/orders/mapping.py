"""Seed 003's sale object ↔ the product's sale: the translation tables, the answer, and the body as service input.

Everything here is a table or a lookup in one; what a sale may become is decided by the services.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import iso4217
from django.utils import timezone

from sales.api.representation import SaleAddressSerializer
from sales.models import (
    CLOSED_STATUSES,
    CancellationStatus,
    DiscountType,
    FulfillmentStatus,
    InvoiceStatus,
    Jurisdiction,
    ReturnStatus,
    Sale,
    SaleStatus,
    TaxCalculation,
)
from sales.services import ItemData
from salesproject.errors import ValidationError
from salesproject.money import ZERO

# ISO 4217 numeric codes (978) ↔ alphabetic (EUR), from the package `salesproject.money` uses.
CURRENCY_BY_NUMBER = {currency.number: currency.code for currency in iso4217.Currency}
CURRENCY_NUMBER = {code: number for number, code in CURRENCY_BY_NUMBER.items()}

# --- status words ---------------------------------------------------------------------------------------
# `status`: draft and pending as they are; every later status is `finalized` (compat.md, settled points).
STATUS_WORD = {SaleStatus.DRAFT: "draft", SaleStatus.PENDING: "pending"}
FINALIZED = "finalized"
CREATE_STATUS = {"draft": SaleStatus.DRAFT, "pending": SaleStatus.PENDING, "finalized": SaleStatus.CONFIRMED}
STATUS_WORDS = tuple(CREATE_STATUS)
# PUT `status`: the product statuses to pass through, in order (those the sale is already in are skipped).
STATUS_STEPS = {
    "draft": (SaleStatus.DRAFT,),
    "pending": (SaleStatus.PENDING,),
    "finalized": (SaleStatus.PENDING, SaleStatus.CONFIRMED),
}
INVENTORY_STATUS = {
    FulfillmentStatus.UNFULFILLED: "notFulfilled",
    FulfillmentStatus.PARTIALLY_FULFILLED: "partiallyFulfilled",
    FulfillmentStatus.FULFILLED: "fulfilled",
}
INVOICE_STATUS = {
    InvoiceStatus.NOT_INVOICED: "notInvoiced",
    InvoiceStatus.PARTIALLY_INVOICED: "partiallyInvoiced",
    InvoiceStatus.INVOICED: "invoiced",
}
RETURN_STATUS = {
    ReturnStatus.NONE: "notReturned",
    ReturnStatus.PARTIAL: "partiallyReturned",
    ReturnStatus.FULL: "returned",
}
PAYMENT_STATUS_WORDS = ("notPaid", "partiallyPaid", "paid")
# The answer's status words, named in the schema (settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]) so they
# never take the name of v1's enums of the same field names (`invoice_status` and `invoiceStatus` collide).
INVENTORY_STATUS_WORDS = tuple(INVENTORY_STATUS.values())
INVOICE_STATUS_WORDS = tuple(INVOICE_STATUS.values())
RETURN_STATUS_WORDS = tuple(RETURN_STATUS.values())

# --- fields written -------------------------------------------------------------------------------------
# Body field → the NewSale / sale_update argument it sets (the serializer has already resolved references).
FIELDS = {
    "customerId": "customer",
    "channelId": "channel",
    "warehouseId": "warehouse",
    "priceListId": "price_list",
    "saleDiscountCodeId": "discount_code",
    "currencyId": "currency",
    "exchangeRate": "exchange_rate",
    "dateOrdered": "sold_at",
    "discounts": "discount",
    "tax": "tax_amount",
    "taxCalculation": "tax_calculation",
    "taxIncluded": "prices_include_tax",
    "taxShipping": "tax_shipping",
    "externalId": "external_id",
    "customerReference": "customer_reference",
    "notes": "note",
    "internalNotes": "staff_note",
    "adminNotes": "admin_note",
    "tags": "tags",
    "items": "items",
    "reference": "reference",  # on create only
    "userId": "seller",  # on create only
}
CREATE_ONLY = {"reference": "reference", "seller": "userId"}
# A service error's field (`attr`, and the product names its message lists) in this document's words.
CAMEL = {product: camel for camel, product in FIELDS.items()} | {
    "unit_price": "price", "variant": "variantId", "billing_address": "billingAddress",
    "shipping_address": "shippingAddress", "discount_type": "discounts", "cancel_reason": "cancelReason",
    "reason": "cancelReason",
}
TEXT = frozenset({"external_id", "customer_reference", "note", "staff_note", "admin_note", "discount_code"})
RELATIONS = frozenset({"customer", "channel", "warehouse", "price_list"})
# `billing…` and `shipping…` fields are the two addresses; `receiver…` fills a shipping part not sent as `shipping…`.
ADDRESSES = {"billing": ("billing_address", ("billing",)), "shipping": ("shipping_address", ("shipping", "receiver"))}
ADDRESS_PARTS = {
    "AddressLineOne": "line1",
    "AddressLineTwo": "line2",
    "City": "city",
    "State": "state",
    "Zip": "postal_code",
    "Country": "country",
    "Name": "name",
}
TAX_RATES = {
    "stateTaxRate": Jurisdiction.STATE,
    "countyTaxRate": Jurisdiction.COUNTY,
    "cityTaxRate": Jurisdiction.CITY,
    "districtTaxRate": Jurisdiction.DISTRICT,
}
TAX_LOCATIONS = {
    "stateTaxLocation": Jurisdiction.STATE,
    "countyTaxLocation": Jurisdiction.COUNTY,
    "cityTaxLocation": Jurisdiction.CITY,
}
# Fields the product does not keep: accepted, ignored, answered with the document's default.
DEFAULTS: dict[str, Any] = {
    "adjustmentReasonId": None,
    "billingAddressMessage": None,
    "channelCancelledAt": None,
    "dropshipProblems": None,
    "externalChannelSiteId": None,
    "intercomMessageId": None,
    "invalidBillingAddress": None,
    "invalidShippingAddress": False,
    "iso": None,
    "lastFulfillmentReference": 0,
    "lastPurchaseReference": 0,
    "lastSaleReturnReference": 0,
    "muteError": False,
    "paymentProviderIds": [],
    "resellerId": None,
    "resellerPayee": "reseller",
    "resellerStripeChargeId": None,
    "saleReturnProblems": None,
    "shippingAddressMessage": False,
    "shipstationId": None,
}


# --- the answer -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reader:
    """Who reads the sales, and what one query per page found for them."""

    staff: bool
    promotion_ids: dict[str, int] = field(default_factory=dict)  # discount code → promotion id


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _time(value) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _or_none(value: str) -> str | None:
    return value or None


def status_word(sale: Sale) -> str:
    return STATUS_WORD.get(sale.status, FINALIZED)


def payment_word(sale: Sale) -> str:
    """`paid` against the total after returns: nothing paid, part of it, all of it or more."""
    if sale.paid_total <= 0:
        return "notPaid"
    return "paid" if sale.paid_total >= sale.net_total else "partiallyPaid"


def _components(sale: Sale, jurisdiction: str) -> list:
    return [c for c in sale.tax.components.all() if c.jurisdiction == jurisdiction] if sale.tax_id else []


def _rate(sale: Sale, jurisdiction: str) -> float | None:
    found = _components(sale, jurisdiction)
    return float(sum(c.rate for c in found)) if found else None


def _location(sale: Sale, jurisdiction: str) -> str | None:
    found = [c.location for c in _components(sale, jurisdiction) if c.location]
    return ", ".join(found) or None


def _name_parts(name: str) -> tuple[str | None, str | None]:
    """`Ada Lovelace` → (`Ada`, `Lovelace`): the product keeps one name; the first word is the first name."""
    first, _, last = (name or "").strip().partition(" ")
    return first or None, last.strip() or None


Getter = Callable[[Sale, Reader], Any]
ANSWER: dict[str, Getter] = {
    "id": lambda s, r: s.pk,
    "createdAt": lambda s, r: _time(s.created_at),
    "updatedAt": lambda s, r: _time(s.updated_at),
    "status": lambda s, r: status_word(s),
    "finalized": lambda s, r: status_word(s) == FINALIZED,
    "cancelled": lambda s, r: s.status in CLOSED_STATUSES,
    "cancelledAt": lambda s, r: _time(s.cancelled_at),
    "cancelReason": lambda s, r: _or_none(s.cancel_reason),
    "cancellationStatus": lambda s, r: (
        CancellationStatus.FULL if s.status in CLOSED_STATUSES else s.cancellation_status
    ),
    "cloneReason": lambda s, r: _or_none(s.clone_reason),
    "saleId": lambda s, r: s.parent_id or s.cloned_from_id,
    "userId": lambda s, r: s.seller_id,
    "customerId": lambda s, r: s.customer_id,
    "channelId": lambda s, r: s.channel_id,
    "warehouseId": lambda s, r: s.warehouse_id,
    "priceListId": lambda s, r: s.price_list_id,
    "saleDiscountCodeId": lambda s, r: r.promotion_ids.get(s.discount_code),
    "currencyId": lambda s, r: CURRENCY_NUMBER.get(s.currency),
    "exchangeRate": lambda s, r: _num(s.exchange_rate),
    "customerReference": lambda s, r: _or_none(s.customer_reference),
    "dateOrdered": lambda s, r: _time(s.sold_at),
    "discounts": lambda s, r: _num(s.discount if s.discount_type == DiscountType.FIXED else s.discount_total),
    "externalId": lambda s, r: _or_none(s.external_id),
    "reference": lambda s, r: s.reference,
    "notes": lambda s, r: _or_none(s.note),
    "internalNotes": lambda s, r: _or_none(s.staff_note),
    "adminNotes": lambda s, r: _or_none(s.admin_note) if r.staff else None,
    "tags": lambda s, r: list(s.tags),
    "inventoryStatus": lambda s, r: INVENTORY_STATUS[s.fulfillment_status],
    "invoiceStatus": lambda s, r: INVOICE_STATUS[s.invoice_status],
    "paymentStatus": lambda s, r: payment_word(s),
    "returnStatus": lambda s, r: RETURN_STATUS[s.return_status],
    "locked": lambda s, r: s.locked,
    "paid": lambda s, r: _num(s.paid_total),
    "quantity": lambda s, r: s.total_quantity,
    "weight": lambda s, r: s.total_weight,
    "subtotal": lambda s, r: _num(s.subtotal),
    "tax": lambda s, r: _num(s.tax_total),
    "total": lambda s, r: _num(s.grand_total),
    "taxCalculation": lambda s, r: s.tax_calculation,
    "taxIncluded": lambda s, r: s.prices_include_tax,
    "taxShipping": lambda s, r: s.tax_shipping,
    "combinedTaxRate": lambda s, r: _num(s.tax_rate) if s.tax_id else None,
    **{name: (lambda s, r, j=j: _rate(s, j)) for name, j in TAX_RATES.items()},
    **{name: (lambda s, r, j=j: _location(s, j)) for name, j in TAX_LOCATIONS.items()},
    "billingFullName": lambda s, r: _or_none(s.billing_address.get("name", "")),
    "shippingFullName": lambda s, r: _or_none(s.shipping_address.get("name", "")),
    **{
        f"{prefix}{part}": (lambda s, r, a=attr, k=key: _or_none(str(getattr(s, a).get(k) or "")))
        for attr, prefixes in ADDRESSES.values() for prefix in prefixes for part, key in ADDRESS_PARTS.items()
    },
    **{
        f"{prefix}{part}": (lambda s, r, a=attr, i=index: _name_parts(getattr(s, a).get("name", ""))[i])
        for prefix, (attr, _sources) in ADDRESSES.items() for index, part in enumerate(("FirstName", "LastName"))
    },
}
# What a body may carry but never sets: derived by the product, or not kept (DEFAULTS).
READ_ONLY = (set(ANSWER) | set(DEFAULTS)) - set(FIELDS) - {"status", "cancelled", "cancelReason"} - {
    f"{prefix}{part}" for prefix in ("billing", "shipping", "receiver")
    for part in (*ADDRESS_PARTS, "FirstName", "LastName", "FullName")
}


def camel_attr(attr: str) -> str:
    """`exchange_rate` → `exchangeRate`, `items.0.unit_price` → `items.0.price`: each step of a service's `attr`."""
    return ".".join(CAMEL.get(step, step) for step in attr.split("."))


def camel_text(text: str) -> str:
    """A service message's product field names (`sale's sold_at, tax_shipping can no longer change`) in camelCase."""
    text = text.replace(", discount_type", "")  # the type always goes with `discount`, one field here
    return re.sub(r"\b[a-z]+(?:_[a-z]+)+\b", lambda m: CAMEL.get(m[0], m[0]), text)


def answer(sale: Sale, reader: Reader) -> dict[str, Any]:
    """The document's object for one sale, keys in the document's (alphabetical) order."""
    body = {name: get(sale, reader) for name, get in ANSWER.items()} | DEFAULTS
    return {name: body[name] for name in sorted(body)}


# --- the body as service input --------------------------------------------------------------------------
def product_values(data: dict[str, Any], *, sale: Sale | None, staff: bool) -> dict[str, Any]:
    """A validated body as NewSale (`sale` None) or sale_update arguments; on update only what differs."""
    values = {FIELDS[name]: value for name, value in data.items() if name in FIELDS}
    for name in TEXT & set(values):
        values[name] = values[name] or ""
    if "tags" in values:
        values["tags"] = list(values["tags"] or [])
    if "discount" in values:  # the order discount, a fixed amount
        values["discount"] = values["discount"] or ZERO
        values["discount_type"] = DiscountType.FIXED
    if values.get("discount_code") is not None and not isinstance(values["discount_code"], str):
        promotion = values["discount_code"]
        if not promotion.code:
            raise ValidationError(f"Promotion {promotion.pk} applies by itself; it has no code to use.",
                                  code="invalid_discount_code", attr="saleDiscountCodeId")
        values["discount_code"] = promotion.code
    calculation = values.get("tax_calculation") or (sale.tax_calculation if sale else TaxCalculation.DEFAULT)
    if calculation != TaxCalculation.CUSTOM:
        values.pop("tax_amount", None)  # the computed tax: answered, never written
    if "items" in values:
        values["items"] = [
            ItemData(variant=line["variantId"], quantity=line["quantity"], unit_price=line.get("price"))
            for line in values["items"]
        ]
    if not staff and not values.get("admin_note"):
        values.pop("admin_note", None)  # hidden from sellers: sending it back empty keeps it
    for prefix, (target, sources) in ADDRESSES.items():
        address = _address(data, prefix, sources, current=getattr(sale, target) if sale else {})
        if address is not None:
            values[target] = address
    if sale is None:
        return values
    for name, camel in CREATE_ONLY.items():
        if name in values and not _same(sale, name, values.pop(name)):
            raise ValidationError(f"The {camel} of a sale cannot change.", code="read_only", attr=camel)
    changed = {name: value for name, value in values.items() if not _same(sale, name, value)}
    if "discount" not in changed:
        changed.pop("discount_type", None)  # the same amount sent back keeps a percent discount a percent
    return changed


def _address(data: dict, prefix: str, sources: tuple[str, ...], *, current: dict) -> dict | None:
    """The address the body's `<prefix>…` fields describe, over the current one; None when it names no part."""
    given, named = {}, {}
    for part, key in ADDRESS_PARTS.items():
        source = next((s for s in sources if f"{s}{part}" in data), None)
        if source is not None:
            given[key] = data[f"{source}{part}"] or ""
            named[key] = f"{source}{part}"
    first, last = f"{prefix}FirstName", f"{prefix}LastName"
    if "name" not in given and (first in data or last in data):
        old_first, old_last = _name_parts(current.get("name", ""))
        parts = (data.get(first, old_first), data.get(last, old_last))
        given["name"] = " ".join(part for part in parts if part)
        named["name"] = first if first in data else last
    full = data.get(f"{prefix}FullName")  # any JSON type in the document; a text is the name (`{}`: not given)
    if "name" not in given and isinstance(full, str) and full.strip():
        given["name"], named["name"] = full.strip(), f"{prefix}FullName"
    if not given:
        return None
    address = {key: value for key, value in {**current, **given}.items() if value not in ("", None)}
    checked = SaleAddressSerializer(data=address)
    if not checked.is_valid():
        key, errors = next(iter(checked.errors.items()))
        raise ValidationError(str(errors[0]), code=errors[0].code, attr=named.get(key, f"{prefix}{key}"))
    return dict(checked.validated_data)


def _same(sale: Sale, name: str, value: Any) -> bool:
    """Whether a PUT's value is the sale's own already (a client sending the object back changes nothing)."""
    if name == "items":
        return False
    if name in RELATIONS or name == "seller":
        return getattr(sale, f"{name}_id") == (value.pk if value is not None else None)
    if name == "sold_at":
        return value is None or value.replace(microsecond=0) == sale.sold_at.replace(microsecond=0)
    if name == "exchange_rate":
        return value is None or value == sale.exchange_rate
    if name == "discount":  # a percent discount (made through v1) is answered as its amount
        return value == (sale.discount if sale.discount_type == DiscountType.FIXED else sale.discount_total)
    if name in ("billing_address", "shipping_address"):  # the parts the product keeps empty are not sent back
        return {k: v for k, v in getattr(sale, name).items() if v not in ("", None)} == value
    if name in TEXT:
        return (getattr(sale, name) or "") == value
    if name == "tags":
        return list(sale.tags) == value
    return getattr(sale, name) == value
