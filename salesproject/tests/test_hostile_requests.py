"""The reproductions of "hostile input answers 500" (issue 11, item 5), each pinned as the 4xx it must be.

Found against gunicorn + PostgreSQL: deeply nested JSON, a 16 MiB body, `?total_min=1e-999999`, a crafted
cursor, a 100,000-character username. Also NUL characters, lone surrogates, invalid UTF-8, non-object bodies
and too many query parameters. `test_hostile_input.py` sweeps every operation of the schema the same way.
"""

import base64
import io
import json
from urllib.parse import quote

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from customers.models import Customer
from inventory.tests.factories import stocked_variant
from sales import services
from sales.api.views import INVOICE_UPLOAD_LIMIT
from sales.models import Sale
from sales.services import ItemData

pytestmark = pytest.mark.django_db

API = "/api/v1"
MIB = 1024 * 1024


def error_body(response, status: int) -> list[dict]:
    """The answer's errors, after checking its status and the one error shape."""
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"type", "errors", "request_id"}, body
    assert body["type"] in ("client_error", "validation_error"), body
    assert body["errors"], body
    for entry in body["errors"]:
        assert set(entry) >= {"code", "detail", "attr"}, body
        assert isinstance(entry["code"], str) and entry["code"], body
        assert isinstance(entry["detail"], str) and entry["detail"], body
    return body["errors"]


def codes(response, status: int) -> list[str]:
    return [entry["code"] for entry in error_body(response, status)]


class Unread(io.RawIOBase):
    """A request body that fails the test if any of it is read."""

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        raise AssertionError("the body was read")

    def readline(self, limit: int = -1) -> bytes:
        raise AssertionError("the body was read")


def post_declared(client, path: str, length: int, content_type: str = "application/json", **extra):
    """A POST that declares `length` bytes of body and would fail the test if the server read a byte of it."""
    return client.generic(
        "POST", path, b"", content_type, CONTENT_LENGTH=str(length), **{"wsgi.input": Unread()}, **extra
    )


@pytest.fixture
def client(api_client, staff):
    return api_client(staff)


@pytest.fixture
def sale(seller, warehouse):
    return services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(5), quantity=1)],
        ),
    )


# --- deep JSON ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [f"{API}/sales/", f"{API}/customers/", f"{API}/auth/token/"])
@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_ten_thousand_nested_levels_are_a_parse_error(path, opener, client):
    body = opener * 10_000 + "1" + ("]" if opener == "[" else "}") * 10_000

    response = client.generic("POST", path, body, content_type="application/json")

    assert codes(response, 400) == ["parse_error"]
    assert not Sale.objects.exists() and not Customer.objects.exists()


def nested(depth: int) -> dict:
    """A customer body nested `depth` levels deep (the body itself is level 1, each list inside one more)."""
    value: object = "x"
    for _ in range(depth - 1):
        value = [value]
    return {"name": "Deep", "addresses": value}


def test_json_deeper_than_32_levels_is_a_parse_error_and_32_is_not(client):
    too_deep = client.post(f"{API}/customers/", nested(33), format="json")
    deep_enough = client.post(f"{API}/customers/", nested(32), format="json")

    assert codes(too_deep, 400) == ["parse_error"]
    assert "32" in error_body(too_deep, 400)[0]["detail"]
    # 32 levels parse: what is wrong with the body then is the field, not the JSON.
    assert deep_enough.status_code == 400, deep_enough.json()
    assert "parse_error" not in [e["code"] for e in deep_enough.json()["errors"]]
    assert not Customer.objects.exists()


def test_deep_json_on_the_multipart_capable_invoice_upload_is_a_parse_error(client, sale):
    response = client.generic("POST", f"{API}/sales/{sale.pk}/invoice/", "[" * 10_000, content_type="application/json")

    assert codes(response, 400) == ["parse_error"]


# --- bodies too large: refused by Content-Length before they are read --------------------------------------------


