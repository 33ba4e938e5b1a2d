"""Bad input: every malformed request is answered 4xx with the one error shape, and writes nothing."""

import copy

import pytest
from django.contrib.auth.models import Permission

from customers.tests.factories import CustomerFactory
from inventory.models import StockLevel, StockMovement
from inventory.tests.factories import WarehouseFactory, stocked_variant
from payments.models import Payment
from sales import services
from sales.models import Sale, SaleEvent, SaleItem
from sales.services import ItemData, sale_record_payment
from sales.tests.factories import CarrierFactory, ChannelFactory, TaxRateFactory, UserFactory

pytestmark = pytest.mark.django_db

SALES = "/api/v1/sales/"
LONG = "x" * 10_000


# --- helpers -------------------------------------------------------------------------------------------


def world() -> dict:
    """Every row a refused request must leave exactly as it was."""
    return {
        "sales": list(Sale.objects.order_by("pk").values()),
        "items": list(SaleItem.objects.order_by("pk").values()),
        "events": SaleEvent.objects.count(),
        "movements": StockMovement.objects.count(),
        "payments": list(Payment.objects.order_by("pk").values_list("pk", "sale_id", "amount", "kind")),
        "stock": list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "reserved")),
    }


def named(attr: str, errors: list[dict]) -> bool:
    """Whether an error names `attr` (a list or object itself is named `<attr>.non_field_errors`)."""
    return any(entry["attr"] in (attr, f"{attr}.non_field_errors") for entry in errors)


def assert_error_shape(response, status: int) -> list[dict]:
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"type", "errors", "request_id"}, body
    assert body["type"] in ("validation_error", "client_error"), body
    assert body["errors"], body
    for entry in body["errors"]:
        assert {"code", "detail", "attr"} <= set(entry), body
        assert isinstance(entry["code"], str) and entry["code"], body
        assert isinstance(entry["detail"], str) and entry["detail"], body
    return body["errors"]


@pytest.fixture
def shop(seller, warehouse):
    """A stocked variant, reference data, a customer, and one pending sale holding 2 units with payment PAY-1."""
    variant = stocked_variant(10, price="10.00")
    ChannelFactory(code="pos", kind="pos")
    CarrierFactory(code="dhl")
    TaxRateFactory()
    customer = CustomerFactory()
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=variant, quantity=2)],
            reference="EXISTING",
        ),
    )
    sale_record_payment(sale=sale, amount="5.00", reference="PAY-1", user=seller)
    other_product = stocked_variant(10).product
    return {
        "variant": variant, "customer": customer, "sale": sale, "other_product": other_product,
        "body": {
            "customer": customer.pk, "channel": "pos", "warehouse": "MAIN", "tax": "vat5", "currency": "USD",
            "items": [{"variant": variant.pk, "quantity": 2, "unit_price": "10.00"}],
            "billing_address": {"name": "Acme", "country": "IT"}, "note": "ok", "tags": ["walk-in"],
            "payments": [{"amount": "1.00", "method": "cash"}],
        },
    }


def item(**fields):
    return lambda body, shop: body["items"][0].update(fields)


def top(**fields):
    return lambda body, shop: body.update(fields)


def drop(name: str):
    return lambda body, shop: body.pop(name)


# --- create ---------------------------------------------------------------------------------------------


def test_the_battery_base_body_is_valid(shop, api_client, seller):
    response = api_client(seller).post(SALES, shop["body"], format="json")

    assert response.status_code == 201, response.json()


