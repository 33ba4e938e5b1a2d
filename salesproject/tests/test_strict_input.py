"""Strict input, proven over every operation of the schema, not one endpoint at a time.

- a body field an operation does not know is 400 `unknown_field` on its dotted path, at any depth;
- an id or a quantity that is not a whole number (4.9, 4.0, true, "4.5", 2**70…) is a 400, never truncated;
- a money amount too large to store is 400 `amount_too_large` on its field;
- every list refuses an `ordering` it does not offer (400 `invalid_choice` listing the valid ones) and
  pages every order it offers.

The walks read the request bodies and list parameters from the generated schema, so an operation
added later is covered without touching this file.
"""

import functools
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator

from customers.models import Customer
from customers.tests.factories import AddressFactory, CustomerFactory
from inventory.models import Product, ProductGroup, StockLevel
from inventory.tests.factories import ProductGroupFactory, default_warehouse, stocked_variant
from payments import services as payment_services
from payments.models import Payment
from sales import services
from sales.models import CancelReason, Sale, SaleStatus, Store, StoreMembership
from sales.services import exchange_rates as exchange_rate_services
from sales.services import prices as price_services
from sales.services import promotions as promotion_services
from sales.services import sale_record_payment
from sales.tests.factories import CarrierFactory, ChannelFactory, SaleFactory, TaxRateFactory
from webhooks import services as webhook_services

API = "/api/v1"
UNKNOWN = "zz_unknown"
PDF = b"%PDF-1.4\n%%EOF\n"

# Not whole numbers, or not numbers at all: refused for every id and every quantity.
NOT_WHOLE = [4.9, 4.0, 1e3, True, False, "4.9", "4.0", "1e3", " 4", "٤", [4], {"id": 4}, "\x00"]
# Too large for any id or quantity (and for a 64-bit column).
HUGE = [2**70, str(2**70)]
# Amounts with more whole digits than a money column holds.
TOO_LARGE = ["1000000000000.00", "1e20", 1e20, -1e20, 10**15]

# The seed-native APIs under /compat/ answer in their own envelopes; compat/tests sweep them.
V1 = "/api/v1/"


# --- the schema --------------------------------------------------------------------------------------------------


@functools.cache
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations() -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema()["paths"].items()
        if path.startswith(V1)
        for method, operation in item.items()
    ]