@pytest.mark.parametrize(
    "method_path",
    [
        ("POST", f"{API}/sales/"),
        ("POST", f"{API}/customers/"),
        ("POST", f"{API}/auth/token/"),
        ("PATCH", f"{API}/sales/1/"),
        ("GET", f"{API}/sales/"),
        ("POST", f"{API}/no-such-route/"),
        ("POST", f"{API}/payments/assign/"),
    ],
    ids=lambda mp: f"{mp[0]} {mp[1]}",
)
def test_a_body_over_the_limit_is_413_before_it_is_read(method_path, client):
    method, path = method_path

    response = client.generic(
        method, path, b"", "application/json", CONTENT_LENGTH=str(16 * MIB), **{"wsgi.input": Unread()}
    )

    assert codes(response, 413) == ["request_too_large"]
    assert error_body(response, 413)[0]["attr"] is None
    assert response.json()["type"] == "client_error"


def test_a_body_over_the_limit_is_413_even_anonymously_and_with_an_idempotency_key(api_client, seller):
    anonymous = post_declared(api_client(), f"{API}/sales/", 16 * MIB)
    keyed = post_declared(api_client(seller), f"{API}/sales/", 16 * MIB, HTTP_IDEMPOTENCY_KEY="big-1")

    assert codes(anonymous, 413) == ["request_too_large"]
    assert codes(keyed, 413) == ["request_too_large"]


def test_the_limit_is_api_max_body_bytes(client):
    with override_settings(API_MAX_BODY_BYTES=1000):
        over = client.generic(
            "POST", f"{API}/customers/", json.dumps({"name": "x" * 1000}), content_type="application/json"
        )
        within = client.generic(
            "POST", f"{API}/customers/", json.dumps({"name": "Small"}), content_type="application/json"
        )

    assert codes(over, 413) == ["request_too_large"]
    assert "1000 bytes" in over.json()["errors"][0]["detail"]
    assert within.status_code == 201, within.json()


def test_one_mebibyte_is_the_default_limit(client):
    assert codes(post_declared(client, f"{API}/sales/", MIB + 1), 413) == ["request_too_large"]
    # Exactly at the limit the body is read (and is then simply not JSON).
    at_limit = client.generic("POST", f"{API}/sales/", b" " * MIB, "application/json")
    assert at_limit.status_code == 400, at_limit.content[:300]


def test_an_invoice_upload_may_be_larger_than_the_limit_but_not_unbounded(client, sale):
    path = f"{API}/sales/{sale.pk}/invoice/"
    pdf = b"%PDF-1.4\n" + b"0" * (2 * MIB)

    within = client.post(path, {"invoice": base64.b64encode(pdf).decode(), "filename": "big.pdf"}, format="json")
    over = post_declared(client, path, INVOICE_UPLOAD_LIMIT + 1, "multipart/form-data; boundary=XyZ")

    assert within.status_code == 201, within.json()
    assert codes(over, 413) == ["request_too_large"]


def test_the_invoice_allowance_is_only_for_posting_invoices(client, sale):
    download = client.generic(
        "GET",
        f"{API}/sales/{sale.pk}/invoice/",
        b"",
        "application/json",
        CONTENT_LENGTH=str(2 * MIB),
        **{"wsgi.input": Unread()},
    )

    assert codes(download, 413) == ["request_too_large"]


def test_a_non_api_route_answers_a_plain_413_before_reading(boss_client):
    for path in ("/admin/login/", "/admin/sales/sale/add/", "/nowhere/"):
        response = post_declared(boss_client, path, 16 * MIB, "application/x-www-form-urlencoded")

        assert response.status_code == 413, (path, response.status_code)
        assert response["Content-Type"].startswith("text/plain")


