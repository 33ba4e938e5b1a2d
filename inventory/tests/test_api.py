"""Catalogue, warehouse and stock endpoints, through the API as a client sees them."""

import pytest

from inventory import services
from inventory.models import Product, ProductGroup, StockLevel, StockMovement, Variant, Warehouse
from inventory.tests.factories import ProductFactory, ProductGroupFactory, WarehouseFactory, stocked_variant
from sales.services import ItemData
from sales.tests.factories import SaleFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"


def error_codes(response) -> list[tuple[str, str | None]]:
    return [(e["code"], e["attr"]) for e in response.json()["errors"]]


def product_body(**fields) -> dict:
    return {"sku": "TSHIRT", "name": "T-shirt", "price": "19.90", "cost_price": 8, **fields}


# --- access --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["products", "variants", "warehouses", "product-groups", "stock", "stock/movements"]
)
def test_a_seller_reads_the_catalogue_and_stock(api_client, seller, warehouse, path):
    stocked_variant(3, product_group=ProductGroupFactory())

    response = api_client(seller).get(f"{API}/{path}/")

    assert response.status_code == 200
    assert set(response.json()) == {"count", "next", "previous", "results"}
    assert response.json()["count"] >= 1


@pytest.mark.parametrize("path", ["products", "variants", "warehouses", "product-groups", "stock", "stock/movements"])
def test_anonymous_is_401(api_client, path):
    response = api_client().get(f"{API}/{path}/")

    assert response.status_code == 401
    assert error_codes(response) == [("not_authenticated", None)]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("products", product_body()),
        ("warehouses", {"code": "EU", "name": "Europe"}),
        ("product-groups", {"code": "shirts", "name": "Shirts"}),
        ("stock/receive", {"variant": 1, "warehouse": "MAIN", "quantity": 1}),
        ("stock/adjust", {"variant": 1, "warehouse": "MAIN", "quantity_change": 1, "reason": "count"}),
    ],
)
def test_a_seller_cannot_write_the_catalogue_or_stock(api_client, seller, warehouse, path, body):
    response = api_client(seller).post(f"{API}/{path}/", body, format="json")

    assert response.status_code == 403
    assert error_codes(response) == [("permission_denied", None)]


def test_a_seller_cannot_change_or_delete_a_product(api_client, seller):
    product = ProductFactory()
    client = api_client(seller)

    assert client.patch(f"{API}/products/{product.pk}/", {"name": "x"}, format="json").status_code == 403
    assert client.delete(f"{API}/products/{product.pk}/").status_code == 403
    assert Product.objects.filter(pk=product.pk, name=product.name).exists()


# --- products ------------------------------------------------------------------------------


def test_create_product_without_variants_makes_one_default_variant(api_client, staff):
    group = ProductGroupFactory(code="apparel")

    response = api_client(staff).post(f"{API}/products/", product_body(product_group="apparel"), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "sku": "TSHIRT",
        "name": "T-shirt",
        "kind": "standard",
        "unit": "pcs",
        "image_url": "",
        "price": "19.90",
        "cost_price": "8.00",
        "product_group": "apparel",
        "active": True,
        "variants": [
            {"id": body["variants"][0]["id"], "sku": "TSHIRT", "name": "T-shirt", "attributes": {},
             "image_url": "", "weight": None, "price": None, "cost_price": None, "is_default": True,
             "metadata": {}}
        ],
        "metadata": {},
    }
    assert Product.objects.get(pk=body["id"]).product_group == group


def test_create_product_with_variants_makes_exactly_those_the_first_default(api_client, staff):
    variants = [
        {"sku": "TS-S", "name": "Small", "attributes": {"size": "S"}},
        {"sku": "TS-L", "name": "Large", "attributes": {"size": "L"}, "price": 21.5, "cost_price": "9"},
    ]

    response = api_client(staff).post(f"{API}/products/", product_body(variants=variants), format="json")

    assert response.status_code == 201
    variants = response.json()["variants"]
    got = [(v["sku"], v["attributes"], v["price"], v["cost_price"], v["is_default"]) for v in variants]
    assert got == [("TS-S", {"size": "S"}, None, None, True), ("TS-L", {"size": "L"}, "21.50", "9.00", False)]
    assert Variant.objects.filter(product_id=response.json()["id"]).count() == 2