def resolve(node: dict) -> dict:
    """A schema node with `$ref`, a single `allOf` and a nullable `oneOf` looked through."""
    while True:
        if "$ref" in node:
            node = schema()["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
        elif len(node.get("allOf", ())) == 1:
            node = {**node["allOf"][0], **{k: v for k, v in node.items() if k != "allOf"}}
        elif "oneOf" in node:
            node = next(option for option in node["oneOf"] if option.get("type") != "null")
        else:
            return node


def json_body(operation: dict) -> dict | None:
    content = (operation.get("requestBody") or {}).get("content", {})
    return resolve(content["application/json"]["schema"]) if "application/json" in content else None


def objects_in(node: dict, path: tuple = ()):
    """(path, object schema) of the body and of every object nested in it (lists as their element 0)."""
    node = resolve(node)
    if node.get("type") == "array":
        yield from objects_in(node["items"], (*path, 0))
    elif "properties" in node:
        yield path, node
        for name, child in node["properties"].items():
            yield from objects_in(child, (*path, name))


def properties_in(node: dict):
    """(path, property schema) of every property of the body, nested ones included."""
    for path, obj in objects_in(node):
        for name, child in obj["properties"].items():
            yield (*path, name), resolve(child)


def nest(path: tuple, value):
    """The smallest body that puts `value` at `path`: ("items", 0, "variant") → {"items": [{"variant": …}]}."""
    for step in reversed(path):
        value = [value] if isinstance(step, int) else {step: value}
    return value


def dotted(path: tuple) -> str:
    return ".".join(str(step) for step in path)


def body_cases(predicate) -> list:
    """(method, path template, property path, property schema) for each body property `predicate` picks."""
    return [
        pytest.param(method, template, path, prop, id=f"{method} {template} {dotted(path)}")
        for method, template, operation in operations()
        if (body := json_body(operation)) is not None
        for path, prop in properties_in(body)
        if predicate(path, prop)
    ]


def is_whole_number(path: tuple, prop: dict) -> bool:
    return prop.get("type") == "integer"


def is_money(path: tuple, prop: dict) -> bool:
    # `rate` (a tax rate) is a percentage up to 100, not an amount.
    return prop.get("format") == "decimal" and path[-1] != "rate"


def list_operations() -> list:
    """Every GET that answers a list: a page (`results`) or a bare array."""
    found = []
    for method, template, operation in operations():
        if method != "GET":
            continue
        answer = operation["responses"].get("200", {}).get("content", {}).get("application/json")
        if answer is None:
            continue
        shape = resolve(answer["schema"])
        if shape.get("type") == "array" or "results" in shape.get("properties", {}):
            found.append(pytest.param(template, operation, id=template))
    return found


def ordering_choices(operation: dict) -> list[str]:
    for parameter in operation.get("parameters", []):
        if parameter["name"] == "ordering" and parameter["in"] == "query":
            return resolve(parameter["schema"]["items"])["enum"]  # a named enum component
    return []


# --- a world with one object of each kind ----------------------------------------------------------------------


@pytest.fixture
def world(db, staff):
    warehouse = default_warehouse()
    variant = stocked_variant(10)
    sale = SaleFactory(seller=staff, items=[services.ItemData(variant=variant, quantity=1)])
    payment = sale_record_payment(sale=sale, amount=Decimal("1.00"), user=staff)
    # A store with a member, for `/stores/{id}/` and its members (records.md, "Stores, teams and devices").
    store = Store.objects.create(code="world", name="World", warehouse=warehouse)
    StoreMembership.objects.create(store=store, user=staff)
    ids = {
        "sales": sale.pk,
        "payments": payment.pk,
        "stock": StockLevel.objects.get(variant=variant, warehouse=warehouse).pk,
        "customers": AddressFactory().customer_id,
        "products": variant.product_id,
        "variants": variant.pk,
        "warehouses": warehouse.pk,
        "channels": ChannelFactory().pk,
        "carriers": CarrierFactory().pk,
        "taxes": TaxRateFactory().pk,
        "product-groups": ProductGroupFactory().pk,
        "stores": store.pk,
        # None of these applies to the world's sale by itself: a rate of another currency, a list no sale,
        # customer or channel names (one entry, so `prices.0.*` paths reach a stored one), a promotion by code.
        "exchange-rates": exchange_rate_services.exchange_rate_create(
            currency="EUR", rate=Decimal("1.10000000"), valid_from=datetime(2020, 1, 1, tzinfo=UTC)
        ).pk,
        "price-lists": price_services.price_list_create(
            code="world",
            name="World",
            currency="USD",
            prices=[{"variant": variant, "price": Decimal("9.00"), "min_quantity": 1}],
        ).pk,
        "promotions": promotion_services.promotion_create(
            name="World ten", code="WORLD10", kind="percent", value=Decimal("10.00")
        ).pk,
        "webhooks": webhook_services.webhook_create(url="http://127.0.0.1:9/world", events=["*"]).pk,
    }
    return {"staff": staff, "sale": sale, "variant": variant, "ids": ids, "item": sale.items.get().pk}


def url(world, template: str) -> str:
    resource = template.removeprefix(f"{API}/").split("/")[0]
    # No fulfilment or webhook delivery exists: a body is checked before the object it names is looked up.
    return template.format(id=world["ids"].get(resource, 0), item_id=world["item"], fulfillment_id=0, delivery_id=0)


def send(client, method: str, path: str, body):
    return getattr(client, method.lower())(path, body, format="json")


def errors_of(response) -> list[dict]:
    body = response.json()
    assert response.status_code == 400, body
    assert body["type"] == "validation_error", body
    return body["errors"]


def codes_at(response, attr: str) -> set[str]:
    return {error["code"] for error in errors_of(response) if error["attr"] == attr}


def sale_count() -> int:
    return Sale.objects.count()


# --- unknown body fields ---------------------------------------------------------------------------------------------


UNKNOWN_CASES = [
    pytest.param(method, template, path, id=f"{method} {template} {dotted((*path, UNKNOWN))}")
    for method, template, operation in operations()
    if (body := json_body(operation)) is not None
    for path, _ in objects_in(body)
]


def test_the_walk_covers_the_operations_and_nested_bodies_it_must():
    covered = {(case.values[0], case.values[1], dotted(case.values[2])) for case in UNKNOWN_CASES}

    assert {
        ("POST", f"{API}/sales/", ""),
        ("POST", f"{API}/sales/", "items.0"),
        ("POST", f"{API}/sales/", "payments.0"),
        ("POST", f"{API}/sales/", "billing_address"),
        ("PATCH", f"{API}/sales/{{id}}/", "items.0"),
        ("POST", f"{API}/sales/{{id}}/returns/", "items.0"),
        ("POST", f"{API}/sales/{{id}}/cancel/", ""),
        ("PATCH", f"{API}/sales/{{id}}/items/{{item_id}}/", ""),
        ("POST", f"{API}/sales/{{id}}/invoice/", ""),
        ("POST", f"{API}/products/", "variants.0"),
        ("PUT", f"{API}/products/{{id}}/", "variants.0"),
        ("POST", f"{API}/customers/", "addresses.0"),
        ("POST", f"{API}/stock/receive/", ""),
        ("POST", f"{API}/stock/adjust/", ""),
        ("POST", f"{API}/payments/assign/", ""),
        ("POST", f"{API}/auth/token/", ""),
        ("PATCH", f"{API}/taxes/{{id}}/", ""),
    } <= covered


@pytest.mark.parametrize(("method", "template", "path"), UNKNOWN_CASES)
def test_the_schema_says_every_body_takes_no_other_field(method, template, path):
    """`additionalProperties: false` on every object of every body: generated clients and fuzzers know."""
    operation = schema()["paths"][template][method.lower()]
    objects = dict(objects_in(json_body(operation)))

    assert objects[path].get("additionalProperties") is False


@pytest.mark.parametrize(("method", "template", "path"), UNKNOWN_CASES)
def test_an_unknown_field_anywhere_in_any_body_is_400_on_its_dotted_path(method, template, path, world, api_client):
    before = sale_count()

    response = send(api_client(world["staff"]), method, url(world, template), nest(path, {UNKNOWN: "x"}))

    assert "unknown_field" in codes_at(response, dotted((*path, UNKNOWN))), response.json()
    assert sale_count() == before


@pytest.mark.parametrize(
    ("method", "template"),
    [
        (method, template)
        for method, template, operation in operations()
        if method in ("POST", "PUT", "PATCH") and "requestBody" not in operation
    ],
)
def test_an_operation_without_a_body_refuses_any_field(method, template, world, api_client):
    sale = world["sale"]

    response = send(api_client(world["staff"]), method, url(world, template), {UNKNOWN: 1})

    assert codes_at(response, UNKNOWN) == {"unknown_field"}
    assert Sale.objects.get(pk=sale.pk).status == sale.status


def test_the_operations_without_a_body_are_the_plain_transitions():
    bare = {
        (method, template)
        for method, template, operation in operations()
        if method in ("POST", "PUT", "PATCH") and "requestBody" not in operation
    }

    assert bare == {("POST", f"{API}/sales/{{id}}/{name}/") for name in ("submit", "confirm", "complete", "unlock")} | {
        ("POST", f"{API}/webhooks/{{id}}/{name}/")
        for name in ("ping", "rotate-secret", "deliveries/{delivery_id}/redeliver")
    }


def test_an_operation_without_a_body_still_takes_an_empty_object(world, api_client):
    response = api_client(world["staff"]).post(f"{API}/sales/{world['sale'].pk}/confirm/", {}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "confirmed"


def test_a_valid_sale_with_one_unknown_field_in_a_line_is_refused_with_exactly_that_error(world, api_client):
    body = {
        "items": [{"variant": world["variant"].pk, "quantity": 1, "colour": "red"}],
        "billing_address": {"city": "Rome", "zip": "00100"},
    }

    response = api_client(world["staff"]).post(f"{API}/sales/", body, format="json")

    body = response.json()
    assert response.status_code == 400, body
    assert body["type"] == "validation_error"
    errors = {error["attr"]: error for error in body["errors"]}
    assert set(errors) == {"items.0.colour", "billing_address.zip"}
    assert {error["code"] for error in body["errors"]} == {"unknown_field"}
    assert '"colour"' in errors["items.0.colour"]["detail"]
    assert "quantity" in errors["items.0.colour"]["detail"]  # names the fields the body takes
    assert "postal_code" in errors["billing_address.zip"]["detail"]
    assert sale_count() == 1


def test_unknown_fields_come_with_the_errors_of_the_known_ones(world, api_client):
    body = {"items": [{"variant": world["variant"].pk, "quantity": 0}], "colour": "red"}

    response = api_client(world["staff"]).post(f"{API}/sales/", body, format="json")

    assert {(e["code"], e["attr"]) for e in errors_of(response)} == {
        ("min_value", "items.0.quantity"),
        ("unknown_field", "colour"),
    }


def test_a_patch_of_a_sale_with_a_representation_field_is_refused(world, api_client):
    response = api_client(world["staff"]).patch(
        f"{API}/sales/{world['sale'].pk}/", {"note": "hi", "grand_total": "0.00"}, format="json"
    )

    assert codes_at(response, "grand_total") == {"unknown_field"}
    assert Sale.objects.get(pk=world["sale"].pk).note == ""


@pytest.mark.parametrize("resource", ["products", "customers", "variants", "warehouses", "taxes", "channels"])
def test_sending_back_a_representation_with_its_read_only_fields_is_accepted(resource, world, api_client):
    """Declared read-only fields (`id`, a variant's `is_default`) are ignored, not unknown."""
    client = api_client(world["staff"])
    path = f"{API}/{resource}/{world['ids'][resource]}/"
    representation = client.get(path).json()

    response = client.put(path, representation, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["id"] == representation["id"]


def test_the_multipart_invoice_upload_takes_only_its_fields(world, api_client):
    client = api_client(world["staff"])
    path = f"{API}/sales/{world['sale'].pk}/invoice/"

    refused = client.post(
        path, {"file": SimpleUploadedFile("a.pdf", PDF, "application/pdf"), "colour": "red"}, format="multipart"
    )
    accepted = client.post(
        path,
        {"file": SimpleUploadedFile("a.pdf", PDF, "application/pdf"), "filename": "a.pdf", "csrfmiddlewaretoken": "x"},
        format="multipart",
    )

    assert codes_at(refused, "colour") == {"unknown_field"}
    assert accepted.status_code == 201, accepted.json()
    assert world["sale"].invoices.count() == 1


def test_the_token_endpoint_refuses_unknown_fields(api_client, staff):
    response = api_client().post(
        f"{API}/auth/token/", {"username": staff.username, "password": "pass-w0rd!", "remember_me": True}, format="json"
    )

    assert codes_at(response, "remember_me") == {"unknown_field"}


# --- ids and quantities: whole numbers only ------------------------------------------------------------------------


WHOLE_NUMBER_CASES = body_cases(is_whole_number)


def test_the_whole_number_walk_sees_every_id_and_quantity():
    names = {(case.values[1], dotted(case.values[2])) for case in WHOLE_NUMBER_CASES}

    assert {
        (f"{API}/sales/", "customer"),
        (f"{API}/sales/", "seller"),
        (f"{API}/sales/", "items.0.product"),
        (f"{API}/sales/", "items.0.variant"),
        (f"{API}/sales/", "items.0.quantity"),
        (f"{API}/sales/{{id}}/", "customer"),
        (f"{API}/sales/{{id}}/returns/", "items.0.item"),
        (f"{API}/sales/{{id}}/returns/", "items.0.quantity"),
        (f"{API}/payments/", "sale"),
        (f"{API}/payments/assign/", "sale"),
        (f"{API}/products/", "variants.0.id"),
        (f"{API}/variants/", "product"),
        (f"{API}/stock/receive/", "variant"),
        (f"{API}/stock/receive/", "quantity"),
        (f"{API}/stock/adjust/", "variant"),
        (f"{API}/stock/adjust/", "quantity_change"),
    } <= names


@pytest.mark.parametrize(("method", "template", "path", "prop"), WHOLE_NUMBER_CASES)
def test_an_id_or_quantity_that_is_not_a_whole_number_is_400_never_truncated(
    method, template, path, prop, world, api_client
):
    client = api_client(world["staff"])
    values = NOT_WHOLE + HUGE
    if prop.get("minimum", 0) >= 0:
        values += [-4, "-4"]  # ids and quantities are positive (quantity_change may be negative)
    if prop.get("minimum", 1) >= 1:
        values += [0]  # ...and not 0, unless the schema says 0 is valid (a variant's `weight`: minimum 0 grams)
    before = sale_count()

    for value in values:
        response = send(client, method, url(world, template), nest(path, value))

        assert codes_at(response, dotted(path)), (value, response.json())
    assert sale_count() == before


def test_a_fractional_variant_or_customer_never_sells_the_truncated_one(world, api_client):
    variant, customer = world["variant"], CustomerFactory()
    client = api_client(world["staff"])
    before = sale_count()

    by_variant = client.post(f"{API}/sales/", {"items": [{"variant": variant.pk + 0.9, "quantity": 1}]}, format="json")
    by_customer = client.post(
        f"{API}/sales/",
        {"customer": customer.pk + 0.7, "items": [{"variant": variant.pk, "quantity": 1}]},
        format="json",
    )

    assert codes_at(by_variant, "items.0.variant") == {"incorrect_type"}
    assert codes_at(by_customer, "customer") == {"incorrect_type"}
    assert sale_count() == before


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (2**70, "does_not_exist"),
        (-5, "does_not_exist"),
        (True, "incorrect_type"),
        ("5.0", "incorrect_type"),
        (5.0, "incorrect_type"),
    ],
)
def test_a_related_id_answers_the_code_that_fits(value, code, world, api_client):
    response = api_client(world["staff"]).post(
        f"{API}/sales/", {"items": [{"variant": value, "quantity": 1}]}, format="json"
    )

    assert codes_at(response, "items.0.variant") == {code}


def test_an_id_or_a_quantity_may_come_as_a_string_of_digits(world, api_client):
    variant = world["variant"]

    response = api_client(world["staff"]).post(
        f"{API}/sales/", {"items": [{"variant": str(variant.pk), "quantity": "2"}]}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["items"][0]["variant"], response.json()["items"][0]["quantity"]) == (variant.pk, 2)


def test_a_quantity_with_a_fraction_is_400_even_when_it_is_whole(world, api_client):
    response = api_client(world["staff"]).post(
        f"{API}/sales/", {"items": [{"variant": world["variant"].pk, "quantity": 2.0}]}, format="json"
    )

    assert codes_at(response, "items.0.quantity") == {"invalid"}


# --- money too large to store ----------------------------------------------------------------------------------


MONEY_CASES = body_cases(is_money)


def test_the_money_walk_sees_the_amounts():
    names = {(case.values[1], dotted(case.values[2])) for case in MONEY_CASES}

    assert {
        (f"{API}/sales/", "items.0.unit_price"),
        (f"{API}/sales/", "items.0.discount"),
        (f"{API}/sales/", "discount"),
        (f"{API}/sales/", "shipping_cost"),
        (f"{API}/sales/", "payments.0.amount"),
        (f"{API}/payments/", "amount"),
        (f"{API}/payments/assign/", "amount"),
        (f"{API}/sales/{{id}}/payments/", "amount"),
        (f"{API}/products/", "price"),
        (f"{API}/products/", "variants.0.cost_price"),
        (f"{API}/variants/", "price"),
    } <= names


@pytest.mark.parametrize(("method", "template", "path", "prop"), MONEY_CASES)
def test_an_amount_too_large_to_store_is_amount_too_large(method, template, path, prop, world, api_client):
    client = api_client(world["staff"])

    for value in TOO_LARGE:
        response = send(client, method, url(world, template), nest(path, value))

        assert codes_at(response, dotted(path)) == {"amount_too_large"}, (value, response.json())


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1.001", "max_decimal_places"),
        ("1e-3", "max_decimal_places"),
        ("NaN", "invalid"),
        ("Infinity", "invalid"),
        ("-Infinity", "invalid"),
        ("abc", "invalid"),
        ("1000000000000.001", "amount_too_large"),
    ],
)
def test_other_bad_amounts_keep_their_codes(value, code, world, api_client):
    response = api_client(world["staff"]).post(
        f"{API}/sales/{world['sale'].pk}/payments/", {"amount": value}, format="json"
    )

    assert codes_at(response, "amount") == {code}