def test_request_data_too_big_from_django_itself_is_a_413_not_a_500(client):
    """Behind the middleware (a limit set above Django's): Django's own check must still answer 413."""
    with override_settings(API_MAX_BODY_BYTES=10 * MIB, DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
        api = client.generic("POST", f"{API}/sales/", json.dumps({"note": "x" * 2000}), "application/json")
        admin = Client().post("/admin/login/", {"username": "x" * 2000, "password": "x"})

    assert codes(api, 413) == ["request_too_large"]
    assert admin.status_code == 413


def test_the_schema_declares_413_with_the_error_body():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    post = schema["paths"]["/api/v1/sales/"]["post"]

    assert "413" in post["responses"]
    assert set(schema["paths"]["/api/v1/sales/"]["post"]["requestBody"]["content"]) == {"application/json"}
    upload = schema["paths"]["/api/v1/sales/{id}/invoice/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload


# --- decimal and integer filters ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "summary/"])
@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1e-999999", "invalid"),
        ("1E+999999", "invalid"),
        ("1e3", "invalid"),
        ("NaN", "invalid"),
        ("Infinity", "invalid"),
        ("-inf", "invalid"),
        ("0x10", "invalid"),
        ("10.001", "max_decimal_places"),
        ("1000000000000", "max_value"),
        ("99999999999999999999.99", "max_value"),
        ("-1000000000000.00", "min_value"),
        ("9" * 5000, "invalid"),
    ],
)
@pytest.mark.parametrize("name", ["total_min", "total_max"])
def test_a_money_filter_out_of_range_is_400_saying_the_range(name, value, code, path, client):
    errors = error_body(client.get(f"{API}/sales/{path}", {name: value}), 400)

    assert [(e["attr"], e["code"]) for e in errors] == [(name, code)]
    assert "999999999999.99" in errors[0]["detail"]


@pytest.mark.parametrize("value", ["0", "-0", "10", "10.5", "10.50", "999999999999.99", "-999999999999.99", ".5"])
def test_a_money_filter_in_range_is_accepted(value, client, sale):
    response = client.get(f"{API}/sales/", {"total_min": value})

    assert response.status_code == 200, response.json()


@pytest.mark.parametrize(
    "path_name",
    [
        ("sales/", "customer"),
        ("sales/", "seller"),
        ("sales/", "product"),
        ("sales/", "variant"),
        ("sales/summary/", "product"),
        ("payments/", "sale"),
        ("variants/", "product"),
        ("stock/", "variant"),
        ("stock/", "product"),
        ("stock/movements/", "sale"),
        ("stock/movements/", "variant"),
    ],
    ids="-".join,
)
@pytest.mark.parametrize("value", [str(2**80), str(-(2**80)), str(2**63), "-1", "0"])
def test_an_absurd_id_filter_is_an_empty_answer(path_name, value, client, sale):
    path, name = path_name

    response = client.get(f"{API}/{path}", {name: value})

    assert response.status_code == 200, response.json()
    body = response.json()
    if "results" in body:
        assert body["results"] == []


@pytest.mark.parametrize("value", ["4.9", "4.0", "1e3", "٤", "9" * 40, "0x1", ""])
def test_an_id_filter_that_is_not_a_whole_number_is_400(value, client, sale):
    response = client.get(f"{API}/sales/", {"customer": value})

    if value == "":  # an empty filter is no filter
        assert response.status_code == 200
        return
    assert [(e["attr"], e["code"]) for e in error_body(response, 400)] == [("customer", "invalid")]


# --- cursors ----------------------------------------------------------------------------------------------------------


def cursor(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("ordering", "values"),
    [
        ("grand_total", ["1E+999999", "1"]),
        ("grand_total", ["1e-999999", "1"]),
        ("grand_total", ["NaN", "1"]),
        ("grand_total", ["-Infinity", "1"]),
        ("grand_total", ["12345678901234567890.00", "1"]),
        ("grand_total", ["1.0001", "1"]),  # money columns hold three decimals (KWD)
        ("grand_total", ["1.00", str(2**80)]),
        ("grand_total", ["1.00", "4.5"]),
        ("created_at", ["0001-01-01T00:00:00+01:00", "1"]),
        ("created_at", ["9999-12-31T23:59:59-01:00", "1"]),
        ("created_at", ["not a date", "1"]),
        ("number", [str(2**63), None]),
    ],
)
def test_a_crafted_cursor_value_is_400_invalid(ordering, values, client, sale):
    first = client.get(f"{API}/sales/", {"cursor": "", "ordering": ordering, "page_size": 1}).json()
    names = (
        json.loads(base64.urlsafe_b64decode(first["next"].split("cursor=")[1].split("&")[0] + "==="))["o"]
        if first.get("next")
        else None
    )
    names = names or ([ordering, "id"] if ordering != "number" else ["number"])
    token = cursor({"o": names, "v": values[: len(names)], "b": False})

    response = client.get(f"{API}/sales/", {"cursor": token, "ordering": ordering})

    assert [(e["attr"], e["code"]) for e in error_body(response, 400)] == [("cursor", "invalid")]


