"""Error messages a client reads (issue 13): they say what was wrong and what is valid; codes and attrs unchanged.

- `invalid_choice` (a body field or a query filter) names the value and lists the valid choices;
- an unknown reference names its kind and the value given (`Unknown warehouse "NOPE".`, `Unknown customer 999.`);
- an Authorization header of another scheme than Bearer is told so (401 `not_authenticated`, WWW-Authenticate kept);
- no Python reprs, `pk` or type names in the common messages (unknown fields, ids of the wrong type, 405, 429).
"""

import copy

import pytest
from rest_framework import serializers
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from customers.tests.factories import CustomerFactory
from inventory.tests.factories import stocked_variant
from sales.tests.factories import CarrierFactory, ChannelFactory, TaxRateFactory, UserFactory
from salesproject.api.fields import CodeRelatedField, humanize, kind_of
from salesproject.api.serializers import StrictSerializer

pytestmark = pytest.mark.django_db

SALES = "/api/v1/sales/"
PAYMENTS = "/api/v1/payments/"
MOVEMENTS = "/api/v1/stock/movements/"
PRODUCTS = "/api/v1/products/"
TOKEN_URL = "/api/v1/auth/token/"
USE_BEARER = 'Use "Authorization: Bearer <token>"'
CUSTOMER_ID = "Expected the customer's id (a whole number)"


@pytest.fixture
def body(warehouse):
    """A valid sale body."""
    variant = stocked_variant(10, price="10.00")
    ChannelFactory(code="pos", kind="pos")
    CarrierFactory(code="dhl")
    TaxRateFactory()
    customer = CustomerFactory()
    return {
        "customer": customer.pk, "channel": "pos", "warehouse": "MAIN", "tax": "vat5",
        "items": [{"variant": variant.pk, "quantity": 1, "unit_price": "10.00"}],
        "payments": [{"amount": "1.00", "method": "cash"}],
    }


def only_error(response, status: int = 400) -> tuple[str, str, str]:
    body = response.json()
    assert response.status_code == status, body
    assert len(body["errors"]) == 1, body
    entry = body["errors"][0]
    return entry["code"], entry["attr"], entry["detail"]


def post_sale(client, body, **changes):
    body = copy.deepcopy(body)
    for path, value in changes.items():
        *parents, name = path.split("__")
        target = body
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[name] = value
    return client.post(SALES, body, format="json")


def test_the_base_body_is_valid(body, api_client, seller):
    assert api_client(seller).post(SALES, body, format="json").status_code == 201


# --- invalid_choice ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "attr", "detail"),
    [
        ({"status": "bogus"}, "status",
         '"bogus" is not a valid choice. Valid choices: draft, pending, confirmed, completed.'),
        ({"discount_type": "half"}, "discount_type", '"half" is not a valid choice. Valid choices: percent, fixed.'),
        ({"items__0__discount_type": "half"}, "items.0.discount_type",
         '"half" is not a valid choice. Valid choices: percent, fixed.'),
        ({"payments__0__method": "bitcoin"}, "payments.0.method",
         '"bitcoin" is not a valid choice. Valid choices: cash, card, bank_transfer, wallet_transfer, ussd, deposit, '
         "other."),
    ],
)
def test_a_body_choice_lists_the_valid_choices(change, attr, detail, body, api_client, seller):
    response = post_sale(api_client(seller), body, **change)

    assert only_error(response) == ("invalid_choice", attr, detail)


def test_a_model_serializer_choice_lists_the_valid_choices(api_client, staff):
    response = api_client(staff).post(
        "/api/v1/customers/", {"name": "Acme", "addresses": [{"kind": "moon"}]}, format="json"
    )

    code, attr, detail = only_error(response)
    assert (code, attr) == ("invalid_choice", "addresses.0.kind")
    assert detail.startswith('"moon" is not a valid choice. Valid choices: '), detail
    assert "billing" in detail and "shipping" in detail, detail


