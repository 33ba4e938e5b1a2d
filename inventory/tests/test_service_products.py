"""Service products (records.md "Products and lines"): their lines reserve and move no stock, they have no level."""

from decimal import Decimal

import pytest

from inventory import services as stock_services
from inventory.models import StockLevel, StockMovement
from inventory.services import NotStocked
from inventory.services.audit import inventory_drift
from inventory.tests.factories import ProductFactory, stocked_variant
from sales import services
from sales.models import Sale
from sales.services import ItemData, ReturnLine

pytestmark = pytest.mark.django_db

PRODUCTS, STOCK = "/api/v1/products/", "/api/v1/stock/"


def level(variant, warehouse) -> tuple[int, int]:
    return StockLevel.objects.values_list("on_hand", "reserved").get(variant=variant, warehouse=warehouse)


def ledger(sale: Sale) -> list[tuple[int, str, int, int]]:
    return list(
        StockMovement.objects.filter(sale=sale)
        .order_by("pk")
        .values_list("variant_id", "kind", "on_hand_change", "reserved_change")
    )


@pytest.fixture
def service(warehouse):
    """The default variant of a service product (labour)."""
    return ProductFactory(kind="service", price=Decimal("25.00")).variants.get()


@pytest.fixture
def stocked(warehouse):
    return stocked_variant(10)


def mixed_sale(seller, stocked, service, *, status: str = "pending") -> Sale:
    items = [ItemData(variant=stocked, quantity=2), ItemData(variant=service, quantity=3)]
    return services.sale_create(seller=seller, data=services.NewSale(items=items, status=status))


def test_a_pending_sale_reserves_only_its_stocked_line(seller, stocked, service, warehouse):
    sale = mixed_sale(seller, stocked, service)

    assert level(stocked, warehouse) == (10, 2)
    assert not StockLevel.objects.filter(variant=service).exists()
    assert ledger(sale) == [(stocked.pk, "reservation", 0, 2)]


def test_confirm_commits_only_the_stocked_line(seller, stocked, service, warehouse):
    sale = mixed_sale(seller, stocked, service)

    services.sale_confirm(sale=sale, user=seller)

    assert level(stocked, warehouse) == (8, 0)
    assert not StockLevel.objects.filter(variant=service).exists()
    assert [row[1] for row in ledger(sale)] == ["reservation", "shipment"]
    assert not StockMovement.objects.filter(variant=service).exists()


def test_a_sale_created_confirmed_commits_only_the_stocked_line(seller, stocked, service, warehouse):
    sale = mixed_sale(seller, stocked, service, status="confirmed")

    assert level(stocked, warehouse) == (8, 0)
    assert {row[0] for row in ledger(sale)} == {stocked.pk}


def test_cancel_of_a_pending_sale_releases_only_the_stocked_line(seller, stocked, service, warehouse):
    sale = mixed_sale(seller, stocked, service)

    services.sale_cancel(sale=sale, user=seller, reason="customer")

    assert level(stocked, warehouse) == (10, 0)
    assert ledger(sale) == [(stocked.pk, "reservation", 0, 2), (stocked.pk, "release", 0, -2)]


def test_cancel_after_confirm_restocks_only_the_stocked_line(seller, stocked, service, warehouse):
    sale = mixed_sale(seller, stocked, service, status="confirmed")

    services.sale_cancel(sale=sale, user=seller, reason="customer")

    assert level(stocked, warehouse) == (10, 0)
    assert not StockMovement.objects.filter(variant=service).exists()


def test_a_restocked_return_puts_back_only_the_stocked_units(seller, stocked, service, warehouse):
    sale = mixed_sale(seller, stocked, service, status="confirmed")
    lines = list(sale.items.order_by("pk"))

    services.sale_return(
        sale=sale, user=seller, lines=[ReturnLine(item=line, quantity=1) for line in lines], restock=True
    )

    assert level(stocked, warehouse) == (9, 0)
    assert not StockMovement.objects.filter(variant=service).exists()
    assert [line.quantity_returned for line in sale.items.order_by("pk")] == [1, 1]


def test_a_sale_of_services_only_touches_no_stock(seller, service):
    sale = services.sale_create(
        seller=seller, data=services.NewSale(items=[ItemData(variant=service, quantity=1)], status="pending")
    )
    services.sale_confirm(sale=sale, user=seller)

    assert ledger(sale) == []
    assert not StockLevel.objects.exists()