def test_a_cursor_date_time_with_an_extreme_offset_is_read_in_utc(client, sale):
    """PostgreSQL refuses offsets beyond ±15:59; the cursor's date-time reaches it in UTC."""
    token = cursor({"o": ["-created_at", "-id"], "v": ["2999-01-01T00:00:00+23:59", str(sale.pk + 1)], "b": False})

    response = client.get(f"{API}/sales/", {"cursor": token})

    assert response.status_code == 200, response.json()
    assert [row["id"] for row in response.json()["results"]] == [sale.pk]


@pytest.mark.parametrize(
    "token",
    [
        base64.urlsafe_b64encode(b"[" * 10_000).decode(),
        base64.urlsafe_b64encode(b'{"o": ' * 5_000).decode(),
        "A" * 50_000,
        cursor({"o": ["-created_at", "-id"], "v": [{"a": 1}, [1]], "b": False}),
        cursor({"o": ["-created_at", "-id"], "v": [1.5, 2], "b": False}),
        cursor({"o": ["-created_at", "-id"], "v": ["2024-01-01T00:00:00Z", "1"], "b": "yes"}),
        cursor([1, 2, 3]),
        "%00",
    ],
    ids=["deep-array", "deep-object", "very-long", "objects", "numbers", "bad-direction", "a-list", "nul"],
)
def test_a_malformed_cursor_is_400(token, client, sale):
    response = client.get(f"{API}/sales/?cursor={token}")

    errors = error_body(response, 400)
    assert errors[0]["attr"] == "cursor"


def test_a_real_cursor_still_pages(client, seller, sale):
    for _ in range(2):
        services.sale_create(
            seller=seller,
            data=services.NewSale(
                items=[ItemData(variant=stocked_variant(5), quantity=1)],
            ),
        )
    seen = []
    url = f"{API}/sales/?cursor=&page_size=1&ordering=grand_total"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]

    assert sorted(seen) == sorted(Sale.objects.values_list("pk", flat=True))


# --- the token endpoint ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"username": "u" * 100_000, "password": "x"}, "username"),
        ({"username": "u" * 151, "password": "x"}, "username"),
        ({"username": "someone", "password": "p" * 4097}, "password"),
        ({"username": "some\x00one", "password": "x"}, "username"),
        ({"username": "\ud800", "password": "x"}, "username"),
        ({"username": ["a"], "password": "x"}, "username"),
        ({"username": {"a": 1}, "password": "x"}, "username"),
    ],
    ids=["100k-username", "151-username", "4097-password", "nul", "surrogate", "list", "object"],
)
def test_an_absurd_username_or_password_is_400_before_authentication(body, attr, api_client):
    from axes.models import AccessAttempt, AccessFailureLog

    # json.dumps escapes the lone surrogate as \ud800 (a UTF-8 encoder could not even write it).
    response = api_client().generic("POST", f"{API}/auth/token/", json.dumps(body), content_type="application/json")

    assert attr in [e["attr"] for e in error_body(response, 400)]
    assert not AccessAttempt.objects.exists()
    assert not AccessFailureLog.objects.exists()


def test_a_150_character_username_still_signs_in(api_client):
    from sales.tests.factories import UserFactory

    user = UserFactory(username="u" * 150)

    response = api_client().post(
        f"{API}/auth/token/", {"username": user.username, "password": "pass-w0rd!"}, format="json"
    )

    assert response.status_code == 200, response.json()


# --- strings the database cannot store, bodies that are not objects, bytes that are not text --------------------------