@pytest.mark.parametrize("value", ["999999999999.99", 999999999999.99, "12.5", 12.5, "1E+2"])
def test_the_largest_amount_that_fits_is_accepted(value, world, api_client):
    response = api_client(world["staff"]).post(f"{API}/payments/", {"amount": value}, format="json")

    assert response.status_code == 201, response.json()
    assert Decimal(response.json()["amount"]) == Decimal(str(value)).quantize(Decimal("0.01"))


# --- ordering --------------------------------------------------------------------------------------------------


LISTS = list_operations()


def test_the_list_walk_sees_every_list():
    templates = {case.values[0] for case in LISTS}

    assert {
        f"{API}/{name}/"
        for name in (
            "sales",
            "payments",
            "products",
            "variants",
            "warehouses",
            "product-groups",
            "channels",
            "carriers",
            "taxes",
            "customers",
            "stock",
            "stock/movements",
        )
    } | {f"{API}/sales/{{id}}/{name}/" for name in ("activity", "payments", "transitions")} <= templates


@pytest.mark.parametrize(("template", "operation"), LISTS)
@pytest.mark.parametrize("ordering", ["bogus", "-bogus", "profit", "id,bogus", "?", "-"])
def test_every_list_refuses_an_ordering_it_does_not_offer(template, operation, ordering, world, api_client):
    if ordering == "id,bogus" and "id" not in ordering_choices(operation):
        ordering = "created_at,bogus"

    response = api_client(world["staff"]).get(url(world, template), {"ordering": ordering})

    errors = errors_of(response)
    assert [(e["code"], e["attr"]) for e in errors] == [("invalid_choice", "ordering")], errors
    for choice in ordering_choices(operation):
        assert choice in errors[0]["detail"]  # the valid choices are named


