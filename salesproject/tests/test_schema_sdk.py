"""What a generated client relies on: request ids, named query enums, required response fields, date filters."""

import functools

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db


@functools.cache
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations():
    for path, item in schema()["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def test_every_answer_carries_a_request_id_and_echoes_a_usable_one(client):
    made = client.get("/api/v1/")
    echoed = client.get("/api/v1/", HTTP_X_REQUEST_ID="pos-7:till-2.0042")
    replaced = client.get("/api/v1/", HTTP_X_REQUEST_ID="no spaces <or> tags")

    assert len(made["X-Request-ID"]) == 32
    assert echoed["X-Request-ID"] == "pos-7:till-2.0042"
    assert replaced["X-Request-ID"] not in ("", "no spaces <or> tags")
    assert client.get("/api/v1/sales/")["X-Request-ID"]  # a 401 too


def test_every_operation_declares_the_request_id_both_ways():
    for method, path, operation in operations():
        names = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert "X-Request-ID" in names, (method, path)
        for code, response in operation["responses"].items():
            assert "X-Request-ID" in response.get("headers", {}), (method, path, code)


def test_query_enums_are_named_components():
    components = schema()["components"]["schemas"]
    for method, path, operation in operations():
        for parameter in operation.get("parameters", []):
            node = parameter["schema"]
            node = node.get("items", node)
            assert "enum" not in node, (method, path, parameter["name"])
            if "$ref" in node and parameter["in"] == "query":
                assert "enum" in components[node["$ref"].rsplit("/", 1)[-1]]


def test_response_components_require_every_field_they_always_write():
    components = schema()["components"]["schemas"]

    assert set(components["Customer"]["required"]) == set(components["Customer"]["properties"])
    assert "delivery_status" in components["Sale"]["required"]
    assert "requested" not in components["ConflictError"]["required"]  # only for insufficient_stock
    assert "email" not in components["CustomerRequest"].get("required", [])


def test_date_bounds_take_a_date_or_a_date_time():
    (created_after,) = [
        p for p in schema()["paths"]["/api/v1/sales/"]["get"]["parameters"] if p["name"] == "created_after"
    ]

    assert [option["format"] for option in created_after["schema"]["anyOf"]] == ["date", "date-time"]