@pytest.mark.parametrize(
    ("body", "attr", "code"),
    [
        ({"name": "a\x00b"}, "name", "null_characters_not_allowed"),
        ({"name": "\ud800"}, "name", "surrogate_characters_not_allowed"),
        (
            {"name": "ok", "addresses": [{"kind": "billing", "city": "x\x00"}]},
            "addresses.0.city",
            "null_characters_not_allowed",
        ),
        ({"name": "ok", "a\x00": 1}, "non_field_errors", "null_characters_not_allowed"),
    ],
    ids=["nul", "lone-surrogate", "nested-nul", "nul-in-a-key"],
)
def test_unstorable_strings_are_400_on_their_field(body, attr, code, client):
    response = client.generic("POST", f"{API}/customers/", json.dumps(body), content_type="application/json")

    assert (attr, code) in [(e["attr"], e["code"]) for e in error_body(response, 400)]
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("attributes", "attr", "code"),
    [
        ('{"colour": "re\\u0000d"}', "attributes", "null_characters_not_allowed"),
        ('{"colour\\u0000": "red"}', "attributes", "null_characters_not_allowed"),
        ('{"colour": "\\ud800"}', "attributes.colour", "surrogate_characters_not_allowed"),
        ('{"\\udc00": "red"}', "attributes", "surrogate_characters_not_allowed"),
        ('{"size": 1E+999999}', None, "parse_error"),
    ],
    ids=["nul-value", "nul-key", "surrogate-value", "surrogate-key", "overflowing-number"],
)
def test_what_jsonb_cannot_store_in_a_variants_attributes_is_400(attributes, attr, code, client, sale):
    variant = sale.items.get().variant

    response = client.generic(
        "PATCH", f"{API}/variants/{variant.pk}/", f'{{"attributes": {attributes}}}', content_type="application/json"
    )

    assert (attr, code) in [(e["attr"], e["code"]) for e in error_body(response, 400)]
    variant.refresh_from_db()
    assert variant.attributes == {}


@pytest.mark.parametrize("path", ["customers/{id}/", "sales/{sale}/", "sales/{sale}/items/{item}/"])
def test_a_path_id_in_non_ascii_digits_is_404(path, client, sale):
    """Python's int() reads "٤" as 4; a path must name the row in ASCII digits or not at all."""
    customer = Customer.objects.create(name="Carla")
    arabic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    ids = {"id": customer.pk, "sale": sale.pk, "item": sale.items.get().pk}
    url = f"{API}/" + path.format(**{name: quote(str(value).translate(arabic)) for name, value in ids.items()})

    for method in ("GET", "PATCH", "DELETE"):
        response = client.generic(method, url, "{}", content_type="application/json")

        assert codes(response, 404) == ["not_found"], (method, url)
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert Sale.objects.filter(pk=sale.pk).exists()


@pytest.mark.parametrize("body", ["[]", "[{}]", "1", '"text"', "null", "true", "1.5"])
@pytest.mark.parametrize(
    "method_path",
    [
        ("POST", f"{API}/customers/"),
        ("POST", f"{API}/payments/assign/"),
        ("POST", f"{API}/stock/adjust/"),
        ("POST", f"{API}/auth/token/"),
    ],
    ids=lambda mp: mp[1],
)
def test_a_body_that_is_not_an_object_is_400(method_path, body, client):
    method, path = method_path

    assert error_body(client.generic(method, path, body, content_type="application/json"), 400)


@pytest.mark.parametrize(
    "raw",
    [b'{"name": "\xff\xfe"}', b'{"name": "\xed\xa0\x80"}', b"\xef\xbb\xbf{}", b'{"name": "caf\xe9"}'],
    ids=["ff-fe", "encoded-surrogate", "bom", "latin-1"],
)
def test_bytes_that_are_not_utf8_are_a_parse_error(raw, client):
    response = client.generic("POST", f"{API}/customers/", raw, content_type="application/json")

    assert codes(response, 400) == ["parse_error"]