@pytest.mark.parametrize(("template", "operation"), [case for case in LISTS if "{id}" not in case.values[0]])
def test_every_top_level_list_offers_an_ordering(template, operation):
    assert ordering_choices(operation), template


@pytest.mark.parametrize(
    ("template", "choice"),
    [
        pytest.param(case.values[0], choice, id=f"{case.values[0]}?ordering={choice}")
        for case in LISTS
        for choice in ordering_choices(case.values[1])
    ],
)
def test_every_offered_ordering_pages_by_number_and_by_cursor(template, choice, world, api_client):
    client = api_client(world["staff"])

    by_page = client.get(url(world, template), {"ordering": choice})
    by_cursor = client.get(url(world, template), {"ordering": choice, "cursor": ""})

    assert by_page.status_code == 200, by_page.json()
    assert by_cursor.status_code == 200, by_cursor.json()
    assert by_page.json()["results"] == by_cursor.json()["results"]


@pytest.mark.parametrize(
    ("resource", "ordering", "key", "expected"),
    [
        ("products", "-sku", "sku", ["ZZZ-1", "AAA-1"]),
        ("products", "sku", "sku", ["AAA-1", "ZZZ-1"]),
        ("payments", "-amount", "amount", ["7.00", "1.00"]),
        ("payments", "amount", "amount", ["1.00", "7.00"]),
        ("customers", "-name", "name", ["Zed", "Abe"]),
        ("product-groups", "-code", "code", ["zz", "aa"]),
        ("taxes", "-rate", "code", ["vat20", "vat5"]),
    ],
)
def test_the_ordering_orders(resource, ordering, key, expected, world, api_client):
    stocked_variant(1, sku="ZZZ-1")
    stocked_variant(1, sku="AAA-1")
    payment_services.payment_record(amount=Decimal("7.00"), user=world["staff"])
    CustomerFactory(name="Zed"), CustomerFactory(name="Abe")
    ProductGroupFactory(code="zz"), ProductGroupFactory(code="aa")
    TaxRateFactory(code="vat20", rate=Decimal("20.00"))

    rows = api_client(world["staff"]).get(f"{API}/{resource}/", {"ordering": ordering}).json()["results"]

    assert [row[key] for row in rows if row[key] in expected] == expected


