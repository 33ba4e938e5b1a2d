"""OpenAPI: the error bodies the server really produces, for every operation that can produce them.

Also what a generated client and the docs need on every operation: a resource tag and a summary (derived from the
path and the action unless the view gives one), the `Idempotency-Key` header, and no internal docstrings as
descriptions; `postprocess_schema` then fixes what only the whole document shows (integer path ids, nullable
references, the replay and request-id headers, named query enums, required response fields, examples).
"""

import json
import re

from drf_spectacular.plumbing import get_doc
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from drf_standardized_errors.handler import exception_handler as standardized_errors_handler
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from rest_framework import serializers

from salesproject.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from salesproject.api.idempotency import IdempotentMixin
from salesproject.middleware import REQUEST_ID_HEADER


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ConflictErrorSerializer(ErrorSerializer):
    requested = serializers.IntegerField(required=False, help_text="insufficient_stock: units asked for.")
    available = serializers.IntegerField(required=False, help_text="insufficient_stock: units available.")


class BadRequestResponseSerializer(serializers.Serializer):
    """A validation error (one entry per field, dotted paths: `invalid`, `required`, `invalid_choice`,
    `unknown_field`, `amount_too_large`, `max_decimal_places`, `no_price`, `exchange_rate_missing`,
    `invalid_discount_code`, …) or a malformed request (`parse_error`)."""

    type = serializers.ChoiceField(choices=["validation_error", "client_error"])
    errors = ErrorSerializer(many=True)


class ConflictResponseSerializer(serializers.Serializer):
    """insufficient_stock, invalid_transition, sale_locked, sale_has_history, refund_exceeds_paid, payment_required,
    invalid_discount_code (the last use of a code taken meanwhile),
    duplicate_reference, already_assigned, in_use, idempotency_conflict, idempotency_in_progress, conflict."""

    type = serializers.ChoiceField(choices=["client_error"])
    errors = ConflictErrorSerializer(many=True)


class ServiceUnavailableResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["server_error"])
    errors = ErrorSerializer(many=True)


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# POSTs that can give money back, which needs `sales.refund_sale` (403 without it), and those only staff may
# run on a sale they can see (lock, unlock).
MONEY_BACK_SUFFIXES = ("/refund/", "/status/", "/payments/", "/returns/", "/payments/assign/")
PERMISSION_SUFFIXES = (*MONEY_BACK_SUFFIXES, "/lock/", "/unlock/")

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "Any unique string (a UUID, say). Retrying with the same key and body returns the first response "
        "(marked `Idempotent-Replayed: true`) instead of doing the work twice; the same key with another body "
        "is a 409 `idempotency_conflict`. Keys are kept at least 24 hours."
    ),
)

# First path segment under /api/v1/ -> (tag, singular noun, plural noun).
RESOURCES = {
    "sales": ("Sales", "sale", "sales"),
    "payments": ("Payments", "payment", "payments"),
    "products": ("Products", "product", "products"),
    "variants": ("Variants", "variant", "variants"),
    "stock": ("Stock", "stock level", "stock levels"),
    "warehouses": ("Warehouses", "warehouse", "warehouses"),
    "customers": ("Customers", "customer", "customers"),
    "carriers": ("Reference data", "carrier", "carriers"),
    "channels": ("Reference data", "sales channel", "sales channels"),
    "taxes": ("Reference data", "tax rate", "tax rates"),
    "product-groups": ("Reference data", "product group", "product groups"),
    "auth": ("Auth", "token", "tokens"),
    "webhooks": ("Webhooks", "webhook subscription", "webhook subscriptions"),
    "events": ("Events", "event", "events"),
}
TAGS = [
    {"name": "Sales", "description": "Sales, their items and their lifecycle (submit, confirm, ship, complete, ...)."},
    {"name": "Sale payments", "description": "Payments and refunds recorded on one sale."},
    {"name": "Fulfilments", "description": "Parcels and pick-ups of a sale's units, and their tracking."},
    {"name": "Payments", "description": "All payments and refunds; assigning a transaction to a sale."},
    {"name": "Products", "description": "The catalogue: products with their variants (writes are staff-only)."},
    {"name": "Variants", "description": "Sellable variants (SKUs) of products (writes are staff-only)."},
    {"name": "Stock", "description": "Stock levels per variant and warehouse, goods received, corrections, ledger."},
    {"name": "Warehouses", "description": "Warehouses stock is held in (writes are staff-only)."},
    {"name": "Customers", "description": "Customers and their addresses."},
    {"name": "Reference data", "description": "Sales channels, carriers, tax rates and product groups."},
    {"name": "Webhooks", "description": "Signed POSTs of events to your URLs, with retries (staff only)."},
    {"name": "Events", "description": "What changed, newest first: the feed webhooks deliver, for polling."},
    {"name": "Auth", "description": "Get an API token for `Authorization: Bearer <token>`."},
    {"name": "API root", "description": "Links to every resource."},
]

