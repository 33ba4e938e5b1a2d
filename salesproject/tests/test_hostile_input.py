"""Hostile input, generated from the OpenAPI schema: every operation, as staff and as a plain seller.

For each operation of the schema, a deterministic set of cases (a `random.Random` seeded with the
operation and role, at most `MAX_CASES` each), each sent in-process with DRF's test client on top
of a valid request built from the schema, and rolled back afterwards so every case starts from the
same data:

- every request-body property (nested ones too: `items.0.unit_price`, `billing_address.country`)
  replaced by values hostile to its type: decimals such as 1e-999999, 1E+999999 (also as raw JSON
  numbers), 99999999999999999999.99, -0, NaN, Infinity, "1e3"; ids and quantities such as 4.9,
  "4.9", 2**70, -2**70, 1e3; strings with NUL, a lone surrogate, right-to-left and zero-width
  marks, emoji, 10,000 characters; and the wrong JSON type (a list for an object, an object for a
  string, …);
- an unknown body field; bodies that are too large (by Content-Length), 10,000 or 33 levels deep,
  not an object, not UTF-8, or not JSON at all;
- every query parameter with values hostile to its type (money bounds, ids, dates, choices, free
  text, cursors, page numbers), NUL and undecodable bytes included;
- path ids that no row can have (2**80, 0, -1, 4.9, 400 digits, NUL).

The rules: no answer is a 5xx; every 4xx carries the one error body (`type`, and `errors` as a
list of `{code, detail, attr}`); and the values the contract refuses are refused (4xx), never
accepted: a fraction in an id or quantity, a money amount that is not a finite number with at most
two places within what a column holds, NUL and lone surrogates, strings over the schema's
`maxLength`, a value of the wrong JSON type, an unknown body field (`unknown_field`), an unknown
`ordering`, a malformed filter. A failure names the operation, the role, the case and, for a 5xx,
the exception and the last line of project code it went through.
"""

import base64
import copy
import functools
import io
import itertools
import json
import os
import random
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers.tests.factories import CustomerFactory
from inventory.models import StockLevel
from inventory.tests.factories import ProductGroupFactory, default_warehouse, stocked_variant
from payments.models import PaymentState
from sales import services
from sales.models import Sale, Store, StoreMembership
from sales.services import ItemData, sale_record_payment
from sales.services import exchange_rates as exchange_rate_services
from sales.services import prices as price_services
from sales.services import promotions as promotion_services
from sales.services.documents import sale_issue_invoice
from sales.tests.factories import CarrierFactory, ChannelFactory, StaffFactory, TaxRateFactory, UserFactory
from webhooks import services as webhook_services

pytestmark = pytest.mark.django_db

API = "/api/v1"
PASSWORD = "pass-w0rd!"  # the user factory's
PDF = b"%PDF-1.4\n%%EOF\n"
ROLES = ("staff", "seller")
MAX_CASES = 48  # per operation and role
VALUES_PER_FIELD = 2  # hostile values tried on each body property, per role (the two roles draw different ones)
VALUES_PER_PARAMETER = 3
# HOSTILE_INPUT_EXHAUSTIVE=1: every value on every field and parameter, no cap (minutes; for a deep local run).
if os.environ.get("HOSTILE_INPUT_EXHAUSTIVE") == "1":
    MAX_CASES = VALUES_PER_FIELD = VALUES_PER_PARAMETER = 10**6
ROOT = str(Path(__file__).resolve().parents[2])

# The seed-native APIs under /compat/ answer in their own envelopes; compat/tests sweep them.
V1 = "/api/v1/"


# --- the schema -----------------------------------------------------------------------------------------------------


@functools.cache
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@functools.cache
def operations() -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, item in schema()["paths"].items()
        if path.startswith(V1)
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )


def operation(op: tuple[str, str]) -> dict:
    return schema()["paths"][op[1]][op[0].lower()]


def resolve(node: dict) -> dict:
    """A schema with its `$ref`, `allOf` of one and `oneOf` (a nullable reference) followed."""
    for _ in range(10):
        if "$ref" in node:
            node = {
                **schema()["components"]["schemas"][node["$ref"].split("/")[-1]],
                **{k: v for k, v in node.items() if k != "$ref"},
            }
        elif len(node.get("allOf", ())) == 1:
            node = {**resolve(node["allOf"][0]), **{k: v for k, v in node.items() if k != "allOf"}}
        elif "oneOf" in node:
            choices = [resolve(choice) for choice in node["oneOf"]]
            real = [c for c in choices if c.get("type") != "null" and c.get("enum") not in ([None], [""])]
            node = {**(real or choices)[0], "nullable": True}
        else:
            return node
    return node


def kind(node: dict) -> str:
    """What a property holds, as far as hostile values go."""
    node = resolve(node)
    if "enum" in node:
        return "enum"
    type_ = node.get("type")
    if type_ == "integer":
        return "integer"
    if type_ == "number" or node.get("format") == "decimal":
        return "decimal"
    if type_ == "boolean":
        return "boolean"
    if type_ == "array":
        return "array"
    if type_ == "object" or "properties" in node:
        return "object" if node.get("properties") else "free-object"
    if node.get("format") in ("date-time", "date"):
        return "datetime"
    if node.get("format") == "binary":
        return "binary"
    return "string"


