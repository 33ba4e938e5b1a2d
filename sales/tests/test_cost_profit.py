"""Cost, profit and margin of lines and sales (money.md "Cost, profit and reports"): staff see them, nobody else."""

import csv
import io
from decimal import Decimal

import pytest

from inventory.factories import stocked_variant
from sales import services
from sales.csv_io import write_sales_csv
from sales.models import Sale, SaleStatus
from sales.services import ItemData, ItemQuantity, NewSale
from sales.tests.factories import StaffFactory

SALES = "/api/v1/sales/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def sale(seller):
    hammer = stocked_variant(100, price=Decimal("10.00"), cost_price=Decimal("6.00"))
    saw = stocked_variant(100, price=Decimal("25.00"), cost_price=Decimal("20.00"))
    data = NewSale(
        items=[ItemData(variant=hammer, quantity=3), ItemData(variant=saw, quantity=1)],
        status=SaleStatus.CONFIRMED,
        shipping_cost=Decimal("5.00"),
    )
    sale = services.sale_create(seller=seller, data=data, user=StaffFactory(is_superuser=True))
    # One hammer cancelled: cost counts the units still sold (2), as the price does.
    line = sale.items.get(variant=hammer)
    services.sale_cancel_items(
        sale=sale, user=StaffFactory(is_superuser=True), lines=[ItemQuantity(item=line, quantity=1)]
    )
    return Sale.objects.get(pk=sale.pk)


def figures(body: dict) -> tuple:
    return body["cost_total"], body["profit"], body["margin"]


def test_staff_see_cost_profit_and_margin_in_the_list_and_the_detail(api_client, staff, sale):
    active = sale.items.get(cost_price=Decimal("6.00")).quantity_active
    assert active == 2
    hammer_cost = Decimal("6.00") * active
    cost = hammer_cost + Decimal("20.00")
    net = Decimal("10.00") * active + Decimal("25.00")
    expected = (f"{cost:.2f}", f"{net - cost:.2f}", f"{((net - cost) * 100 / net):.2f}")

    detail = api_client(staff).get(f"{SALES}{sale.pk}/").json()
    listed = api_client(staff).get(SALES).json()["results"][0]

    assert figures(detail) == figures(listed) == expected
    line = next(item for item in detail["items"] if item["cost_price"] == "6.00")
    assert (line["cost_total"], line["profit"]) == (f"{hammer_cost:.2f}", f"{Decimal('4.00') * active:.2f}")


def test_sellers_get_null_cost_profit_and_margin(api_client, seller, sale):
    detail = api_client(seller).get(f"{SALES}{sale.pk}/").json()
    listed = api_client(seller).get(SALES).json()["results"][0]

    assert figures(detail) == figures(listed) == (None, None, None)
    for item in detail["items"] + listed["items"]:
        assert (item["cost_price"], item["cost_total"], item["profit"]) == (None, None, None)


def test_margin_is_null_when_the_net_is_zero(seller):
    free = stocked_variant(10, price=Decimal("0.00"), cost_price=Decimal("1.00"))
    data = NewSale(items=[ItemData(variant=free, quantity=2)], status=SaleStatus.PENDING)
    sale = services.sale_create(seller=seller, data=data, user=StaffFactory(is_superuser=True))

    assert (sale.cost_total, sale.profit, sale.margin) == (Decimal("2.00"), Decimal("-2.00"), None)


def test_the_csv_export_has_the_cost_and_profit_columns(sale):
    stream = io.StringIO()
    write_sales_csv(Sale.objects.all(), stream)
    rows = list(csv.DictReader(io.StringIO(stream.getvalue())))

    assert {row["cost_total"] for row in rows} == {f"{sale.cost_total:.2f}"}
    assert {row["margin"] for row in rows} == {f"{sale.margin:.2f}"}
    assert sorted(row["item_profit"] for row in rows) == sorted(f"{item.profit:.2f}" for item in sale.items.all())
    assert sum(Decimal(row["item_cost_total"]) for row in rows) == sale.cost_total