BAD_CREATE_BODIES = [
    # (id, mutation, status, attr the error names)
    ("quantity-text", item(quantity="abc"), 400, "items.0.quantity"),
    ("quantity-fraction", item(quantity=1.5), 400, "items.0.quantity"),
    ("quantity-fraction-text", item(quantity="2.5"), 400, "items.0.quantity"),
    ("quantity-boolean", item(quantity=True), 400, "items.0.quantity"),
    ("quantity-null", item(quantity=None), 400, "items.0.quantity"),
    ("quantity-zero", item(quantity=0), 400, "items.0.quantity"),
    ("quantity-negative", item(quantity=-3), 400, "items.0.quantity"),
    ("quantity-huge", item(quantity=10**12), 400, "items.0.quantity"),
    ("quantity-missing", lambda body, shop: body["items"][0].pop("quantity"), 400, "items.0.quantity"),
    ("items-object", lambda body, shop: body.update(items=body["items"][0]), 400, "items"),
    ("items-text", top(items="abc"), 400, "items"),
    ("items-empty", top(items=[]), 400, "items"),
    ("items-missing", drop("items"), 400, "items"),
    ("items-null", top(items=None), 400, "items"),
    ("item-not-object", top(items=[5]), 400, "items.0"),
    ("unit-price-text", item(unit_price="x"), 400, "items.0.unit_price"),
    ("unit-price-negative", item(unit_price="-1.00"), 400, "items.0.unit_price"),
    ("unit-price-three-places", item(unit_price="1.005"), 400, "items.0.unit_price"),
    ("unit-price-nan", item(unit_price="NaN"), 400, "items.0.unit_price"),
    ("unknown-variant", item(variant=999_999), 400, "items.0.variant"),
    ("variant-text", item(variant="abc"), 400, "items.0.variant"),
    ("unknown-product", item(variant=None, product=999_999), 400, "items.0.product"),
    ("neither-product-nor-variant", item(variant=None), 400, "items.0.product"),
    ("variant-of-another-product", lambda body, shop: body["items"][0].update(product=shop["other_product"].pk),
     400, "items.0.variant"),
    ("reference-10000", top(reference=LONG), 400, "reference"),
    ("note-10000", top(note=LONG), 400, "note"),
    ("staff-note-10000", top(staff_note=LONG), 400, "staff_note"),
    ("external-id-10000", top(external_id=LONG), 400, "external_id"),
    ("address-name-10000", top(billing_address={"name": LONG}), 400, "billing_address.name"),
    ("address-line-10000", top(shipping_address={"line1": LONG}), 400, "shipping_address.line1"),
    ("tag-10000", top(tags=[LONG]), 400, "tags.0"),
    ("tags-not-a-list", top(tags="vip"), 400, "tags"),
    ("address-not-an-object", top(billing_address="Via Roma 1"), 400, "billing_address"),
    ("country-name", top(shipping_address={"country": "ITALY"}), 400, "shipping_address.country"),
    ("line-percent-above-100", item(discount="101", discount_type="percent"), 400, "items.0.discount"),
    ("order-percent-above-100", top(discount="100.01", discount_type="percent"), 400, "discount"),
    ("line-fixed-above-line", item(discount="20.01", discount_type="fixed"), 400, "items.0.discount"),
    ("order-fixed-above-subtotal", top(discount="20.01", discount_type="fixed"), 400, "discount"),
    ("order-fixed-above-discounted-subtotal",
     lambda body, shop: (body["items"][0].update(discount="5.00"), body.update(discount="15.01")), 400, "discount"),
    ("line-discount-negative", item(discount="-1"), 400, "items.0.discount"),
    ("order-discount-negative", top(discount="-1"), 400, "discount"),
    ("discount-type-unknown", top(discount="1", discount_type="half"), 400, "discount_type"),
    ("line-discount-type-unknown", item(discount="1", discount_type="half"), 400, "items.0.discount_type"),
    ("shipping-negative", top(shipping_cost="-5"), 400, "shipping_cost"),
    ("sold-at-yesterday", top(sold_at="yesterday"), 400, "sold_at"),
    ("sold-at-bad-date", top(sold_at="2024-02-30T10:00:00Z"), 400, "sold_at"),
    ("currency-four-letters", top(currency="EURO"), 400, "currency"),
    ("currency-digits", top(currency="978"), 400, "currency"),
    ("status-refunded", top(status="refunded"), 400, "status"),
    ("status-foo", top(status="foo"), 400, "status"),
    ("status-in-delivery", top(status="in_delivery"), 400, "status"),
    ("channel-unknown", top(channel="nope"), 400, "channel"),
    ("warehouse-unknown", top(warehouse="NOPE"), 400, "warehouse"),
    ("tax-unknown", top(tax="vat99"), 400, "tax"),
    ("item-warehouse-unknown", item(warehouse="NOPE"), 400, "items.0.warehouse"),
    ("item-carrier-unknown", item(carrier="nope"), 400, "items.0.carrier"),
    ("item-tracking-url-not-a-url", item(tracking_url="not a url"), 400, "items.0.tracking_url"),
    ("customer-unknown", top(customer=999_999), 400, "customer"),
    ("customer-text", top(customer="abc"), 400, "customer"),
    ("prices-include-tax-not-boolean", top(prices_include_tax="maybe"), 400, "prices_include_tax"),
    ("seller-by-a-non-staff-user", lambda body, shop: body.update(seller=UserFactory().pk), 400, "seller"),
    ("payment-amount-zero", top(payments=[{"amount": "0"}]), 400, "payments.0.amount"),
    ("payment-amount-negative", top(payments=[{"amount": "-5.00"}]), 400, "payments.0.amount"),
    ("payment-amount-text", top(payments=[{"amount": "lots"}]), 400, "payments.0.amount"),
    ("payment-method-unknown", top(payments=[{"amount": "1.00", "method": "bitcoin"}]), 400, "payments.0.method"),
    ("payment-status-unknown", top(payments=[{"amount": "1.00", "status": "maybe"}]), 400, "payments.0.status"),
    ("payments-not-a-list", top(payments={"amount": "1.00"}), 400, "payments"),
    ("insufficient-stock", item(quantity=11), 409, "items.0.quantity"),
    ("insufficient-stock-second-line",
     lambda body, shop: body["items"].append({"variant": shop["variant"].pk, "quantity": 7}), 409,
     "items.1.quantity"),
    ("insufficient-stock-as-completed", lambda body, shop: (body.update(status="completed"),
                                                            body["items"][0].update(quantity=9)), 409,
     "items.0.quantity"),
    ("duplicate-sale-reference", top(reference="EXISTING"), 409, "reference"),
    ("duplicate-payment-reference", top(payments=[{"amount": "1.00", "reference": "PAY-1"}]), 409,
     "payments.0.reference"),
    ("payment-reference-twice-in-one-body",
     top(payments=[{"amount": "1.00", "reference": "PAY-2"}, {"amount": "1.00", "reference": "PAY-2"}]), 409,
     "payments.1.reference"),
]