def request_schema(op: tuple[str, str]) -> dict | None:
    content = operation(op).get("requestBody", {}).get("content", {})
    return resolve(content["application/json"]["schema"]) if "application/json" in content else None


# --- the data every operation names ------------------------------------------------------------------------------


class World:
    """Two users and one of everything, so that each path id and each reference in a body resolves."""

    STATE_OF_ACTION = {
        "submit": "draft",
        "ship": "confirmed",
        "complete": "in_delivery",
        "refund": "completed",
        "returns": "confirmed",
        "fulfillments": "confirmed",
        "tracking": "in_delivery",
        "invoices": "confirmed",  # a confirmed sale has units left to invoice
        "pdf": "invoiced",  # a confirmed sale with an issued invoice (records.md, "Invoices and credit notes")
    }

    def __init__(self) -> None:
        self.warehouse = default_warehouse()
        self.users = {"staff": StaffFactory(username="hostile-staff"), "seller": UserFactory(username="hostile-seller")}
        for user in self.users.values():
            user.user_permissions.add(*_refund_permission())
        self.variant = stocked_variant(1000, price=Decimal("10.00"))
        self.product = self.variant.product
        self.customer = CustomerFactory(email="carla@example.com")
        self.channel = ChannelFactory(code="web")
        self.carrier = CarrierFactory(code="dhl")
        self.tax = TaxRateFactory()
        self.group = ProductGroupFactory(code="shirts")
        # A store the seller sells in (records.md, "Stores, teams and devices"): `/stores/{id}/…` and a sale's `store`.
        self.store = Store.objects.create(code="hostile-store", name="Hostile store", warehouse=self.warehouse)
        StoreMembership.objects.create(store=self.store, user=self.users["seller"])
        self._sales: dict[str, Sale] = {}
        self.payment = sale_record_payment(
            sale=self.sale("pending"), amount=Decimal("1.00"), user=self.users["seller"], reference="HOSTILE-PAY"
        )
        # Only a pending payment moves (`/payments/{id}/status/`); the other payment routes take the one above.
        self.pending_payment = sale_record_payment(
            sale=self.sale("pending"),
            amount=Decimal("1.00"),
            user=self.users["seller"],
            reference="HOSTILE-PENDING",
            status=PaymentState.PENDING,
        )
        self.level = StockLevel.objects.get(variant=self.variant, warehouse=self.warehouse)
        # Money round 2: none applies to the world's sales by itself (another currency, a list no sale,
        # customer or channel names, a promotion taken only by its code).
        self.exchange_rate = exchange_rate_services.exchange_rate_create(
            currency="EUR", rate=Decimal("1.10000000"), valid_from=datetime(2020, 1, 1, tzinfo=UTC)
        )
        self.price_list = price_services.price_list_create(
            code="hostile-list",
            name="Hostile list",
            currency="USD",
            prices=[{"variant": self.variant, "price": Decimal("9.00"), "min_quantity": 1}],
        )
        self.promotion = promotion_services.promotion_create(
            name="Hostile ten", code="HOSTILE10", kind="percent", value=Decimal("10.00")
        )
        self.webhook = webhook_services.webhook_create(url="http://127.0.0.1:9/hostile", events=["*"])
        self.webhook_delivery = webhook_services.webhook_ping(webhook=self.webhook)

    def sale(self, state: str) -> Sale:
        """The seller's sale of 2 units in `state`, with an invoice."""
        if state not in self._sales:
            seller = self.users["seller"]
            sale = services.sale_create(
                seller=seller,
                data=services.NewSale(
                    items=[ItemData(variant=self.variant, quantity=2)],
                    customer=self.customer,
                    status={"in_delivery": "confirmed", "invoiced": "confirmed"}.get(state, state),
                ),
            )
            if state == "in_delivery":
                services.sale_ship(sale=sale, user=seller)
            services.sale_attach_invoice(sale=sale, user=seller, content=PDF, filename="a.pdf")
            if state == "invoiced":
                self.issued_invoice = sale_issue_invoice(sale=sale, user=seller)
            self._sales[state] = Sale.objects.get(pk=sale.pk)
        return self._sales[state]

    def path_params(self, op: tuple[str, str]) -> dict:
        parts = op[1].removeprefix(f"{API}/").strip("/").split("/")
        resource = parts[0]
        if resource == "sales":
            action = parts[-1] if len(parts) > 2 else ""
            sale = self.sale(self.STATE_OF_ACTION.get(action, "pending"))
            params = {"id": sale.pk, "item_id": sale.items.first().pk}
            if action == "tracking":
                params["fulfillment_id"] = sale.fulfillments.get().pk
            if action == "pdf":
                params["invoice_id"] = self.issued_invoice.pk
            return params
        if resource == "stores":
            return {"id": self.store.pk, "user_id": self.users["seller"].pk}
        if resource == "webhooks":
            return {"id": self.webhook.pk, "delivery_id": self.webhook_delivery.pk}
        ids = {
            "payments": self.payment.pk,
            "stock": self.level.pk,
            "customers": self.customer.pk,
            "products": self.product.pk,
            "variants": self.variant.pk,
            "warehouses": self.warehouse.pk,
            "channels": self.channel.pk,
            "carriers": self.carrier.pk,
            "taxes": self.tax.pk,
            "product-groups": self.group.pk,
            "exchange-rates": self.exchange_rate.pk,
            "price-lists": self.price_list.pk,
            "promotions": self.promotion.pk,
        }
        if resource == "payments" and parts[-1] == "status":
            return {"id": self.pending_payment.pk}
        return {"id": ids.get(resource, 1)}

    def good_values(self, op: tuple[str, str]) -> dict:
        """A valid value for each body property name the API uses (refined per operation below)."""
        sale = self.sale(self.STATE_OF_ACTION.get(op[1].rstrip("/").rsplit("/", 1)[-1], "pending"))
        creates_reference_data = op[0] in ("POST", "PUT") and not op[1].startswith(f"{API}/sales")
        values = {
            "variant": self.variant.pk,
            "product": self.product.pk,
            "customer": self.customer.pk,
            "sale": sale.pk,
            "user": self.users["seller"].pk,  # a payment recorded by staff for the seller
            "item": sale.items.first().pk,
            "seller": self.users["seller"].pk,
            "warehouse": self.warehouse.code,
            "channel": self.channel.code,
            "carrier": self.carrier.code,
            "tax": self.tax.code,
            "product_group": self.group.code,
            "product_groups": self.group.code,
            "price_list": self.price_list.code,
            "discount_code": self.promotion.code,
            "quantity": 1,
            "quantity_change": 1,
            "unit_price": "10.00",
            "price": "12.00",
            "cost_price": "5.00",
            "amount": "1.00",
            "discount": "0.00",
            "shipping_cost": "0.00",
            "rate": "5.00",
            "country": "IT",
            "currency": "USD",
            "email": "new@example.com",
            "phone": "+39 06 1234567",
            "code": "NEWCODE",
            "sku": "NEW-SKU-1",
            "name": "Name",
            "reference": "NEW-REF-1",
            "transaction_reference": "TX-NEW-1",
            "external_id": "EXT-1",
            "external_ref": "CRM-1",
            "username": self.users["seller"].username,
            "password": PASSWORD,
            "invoice": base64.b64encode(PDF).decode(),
            "filename": "b.pdf",
            "tracking_url": "https://track.example.com/T1",
            "tracking_url_template": "https://t.example.com/{code}",
            "tracking_code": "T1",
            "reason": REASON_OF_ACTION.get(op[1].rstrip("/").rsplit("/", 1)[-1], "count"),
            "restock": True,
            "refund": False,
            "is_default": False,
            "active": True,
            "prices_include_tax": False,
            # A fixed discount is money in the sale's currency (2 decimals in USD); a percent may have any decimals,
            # so with the schema's first choice (`percent`) a hostile "1.001" would be a valid discount.
            "discount_type": "fixed",
            # `custom` takes the body's `tax_amount` (money, checked against the currency); `default` ignores it.
            "tax_calculation": "custom",
            "tax_shipping": False,
            "attributes": {"colour": "red"},
            # Records round 2 (records.md): a store by its code, the POS terminal, flat string metadata, a URL,
            # a date (the schema's one datetime is not a date), grams.
            "store": self.store.code,
            "device": "POS-1",
            "metadata": {"erp": "A-1"},
            "image_url": "https://img.example.com/a.png",
            "due_date": "2024-08-01",
            "weight": 180,
            # Webhooks (events.md): a loopback receiver is a valid target outside production.
            "url": "http://127.0.0.1:9/hook",
            "events": "sale.created",
        }
        if op[1].startswith(f"{API}/payments/") and op[1].endswith("/status/"):
            values["status"] = "successful"
        elif op[1].endswith("/status/"):
            values["status"] = "confirmed"
        elif op == ("POST", f"{API}/sales/"):
            values["status"] = "pending"
        if op[1].startswith(f"{API}/exchange-rates"):
            values.update(currency="EUR", rate="1.10000000")  # the base currency (USD) has no rate
        if creates_reference_data and op[1].startswith(f"{API}/variants"):
            values["sku"] = "NEW-VARIANT-1"
        if op[1].startswith(f"{API}/payments/assign"):
            values.pop("reference")  # the sale is named by id here
        if not creates_reference_data and op[1].startswith(f"{API}/sales"):
            values["code"] = None
        return {name: value for name, value in values.items() if value is not None}