# Summaries a derived one would get wrong, by (method, path under /api/v1/).
SUMMARIES = {
    ("GET", ""): "Links to every resource",
    ("POST", "auth/token/"): "Get an API token",
    ("GET", "sales/summary/"): "Count and total the sales matching the list's filters",
    ("GET", "sales/{id}/activity/"): "A sale's activity log",
    ("GET", "sales/{id}/transitions/"): "The statuses a sale can move to now",
    ("POST", "sales/{id}/status/"): "Move a sale to a status",
    ("POST", "sales/{id}/submit/"): "Submit a draft sale",
    ("POST", "sales/{id}/confirm/"): "Confirm a sale (reserves its stock)",
    ("POST", "sales/{id}/ship/"): "Ship a sale",
    ("POST", "sales/{id}/complete/"): "Complete a shipped sale",
    ("POST", "sales/{id}/cancel/"): "Cancel a sale",
    ("POST", "sales/{id}/reject/"): "Reject a sale",
    ("POST", "sales/{id}/refund/"): "Refund a sale",
    ("POST", "sales/{id}/returns/"): "Return items of a sale",
    ("GET", "sales/{id}/invoice/"): "A sale's invoice",
    ("POST", "sales/{id}/invoice/"): "Attach an invoice to a sale",
    ("PATCH", "sales/{id}/items/{item_id}/"): "Change a sale item's fulfilment fields",
    ("GET", "sales/{id}/payments/"): "List a sale's payments and refunds",
    ("POST", "sales/{id}/payments/"): "Record a payment or refund on a sale",
    ("POST", "payments/"): "Record a payment or refund",
    ("POST", "payments/assign/"): "Assign a transaction to a sale",
    ("POST", "stock/adjust/"): "Correct on-hand stock after a count",
    ("POST", "stock/receive/"): "Book goods received into a warehouse",
    ("GET", "stock/movements/"): "The stock ledger, newest first",
}
ACTION_SUMMARIES = {
    "list": "List {plural}",
    "create": "Create a {singular}",
    "retrieve": "Get a {singular}",
    "update": "Replace a {singular}",
    "partial_update": "Change a {singular}",
    "destroy": "Delete a {singular}",
}
API_PREFIX = "/api/v1/"


def _relative(path: str) -> str:
    return path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else path.lstrip("/")


def tag_for_path(path: str) -> str:
    relative = _relative(path)
    first = relative.split("/", 1)[0]
    if first == "sales" and relative.startswith("sales/{id}/payments/"):
        return "Sale payments"
    if first == "sales" and relative.startswith("sales/{id}/fulfillments/"):
        return "Fulfilments"
    return RESOURCES[first][0] if first in RESOURCES else "API root"


def summary_for(path: str, method: str, action: str | None) -> str:
    relative = _relative(path)
    if (method, relative) in SUMMARIES:
        return SUMMARIES[(method, relative)]
    _, singular, plural = RESOURCES.get(relative.split("/", 1)[0], ("", "resource", "resources"))
    template = ACTION_SUMMARIES.get(action or "")
    if template:
        return template.format(singular=singular, plural=plural)
    words = (action or method.lower()).replace("_", " ")
    return f"{words[0].upper()}{words[1:]} ({plural})"