@pytest.mark.parametrize(("mutate", "status", "attr"), [case[1:] for case in BAD_CREATE_BODIES],
                         ids=[case[0] for case in BAD_CREATE_BODIES])
def test_bad_create_body_is_refused_and_writes_nothing(mutate, status, attr, shop, api_client, seller):
    body = copy.deepcopy(shop["body"])
    mutate(body, shop)
    before = world()

    response = api_client(seller).post(SALES, body, format="json")

    errors = assert_error_shape(response, status)
    assert named(attr, errors), errors
    assert world() == before


def test_insufficient_stock_answer_lists_requested_and_available(shop, api_client, seller):
    body = copy.deepcopy(shop["body"])
    body["items"][0]["quantity"] = 11

    errors = assert_error_shape(api_client(seller).post(SALES, body, format="json"), 409)

    assert [(e["code"], e["requested"], e["available"]) for e in errors] == [("insufficient_stock", 11, 8)]


def test_validation_errors_list_one_entry_per_field(shop, api_client, seller):
    body = copy.deepcopy(shop["body"])
    body.update(currency="EURO", channel="nope")
    body["items"][0]["quantity"] = "abc"

    response = api_client(seller).post(SALES, body, format="json")

    errors = assert_error_shape(response, 400)
    assert response.json()["type"] == "validation_error"
    assert {e["attr"] for e in errors} == {"currency", "channel", "items.0.quantity"}


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ('[{"items": []}]', "application/json", 400),
        ("[]", "application/json", 400),
        ('"a sale"', "application/json", 400),
        ("null", "application/json", 400),
        ("", "application/json", 400),
        ("{}", "application/json", 400),
        ("items=1", "text/plain", 415),
    ],
    ids=["not-json", "json-array", "empty-array", "json-string", "json-null", "empty-body", "empty-object",
         "plain-text"],
)
def test_malformed_create_request_is_refused_and_writes_nothing(content, content_type, status, shop, api_client,
                                                                seller):
    before = world()

    response = api_client(seller).generic("POST", SALES, content, content_type=content_type)

    assert_error_shape(response, status)
    assert world() == before


# --- edits, returns, payments, transitions on an existing sale ------------------------------------------------------