@pytest.mark.parametrize(
    ("body", "attr", "code"),
    [
        ({"name": "No sku"}, "sku", "required"),
        (product_body(price="-1"), "price", "min_value"),
        (product_body(price="abc"), "price", "invalid"),
        (product_body(price="1.234"), "price", "max_decimal_places"),
        (product_body(price=10**12), "price", "amount_too_large"),
        (product_body(name="x" * 10_000), "name", "max_length"),
        (product_body(product_group="nope"), "product_group", "does_not_exist"),
        (product_body(active="maybe"), "active", "invalid"),
        (product_body(variants=[]), "variants.non_field_errors", "empty"),
        (product_body(variants="abc"), "variants.non_field_errors", "not_a_list"),
        (product_body(variants=[{"sku": "A"}, {"sku": "A"}]), "variants.1.sku", "invalid"),
        (product_body(variants=[{"sku": "A", "price": -3}]), "variants.0.price", "min_value"),
        (product_body(variants=[{"sku": "A", "attributes": [1]}]), "variants.0.attributes", "not_a_dict"),
        (product_body(variants=[{"id": 1, "sku": "A"}]), "variants.0.id", "invalid"),
    ],
)
def test_create_product_rejects_bad_input_with_400(api_client, staff, body, attr, code):
    response = api_client(staff).post(f"{API}/products/", body, format="json")

    assert response.status_code == 400, response.json()
    assert (code, attr) in error_codes(response)
    assert not Product.objects.exists()


def test_create_product_with_a_taken_sku_is_400(api_client, staff):
    ProductFactory(sku="TSHIRT")
    client = api_client(staff)

    assert error_codes(client.post(f"{API}/products/", product_body(), format="json")) == [("unique", "sku")]
    response = client.post(f"{API}/products/", product_body(sku="NEW", variants=[{"sku": "TSHIRT"}]), format="json")
    assert response.status_code == 400
    assert error_codes(response) == [("invalid", "variants.0.sku")]


def test_patch_product_changes_fields_and_the_default_variant_follows_its_sku(api_client, staff):
    product = ProductFactory(sku="OLD", name="Old name", price="10.00")

    response = api_client(staff).patch(
        f"{API}/products/{product.pk}/", {"sku": "NEW", "price": 12, "active": False}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["sku"], body["name"], body["price"], body["active"]) == ("NEW", "Old name", "12.00", False)
    assert [v["sku"] for v in body["variants"]] == ["NEW"]