def _refund_permission():
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(codename="refund_sale", content_type__app_label="sales")


def build(node: dict, name: str, good: dict, depth: int = 0):
    """A valid value for a property, from the world's values by name and else from its schema."""
    node = resolve(node)
    what = kind(node)
    if name in good and what not in ("object", "array"):
        return good[name]
    if what == "enum":
        choices = [c for c in node["enum"] if c not in (None, "")]
        return choices[0] if choices else ""
    if what == "integer":
        return 1
    if what == "decimal":
        return "1.00"
    if what == "boolean":
        return False
    if what == "datetime":
        return "2024-07-18T04:37:29Z"
    if what == "array":
        if name in good and not isinstance(good[name], list | dict):
            return [good[name]]
        item = resolve(node.get("items", {}))
        return [build(item, name, good, depth + 1)] if depth < 3 else []
    if what == "object":
        if name in good and isinstance(good[name], dict):
            return good[name]
        return {
            key: build(prop, key, good, depth + 1)
            for key, prop in node["properties"].items()
            if not prop.get("readOnly") and kind(prop) != "binary"
        }
    if what == "free-object":
        return good.get(name, {})
    if what == "binary":
        return None
    text = "x" * max(int(node.get("minLength", 1)), 1)
    return text[: node.get("maxLength", len(text))]