BAD_PATCH_BODIES = [
    ("items-quantity-text", lambda shop: {"items": [{"variant": shop["variant"].pk, "quantity": "abc"}]}, 400,
     "items.0.quantity"),
    ("items-empty", lambda shop: {"items": []}, 400, "items"),
    ("items-unknown-variant", lambda shop: {"items": [{"variant": 999_999, "quantity": 1}]}, 400,
     "items.0.variant"),
    ("items-short-of-stock", lambda shop: {"items": [{"variant": shop["variant"].pk, "quantity": 11}]}, 409,
     "items.0.quantity"),
    ("percent-discount-above-100", lambda shop: {"discount": "150", "discount_type": "percent"}, 400, "discount"),
    ("fixed-discount-above-subtotal", lambda shop: {"discount": "20.01"}, 400, "discount"),
    ("customer-unknown", lambda shop: {"customer": 999_999}, 400, "customer"),
    ("note-10000", lambda shop: {"note": LONG}, 400, "note"),
    ("warehouse-unknown", lambda shop: {"warehouse": "NOPE"}, 400, "warehouse"),
    ("tags-not-a-list", lambda shop: {"tags": "vip"}, 400, "tags"),
    ("valid-note-beside-bad-items",
     lambda shop: {"note": "new", "items": [{"variant": shop["variant"].pk, "quantity": 0}]}, 400,
     "items.0.quantity"),
]


@pytest.mark.parametrize(("make_body", "status", "attr"), [case[1:] for case in BAD_PATCH_BODIES],
                         ids=[case[0] for case in BAD_PATCH_BODIES])
def test_bad_patch_body_is_refused_and_writes_nothing(make_body, status, attr, shop, api_client, seller):
    before = world()

    response = api_client(seller).patch(f"{SALES}{shop['sale'].pk}/", make_body(shop), format="json")

    errors = assert_error_shape(response, status)
    assert named(attr, errors), errors
    assert world() == before


def test_patch_with_a_json_array_body_is_400_and_writes_nothing(shop, api_client, seller):
    before = world()

    response = api_client(seller).generic("PATCH", f"{SALES}{shop['sale'].pk}/", '[{"note": "x"}]',
                                          content_type="application/json")

    assert_error_shape(response, 400)
    assert world() == before


@pytest.fixture
def confirmed(shop, seller):
    """A confirmed sale of 3 units of the shop's variant."""
    return services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=shop["variant"], quantity=3)],
            status="confirmed",
        ),
    )


BAD_RETURN_BODIES = [
    ("items-empty", lambda item: {"items": []}, "items"),
    ("items-missing", lambda item: {"restock": True}, "items"),
    ("item-unknown", lambda item: {"items": [{"item": 999_999, "quantity": 1}]}, "items.0.item"),
    ("item-text", lambda item: {"items": [{"item": "abc", "quantity": 1}]}, "items.0.item"),
    ("quantity-zero", lambda item: {"items": [{"item": item.pk, "quantity": 0}]}, "items.0.quantity"),
    ("quantity-text", lambda item: {"items": [{"item": item.pk, "quantity": "x"}]}, "items.0.quantity"),
    ("quantity-above-sold", lambda item: {"items": [{"item": item.pk, "quantity": 4}], "refund": True,
                                          "restock": True}, "items.0.quantity"),
    ("restock-not-boolean", lambda item: {"items": [{"item": item.pk, "quantity": 1}], "restock": "maybe"},
     "restock"),
]


@pytest.mark.parametrize(("make_body", "attr"), [case[1:] for case in BAD_RETURN_BODIES],
                         ids=[case[0] for case in BAD_RETURN_BODIES])
def test_bad_return_body_is_400_and_writes_nothing(make_body, attr, confirmed, api_client, seller):
    seller.user_permissions.add(Permission.objects.get(codename="refund_sale", content_type__app_label="sales"))
    sale_record_payment(sale=confirmed, amount=confirmed.grand_total, user=seller)
    before = world()

    response = api_client(seller).post(f"{SALES}{confirmed.pk}/returns/", make_body(confirmed.items.get()),
                                       format="json")

    errors = assert_error_shape(response, 400)
    assert named(attr, errors), errors
    assert world() == before