@pytest.mark.parametrize(
    ("url", "query", "detail"),
    [
        (SALES, "status=bogus", '"bogus" is not a valid choice. Valid choices: draft, pending, confirmed, '
                                "in_delivery, completed, cancelled, rejected, refunded."),
        (SALES, "status=draft&status=zz", '"zz" is not a valid choice. Valid choices: draft, pending, confirmed, '
                                          "in_delivery, completed, cancelled, rejected, refunded."),
        (PAYMENTS, "kind=zz", '"zz" is not a valid choice. Valid choices: payment, refund.'),
        (PAYMENTS, "status=zz", '"zz" is not a valid choice. Valid choices: pending, successful, failed.'),
        (MOVEMENTS, "kind=zz", '"zz" is not a valid choice. Valid choices: receipt, adjustment, reservation, '
                               "release, shipment, return, correction."),
    ],
)
def test_a_choice_filter_lists_the_valid_choices(url, query, detail, api_client, staff, warehouse):
    response = api_client(staff).get(f"{url}?{query}")

    assert only_error(response) == ("invalid_choice", query.split("=")[0], detail)


def test_an_ordering_keeps_its_own_message(api_client, staff):
    code, attr, detail = only_error(api_client(staff).get(f"{SALES}?ordering=bogus"))

    assert (code, attr) == ("invalid_choice", "ordering")
    assert detail.startswith("Unknown ordering bogus; one of: "), detail


def test_choices_holding_braces_are_listed_as_they_are():
    class Body(StrictSerializer):
        shape = serializers.ChoiceField(choices=["{round}", "square"])
        shapes = serializers.ListField(child=serializers.ChoiceField(choices=["a", "b"]))

    serializer = Body(data={"shape": "x{", "shapes": ["a", "c"]})

    assert not serializer.is_valid()
    assert serializer.errors["shape"] == ['"x{" is not a valid choice. Valid choices: {round}, square.']
    assert serializer.errors["shape"][0].code == "invalid_choice"
    assert serializer.errors["shapes"][1] == ['"c" is not a valid choice. Valid choices: a, b.']


def test_humanize_leaves_a_field_without_choices_alone():
    field = serializers.ChoiceField(choices=[])
    before = dict(field.error_messages)

    humanize(field)

    assert field.error_messages == before


# --- unknown references ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "attr", "detail"),
    [
        ({"warehouse": "NOPE"}, "warehouse", 'Unknown warehouse "NOPE".'),
        ({"channel": "nope"}, "channel", 'Unknown channel "nope".'),
        ({"tax": "vat99"}, "tax", 'Unknown tax rate "vat99".'),
        ({"items__0__warehouse": "NOPE"}, "items.0.warehouse", 'Unknown warehouse "NOPE".'),
        ({"items__0__carrier": "ups"}, "items.0.carrier", 'Unknown carrier "ups".'),
        ({"items__0__product_group": "zz"}, "items.0.product_group", 'Unknown product group "zz".'),
        ({"warehouse": 5}, "warehouse", 'Unknown warehouse "5".'),
        ({"warehouse": "A\x00"}, "warehouse", 'Unknown warehouse "A\\x00".'),
        ({"customer": 999_999}, "customer", "Unknown customer 999999."),
        ({"customer": "999999"}, "customer", "Unknown customer 999999."),
        ({"customer": 2**70}, "customer", f"Unknown customer {2**70}."),
        ({"items__0__variant": 999_999}, "items.0.variant", "Unknown variant 999999."),
        ({"items__0__variant": None, "items__0__product": 999_999}, "items.0.product", "Unknown product 999999."),
        ({"seller": 999_999}, "seller", "Unknown user 999999."),
    ],
)
def test_an_unknown_reference_names_its_kind_and_value(change, attr, detail, body, api_client, staff):
    response = post_sale(api_client(staff), body, **change)

    assert only_error(response) == ("does_not_exist", attr, detail)


@pytest.mark.parametrize(
    ("change", "code", "attr", "detail"),
    [
        ({"customer": "abc"}, "incorrect_type", "customer", f"{CUSTOMER_ID}, got a string."),
        ({"customer": 4.5}, "incorrect_type", "customer", f"{CUSTOMER_ID}, got a number."),
        ({"customer": True}, "incorrect_type", "customer", f"{CUSTOMER_ID}, got a boolean."),
        ({"items__0__variant": [1]}, "incorrect_type", "items.0.variant",
         "Expected the variant's id (a whole number), got an array."),
        ({"warehouse": ["MAIN"]}, "invalid", "warehouse", "Expected the warehouse's code (a string), got an array."),
        ({"channel": {"code": "pos"}}, "invalid", "channel", "Expected the channel's code (a string), got an object."),
        ({"tax": True}, "invalid", "tax", "Expected the tax rate's code (a string), got a boolean."),
    ],
)
def test_a_reference_of_the_wrong_type_says_what_is_expected(change, code, attr, detail, body, api_client, seller):
    response = post_sale(api_client(seller), body, **change)

    assert only_error(response) == (code, attr, detail)


