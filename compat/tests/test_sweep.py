"""Every route of the five seed-native APIs, from the OpenAPI schema: hostile input never answers 500 or HTML.

For each `/compat/` operation: no token, a wrong token, path ids that are not ids (or are another seller's),
bodies that are not what the route reads (broken JSON, a JSON array, wrong types for each declared field,
huge strings, NUL), in JSON, form and multipart encodings. The answer must be a 4xx (or a 2xx where the
dialect accepts it) with a JSON body, the dialect's envelope, never a 5xx. Another seller's sale must never
be read or changed.
"""

import functools
import json

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inventory.tests.factories import stocked_variant
from sales import services
from sales.models import Sale
from sales.services import ItemData
from sales.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

COMPAT = "/compat/"
WRITE = ("post", "put", "patch", "delete")


@functools.cache
def compat_operations() -> list[tuple[str, str, str]]:
    """(method, path template, a readable id) of every /compat/ operation the schema declares."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method, path, f"{method.upper()} {path}")
        for path, item in schema["paths"].items()
        if path.startswith(COMPAT)
        for method in item
        if method in ("get", *WRITE)
    )


def bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.get_or_create(user=user)[0].key}")
    return client


def fill(template: str, value: str) -> str:
    """Every `{param}` of a path template set to `value`."""
    out, depth = [], 0
    for char in template:
        if char == "{":
            depth += 1
            out.append(value)
        elif char == "}":
            depth -= 1
        elif not depth:
            out.append(char)
    return "".join(out)


def assert_answer(response, case: str) -> None:
    assert response.status_code < 500, f"{case}: {response.status_code} {response.content[:300]!r}"
    kind = response.get("Content-Type", "")
    if response.status_code != 204:
        assert kind.startswith("application/json"), f"{case}: {response.status_code} answered {kind!r}"
        json.loads(response.content)


def send(client: APIClient, method: str, path: str, body=None, fmt: str = "json"):
    if body is None:
        return getattr(client, method)(path)
    if fmt == "raw-json-as-form":
        return getattr(client, method)(path, body, content_type="application/x-www-form-urlencoded")
    if fmt == "raw":
        return getattr(client, method)(path, body, content_type="application/json")
    return getattr(client, method)(path, body, format=fmt)


@pytest.fixture
def world():
    owner, other = UserFactory(), UserFactory()
    variant = stocked_variant(quantity=50)
    sale = services.sale_create(
        seller=owner, data=services.NewSale(items=(ItemData(variant=variant, quantity=1),), status="pending")
    )
    return {"owner": owner, "other": other, "sale": sale, "variant": variant}


def test_there_are_compat_routes_to_sweep():
    prefixes = {path.split("/")[2] for _, path, _ in compat_operations()}
    assert prefixes >= {"cart", "vendloop", "omnilabs", "orders", "transactions"}, prefixes


@pytest.mark.parametrize(("method", "path", "case"), compat_operations(), ids=lambda v: v if " " in str(v) else "")
def test_no_token_is_401_in_json(method, path, case, world):
    response = send(APIClient(), method, fill(path, str(world["sale"].pk)))
    assert response.status_code == 401, f"{case}: {response.status_code}"
    assert_answer(response, case)
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_answer(send(wrong, method, fill(path, str(world["sale"].pk))), case + " wrong token")


BAD_IDS = ["0", "-1", "abc", "99999999999999999999999", "1.5", "%00", "sell_", "ü", "9" * 300]


@pytest.mark.parametrize(("method", "path", "case"), compat_operations(), ids=lambda v: v if " " in str(v) else "")
def test_bad_ids_and_bad_bodies_never_answer_500(method, path, case, world):
    client = bearer(world["owner"])
    templates = [fill(path, bad) for bad in BAD_IDS] if "{" in path else [path]
    for target in templates:
        assert_answer(send(client, method, target), f"{case} at {target[:60]}")
    if method == "get":
        for query in ("?page=-1&limit=abc&take=x&start=0", "?status=%00&customer_id=x", "?page=9999999999999"):
            assert_answer(client.get(fill(path, str(world["sale"].pk)) + query), f"{case}{query}")
        return
    target = fill(path, str(world["sale"].pk))
    bodies = [
        ("{", "raw"), ("[]", "raw"), ("null", "raw"), ('"x"', "raw"), ('{"a": 1', "raw-json-as-form"),
        ({"items": "not json [", "products": "x", "status": "???", "amount": "1e999"}, "json"),
        ({"items": [{"quantity": -5, "product_id": "x", "variantId": None}], "products": [{}]}, "json"),
        ({"status": ["a"], "amount": {"x": 1}, "saleId": "\x00", "id": "z" * 5000}, "json"),
        ({"status": "x" * 10000, "user_id": "abc", "id": "1e3"}, "multipart"),
    ]
    for body, fmt in bodies:
        assert_answer(send(client, method, target, body, fmt), f"{case} body {str(body)[:40]!r} as {fmt}")


@pytest.mark.parametrize(
    ("method", "path", "case"),
    [op for op in compat_operations() if "{" in op[1]],
    ids=lambda v: v if " " in str(v) else "",
)
def test_another_sellers_sale_is_never_read_or_changed(method, path, case, world):
    sale = world["sale"]
    before = Sale.objects.values().get(pk=sale.pk)
    for ident in (str(sale.pk), f"sell_{sale.pk}", sale.reference):
        response = send(bearer(world["other"]), method, fill(path, ident), {} if method in WRITE else None)
        assert_answer(response, case)
        assert response.status_code in (400, 403, 404, 405), f"{case} as another seller: {response.status_code}"
    after = Sale.objects.values().get(pk=sale.pk)
    assert after == before, f"{case}: another seller changed the sale"