class AutoSchema(StandardizedErrorsAutoSchema):
    """drf-standardized-errors' schema, with 409 on writes and 503 everywhere."""

    def get_tags(self) -> list[str]:
        return [tag_for_path(self.path)]

    def get_summary(self) -> str | None:
        return summary_for(self.path, self.method, getattr(self.view, "action", None))

    def get_description(self) -> str:
        action_or_method = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        action_doc = get_doc(action_or_method)
        if action_doc:
            return action_doc
        # A docstring inherited from a shared base (the idempotency mixin, DRF's generics) describes code, not the
        # operation: only a docstring the view's own class (or an app's base view) wrote is shown.
        for klass in type(self.view).__mro__:
            if klass.__dict__.get("__doc__"):
                internal = klass.__module__.startswith(("salesproject.", "rest_framework.", "django."))
                return "" if internal else get_doc(klass)
        return ""

    def get_override_parameters(self) -> list:
        parameters = list(super().get_override_parameters())
        if self.method == "POST" and isinstance(self.view, IdempotentMixin):
            parameters.append(IDEMPOTENCY_KEY_PARAMETER)
        return parameters

    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if status_code == "403" and self.method == "POST" and self.path.endswith(PERMISSION_SUFFIXES):
            # Giving money back needs `sales.refund_sale`, locking needs staff: the service refuses with 403,
            # not the permission class.
            return self.view.get_exception_handler() is standardized_errors_handler and "403" not in responses
        if status_code == "409" and self.method not in WRITE_METHODS:
            return False
        return super()._should_add_error_response(responses, status_code)


REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored response of an earlier request with the same `Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}

SALE_CREATE_DESCRIPTION = (
    "Record a sale: its items (by variant id, with the price you charged or the catalogue price), an optional "
    "order discount (`fixed` amount or `percent`), tax, and payments already taken. A sale created `pending` holds "
    "no stock yet; confirming it reserves stock. Money is a decimal string with 2 places; totals are computed by the "
    "server. Send `Idempotency-Key` so a retry after a timeout never makes a second sale."
)

# The create-sale example in the docs: a real request and the server's answer (ids and times made up).
SALE_CREATE_REQUEST = {
    "reference": "POS-170652348409",
    "customer": 42,
    "channel": "pos",
    "tax": "vat20",
    "prices_include_tax": True,
    "discount": "10.00",
    "discount_type": "percent",
    "items": [{"variant": 311, "quantity": 2, "unit_price": "19.99"}, {"variant": 312, "quantity": 1}],
    "payments": [{"amount": "20.00", "method": "card", "reference": "CARD-8F3K2Q"}],
    "note": "Gift wrap, please.",
    "tags": ["walk-in"],
}
SALE_CREATE_RESPONSE = {
    "id": 1287,
    "number": 1287,
    "reference": "POS-170652348409",
    "external_id": "",
    "status": "pending",
    "payment_status": "partially_paid",
    "fulfillment_status": "unfulfilled",
    "delivery_status": "none",
    "invoice_status": "not_invoiced",
    "return_status": "none",
    "cancellation_status": "none",
    "seller": {"id": 7, "username": "alice"},
    "customer": {"id": 42, "name": "Ada Lovelace", "email": "ada@example.com"},
    "channel": "pos",
    "warehouse": "MAIN",
    "currency": "USD",
    "items": [
        {
            "id": 4410,
            "product": 118,
            "variant": 311,
            "sku": "TSHIRT-M-BLK",
            "name": "T-shirt, black, M",
            "item_type": "standard",
            "unit": "pcs",
            "variant_name": "Black, M",
            "image_url": "https://img.example.com/tshirt-black.png",
            "weight": 180,
            "cost_price": "7.40",
            "cost_total": "14.80",
            "profit": "15.18",
            "tax": None,
            "tax_rate": "20.00",
            "tax_included": True,
            "quantity": 2,
            "unit_price": "19.99",
            "discount": "0.00",
            "discount_type": "fixed",
            "subtotal": "39.98",
            "discount_total": "4.00",
            "tax_total": "6.00",
            "total": "35.98",
            "quantity_cancelled": 0,
            "quantity_fulfilled": 0,
            "quantity_returned": 0,
            "warehouse": "MAIN",
            "carrier": None,
            "tracking_code": "",
            "tracking_url": "",
            "product_group": None,
        },
        {
            "id": 4411,
            "product": 119,
            "variant": 312,
            "sku": "MUG-350-WHT",
            "name": "Mug, white, 350 ml",
            "item_type": "standard",
            "unit": "pcs",
            "variant_name": "White, 350 ml",
            "image_url": "",
            "weight": 320,
            "cost_price": "2.90",
            "cost_total": "2.90",
            "profit": "3.47",
            "tax": None,
            "tax_rate": "20.00",
            "tax_included": True,
            "quantity": 1,
            "unit_price": "8.50",
            "discount": "0.00",
            "discount_type": "fixed",
            "subtotal": "8.50",
            "discount_total": "0.85",
            "tax_total": "1.28",
            "total": "7.65",
            "quantity_cancelled": 0,
            "quantity_fulfilled": 0,
            "quantity_returned": 0,
            "warehouse": "MAIN",
            "carrier": None,
            "tracking_code": "",
            "tracking_url": "",
            "product_group": None,
        },
    ],
    "discount": "10.00",
    "discount_type": "percent",
    "subtotal": "48.48",
    "discount_total": "4.85",
    "tax_total": "7.28",
    "shipping_cost": "0.00",
    "tax_shipping": False,
    "grand_total": "43.63",
    "paid_total": "20.00",
    "returned_total": "0.00",
    "net_total": "43.63",
    "balance_due": "23.63",
    "tax": {"code": "vat20", "name": "VAT 20%", "rate": "20.00"},
    "prices_include_tax": True,
    "billing_address": {},
    "shipping_address": {},
    "delivery_mode": "dispatch",
    "payment_mode": "in_store",
    "delivery_note": "",
    "total_quantity": 3,
    "quantity_remaining": 3,
    "parent": None,
    "children": [],
    "is_partial": False,
    "cloned_from": None,
    "clone_reason": "",
    "locked": False,
    "locked_reason": "",
    "locked_by": None,
    "locked_at": None,
    "store": "rome-centre",
    "device": "POS-2",
    "exchange_rate": "1.00000000",
    "base_currency": "USD",
    "grand_total_base": "43.63",
    "cost_total": "17.70",
    "profit": "18.65",
    "margin": "51.31",
    "tax_calculation": "default",
    "tax_amount": None,
    "tax_lines": [{"code": "vat20", "name": "VAT 20%", "jurisdiction": "", "rate": "20.00", "amount": "7.28"}],
    "price_list": None,
    "discount_code": "",
    "promotions": [],
    "total_weight": 680,
    "admin_note": "",
    "customer_reference": "PO-2026-0311",
    "due_date": None,
    "metadata": {"till_session": "A-0412"},
    "updated_by": {"id": 7, "username": "alice"},
    "payments": [
        {
            "id": 902,
            "sale": 1287,
            "amount": "20.00",
            "currency": "USD",
            "method": "card",
            "kind": "payment",
            "status": "successful",
            "reference": "CARD-8F3K2Q",
            "received_at": "2026-03-14T15:09:26Z",
            "user": {"id": 7, "username": "alice"},
            "note": "",
            "created_at": "2026-03-14T15:09:26Z",
            "metadata": {},
            "allocations": [{"sale": 1287, "amount": "20.00"}],
        }
    ],
    "note": "Gift wrap, please.",
    "staff_note": "",
    "tags": ["walk-in"],
    "cancel_reason": "",
    "available_transitions": ["confirmed", "cancelled", "rejected"],
    "sold_at": "2026-03-14T15:09:26Z",
    "created_at": "2026-03-14T15:09:26Z",
    "updated_at": "2026-03-14T15:09:26Z",
    "confirmed_at": None,
    "shipped_at": None,
    "completed_at": None,
    "cancelled_at": None,
}


NULL_BRANCH = {"type": "object", "nullable": True, "enum": [None]}


def _fix_nullable_refs(node) -> None:
    """`nullable` beside `allOf: [$ref]`: strict validators and generated clients ignore it, so a null in the
    response breaks them. Spell it `oneOf: [$ref, null]` (OpenAPI 3.0 has no null type: a nullable enum of null)."""
    if isinstance(node, dict):
        refs = node.get("allOf") or []
        if node.get("nullable") and "type" not in node and len(refs) == 1 and "$ref" in refs[0]:
            del node["allOf"], node["nullable"]
            node["oneOf"] = [refs[0], dict(NULL_BRANCH)]
        elif node.get("nullable") and "type" not in node and "oneOf" in node:
            # A nullable `oneOf` (`[XEnum, NullEnum]`, or a blank-or-pattern string): null as a branch of its own,
            # not `nullable` beside it, which strict linters refuse.
            del node["nullable"]
            options = [
                dict(NULL_BRANCH) if option.get("$ref", "").endswith("/NullEnum") else option
                for option in node["oneOf"]
            ]
            if NULL_BRANCH not in options:  # `nullable` said it alone (a blank-or-pattern string): keep saying it
                options.append(dict(NULL_BRANCH))
            node["oneOf"] = options
        for value in node.values():
            _fix_nullable_refs(value)
    elif isinstance(node, list):
        for value in node:
            _fix_nullable_refs(value)


def postprocess_schema(result, generator, request, public):
    """Integer path ids, typed nullable references, the replay header, auth on every operation."""
    _fix_nullable_refs(result.get("components", {}).get("schemas", {}))
    for route, operations in result.get("paths", {}).items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                is_id = parameter["name"] == "id" or parameter["name"].endswith("_id")
                # A /compat/ dialect declares its own path types (an Omnilabs `sale_id` is a string).
                if parameter.get("in") == "path" and is_id and not route.startswith("/compat/"):
                    parameter["schema"] = {"type": "integer"}
            keyed = any(
                p.get("in") == "header" and p["name"] == IDEMPOTENCY_HEADER for p in operation.get("parameters", [])
            )
            for code, response in operation.get("responses", {}).items():
                if keyed and code.startswith("2"):
                    response.setdefault("headers", {}).update(REPLAYED_HEADER)
            operation.setdefault("security", [])  # the token endpoint: explicitly open
    result["tags"] = TAGS
    _add_examples(result.get("paths", {}))
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    _name_query_enums(result.get("paths", {}), schemas)
    _add_request_id_to_errors(schemas)
    _require_response_fields(schemas)
    _declare_request_id(result.get("paths", {}))
    if "NullEnum" in schemas and "/NullEnum" not in json.dumps(result, default=str):  # replaced by null branches
        del schemas["NullEnum"]
    return result


REQUEST_ID_PARAMETER = {
    "name": REQUEST_ID_HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Your own id for this request (up to 128 letters, digits, `.`, `_`, `:` or `-`), echoed in the answer's "
        "`X-Request-ID`; without one (or with another kind of value) the server makes one up."
    ),
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
}
REQUEST_ID_RESPONSE_HEADER = {
    REQUEST_ID_HEADER: {
        "description": "The request's id (yours, or one the server made): quote it when reporting a problem.",
        "schema": {"type": "string"},
    }
}


RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before the next request is accepted.",
        "schema": {"type": "integer"},
        "required": True,
    }
}
REQUEST_ID_EXAMPLE = "3f2b9c1e8a7d4b6f9e0c1d2a3b4c5d6e"
REQUEST_ID_PROPERTY = {
    "type": "string",
    "description": "The request's id, as in the `X-Request-ID` header: quote it when reporting a problem.",
}


def _declare_request_id(paths: dict) -> None:
    """Every operation takes an optional `X-Request-ID` and every answer carries one (RequestIdMiddleware);
    a 429 (the API-wide rate limits, salesproject.api.throttles) says when to try again."""
    for operations in paths.values():
        for operation in operations.values():
            operation.setdefault("parameters", []).append(dict(REQUEST_ID_PARAMETER))
            for code, response in operation.get("responses", {}).items():
                response.setdefault("headers", {}).update(REQUEST_ID_RESPONSE_HEADER)
                if code == "429":
                    response["headers"].update(RETRY_AFTER_HEADER)
                for media in response.get("content", {}).values():
                    for example in media.get("examples", {}).values():
                        value = example.get("value")
                        if isinstance(value, dict) and {"type", "errors"} <= set(value):  # an error body's example
                            value.setdefault("request_id", REQUEST_ID_EXAMPLE)


def _add_request_id_to_errors(schemas: dict) -> None:
    """Every error body (`{type, errors}`) also carries `request_id`."""
    for component in schemas.values():
        properties = component.get("properties", {})
        if "type" in properties and "errors" in properties:
            properties["request_id"] = dict(REQUEST_ID_PROPERTY)


# Output fields that really are left out of some answers: the rest of every response component is always there.
OPTIONAL_OUTPUT_FIELDS = {
    "ConflictError": frozenset({"requested", "available"}),
    "Event": frozenset({"previous"}),  # only the events of a change that says what it changed
    # Seed 000 writes `confirmedAt` once confirmed, and `variantId` when one was named or the product has several.
    "CartSell": frozenset({"confirmedAt"}),
    "CartSellDetail": frozenset({"confirmedAt"}),
    "CartSellProduct": frozenset({"variantId"}),
    "CartSellDetailProduct": frozenset({"variantId"}),
    # Seed 001 shows a line's variant keys only on a product with variants (its bottle water line has none).
    "VendloopSaleItem": frozenset({"item_variant_id", "item_variant_name"}),
    # Seed 002 writes an activity entry's `status` on status changes only.
    "OmnilabsActivity": frozenset({"status"}),
    "OmnilabsActivityEntry": frozenset({"status"}),
}
PAGE_OPTIONAL = frozenset({"count"})  # a page read with `cursor` has no count
# JSON objects shown with the keys they hold (an address copied onto a sale): no key is always there.
PARTIAL_OUTPUT_COMPONENTS = frozenset({"SaleAddress"})


def _require_response_fields(schemas: dict) -> None:
    """Mark every property of a response component required: DRF writes every field of an output serializer,
    so a generated client may rely on each (request components, `…Request`, keep their own optionality)."""
    for name, component in schemas.items():
        properties = component.get("properties")
        if not properties or name.endswith("Request") or name in PARTIAL_OUTPUT_COMPONENTS:
            continue
        optional = OPTIONAL_OUTPUT_FIELDS.get(name, PAGE_OPTIONAL if name.startswith("Paginated") else frozenset())
        component["required"] = [field for field in properties if field not in optional]
        for schema in properties.values():
            _allow_blank_uri(schema)


def _allow_blank_uri(schema: dict) -> None:
    """An optional URL (an image, a tracking page) is written as `""` when there is none, which is no `uri`:
    say `oneOf: [uri, ""]` so strict validators accept real answers."""
    if schema.get("format") == "uri" and schema.get("type") == "string" and not schema.get("nullable"):
        del schema["format"], schema["type"]
        schema["oneOf"] = [{"type": "string", "format": "uri"}, {"type": "string", "maxLength": 0}]


# Lists under a resource's path that are another resource: their query enums are named after it.
QUERY_ENUM_OWNERS = {"stock/movements/": "stock movement"}


def _name_query_enums(paths: dict, schemas: dict) -> None:
    """Query parameters with a set of values refer to a named enum component (a generated client gets one type
    per set, not one anonymous enum per operation): the model's own choices where they match, else
    `<Resource><Parameter>Enum` (e.g. `SaleOrderingEnum`; `ReferenceDataOrderingEnum` when resources share it)."""
    named = {frozenset(c["enum"]): name for name, c in schemas.items() if "enum" in c and None not in c["enum"]}
    users: dict[tuple[str, frozenset], set[str]] = {}
    holders = []
    for path, operations in paths.items():
        relative = _relative(path)
        first = QUERY_ENUM_OWNERS.get(relative, relative.split("/", 1)[0])
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                holder = schema.get("items", {}) if schema.get("type") == "array" else schema
                if parameter.get("in") != "query" or "enum" not in holder:
                    continue
                values = frozenset(holder["enum"])
                users.setdefault((parameter["name"], values), set()).add(first)
                holders.append((parameter["name"], values, holder))
    for (parameter, values), resources in users.items():
        if values in named:
            continue
        if len(resources) == 1:
            owner = RESOURCES.get(next(iter(resources)), ("", next(iter(resources))))[1]
        else:
            owner = RESOURCES.get(sorted(resources)[0], ("Shared",))[0]
        name = _camel(owner) + _camel(parameter) + "Enum"
        while name in schemas:
            name = "Query" + name
        schemas[name] = {"type": "string", "enum": sorted(values)}
        named[values] = name
    for _parameter, values, holder in holders:
        holder.clear()
        holder["$ref"] = f"#/components/schemas/{named[values]}"


def _camel(text: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in re.split(r"[^A-Za-z0-9]+", text) if word)


def _add_examples(paths: dict) -> None:
    create = paths.get(f"{API_PREFIX}sales/", {}).get("post")
    if not create:
        return
    create["description"] = SALE_CREATE_DESCRIPTION
    create["requestBody"]["content"]["application/json"]["examples"] = {
        "PosSale": {
            "summary": "A shop-counter sale with a 10% discount and a card payment",
            "value": SALE_CREATE_REQUEST,
        }
    }
    create["responses"]["201"]["content"]["application/json"]["examples"] = {
        "PosSale": {"summary": "The sale as created (pending, partly paid)", "value": SALE_CREATE_RESPONSE}
    }
