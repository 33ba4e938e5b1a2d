"""Line snapshots (records.md "Products and lines"): kind, unit, variant name, image and weight; the sale's weight."""

import json
from decimal import Decimal

import pytest
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIRequestFactory

from inventory import services as catalogue
from inventory.models import Variant
from inventory.tests.factories import ProductFactory, stocked_variant
from sales import selectors, services
from sales.api import list_rows
from sales.api.detail_rows import render_sale
from sales.api.serializers import SaleListSerializer, SaleSerializer
from sales.models import Sale
from sales.services import ItemData, ItemQuantity

pytestmark = pytest.mark.django_db

SALES = "/api/v1/sales/"
SHIRT_IMAGE, SMALL_IMAGE, FITTING_IMAGE = (
    "https://img.example.com/shirt.png",
    "https://img.example.com/shirt-s.png",
    "https://img.example.com/fitting.png",
)


def as_json(data):
    return json.loads(JSONRenderer().render(data))


@pytest.fixture
def shirt(warehouse) -> Variant:
    """A stocked variant with its own name, image and weight (180 g) of a product counted in `pcs`."""
    variant = stocked_variant(20, image_url=SHIRT_IMAGE)
    return catalogue.variant_update(variant=variant, data={"name": "S", "image_url": SMALL_IMAGE, "weight": 180})


@pytest.fixture
def fitting(warehouse) -> Variant:
    """A service sold by the hour: an image on the product only, no weight."""
    product = ProductFactory(kind="service", unit="h", image_url=FITTING_IMAGE, price=Decimal("30.00"))
    return product.variants.get()


@pytest.fixture
def mixed(seller, shirt, fitting) -> Sale:
    items = [ItemData(variant=shirt, quantity=3), ItemData(variant=fitting, quantity=2)]
    return services.sale_create(seller=seller, data=services.NewSale(items=items, status="pending"))


def snapshots(sale: Sale) -> list[tuple]:
    return list(
        sale.items.order_by("pk").values_list("item_type", "unit", "variant_name", "image_url", "weight")
    )


def test_lines_snapshot_kind_unit_variant_name_image_and_weight(mixed, fitting):
    assert snapshots(mixed) == [
        ("standard", "pcs", "S", SMALL_IMAGE, 180),
        ("service", "h", fitting.name, FITTING_IMAGE, None),
    ]


def test_a_variant_without_an_image_takes_the_products(seller, warehouse):
    variant = stocked_variant(5, image_url=SHIRT_IMAGE)

    sale = services.sale_create(seller=seller, data=services.NewSale(items=[ItemData(variant=variant, quantity=1)]))

    assert snapshots(sale)[0][3] == SHIRT_IMAGE


def test_snapshots_do_not_follow_later_catalogue_changes(mixed, shirt):
    catalogue.variant_update(variant=shirt, data={"name": "Small", "image_url": "", "weight": 999})

    assert snapshots(mixed)[0] == ("standard", "pcs", "S", SMALL_IMAGE, 180)


def test_total_weight_adds_weight_times_units_sold_minus_cancelled(mixed, seller):
    assert Sale.objects.get(pk=mixed.pk).total_weight == 540  # 3 × 180; the service weighs nothing

    line = mixed.items.get(item_type="standard")
    services.sale_cancel_items(sale=mixed, user=seller, lines=[ItemQuantity(item=line, quantity=1)])

    assert Sale.objects.get(pk=mixed.pk).total_weight == 360


def test_total_weight_is_0_without_weights(seller, warehouse):
    sale = services.sale_create(
        seller=seller, data=services.NewSale(items=[ItemData(variant=stocked_variant(5), quantity=2)])
    )

    assert sale.total_weight == 0


def test_the_api_shows_the_snapshots_and_total_weight(api_client, seller, shirt, fitting):
    client = api_client(seller)
    body = {"items": [{"variant": shirt.pk, "quantity": 3}, {"variant": fitting.pk, "quantity": 2}]}

    created = client.post(SALES, body, format="json")

    assert created.status_code == 201, created.json()
    sale = created.json()
    detail = client.get(f"{SALES}{sale['id']}/").json()
    [listed] = client.get(SALES).json()["results"]
    for shown in (sale, detail, listed):
        assert [
            (i["item_type"], i["unit"], i["variant_name"], i["image_url"], i["weight"]) for i in shown["items"]
        ] == [("standard", "pcs", "S", SMALL_IMAGE, 180), ("service", "h", fitting.name, FITTING_IMAGE, None)]
        assert shown["total_weight"] == 540
        assert shown["total_quantity"] == 5


def test_list_detail_and_serializer_say_the_same(mixed, seller, staff):
    sale = Sale.objects.get(pk=mixed.pk)
    services.sale_cancel_items(sale=sale, user=seller, lines=[ItemQuantity(item=sale.items.first(), quantity=1)])
    for user in (seller, staff):
        request = APIRequestFactory().get(SALES)
        request.user = user
        user.get_all_permissions()
        queryset = selectors.sale_scope(user=user)
        loaded = selectors.sale_with_related(Sale.objects.filter(pk=sale.pk), payments=True).get()

        listed = as_json(list_rows.render_sales(list(list_rows.sale_rows(queryset)), user=user, using="default"))
        expected_list = as_json(
            SaleListSerializer(selectors.sale_with_related(queryset), many=True, context={"request": request}).data
        )
        detail = as_json(render_sale(loaded, user=user))
        expected_detail = as_json(SaleSerializer(loaded, context={"request": request}).data)

        assert listed == expected_list
        assert detail == expected_detail
        assert detail["total_weight"] == listed[0]["total_weight"] == 360