def test_editing_a_pending_sale_moves_only_the_stocked_reservation(seller, stocked, service, warehouse):
    sale = mixed_sale(seller, stocked, service)

    services.sale_update(
        sale=sale, user=seller,
        data={"items": [ItemData(variant=stocked, quantity=4), ItemData(variant=service, quantity=9)]},
    )

    assert level(stocked, warehouse) == (10, 4)
    assert not StockMovement.objects.filter(variant=service).exists()


def test_check_inventory_stays_clean_with_pending_service_lines(seller, stocked, service):
    mixed_sale(seller, stocked, service)
    mixed_sale(seller, stocked, service, status="confirmed")

    assert inventory_drift() == []


def test_receiving_a_service_is_refused(service, warehouse):
    with pytest.raises(NotStocked) as caught:
        stock_services.stock_receive(variant=service, warehouse=warehouse, quantity=5)

    assert (caught.value.code, caught.value.attr) == ("not_stocked", "variant")
    assert not StockLevel.objects.exists()


@pytest.mark.parametrize(
    ("path", "body"),
    [("receive/", {"quantity": 5}), ("adjust/", {"quantity_change": 5, "reason": "count"})],
)
def test_receiving_or_adjusting_a_service_over_the_api_is_400_not_stocked(
    api_client, staff, service, warehouse, path, body
):
    response = api_client(staff).post(
        STOCK + path, {"variant": service.pk, "warehouse": warehouse.code, **body}, format="json"
    )

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["code"], error["attr"]) == ("not_stocked", "variant")
    assert not StockMovement.objects.exists()


@pytest.mark.parametrize("extra", [{"stock": 5}, {"warehouse": "MAIN"}])
def test_creating_a_service_with_stock_or_a_warehouse_is_400(api_client, staff, warehouse, extra):
    body = {"sku": "FIT-1", "name": "Fitting", "kind": "service", **extra}

    response = api_client(staff).post(PRODUCTS, body, format="json")

    assert response.status_code == 400
    assert [e["attr"] for e in response.json()["errors"]] == list(extra)


def test_products_and_variants_carry_kind_image_and_weight(api_client, staff):
    body = {
        "sku": "SHIRT",
        "name": "Shirt",
        "kind": "standard",
        "image_url": "https://img.example.com/shirt.png",
        "variants": [{"sku": "SHIRT-M", "name": "M", "image_url": "https://img.example.com/m.png", "weight": 180}],
    }

    created = api_client(staff).post(PRODUCTS, body, format="json")

    assert created.status_code == 201, created.json()
    product = created.json()
    assert (product["kind"], product["image_url"]) == ("standard", "https://img.example.com/shirt.png")
    assert (product["variants"][0]["image_url"], product["variants"][0]["weight"]) == (
        "https://img.example.com/m.png", 180,
    )
    variant = api_client(staff).get(f"/api/v1/variants/{product['variants'][0]['id']}/").json()
    assert (variant["image_url"], variant["weight"]) == ("https://img.example.com/m.png", 180)


def test_kind_defaults_to_standard_and_image_and_weight_are_optional(api_client, staff):
    product = api_client(staff).post(PRODUCTS, {"sku": "P1", "name": "Plain"}, format="json").json()

    assert (product["kind"], product["image_url"]) == ("standard", "")
    assert (product["variants"][0]["image_url"], product["variants"][0]["weight"]) == ("", None)


def test_an_unknown_kind_is_400(api_client, staff):
    response = api_client(staff).post(PRODUCTS, {"sku": "P1", "name": "P", "kind": "bundle"}, format="json")

    assert response.status_code == 400
    assert [(e["code"], e["attr"]) for e in response.json()["errors"]] == [("invalid_choice", "kind")]


def test_the_kind_of_a_product_with_sales_cannot_change(api_client, staff, seller, service):
    services.sale_create(seller=seller, data=services.NewSale(items=[ItemData(variant=service, quantity=1)]))

    response = api_client(staff).patch(f"{PRODUCTS}{service.product_id}/", {"kind": "standard"}, format="json")

    assert response.status_code == 409
    assert [(e["code"], e["attr"]) for e in response.json()["errors"]] == [("in_use", "kind")]


def test_the_kind_of_an_unused_product_may_change(api_client, staff, service):
    response = api_client(staff).patch(f"{PRODUCTS}{service.product_id}/", {"kind": "standard"}, format="json")

    assert response.status_code == 200
    assert response.json()["kind"] == "standard"