@pytest.mark.parametrize(
    ("url", "query", "detail"),
    [
        (SALES, "channel=NOPE", 'Unknown channel "NOPE".'),
        (SALES, "warehouse=NOPE", 'Unknown warehouse "NOPE".'),
        (MOVEMENTS, "warehouse=NOPE", 'Unknown warehouse "NOPE".'),
        (PRODUCTS, "product_group=zz", 'Unknown product group "zz".'),
    ],
)
def test_an_unknown_code_in_a_filter_names_its_kind_and_value(url, query, detail, api_client, staff, warehouse):
    response = api_client(staff).get(f"{url}?{query}")

    assert only_error(response) == ("invalid_choice", query.split("=")[0], detail)


def test_the_kind_falls_back_to_the_field_name():
    field = CodeRelatedField(read_only=True)  # no queryset
    field.bind("box_code", StrictSerializer())

    assert kind_of(field) == "box code"


# --- the other common messages -----------------------------------------------------------------------------------


def test_an_unknown_field_is_quoted_as_json(body, api_client, seller):
    response = post_sale(api_client(seller), body, colour="red")

    code, attr, detail = only_error(response)
    assert (code, attr) == ("unknown_field", "colour")
    assert detail.startswith('Unknown field "colour"; this body takes: customer, channel, warehouse, '), detail


@pytest.mark.parametrize(
    ("method", "url", "detail"),
    [
        ("delete", SALES, 'Method "DELETE" not allowed here; this URL allows GET, POST.'),
        ("put", "{sale}", 'Method "PUT" not allowed here; this URL allows GET, PATCH, DELETE.'),
    ],
)
def test_a_method_not_allowed_names_the_allowed_ones(method, url, detail, body, api_client, seller):
    client = api_client(seller)
    sale = client.post(SALES, body, format="json").json()["id"]

    response = getattr(client, method)(url.format(sale=f"{SALES}{sale}/"), {}, format="json")

    assert only_error(response, 405) == ("method_not_allowed", None, detail)
    assert "GET" in response.headers["Allow"]


def test_throttled_says_when_to_try_again(api_client, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "1/minute"})
    UserFactory(username="cashier")
    client = api_client()
    client.post(TOKEN_URL, {"username": "cashier", "password": "wrong"}, format="json")

    response = client.post(TOKEN_URL, {"username": "cashier", "password": "wrong"}, format="json")

    code, attr, detail = only_error(response, 429)
    assert (code, attr) == ("throttled", None)
    seconds = response.headers["Retry-After"]
    assert detail == f"Too many requests; try again in {seconds} second{'s' if seconds != '1' else ''}."


# --- authentication ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Basic eHh4Onl5eQ==", f'{USE_BEARER}; the "Basic" scheme is not accepted.'),
        ("Token 0123456789abcdef", f'{USE_BEARER}; the "Token" scheme is not accepted.'),
        ("JWT a.b.c", f'{USE_BEARER}; the "JWT" scheme is not accepted.'),
        # A bare token (no scheme) is not echoed back.
        ("0123456789abcdef", f"{USE_BEARER}; the Authorization header sent is not of that form."),
    ],
)
def test_another_auth_scheme_is_named(header, detail, seller):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(SALES)

    assert only_error(response, 401) == ("not_authenticated", None, detail)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_no_authorization_header_keeps_the_usual_message(db):
    response = APIClient().get(SALES)

    assert only_error(response, 401) == ("not_authenticated", None, "Authentication credentials were not provided.")
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer"])
def test_a_bad_bearer_token_is_still_authentication_failed(header, db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    code, attr, _detail = only_error(client.get(SALES), 401)

    assert (code, attr) == ("authentication_failed", None)


def test_a_session_still_signs_in_beside_another_scheme(seller):
    client = APIClient()
    client.force_login(seller)
    client.credentials(HTTP_AUTHORIZATION="Basic eHh4Onl5eQ==")

    assert client.get(SALES).status_code == 200
    assert client.get(SALES, HTTP_ACCEPT="text/html").status_code == 200  # the browsable API


def test_a_bearer_token_still_signs_in(api_client, seller):
    assert api_client(seller).get(SALES).status_code == 200