BAD_PAYMENT_BODIES = [
    ("amount-text", {"amount": "abc"}, 400, "amount"),
    ("amount-zero", {"amount": 0}, 400, "amount"),
    ("amount-negative", {"amount": "-1.00"}, 400, "amount"),
    ("amount-three-places", {"amount": "1.001"}, 400, "amount"),
    ("amount-missing", {"method": "cash"}, 400, "amount"),
    ("method-unknown", {"amount": "1.00", "method": "bitcoin"}, 400, "method"),
    ("status-unknown", {"amount": "1.00", "status": "maybe"}, 400, "status"),
    ("kind-unknown", {"amount": "1.00", "kind": "gift"}, 400, "kind"),
    ("received-at-yesterday", {"amount": "1.00", "received_at": "yesterday"}, 400, "received_at"),
    ("reference-10000", {"amount": "1.00", "reference": LONG}, 400, "reference"),
    ("currency-of-another-sale", {"amount": "1.00", "currency": "EUR"}, 400, "currency"),
    ("reference-taken", {"amount": "1.00", "reference": "PAY-1"}, 409, "reference"),
]


@pytest.mark.parametrize(("body", "status", "attr"), [case[1:] for case in BAD_PAYMENT_BODIES],
                         ids=[case[0] for case in BAD_PAYMENT_BODIES])
def test_bad_sale_payment_body_is_refused_and_writes_nothing(body, status, attr, shop, api_client, seller):
    before = world()

    response = api_client(seller).post(f"{SALES}{shop['sale'].pk}/payments/", body, format="json")

    errors = assert_error_shape(response, status)
    assert named(attr, errors), errors
    assert world() == before


@pytest.mark.parametrize(("body", "status", "attr"), [case[1:] for case in BAD_PAYMENT_BODIES],
                         ids=[case[0] for case in BAD_PAYMENT_BODIES])
def test_bad_payments_body_is_refused_and_writes_nothing(body, status, attr, shop, api_client, seller):
    before = world()

    response = api_client(seller).post("/api/v1/payments/", {**body, "sale": shop["sale"].pk}, format="json")

    errors = assert_error_shape(response, status)
    assert named(attr, errors), errors
    assert world() == before


BAD_ACTION_BODIES = [
    ("cancel", {"reason": "bored"}, "reason"),
    ("cancel", {"reason": "other", "colour": "red"}, "colour"),  # {} is a cancel with reason `other`
    ("cancel", {"reason": "customer", "note": LONG}, "note"),
    ("reject", {"reason": LONG}, "reason"),
    ("status", {}, "status"),
    ("status", {"status": "foo"}, "status"),
    ("status", {"status": 7}, "status"),
    ("refund", {"restock": "maybe"}, "restock"),
]


@pytest.mark.parametrize(("action", "body", "attr"), BAD_ACTION_BODIES,
                         ids=[f"{a}-{attr}-{i}" for i, (a, _, attr) in enumerate(BAD_ACTION_BODIES)])
def test_bad_transition_body_is_400_and_changes_nothing(action, body, attr, shop, api_client, seller):
    before = world()

    response = api_client(seller).post(f"{SALES}{shop['sale'].pk}/{action}/", body, format="json")

    errors = assert_error_shape(response, 400)
    assert named(attr, errors), errors
    assert world() == before


@pytest.mark.parametrize(
    ("body", "attr"),
    [({"carrier": "nope"}, "carrier"), ({"tracking_url": "nope"}, "tracking_url")],
)
def test_bad_ship_body_is_400_and_changes_nothing(body, attr, confirmed, api_client, seller):
    before = world()

    response = api_client(seller).post(f"{SALES}{confirmed.pk}/ship/", body, format="json")

    errors = assert_error_shape(response, 400)
    assert named(attr, errors), errors
    assert world() == before


@pytest.mark.parametrize(
    ("body", "attr"),
    [({"warehouse": "NOPE"}, "warehouse"), ({"carrier": "nope"}, "carrier"), ({"product_group": "nope"},
                                                                              "product_group"),
     ({"tracking_url": "not a url"}, "tracking_url"), ({"tracking_code": LONG}, "tracking_code")],
)
def test_bad_item_patch_body_is_400_and_changes_nothing(body, attr, shop, api_client, seller):
    item = shop["sale"].items.get()
    before = world()

    response = api_client(seller).patch(f"{SALES}{shop['sale'].pk}/items/{item.pk}/", body, format="json")

    errors = assert_error_shape(response, 400)
    assert named(attr, errors), errors
    assert world() == before