def base_body(op: tuple[str, str], world: World) -> dict | None:
    """A body the operation accepts (as far as the schema and the world's names go)."""
    body_schema = request_schema(op)
    if body_schema is None:
        return None
    good = world.good_values(op)
    body = {}
    for name, prop in body_schema.get("properties", {}).items():
        if prop.get("readOnly") or kind(prop) == "binary":
            continue
        value = build(prop, name, good)
        if value is not None:
            body[name] = value
    return BASE_BODY_FIXES.get(op, lambda body, world: body)(body, world)


def _no_address_ids(body: dict, world: World) -> dict:
    for address in body.get("addresses", []):
        address.pop("id", None)
    return body


def _new_variants(body: dict, world: World) -> dict:
    for variant in body.get("variants", []):
        variant.pop("id", None)
    return body


def _the_default_variant(body: dict, world: World) -> dict:
    for variant in body.get("variants", []):
        variant.update(id=world.variant.pk, is_default=True, sku=world.variant.sku)
    return body


def _one_promotion_scope(body: dict, world: World) -> dict:
    """A promotion names the lines it applies to by the list of its scope only (here, the world's product),
    and ends after it starts (the schema's one datetime would give both ends the same moment)."""
    body = {k: v for k, v in body.items() if k != "product_groups"}
    return {**body, "applies_to": "products", "products": [world.product.pk], "ends_at": "2024-12-31T23:59:59Z"}


# `reason` is a choice on these operations, free text elsewhere.
REASON_OF_ACTION = {"cancel": "other", "cancel-items": "customer", "clone": "exchange"}

BASE_BODY_FIXES = {
    # A dispatch fulfilment's next step (the body would take the first tracking status, `ready_for_pickup`).
    ("POST", f"{API}/sales/{{id}}/fulfillments/{{fulfillment_id}}/tracking/"): lambda body, world: {
        **body, "status": "in_transit"
    },
    ("POST", f"{API}/products/"): _new_variants,
    ("PUT", f"{API}/products/{{id}}/"): _the_default_variant,
    ("PATCH", f"{API}/products/{{id}}/"): _the_default_variant,
    # The world's variant is its product's default, and stays it.
    ("PUT", f"{API}/variants/{{id}}/"): lambda body, world: {**body, "is_default": True},
    ("PATCH", f"{API}/variants/{{id}}/"): lambda body, world: {**body, "is_default": True},
    # Assign by sale id (the body takes `sale` or `reference`, not both).
    ("POST", f"{API}/payments/assign/"): lambda body, world: {k: v for k, v in body.items() if k != "reference"},
    ("POST", f"{API}/sales/{{id}}/payments/"): lambda body, world: {**body, "reference": "PAY-NEW-1"},
    ("POST", f"{API}/payments/"): lambda body, world: {**body, "reference": "PAY-NEW-2"},
    ("POST", f"{API}/customers/"): _no_address_ids,
    ("PUT", f"{API}/customers/{{id}}/"): _no_address_ids,
    ("PATCH", f"{API}/customers/{{id}}/"): _no_address_ids,
    ("POST", f"{API}/promotions/"): _one_promotion_scope,
    ("PUT", f"{API}/promotions/{{id}}/"): _one_promotion_scope,
    ("PATCH", f"{API}/promotions/{{id}}/"): _one_promotion_scope,
    # The invoice takes `file` (multipart) or `invoice` + `filename` (JSON).
    ("POST", f"{API}/sales/{{id}}/invoice/"): lambda body, world: {
        k: v for k, v in body.items() if k in ("invoice", "filename")
    },
}


# --- hostile values ------------------------------------------------------------------------------------------------