def test_patch_product_with_variants_replaces_the_list(api_client, staff):
    product = ProductFactory(sku="P")
    keep = product.variants.get()
    extra = Variant.objects.create(product=product, sku="P-X")

    response = api_client(staff).patch(
        f"{API}/products/{product.pk}/",
        {"variants": [{"sku": "P-NEW", "name": "New"}, {"id": keep.pk, "price": "3.00"}]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    got = [(v["sku"], v["price"], v["is_default"]) for v in response.json()["variants"]]
    assert got == [("P", "3.00", False), ("P-NEW", None, True)]
    assert not Variant.objects.filter(pk=extra.pk).exists()


def test_put_back_what_get_returned_changes_nothing(api_client, staff):
    product = ProductFactory(sku="P")
    Variant.objects.create(product=product, sku="P-2", attributes={"size": "L"}, price="4.50")
    client = api_client(staff)
    before = client.get(f"{API}/products/{product.pk}/").json()

    response = client.put(f"{API}/products/{product.pk}/", before, format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == before


def test_patch_product_cannot_drop_a_variant_with_sales(api_client, staff, warehouse):
    variant = stocked_variant(5)
    SaleFactory(items=[ItemData(variant=variant, quantity=1)])

    response = api_client(staff).patch(
        f"{API}/products/{variant.product_id}/", {"variants": [{"sku": "OTHER"}]}, format="json"
    )

    assert response.status_code == 409
    assert error_codes(response) == [("in_use", "variants")]
    assert list(variant.product.variants.values_list("sku", flat=True)) == [variant.sku]


def test_patch_product_naming_another_products_variant_is_400(api_client, staff):
    product, other = ProductFactory(), ProductFactory()

    response = api_client(staff).patch(
        f"{API}/products/{product.pk}/", {"variants": [{"id": other.variants.get().pk}]}, format="json"
    )

    assert response.status_code == 400
    assert error_codes(response) == [("invalid", "variants.0.id")]


def test_delete_unused_product_is_204(api_client, staff):
    product = ProductFactory()

    assert api_client(staff).delete(f"{API}/products/{product.pk}/").status_code == 204
    assert not Product.objects.filter(pk=product.pk).exists()


def test_delete_product_used_by_sales_is_409_in_use(api_client, staff, warehouse):
    variant = stocked_variant(5)
    SaleFactory(items=[ItemData(variant=variant, quantity=1)])

    response = api_client(staff).delete(f"{API}/products/{variant.product_id}/")

    assert response.status_code == 409
    assert response.json()["type"] == "client_error"
    assert error_codes(response) == [("in_use", None)]
    assert Product.objects.filter(pk=variant.product_id).exists()


def test_unknown_product_is_404(api_client, seller):
    for pk in ("999999", "abc", "9" * 30):
        response = api_client(seller).get(f"{API}/products/{pk}/")
        assert response.status_code == 404
        assert error_codes(response) == [("not_found", None)]


def test_product_filters(api_client, seller):
    group = ProductGroupFactory(code="shoes")
    ProductFactory(sku="SHOE-1", name="Runner", product_group=group)
    ProductFactory(sku="HAT-1", name="Cap", active=False)
    client = api_client(seller)

    def skus(query: str) -> list[str]:
        response = client.get(f"{API}/products/?{query}")
        assert response.status_code == 200, response.json()
        return [p["sku"] for p in response.json()["results"]]

    assert skus("product_group=shoes") == ["SHOE-1"]
    assert skus("active=false") == ["HAT-1"]
    assert skus("search=runn") == ["SHOE-1"]
    assert skus("sku=HAT-1") == ["HAT-1"]


@pytest.mark.parametrize("query", ["product_group=nope", "active=maybe"])
def test_product_filter_with_unknown_code_or_malformed_value_is_400(api_client, seller, query):
    response = api_client(seller).get(f"{API}/products/?{query}")

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert error_codes(response)[0][1] == query.split("=")[0]


def test_product_list_query_count_does_not_grow_with_the_page(api_client, seller, django_assert_max_num_queries):
    group = ProductGroupFactory()
    for _ in range(12):
        product = ProductFactory(product_group=group)
        Variant.objects.create(product=product, sku=f"{product.sku}-B")
    client = api_client(seller)

    with django_assert_max_num_queries(5):  # token, rate counter, count, products with groups, variants
        response = client.get(f"{API}/products/")

    assert len(response.json()["results"]) == 12
    assert all(len(p["variants"]) == 2 for p in response.json()["results"])


# --- variants ------------------------------------------------------------------------------


def test_staff_adds_a_variant_and_makes_it_the_default(api_client, staff):
    product = ProductFactory(sku="P")
    client = api_client(staff)

    response = client.post(
        f"{API}/variants/", {"product": product.pk, "sku": "P-RED", "attributes": {"color": "red"}}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["is_default"] is False

    response = client.patch(f"{API}/variants/{response.json()['id']}/", {"is_default": True}, format="json")
    assert response.status_code == 200
    assert list(product.variants.filter(is_default=True).values_list("sku", flat=True)) == ["P-RED"]


def test_a_variant_cannot_move_to_another_product(api_client, staff):
    product, other = ProductFactory(), ProductFactory()

    response = api_client(staff).patch(
        f"{API}/variants/{product.variants.get().pk}/", {"product": other.pk}, format="json"
    )

    assert response.status_code == 400
    assert error_codes(response) == [("invalid", "product")]


@pytest.mark.parametrize(
    ("body", "attr", "code"),
    [
        ({"product": 999999, "sku": "X"}, "product", "does_not_exist"),
        ({"product": "abc", "sku": "X"}, "product", "incorrect_type"),
        ({"sku": "X"}, "product", "required"),
    ],
)
def test_create_variant_rejects_bad_input(api_client, staff, body, attr, code):
    response = api_client(staff).post(f"{API}/variants/", body, format="json")

    assert response.status_code == 400
    assert (code, attr) in error_codes(response)


def test_delete_variant_used_by_sales_is_409_in_use(api_client, staff, warehouse):
    variant = stocked_variant(5)
    Variant.objects.create(product=variant.product, sku="SECOND")
    SaleFactory(items=[ItemData(variant=variant, quantity=1)])

    response = api_client(staff).delete(f"{API}/variants/{variant.pk}/")

    assert response.status_code == 409
    assert error_codes(response) == [("in_use", None)]


def test_delete_unused_variant_moves_the_default(api_client, staff):
    product = ProductFactory(sku="P")
    second = Variant.objects.create(product=product, sku="P-2")

    response = api_client(staff).delete(f"{API}/variants/{product.variants.get(is_default=True).pk}/")

    assert response.status_code == 204
    second.refresh_from_db()
    assert second.is_default


def test_variant_filters(api_client, seller):
    product = ProductFactory(sku="P")
    ProductFactory(sku="Q")
    client = api_client(seller)

    response = client.get(f"{API}/variants/?product={product.pk}")
    assert [v["sku"] for v in response.json()["results"]] == ["P"]
    assert response.json()["results"][0]["product"] == product.pk
    assert client.get(f"{API}/variants/?product=999999").json()["count"] == 0
    assert client.get(f"{API}/variants/?product=1.5").status_code == 400
    assert client.get(f"{API}/variants/?product=abc").status_code == 400


def test_variant_list_query_count_does_not_grow_with_the_page(api_client, seller, django_assert_max_num_queries):
    for _ in range(12):
        ProductFactory()

    client = api_client(seller)

    with django_assert_max_num_queries(4):  # token, rate counter, count, variants with products
        response = client.get(f"{API}/variants/")

    assert len(response.json()["results"]) == 12


# --- warehouses and product groups -----------------------------------------------------------


def test_staff_manages_warehouses(api_client, staff, warehouse):
    client = api_client(staff)

    response = client.post(
        f"{API}/warehouses/", {"code": "EU", "name": "Europe", "country": "de", "is_default": True}, format="json"
    )
    assert response.status_code == 201
    assert response.json() == {"id": response.json()["id"], "code": "EU", "name": "Europe", "country": "DE",
                               "is_default": True}
    warehouse.refresh_from_db()
    assert not warehouse.is_default  # the new default took the flag

    response = client.patch(f"{API}/warehouses/{response.json()['id']}/", {"name": "EU hub"}, format="json")
    assert response.json()["name"] == "EU hub"
    assert client.delete(f"{API}/warehouses/{response.json()['id']}/").status_code == 204


@pytest.mark.parametrize(
    ("body", "attr", "code"),
    [
        ({"code": "MAIN", "name": "Dup"}, "code", "unique"),
        ({"code": "has space", "name": "X"}, "code", "invalid"),
        ({"code": "X", "name": "X", "country": "ITA"}, "country", "invalid"),
        ({"code": "X", "name": "X" * 10_000}, "name", "max_length"),
        ({"code": "X"}, "name", "required"),
    ],
)
def test_create_warehouse_rejects_bad_input(api_client, staff, warehouse, body, attr, code):
    response = api_client(staff).post(f"{API}/warehouses/", body, format="json")

    assert response.status_code == 400
    assert (code, attr) in error_codes(response)


def test_delete_warehouse_with_stock_or_sales_is_409_in_use(api_client, staff, warehouse):
    other = WarehouseFactory(code="SIDE")
    stocked_variant(2, warehouse=other)
    SaleFactory()  # sells from the default warehouse
    client = api_client(staff)

    for target in (other, warehouse):
        response = client.delete(f"{API}/warehouses/{target.pk}/")
        assert response.status_code == 409
        assert error_codes(response) == [("in_use", None)]
    assert Warehouse.objects.count() == 2


def test_staff_manages_product_groups(api_client, staff):
    client = api_client(staff)

    response = client.post(f"{API}/product-groups/", {"code": "shoes", "name": "Shoes"}, format="json")
    assert response.status_code == 201
    assert response.json() == {"id": response.json()["id"], "code": "shoes", "name": "Shoes"}
    product = ProductFactory(product_group=ProductGroup.objects.get(code="shoes"))

    assert client.delete(f"{API}/product-groups/{response.json()['id']}/").status_code == 204
    product.refresh_from_db()
    assert product.product_group is None


@pytest.mark.parametrize("path", ["warehouses", "product-groups"])
def test_reference_list_query_count_is_constant(api_client, seller, django_assert_max_num_queries, path):
    for n in range(12):
        WarehouseFactory(code=f"W{n}")
        ProductGroupFactory(code=f"g{n}")

    client = api_client(seller)

    with django_assert_max_num_queries(4):  # token, rate counter, count, rows
        response = client.get(f"{API}/{path}/")

    assert len(response.json()["results"]) == 12


# --- stock -----------------------------------------------------------------------------------


def test_stock_lists_levels(api_client, seller, warehouse):
    variant = stocked_variant(7)

    response = api_client(seller).get(f"{API}/stock/")

    level = StockLevel.objects.get()
    assert response.json()["results"] == [
        {"id": level.pk, "variant": variant.pk, "sku": variant.sku, "product": variant.product_id,
         "warehouse": "MAIN", "on_hand": 7, "reserved": 0, "available": 7}
    ]
    assert api_client(seller).get(f"{API}/stock/{level.pk}/").json()["available"] == 7


def test_an_id_filter_beyond_any_id_gives_an_empty_list(api_client, seller, warehouse):
    stocked_variant(2)

    response = api_client(seller).get(f"{API}/stock/?variant={'9' * 30}")

    assert (response.status_code, response.json()["count"]) == (200, 0)


def test_stock_filters(api_client, seller, warehouse):
    side = WarehouseFactory(code="SIDE")
    low = stocked_variant(3)
    high = stocked_variant(50)
    services.stock_receive(variant=low, warehouse=side, quantity=9, reason="test")
    client = api_client(seller)

    def rows(query: str) -> list[tuple[str, str]]:
        response = client.get(f"{API}/stock/?{query}")
        assert response.status_code == 200, response.json()
        return sorted((r["sku"], r["warehouse"]) for r in response.json()["results"])

    assert rows("warehouse=SIDE") == [(low.sku, "SIDE")]
    assert rows(f"variant={high.pk}") == [(high.sku, "MAIN")]
    assert rows(f"product={low.product_id}") == [(low.sku, "MAIN"), (low.sku, "SIDE")]
    assert rows("low_stock=true") == [(low.sku, "MAIN")]
    assert rows("low_stock=true&low_stock_threshold=10") == [(low.sku, "MAIN"), (low.sku, "SIDE")]
    assert rows("low_stock=false") == sorted([(high.sku, "MAIN"), (low.sku, "SIDE")])
    assert rows("variant=999999") == []


@pytest.mark.parametrize(
    ("query", "attr"),
    [
        ("warehouse=NOPE", "warehouse"),
        ("variant=abc", "variant"),
        ("product=1.5", "product"),
        ("low_stock=maybe", "low_stock"),
        ("low_stock_threshold=-1", "low_stock_threshold"),
    ],
)
def test_stock_filter_with_unknown_code_or_malformed_value_is_400(api_client, seller, warehouse, query, attr):
    response = api_client(seller).get(f"{API}/stock/?{query}")

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert [e["attr"] for e in response.json()["errors"]] == [attr]


def test_stock_list_query_count_does_not_grow_with_the_page(api_client, seller, warehouse,
                                                             django_assert_max_num_queries):
    for _ in range(12):
        stocked_variant(2)

    client = api_client(seller)

    with django_assert_max_num_queries(5):  # token, rate counter, warehouse code lookup, count, levels
        response = client.get(f"{API}/stock/?warehouse=MAIN")

    assert len(response.json()["results"]) == 12


def test_receive_books_stock_and_answers_with_the_level(api_client, staff, warehouse):
    variant = stocked_variant(0)

    response = api_client(staff).post(
        f"{API}/stock/receive/", {"variant": variant.pk, "warehouse": "MAIN", "quantity": "5", "reason": "PO-1"},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["on_hand"], response.json()["available"], response.json()["warehouse"]) == (5, 5, "MAIN")
    movement = StockMovement.objects.get()
    assert (movement.kind, movement.on_hand_change, movement.user, movement.reason) == ("receipt", 5, staff, "PO-1")


@pytest.mark.parametrize(
    ("body", "attr", "code"),
    [
        ({"quantity": 0}, "quantity", "min_value"),
        ({"quantity": -4}, "quantity", "min_value"),
        ({"quantity": 1.5}, "quantity", "invalid"),
        ({"quantity": "many"}, "quantity", "invalid"),
        ({"quantity": True}, "quantity", "invalid"),
        ({"quantity": 10**12}, "quantity", "max_value"),
        ({"quantity": None}, "quantity", "null"),
        ({"warehouse": "NOPE"}, "warehouse", "does_not_exist"),
        ({"variant": 999999}, "variant", "does_not_exist"),
        ({"variant": 10**30}, "variant", "does_not_exist"),
        ({"variant": "x"}, "variant", "incorrect_type"),
        ({"reason": "r" * 10_000}, "reason", "max_length"),
    ],
)
def test_receive_rejects_bad_input_with_400(api_client, staff, warehouse, body, attr, code):
    variant = stocked_variant(0)
    data = {"variant": variant.pk, "warehouse": "MAIN", "quantity": 1, **body}

    response = api_client(staff).post(f"{API}/stock/receive/", data, format="json")

    assert response.status_code == 400, response.json()
    assert error_codes(response) == [(code, attr)]
    assert not StockMovement.objects.exists()


def test_adjust_changes_on_hand_with_a_reason(api_client, staff, warehouse):
    variant = stocked_variant(10)

    response = api_client(staff).post(
        f"{API}/stock/adjust/",
        {"variant": variant.pk, "warehouse": "MAIN", "quantity_change": -4, "reason": "count"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["on_hand"] == 6
    assert StockMovement.objects.filter(kind="adjustment", on_hand_change=-4, reason="count").exists()


def test_adjust_below_reserved_is_409_insufficient_stock(api_client, staff, warehouse):
    variant = stocked_variant(5)
    SaleFactory(items=[ItemData(variant=variant, quantity=3)])  # pending: 3 reserved

    response = api_client(staff).post(
        f"{API}/stock/adjust/",
        {"variant": variant.pk, "warehouse": "MAIN", "quantity_change": -3, "reason": "damaged"},
        format="json",
    )

    assert response.status_code == 409
    [error] = response.json()["errors"]
    assert (error["code"], error["attr"], error["requested"], error["available"]) == (
        "insufficient_stock", "quantity_change", 3, 2)
    assert StockLevel.objects.get().on_hand == 5


def test_adjust_below_zero_where_nothing_was_stocked_is_409(api_client, staff, warehouse):
    variant = stocked_variant(0)

    response = api_client(staff).post(
        f"{API}/stock/adjust/",
        {"variant": variant.pk, "warehouse": "MAIN", "quantity_change": -1, "reason": "count"},
        format="json",
    )

    assert response.status_code == 409
    assert error_codes(response) == [("insufficient_stock", "quantity_change")]


@pytest.mark.parametrize(
    ("body", "attr", "code"),
    [
        ({"quantity_change": 0}, "quantity_change", "invalid"),
        ({"quantity_change": "x"}, "quantity_change", "invalid"),
        ({"reason": ""}, "reason", "blank"),
        ({"reason": "   "}, "reason", "blank"),
        ({"reason": None}, "reason", "null"),
    ],
)
def test_adjust_rejects_bad_input_with_400(api_client, staff, warehouse, body, attr, code):
    variant = stocked_variant(3)
    data = {"variant": variant.pk, "warehouse": "MAIN", "quantity_change": 1, "reason": "count", **body}

    response = api_client(staff).post(f"{API}/stock/adjust/", data, format="json")

    assert response.status_code == 400
    assert error_codes(response) == [(code, attr)]


def test_adjust_without_reason_is_400_required(api_client, staff, warehouse):
    variant = stocked_variant(3)

    response = api_client(staff).post(
        f"{API}/stock/adjust/", {"variant": variant.pk, "warehouse": "MAIN", "quantity_change": 1}, format="json"
    )

    assert error_codes(response) == [("required", "reason")]


def test_receive_with_an_idempotency_key_books_once(api_client, staff, warehouse):
    variant = stocked_variant(0)
    client = api_client(staff)
    body = {"variant": variant.pk, "warehouse": "MAIN", "quantity": 4}

    first = client.post(f"{API}/stock/receive/", body, format="json", HTTP_IDEMPOTENCY_KEY="rcv-1")
    second = client.post(f"{API}/stock/receive/", body, format="json", HTTP_IDEMPOTENCY_KEY="rcv-1")

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert StockLevel.objects.get().on_hand == 4


def test_movements_are_the_ledger_newest_first(api_client, seller, staff, warehouse):
    variant = stocked_variant(5)
    services.stock_adjust(variant=variant, warehouse=warehouse, quantity_change=-1, user=staff, reason="count")
    sale = SaleFactory(seller=seller, items=[ItemData(variant=variant, quantity=2)])

    response = api_client(seller).get(f"{API}/stock/movements/")

    rows = response.json()["results"]
    assert [(r["kind"], r["on_hand_change"], r["reserved_change"]) for r in rows] == [
        ("reservation", 0, 2), ("adjustment", -1, 0), ("receipt", 5, 0)
    ]
    assert rows[0]["sale"] == sale.pk
    assert rows[1]["user"] == {"id": staff.pk, "username": staff.username}
    assert set(rows[0]) == {"id", "variant", "warehouse", "kind", "on_hand_change", "reserved_change", "sale",
                            "user", "reason", "created_at"}
    assert rows[0]["warehouse"] == "MAIN"


def test_movement_filters(api_client, seller, warehouse):
    side = WarehouseFactory(code="SIDE")
    variant = stocked_variant(5)
    other = stocked_variant(5, warehouse=side)
    sale = SaleFactory(seller=seller, items=[ItemData(variant=variant, quantity=1)])
    client = api_client(seller)

    def kinds(query: str) -> list[tuple[str, int]]:
        response = client.get(f"{API}/stock/movements/?{query}")
        assert response.status_code == 200, response.json()
        return [(r["kind"], r["variant"]) for r in response.json()["results"]]

    assert kinds("warehouse=SIDE") == [("receipt", other.pk)]
    assert kinds(f"variant={variant.pk}") == [("reservation", variant.pk), ("receipt", variant.pk)]
    assert kinds(f"product={other.product_id}") == [("receipt", other.pk)]
    assert kinds("kind=reservation") == [("reservation", variant.pk)]
    assert kinds(f"sale={sale.pk}") == [("reservation", variant.pk)]
    assert kinds("sale=999999") == []
    for query in ("kind=teleport", "warehouse=NOPE", "sale=abc"):
        assert client.get(f"{API}/stock/movements/?{query}").status_code == 400


def test_movement_list_query_count_does_not_grow_with_the_page(api_client, seller, staff, warehouse,
                                                               django_assert_max_num_queries):
    for _ in range(12):
        variant = stocked_variant(0)
        services.stock_receive(variant=variant, warehouse=warehouse, quantity=3, user=staff, reason="x")

    client = api_client(seller)

    with django_assert_max_num_queries(4):  # token, rate counter, count, movements with variant, warehouse, user
        response = client.get(f"{API}/stock/movements/")

    assert len(response.json()["results"]) == 12


# --- hostile input: always a 4xx, never a 500 (run on PostgreSQL too) ------------------------------

HUGE = "9" * 30


@pytest.mark.parametrize(
    "query",
    [f"{path}/?{q}" for path in ("stock", "stock/movements") for q in (
        f"variant={HUGE}", f"product={HUGE}", f"variant=-{HUGE}", "warehouse=%00")]
    + ["stock/?low_stock=%00", f"stock/?low_stock_threshold={HUGE}", f"stock/movements/?sale={HUGE}",
       "stock/movements/?kind=%00"]
    + [f"products/?{q}" for q in ("search=%00", "sku=%00", f"product_group={HUGE}", "active=%00")]
    + [f"variants/?{q}" for q in (f"product={HUGE}", "search=%00")]
    + [f"{path}/{HUGE}/" for path in ("stock", "products", "variants", "warehouses", "product-groups")],
)
def test_hostile_query_is_never_a_server_error(api_client, seller, warehouse, query):
    stocked_variant(2)

    response = api_client(seller).get(f"{API}/{query}")

    assert response.status_code in (200, 400, 404)


@pytest.mark.parametrize(
    ("path", "body", "attr", "code"),
    [
        ("products", product_body(variants=[{"sku": "A", "attributes": {"k": "\u0000"}}]),
         "variants.0.attributes", "null_characters_not_allowed"),
        ("products", product_body(variants=[{"sku": "A", "attributes": {"\u0000": 1}}]),
         "variants.0.attributes", "null_characters_not_allowed"),
        ("products", product_body(product_group="\u0000"), "product_group", "does_not_exist"),
        ("products", product_body(product_group=["x"]), "product_group", "invalid"),
        ("products", product_body(sku="\u0000"), "sku", "null_characters_not_allowed"),
        ("products", product_body(price="NaN"), "price", "invalid"),
        ("products", product_body(price="1e400"), "price", "amount_too_large"),
        ("products", [1, 2], "non_field_errors", "invalid"),
        ("stock/receive", {"variant": HUGE, "warehouse": "MAIN", "quantity": 1}, "variant", "does_not_exist"),
        ("stock/receive", {"variant": 1, "warehouse": "\u0000", "quantity": 1}, "warehouse", "does_not_exist"),
        ("stock/receive", {"variant": 1, "warehouse": {"a": 1}, "quantity": 1}, "warehouse", "invalid"),
        ("stock/adjust", {"variant": 1, "warehouse": "MAIN", "quantity_change": "-" + HUGE, "reason": "x"},
         "quantity_change", "min_value"),
        ("warehouses", {"code": "X", "name": "X", "country": "\u0000x"}, "country", "null_characters_not_allowed"),
    ],
)
def test_hostile_body_is_400(api_client, staff, warehouse, path, body, attr, code):
    stocked_variant(2)

    response = api_client(staff).post(f"{API}/{path}/", body, format="json")

    assert response.status_code == 400, response.json()
    assert (code, attr) in error_codes(response)


def test_malformed_json_is_400(api_client, staff):
    response = api_client(staff).post(f"{API}/products/", "{bad json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["type"] == "client_error"


def test_a_seller_does_not_see_the_movements_of_another_sellers_sale(api_client, seller, staff, warehouse):
    variant = stocked_variant(5)
    own = SaleFactory(seller=seller, items=[ItemData(variant=variant, quantity=1)])
    SaleFactory(items=[ItemData(variant=variant, quantity=2)])  # another seller's

    def sales_seen(user) -> list:
        return [row["sale"] for row in api_client(user).get(f"{API}/stock/movements/").json()["results"]]

    assert sales_seen(seller) == [own.pk, None]
    assert len(sales_seen(staff)) == 3