def test_moving_a_pending_item_to_a_warehouse_without_stock_is_409_and_moves_nothing(shop, api_client, seller):
    WarehouseFactory(code="EMPTY")
    item = shop["sale"].items.get()
    before = world()

    response = api_client(seller).patch(f"{SALES}{shop['sale'].pk}/items/{item.pk}/", {"warehouse": "EMPTY"},
                                        format="json")

    errors = assert_error_shape(response, 409)
    assert (errors[0]["code"], errors[0]["attr"]) == ("insufficient_stock", "warehouse")
    assert world() == before


@pytest.mark.parametrize(
    ("body", "attr"),
    [({}, "file"), ({"invoice": "%%% not base64 %%%", "filename": "x.pdf"}, "invoice"),
     ({"invoice": "PGh0bWw+PC9odG1sPg==", "filename": "x.pdf"}, "invoice")],
    ids=["nothing", "not-base64", "html-as-base64"],
)
def test_bad_invoice_body_is_400_and_attaches_nothing(body, attr, shop, api_client, seller):
    before = world()

    response = api_client(seller).post(f"{SALES}{shop['sale'].pk}/invoice/", body, format="json")

    errors = assert_error_shape(response, 400)
    assert named(attr, errors), errors
    assert world() == before
    assert not shop["sale"].invoices.exists()


# --- filters ----------------------------------------------------------------------------------------------------


BAD_FILTERS = [
    {"status": "foo"},
    {"status": ["pending", "foo"]},
    {"payment_status": "foo"},
    {"created_after": "yesterday"},
    {"created_before": "2024-02-30"},
    {"start_date": "tomorrow"},
    {"end_date": "2024-13-01"},
    {"customer": "abc"},
    {"seller": "abc"},
    {"product": "x1"},
    {"variant": "1.5.2"},
    {"channel": "nope"},
    {"warehouse": "NOPE"},
    {"country": "ITALY"},
    {"country": "I1"},
    {"ordering": "bogus"},
    {"ordering": "profit"},
    {"total_min": "abc"},
    {"total_max": "1e999999"},
    {"total_min": "NaN"},
    {"search": "x" * 201},
]


@pytest.mark.parametrize("path", ["", "summary/"])
@pytest.mark.parametrize("query", BAD_FILTERS, ids=lambda q: "&".join(f"{k}={str(v)[:20]}" for k, v in q.items()))
def test_malformed_filter_value_is_400_naming_the_filter(query, path, api_client, seller):
    response = api_client(seller).get(f"{SALES}{path}", query)

    errors = assert_error_shape(response, 400)
    assert response.json()["type"] == "validation_error"
    assert named(next(iter(query)), errors), errors


@pytest.mark.parametrize(
    "query",
    [{"customer": 999_999}, {"seller": 999_999}, {"product": 999_999}, {"variant": 999_999},
     {"reference": "NO-SUCH-REF"}, {"external_id": "nothing"}, {"search": "zzz-nothing"}],
    ids=lambda q: next(iter(q)),
)
def test_well_formed_filter_matching_nothing_is_an_empty_list(query, shop, api_client, seller):
    response = api_client(seller).get(SALES, query)

    assert response.status_code == 200, response.json()
    assert response.json()["count"] == 0
    assert response.json()["results"] == []


# --- other errors share the shape -----------------------------------------------------------------------------------


def test_unknown_sale_is_404_with_the_shape(shop, api_client, seller):
    errors = assert_error_shape(api_client(seller).get(f"{SALES}999999/"), 404)

    assert errors[0]["code"] == "not_found"


def test_put_is_405_with_the_shape(shop, api_client, seller):
    response = api_client(seller).put(f"{SALES}{shop['sale'].pk}/", shop["body"], format="json")

    assert assert_error_shape(response, 405)[0]["code"] == "method_not_allowed"


def test_bad_token_is_401_with_the_shape(shop, api_client):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    assert assert_error_shape(client.get(SALES), 401)[0]["code"] == "authentication_failed"


def test_idempotency_key_longer_than_255_is_400_and_writes_nothing(shop, api_client, seller):
    before = world()

    response = api_client(seller).post(SALES, shop["body"], format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)

    assert_error_shape(response, 400)
    assert world() == before