# --- cancel without a reason -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [{}, None, {"note": "changed their mind"}])
def test_cancel_without_a_reason_cancels_with_reason_other(body, world, api_client):
    sale = world["sale"]
    client = api_client(world["staff"])

    if body is None:
        response = client.post(f"{API}/sales/{sale.pk}/cancel/")
    else:
        response = client.post(f"{API}/sales/{sale.pk}/cancel/", body, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["cancel_reason"]) == ("cancelled", "other")


def test_the_cancel_service_defaults_to_reason_other(world):
    sale = services.sale_cancel(sale=world["sale"], user=world["staff"])

    assert (sale.status, sale.cancel_reason) == (SaleStatus.CANCELLED, CancelReason.OTHER)


def test_cancel_with_a_reason_keeps_it_and_an_unknown_reason_is_still_400(world, api_client):
    client = api_client(world["staff"])
    path = f"{API}/sales/{world['sale'].pk}/cancel/"

    refused = client.post(path, {"reason": "bored"}, format="json")
    cancelled = client.post(path, {"reason": "fraud"}, format="json")

    assert codes_at(refused, "reason") == {"invalid_choice"}
    assert cancelled.json()["cancel_reason"] == "fraud"


def test_nothing_else_was_touched_by_refused_requests(world, api_client):
    """A sweep of refused bodies over every operation leaves every table as it was."""
    client = api_client(world["staff"])
    tables = (Sale, Payment, Product, Customer, ProductGroup)
    before = [model.objects.count() for model in tables]

    for method, template, operation in operations():
        if json_body(operation) is not None:
            send(client, method, url(world, template), {UNKNOWN: 1})

    assert [model.objects.count() for model in tables] == before