class Raw:
    """A JSON token written as is (json.dumps cannot write `1E+999999`)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"raw:{self.text}"


@dataclass(frozen=True)
class Hostile:
    value: object
    refuse: bool  # the contract refuses it: a 2xx is a failure too
    label: str = ""

    def __str__(self) -> str:
        return self.label or _short(self.value)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}…({len(text)} chars)"


LONG = "x" * 10_000
DECIMALS = [
    Hostile("1e-999999", True),
    Hostile("1E+999999", True),
    Hostile(Raw("1E+999999"), True),
    Hostile(Raw("1e-999999"), True),
    Hostile("99999999999999999999.99", True),
    Hostile(Raw("99999999999999999999.99"), True),
    Hostile("-0", False),
    Hostile("NaN", True),
    Hostile("Infinity", True),
    Hostile("-Infinity", True),
    Hostile("1e3", False),
    Hostile(Raw("1e3"), False),
    Hostile("1.001", True),
    Hostile(2**70, True),
    Hostile("", True),
    Hostile([], True),
    Hostile({}, True),
    Hostile("٣", False, "arabic-indic 3"),  # Decimal() reads any Unicode digit; harmless
    Hostile(True, True),
]
INTEGERS = [
    Hostile(4.9, True),
    Hostile("4.9", True),
    Hostile(4.0, True),
    Hostile(2**70, True),
    Hostile(-(2**70), True),
    Hostile(2**63, True),
    Hostile(Raw("1e3"), True),
    Hostile(Raw("1E+999999"), True),
    Hostile("1e3", True),
    Hostile(-1, False),
    Hostile(0, False),
    Hostile("", True),
    Hostile(True, True),
    Hostile([1], True),
    Hostile({"id": 1}, True),
    Hostile("٤", True),
    Hostile("9" * 5000, True),
]
STRINGS = [
    Hostile("a\x00b", True, "NUL"),
    Hostile("\ud800", True, "lone surrogate"),
    Hostile("\udfff\ud800", True, "reversed surrogates"),
    Hostile("\u202eevil", False, "RTL override"),
    Hostile("\U0001f600\U0001f4b8", False, "emoji"),
    Hostile("\u200b", False, "zero-width space"),
    Hostile("x\u200dy\ufeff", False, "zero-width joiner and BOM"),
    Hostile(LONG, False, "10k chars"),
    Hostile("", False),
    Hostile(" ", False),
    Hostile({"a": 1}, True),
    Hostile(["a"], True),
    Hostile(4.9, False),
    Hostile("\\" * 3 + "%00'\";--", False, "quotes"),
]
ENUMS = [
    Hostile("bogus", True),
    Hostile("a\x00", True, "NUL"),
    Hostile(LONG, True, "10k chars"),
    Hostile(["pending"], True),
    Hostile({"a": 1}, True),
    Hostile(1, True),
]
BOOLEANS = [Hostile("maybe", True), Hostile(2, True), Hostile([], True), Hostile({}, True)]
DATETIMES = [
    Hostile("2024-02-30T00:00:00Z", True),
    Hostile("99999-01-01T00:00:00Z", True),
    Hostile("0001-01-01T00:00:00+01:00", False),
    Hostile("9999-12-31T23:59:59-01:00", False),
    Hostile("2024-01-01T00:00:00+99:00", True),
    Hostile("2024-01-01T00:00:00+23:59", False),
    Hostile("a\x00", True, "NUL"),
    Hostile(1e308, True),
    Hostile({}, True),
]
ARRAYS = [
    Hostile({}, True),
    Hostile("x", True),
    Hostile([None], True),
    Hostile([[[[]]]], True),
    Hostile(list(range(2_000)), True, "2000 ints"),
]
OBJECTS = [Hostile([], True), Hostile("x", True), Hostile(1, True), Hostile([{}], True)]
FREE_OBJECTS = [
    Hostile({"a\x00": 1}, True, "NUL key"),
    Hostile({"a": "\ud800"}, True, "surrogate value"),
    Hostile({"a": Raw("1E+999999")}, True, "overflowing number"),
    Hostile({"k": LONG}, False, "10k value"),
]
BY_KIND = {
    "decimal": DECIMALS,
    "integer": INTEGERS,
    "string": STRINGS,
    "enum": ENUMS,
    "boolean": BOOLEANS,
    "datetime": DATETIMES,
    "array": ARRAYS,
    "object": OBJECTS,
    "free-object": FREE_OBJECTS,
}


def hostile_values(node: dict, name: str) -> list[Hostile]:
    node = resolve(node)
    what = kind(node)
    values = list(BY_KIND.get(what, []))
    if what == "string" and node.get("maxLength", 10**9) < len(LONG):
        values = [Hostile(v.value, True, v.label) if v.label == "10k chars" else v for v in values]
    if what == "decimal" and r"\.\d{0,8})" in node.get("pattern", ""):  # an exchange rate: 8 decimals are valid
        values = [Hostile(v.value, False, v.label) if v.value == "1.001" else v for v in values]
    if node.get("nullable"):  # an empty string may stand for null there
        values = [Hostile(v.value, False, v.label) if v.value == "" else v for v in values]
    elif what == "string" and node.get("minLength", 0) > 0:
        values = [Hostile(v.value, True, v.label) if v.value == "" else v for v in values]
    return values


def body_paths(node: dict, prefix: tuple = (), depth: int = 0):
    """(path, property schema) for every property of a body, nested objects and first array items included."""
    for name, prop in resolve(node).get("properties", {}).items():
        prop = resolve(prop)
        if prop.get("readOnly") or kind(prop) == "binary":
            continue
        path = (*prefix, name)
        yield path, prop
        if depth < 2:
            if kind(prop) == "object":
                yield from body_paths(prop, path, depth + 1)
            elif kind(prop) == "array" and kind(prop.get("items", {})) == "object":
                yield from body_paths(prop["items"], (*path, 0), depth + 1)


def with_value(body: dict, path: tuple, value) -> dict:
    """A copy of `body` with `value` at `path`, building the containers on the way where the body has none."""
    body = copy.deepcopy(body)
    node = body
    for step, following in itertools.pairwise(path):
        if isinstance(node, list):
            while len(node) <= step:
                node.append({})
            node = node[step]
            continue
        if not isinstance(node.get(step), dict | list):
            node[step] = [] if isinstance(following, int) else {}
        node = node[step]
    if isinstance(node, list):
        while len(node) <= path[-1]:
            node.append({})
    node[path[-1]] = value
    return body


def dumps(body) -> str:
    """JSON with `Raw` tokens written as they are (and lone surrogates escaped, as json.dumps does)."""
    raws: list[str] = []

    def default(value):
        if isinstance(value, Raw):
            raws.append(value.text)
            return f"\x01RAW{len(raws) - 1}\x01"
        raise TypeError(type(value))

    text = json.dumps(body, default=default)
    for index, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x01RAW{index}\x01"), raw)
    return text


# Query parameter values, written as they travel in the URL (percent-encoded here when not plain text).
MONEY_QUERY = [
    Hostile("1e-999999", True),
    Hostile("1E%2B999999", True, "1E+999999"),
    Hostile("99999999999999999999.99", True),
    Hostile("NaN", True),
    Hostile("Infinity", True),
    Hostile("-0", False),
    Hostile("1e3", True),
    Hostile("1.001", True),
    Hostile("9" * 5000, True, "5000 digits"),
]
ID_QUERY = [
    Hostile("4.9", True),
    Hostile(str(2**80), False),
    Hostile(str(-(2**80)), False),
    Hostile("-1", False),
    Hostile("1e3", True),
    Hostile("%D9%A4", True, "arabic-indic 4"),
    Hostile("9" * 5000, True, "5000 digits"),
    Hostile("0x10", True),
]
PAGE_QUERY = [
    Hostile("0", False),
    Hostile("-1", False),
    Hostile(str(2**80), False),
    Hostile("4.9", False),
    Hostile("9" * 5000, False, "5000 digits"),
    Hostile("1e3", False),
]
TEXT_QUERY = [
    Hostile("%00", True, "NUL"),
    Hostile("a%00b", True, "NUL inside"),
    Hostile("%ED%A0%80", False, "encoded surrogate"),
    Hostile("%FF%FE", False, "invalid UTF-8"),
    Hostile("x" * 10_000, False, "10k chars"),
    Hostile("%E2%80%AEevil", False, "RTL override"),
    Hostile("%F0%9F%98%80", False, "emoji"),
    Hostile("%E2%80%8B", False, "zero-width space"),
    Hostile("%25%27%22%3B--", False, "quotes"),
]
DATE_QUERY = [
    Hostile("2024-02-30", True),
    Hostile("99999-01-01", True),
    Hostile("0001-01-01T00:00:00%2B01:00", False),
    Hostile("9999-12-31T23:59:59-01:00", False),
    Hostile("2024-01-01T00:00:00%2B99:00", True),
    Hostile("%00", True, "NUL"),
    Hostile("1e999999", True),
]
BOOLEAN_QUERY = [Hostile("maybe", True), Hostile("2", True), Hostile("%00", True, "NUL")]
CHOICE_QUERY = [Hostile("bogus", True), Hostile("%00", True, "NUL"), Hostile("x" * 10_000, True, "10k chars")]


def _cursor(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


CURSOR_QUERY = [
    Hostile(
        _cursor({"o": ["-created_at", "-id"], "v": ["2024-01-01T00:00:00Z", "1E+999999"], "b": False}),
        True,
        "cursor id 1E+999999",
    ),
    Hostile(_cursor({"o": ["-created_at", "-id"], "v": ["99999-01-01", "1"], "b": False}), True, "cursor year 99999"),
    Hostile(
        _cursor({"o": ["-created_at", "-id"], "v": ["2024-01-01T00:00:00Z", str(2**80)], "b": False}),
        True,
        "cursor id 2**80",
    ),
    Hostile(_cursor({"o": ["-id"], "v": [str(2**80)], "b": False}), True, "cursor id only 2**80"),
    Hostile(base64.urlsafe_b64encode(b"[" * 5_000).decode(), True, "cursor deep JSON"),
    Hostile("%00", True, "NUL"),
    Hostile("!!!", True, "not base64"),
]


def query_values(param: dict) -> list[Hostile]:
    name, node = param["name"], resolve(param.get("schema", {}))
    if name == "cursor":
        return CURSOR_QUERY
    if name in ("page", "page_size", "limit"):
        return PAGE_QUERY
    if name == "ordering":
        return [
            Hostile("bogus", True),
            Hostile("-bogus", True),
            Hostile("%00", True, "NUL"),
            Hostile("?", True),
            Hostile("customer__name", True),
        ]
    what = kind(node)
    if what == "array":
        what = kind(node.get("items", {}))
        if what == "enum":
            return CHOICE_QUERY
    if what == "decimal":
        return MONEY_QUERY
    if what == "integer":
        return ID_QUERY
    if what == "boolean":
        return BOOLEAN_QUERY
    if what == "datetime":
        return DATE_QUERY
    if what == "enum":
        return CHOICE_QUERY
    return TEXT_QUERY


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PATH_IDS = [
    Hostile(str(2**80), True),
    Hostile("0", True),
    Hostile("-1", True),
    Hostile("4.9", True),
    Hostile("9" * 400, True, "400 digits"),
    Hostile("%00", True, "NUL"),
    Hostile("1e3", True),
    Hostile("%D9%A4", True, "arabic-indic 4"),
    # The row's own id in Arabic-Indic digits: Python's int() reads it, the API must not.
    Hostile(lambda real: quote(str(real).translate(ARABIC_INDIC)), True, "the real id in arabic-indic digits"),
    Hostile(lambda real: f"{real}%00", True, "the real id and NUL"),
]


# --- cases ------------------------------------------------------------------------------------------------------------


class Unread(io.RawIOBase):
    """A body declared by Content-Length that the server must refuse without reading."""

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        raise AssertionError("an oversized body was read")

    def readline(self, limit: int = -1) -> bytes:
        raise AssertionError("an oversized body was read")


@dataclass
class Case:
    label: str
    refuse: bool = False
    body: object = None  # a dict (dumped with `dumps`), raw bytes, or None
    content_type: str = "application/json"
    query: str = ""
    path: dict = field(default_factory=dict)  # path parameters replacing the real ones
    declared_length: int | None = None  # Content-Length of an unread body
    expect_code: str | None = None  # an error code that must be among the answer's
    headers: dict = field(default_factory=dict)  # extra request headers, as WSGI environ keys


def cases_for(op: tuple[str, str], role: str, world: World) -> list[Case]:
    rng = random.Random(f"{op[0]} {op[1]} {role}")
    method = op[0]
    spec = operation(op)
    cases: list[Case] = []
    body = base_body(op, world)
    sends_body = method in ("POST", "PUT", "PATCH")

    if sends_body:
        cases.append(Case("the valid base request", body=body if body is not None else {}))
    if body is not None:
        for path, prop in body_paths(request_schema(op)):
            values = hostile_values(prop, path[-1])
            for hostile in rng.sample(values, min(VALUES_PER_FIELD, len(values))):
                label = f"body {'.'.join(map(str, path))}={hostile}"
                cases.append(Case(label, hostile.refuse, body=with_value(body, path, hostile.value)))
    if sends_body:
        base = body if body is not None else {}
        cases += [
            Case("an unknown body field", True, body={**base, "hostile_unknown_field": 1}, expect_code="unknown_field"),
            Case("body nested 10,000 levels", True, body=b"[" * 10_000, expect_code="parse_error"),
            Case(
                "body nested 33 levels",
                True,
                body=dumps({"a": functools.reduce(lambda v, _: [v], range(32), 1)}),
                expect_code="parse_error",
            ),
            Case(
                "a 16 MiB body (Content-Length)",
                True,
                declared_length=16 * 1024 * 1024,
                expect_code="request_too_large",
            ),
            Case("body is not UTF-8", True, body=b'{"note": "\xff\xfe\xed\xa0\x80"}', expect_code="parse_error"),
            Case("body is a JSON number that overflows", True, body=b"1E+999999"),
        ]
        cases.append(
            rng.choice(
                [
                    Case("body is a list", True, body=b"[{}]"),
                    Case("body is null", True, body=b"null"),
                    Case("body is a number", True, body=b"4.9"),
                    Case("body is a string", True, body=b'"x"'),
                ]
            )
        )
        cases.append(
            rng.choice(
                [
                    Case(
                        "body as text/plain",
                        True,
                        body=b"{}",
                        content_type="text/plain",
                        expect_code="unsupported_media_type",
                    ),
                    Case(
                        "body as XML",
                        True,
                        body=b"<a/>",
                        content_type="application/xml",
                        expect_code="unsupported_media_type",
                    ),
                ]
            )
        )
        base_json = dumps(base).encode()
        cases.append(
            rng.choice(
                [
                    Case("charset bz2_codec", True, body=base_json, content_type="application/json; charset=bz2_codec"),
                    Case(
                        "charset nope (ignored: read as UTF-8)",
                        False,
                        body=base_json,
                        content_type="application/json; charset=nope",
                    ),
                    Case(
                        "charset utf-16 on UTF-8 bytes",
                        True,
                        body=base_json,
                        content_type="application/json; charset=utf-16",
                    ),
                ]
            )
        )
    if method == "POST":
        cases.append(
            rng.choice(
                [
                    Case("Idempotency-Key of 300 chars", True, body=body, headers={"HTTP_IDEMPOTENCY_KEY": "k" * 300}),
                    Case(
                        "Idempotency-Key with NUL",
                        True,
                        body=body,
                        headers={"HTTP_IDEMPOTENCY_KEY": "k\x00"},
                        expect_code="null_characters_not_allowed",
                    ),
                ]
            )
        )
    cases.append(Case("Accept: application/xml", False, body=body, headers={"HTTP_ACCEPT": "application/xml"}))

    for param in spec.get("parameters", []):
        if param["in"] != "query":
            continue
        values = query_values(param)
        for hostile in rng.sample(values, min(VALUES_PER_PARAMETER, len(values))):
            refuse = hostile.refuse
            cases.append(Case(f"query {param['name']}={hostile}", refuse, query=f"{param['name']}={hostile.value}"))
    if method == "GET" and not any(p["in"] == "path" for p in spec.get("parameters", [])):
        cases.append(
            Case("query NUL in a parameter name", True, query="a%00=1", expect_code="null_characters_not_allowed")
        )
        cases.append(
            Case(
                "1,100 query parameters",
                True,
                query="&".join(f"p{i}=1" for i in range(1_100)),
                expect_code="too_many_fields",
            )
        )

    for param in spec.get("parameters", []):
        if param["in"] == "path":
            for hostile in rng.sample(PATH_IDS, min(2 * VALUES_PER_FIELD, len(PATH_IDS))):
                cases.append(
                    Case(f"path {param['name']}={hostile}", True, body=body, path={param["name"]: hostile.value})
                )

    if len(cases) > MAX_CASES:  # the valid request first, then a fixed sample of the rest
        cases = cases[:1] + rng.sample(cases[1:], MAX_CASES - 1)
    return cases


# --- sending and judging -------------------------------------------------------------------------------------------


def client_for(world: World, role: str) -> APIClient:
    client = APIClient(raise_request_exception=False)
    token, _ = Token.objects.get_or_create(user=world.users[role])
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
    return client


def send(client: APIClient, op: tuple[str, str], world: World, case: Case):
    method, template = op
    real = world.path_params(op)
    params = {**real, **{name: value(real[name]) if callable(value) else value for name, value in case.path.items()}}
    url = template.format(**params)
    if case.query:
        url = f"{url}?{case.query}"
    if case.declared_length is not None:
        return client.generic(
            method,
            url,
            b"",
            case.content_type,
            CONTENT_LENGTH=str(case.declared_length),
            **{"wsgi.input": Unread()},
            **case.headers,
        )
    if case.body is None:
        return client.generic(method, url, **case.headers)
    data = case.body if isinstance(case.body, bytes | str) else dumps(case.body)
    if isinstance(data, str):
        data = data.encode()
    return client.generic(method, url, data, content_type=case.content_type, **case.headers)


def where(response) -> str:
    """The exception of a 5xx and the last line of project code it passed through."""
    info = getattr(response, "exc_info", None)
    if not info:
        return ""
    frames = [f for f in traceback.extract_tb(info[2]) if f.filename.startswith(ROOT) and "/.venv/" not in f.filename]
    last = frames[-1] if frames else traceback.extract_tb(info[2])[-1]
    return (
        f" — {info[0].__name__}: {str(info[1])[:160]} at {last.filename.removeprefix(ROOT + '/')}:{last.lineno} "
        f"({last.line})"
    )


def judge(response, case: Case) -> str | None:
    """What is wrong with the answer, or None."""
    status = response.status_code
    if status >= 500:
        return f"{status}{where(response)}"
    if status >= 400:
        try:
            body = json.loads(b"".join(response) if response.streaming else response.content)
        except ValueError:
            return f"{status} without a JSON body: {response.content[:120]!r}"
        if not (
            isinstance(body, dict)
            and set(body) == {"type", "errors", "request_id"}
            and isinstance(body["errors"], list)
            and body["errors"]
            and body["type"] in ("client_error", "validation_error")
            and all(
                isinstance(e, dict)
                and {"code", "detail", "attr"} <= set(e)
                and isinstance(e["code"], str)
                and isinstance(e["detail"], str)
                for e in body["errors"]
            )
        ):
            return f"{status} without the error shape: {str(body)[:200]}"
        if (
            case.expect_code
            and status not in (401, 403, 404, 405)
            and case.expect_code not in [e["code"] for e in body["errors"]]
        ):
            return f"{status} {[e['code'] for e in body['errors']]}, expected {case.expect_code}"
        return None
    if case.refuse:
        return f"{status}: accepted, but the contract refuses it"
    return None


def run(op: tuple[str, str], role: str, world: World) -> tuple[list[str], dict]:
    client = client_for(world, role)
    failures = []
    statuses: dict[int, int] = {}
    world.path_params(op)  # the objects the path names exist before the first case, which is rolled back
    for case in cases_for(op, role, world):
        with transaction.atomic():
            response = send(client, op, world, case)
            transaction.set_rollback(True)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.streaming:
            response.close()
        problem = judge(response, case)
        if problem:
            failures.append(f"{op[0]} {op[1]} as {role}: {case.label} → {problem}")
    return failures, statuses


# --- the tests -----------------------------------------------------------------------------------------------------


@pytest.fixture
def world() -> World:
    return World()


def test_the_sweep_covers_every_operation_of_the_schema(world):
    counts = {op: [len(cases_for(op, role, world)) for role in ROLES] for op in operations()}

    assert len(counts) >= 80, "the schema lost operations"
    assert all(min(n) >= 2 for n in counts.values()), [op for op, n in counts.items() if min(n) < 2]
    assert all(max(n) <= MAX_CASES for n in counts.values())


def test_the_cases_are_deterministic(world):
    op = ("POST", f"{API}/sales/")

    first = [case.label for case in cases_for(op, "staff", world)]
    second = [case.label for case in cases_for(op, "staff", world)]

    assert first == second


def test_the_valid_base_requests_are_accepted_as_staff(world):
    """The sweep's control: a hostile value put into a valid request tests that value, not a missing field."""
    client = client_for(world, "staff")
    refused = []
    for op in operations():
        if op[0] not in ("POST", "PUT", "PATCH"):
            continue
        world.path_params(op)
        case = cases_for(op, "staff", world)[0]
        with transaction.atomic():
            response = send(client, op, world, case)
            transaction.set_rollback(True)
        if response.status_code >= 300:
            refused.append(f"{op[0]} {op[1]}: {response.status_code} {response.content[:300]!r}")

    assert refused == [], "\n" + "\n".join(refused)


@pytest.mark.parametrize("op", operations(), ids=lambda op: f"{op[0]} {op[1].removeprefix(API)}")
def test_hostile_input_is_never_a_server_error(op, world):
    failures = []
    for role in ROLES:
        found, _ = run(op, role, world)
        failures += found

    assert failures == [], "\n" + "\n".join(failures)