@pytest.mark.parametrize("number", ["1E+999999", "1e-999999", "-1e400"])
def test_a_json_number_that_overflows_a_float_is_a_parse_error(number, client):
    response = client.generic(
        "POST", f"{API}/customers/", f'{{"name": "x", "notes": {number}}}', content_type="application/json"
    )

    assert codes(response, 400) == ["parse_error"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; b=x"]
)
def test_a_body_that_is_not_json_is_415(content_type, client):
    response = client.generic("POST", f"{API}/customers/", "name=x", content_type=content_type)

    assert codes(response, 415) == ["unsupported_media_type"]


@pytest.mark.parametrize(
    "query",
    ["reference=a%00b", "search=%00", "channel=%00", "warehouse=MAIN%00", "status=%00", "a%00=1", "cursor=%00"],
)
def test_nul_in_a_query_parameter_is_400(query, client):
    errors = error_body(client.get(f"{API}/sales/?{query}"), 400)

    assert errors[0]["code"] == "null_characters_not_allowed"
    assert errors[0]["attr"] == query.split("=")[0].replace("%00", "\\x00")


def test_nul_in_a_query_parameter_of_the_admin_is_a_plain_400(boss_client):
    response = boss_client.get("/admin/sales/sale/?q=%00")

    assert response.status_code == 400


def test_nul_in_a_header_is_400(client):
    response = client.post(f"{API}/customers/", {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k\x00")

    assert codes(response, 400) == ["null_characters_not_allowed"]
    assert not Customer.objects.exists()


def test_too_many_query_parameters_is_400(client):
    query = "&".join(f"p{i}=1" for i in range(1_100))

    assert codes(client.get(f"{API}/sales/?{query}"), 400) == ["too_many_fields"]


def test_too_many_multipart_fields_on_the_invoice_upload_is_400(client, sale):
    parts = "".join(f'--XyZ\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n1\r\n' for i in range(1_100))

    response = client.generic(
        "POST", f"{API}/sales/{sale.pk}/invoice/", f"{parts}--XyZ--\r\n",
        content_type="multipart/form-data; boundary=XyZ",
    )

    assert codes(response, 400) == ["too_many_fields"]


def test_a_form_encoded_invoice_upload_is_415(client, sale):
    """The upload takes JSON or multipart only, as the schema declares."""
    response = client.generic(
        "POST", f"{API}/sales/{sale.pk}/invoice/", "filename=a.pdf", content_type="application/x-www-form-urlencoded"
    )

    assert codes(response, 415) == ["unsupported_media_type"]


def test_an_api_client_and_djangos_client_agree_on_the_413():
    """Both test clients go through the middleware (DRF's APIClient is Django's with JSON helpers)."""
    for client in (Client(), APIClient()):
        assert post_declared(client, f"{API}/sales/", 2 * MIB).status_code == 413


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "XyZ") -> bytes:
    """A multipart/form-data body of (field name, file name or None, content) parts."""
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (
            multipart([(f"file{i}", f"{i}.pdf", b"%PDF-1.4") for i in range(120)]),
            "multipart/form-data; boundary=XyZ",
            "too_many_fields",
        ),
        (
            multipart([(f"f{i}", None, b"1") for i in range(1_100)]),
            "multipart/form-data; boundary=XyZ",
            "too_many_fields",
        ),
        (
            b'--XyZ\r\nContent-Disposition: form-data; name="file"\r\n\r\nno end',
            "multipart/form-data; boundary=XyZ",
            None,
        ),
        (b"whatever", "multipart/form-data", "parse_error"),
        (b"whatever", "multipart/form-data; boundary=" + "b" * 300, "unsupported_media_type"),
    ],
    ids=["120-files", "1100-fields", "unterminated", "no-boundary", "long-boundary"],
)
def test_a_hostile_multipart_invoice_upload_is_4xx(body, content_type, code, client, sale):
    response = client.generic("POST", f"{API}/sales/{sale.pk}/invoice/", body, content_type=content_type)

    found = codes(response, 415 if code == "unsupported_media_type" else 400)
    if code:
        assert code in found
    assert not sale.invoices.exists()
