"""`GET /api/v1/reports/sales/`: every grouping, CSV, scoping, and exactness against the sales and the summary."""

import csv
import io
import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from customers.factories import CustomerFactory
from inventory.factories import ProductGroupFactory, stocked_variant
from reports.grouping import GROUP_BY_CHOICES, ORDER_LEVEL_KEY
from sales import services
from sales.models import REVENUE_STATUSES, Sale, SaleStatus
from sales.services import ItemData, NewSale, ReturnLine
from sales.tests.factories import ChannelFactory, StaffFactory, UserFactory
from salesproject.money import quantize

REPORT = "/api/v1/reports/sales/"
SUMMARY = "/api/v1/sales/summary/"
MONEY_KEYS = ("revenue", "discount", "tax", "cost", "profit")
ROW_KEYS = {"key", "label", "sales", "units", "revenue", "discount", "tax", "cost", "profit", "margin"}

pytestmark = pytest.mark.django_db


def D(value) -> Decimal:
    return Decimal(value)


@pytest.fixture
def catalogue(db):
    group = ProductGroupFactory(code="tools", name="Tools")
    return {
        "hammer": stocked_variant(1000, price=D("10.00"), cost_price=D("6.00"), product_group=group),
        "saw": stocked_variant(1000, price=D("25.00"), cost_price=D("20.00")),
    }


def make_sale(seller, lines, *, status=SaleStatus.COMPLETED, sold_at=None, **fields) -> Sale:
    foreign = fields.get("currency") not in (None, "USD")  # no catalogue price: the same number, explicitly
    items = [
        ItemData(variant=variant, quantity=quantity, unit_price=variant.effective_price if foreign else None)
        for variant, quantity in lines
    ]
    data = NewSale(items=items, status=status, sold_at=sold_at, **fields)
    return services.sale_create(seller=seller, data=data, user=StaffFactory(is_superuser=True))


def get(api_client, user, **params):
    response = api_client(user).get(REPORT, params)
    assert response.status_code == 200, response.content
    return response.json()


def summary_revenue(api_client, user, **params) -> Decimal:
    response = api_client(user).get(SUMMARY, params)
    assert response.status_code == 200, response.content
    return D(response.json()["total_revenue"])


def assert_rows_add_up(report: dict, *, costs: bool = True) -> None:
    rows, totals = report["rows"], report["totals"]
    for row in rows:
        assert set(row) == ROW_KEYS
    assert set(totals) == ROW_KEYS - {"key", "label"}
    for name in MONEY_KEYS if costs else MONEY_KEYS[:3]:
        assert sum((D(row[name]) for row in rows), D(0)) == D(totals[name]), name
    assert sum(row["units"] for row in rows) == totals["units"]
    if report["group_by"] not in ("product", "variant", "product_group"):
        assert sum(row["sales"] for row in rows) == totals["sales"]


def expected_revenue(sales) -> Decimal:
    """money.md: each sale's net total converted with its own rate, rounded in the base currency, then summed."""
    return sum(
        (quantize(s.net_total * s.exchange_rate, "USD") for s in sales if s.status in REVENUE_STATUSES), D("0.00")
    )


# --- figures ---------------------------------------------------------------------------------------------------------


def test_product_rows_split_revenue_by_line_and_keep_shipping_in_an_order_row(api_client, staff, seller, catalogue):
    hammer, saw = catalogue["hammer"], catalogue["saw"]
    make_sale(seller, [(hammer, 2), (saw, 1)], shipping_cost=D("5.00"))
    make_sale(seller, [(hammer, 1)])
    make_sale(seller, [(saw, 3)], status=SaleStatus.PENDING)  # makes no revenue: not in the report

    report = get(api_client, staff, group_by="product")

    assert report["group_by"] == "product" and report["base_currency"] == "USD"
    by_key = {row["key"]: row for row in report["rows"]}
    assert by_key[hammer.product_id] == {
        "key": hammer.product_id, "label": hammer.product.name, "sales": 2, "units": 3, "revenue": "30.00",
        "discount": "0.00", "tax": "0.00", "cost": "18.00", "profit": "12.00", "margin": "40.00",
    }
    assert by_key[saw.product_id]["revenue"] == "25.00" and by_key[saw.product_id]["profit"] == "5.00"
    assert by_key[ORDER_LEVEL_KEY]["revenue"] == "5.00"  # the shipping
    assert [row["key"] for row in report["rows"]] == [hammer.product_id, saw.product_id, ORDER_LEVEL_KEY]
    assert report["totals"] == {
        "sales": 2, "units": 4, "revenue": "60.00", "discount": "0.00", "tax": "0.00", "cost": "38.00",
        "profit": "17.00", "margin": "30.91",
    }
    assert_rows_add_up(report)
    assert D(report["totals"]["revenue"]) == summary_revenue(api_client, staff)


def test_returned_units_leave_units_revenue_cost_and_profit(api_client, staff, seller, catalogue):
    sale = make_sale(seller, [(catalogue["hammer"], 4)])
    services.sale_return(sale=sale, user=staff, lines=[ReturnLine(item=sale.items.get(), quantity=1)])

    totals = get(api_client, staff, group_by="month")["totals"]

    # 3 units kept: 30.00 of revenue (the return took 10.00 off the net total), 18.00 of cost.
    assert (totals["units"], totals["revenue"], totals["cost"], totals["profit"]) == (3, "30.00", "18.00", "12.00")


def test_a_sale_in_another_currency_counts_at_its_own_rate(api_client, staff, seller, catalogue):
    make_sale(seller, [(catalogue["hammer"], 1)])
    eur = make_sale(
        seller, [(catalogue["hammer"], 1)], currency="EUR", exchange_rate=D("1.08345678"),
    )
    # 10.00 EUR × 1.08345678 = 10.8345678 → 10.83 USD.
    assert eur.net_total == D("10.00")

    report = get(api_client, staff, group_by="currency")

    by_key = {row["key"]: row for row in report["rows"]}
    assert by_key["EUR"]["revenue"] == "10.83" and by_key["USD"]["revenue"] == "10.00"
    assert [row["key"] for row in report["rows"]] == ["EUR", "USD"]  # by revenue, largest first
    assert report["totals"]["revenue"] == "20.83"
    assert_rows_add_up(report)


@pytest.mark.parametrize("group_by", GROUP_BY_CHOICES)
def test_every_grouping_answers_rows_that_add_up_to_the_totals(api_client, staff, seller, catalogue, group_by):
    channel = ChannelFactory()
    customer = CustomerFactory()
    make_sale(seller, [(catalogue["hammer"], 2), (catalogue["saw"], 1)], channel=channel, customer=customer,
              sold_at=datetime(2026, 3, 2, 10, tzinfo=UTC), shipping_cost=D("4.00"))
    make_sale(staff, [(catalogue["saw"], 1)], sold_at=datetime(2026, 4, 15, 10, tzinfo=UTC))
    make_sale(seller, [(catalogue["hammer"], 1)], currency="EUR", exchange_rate=D("1.1"),
              sold_at=datetime(2026, 4, 16, 10, tzinfo=UTC))

    report = get(api_client, staff, group_by=group_by)

    assert report["group_by"] == group_by and report["rows"]
    assert_rows_add_up(report)
    assert report["totals"]["sales"] == 3
    assert D(report["totals"]["revenue"]) == expected_revenue(Sale.objects.all())


def test_time_groupings_use_sold_at_and_come_in_key_order(api_client, staff, seller, catalogue):
    make_sale(seller, [(catalogue["hammer"], 1)], sold_at=datetime(2026, 4, 1, 12, tzinfo=UTC))
    make_sale(seller, [(catalogue["saw"], 1)], sold_at=datetime(2026, 3, 4, 12, tzinfo=UTC))  # a Wednesday
    make_sale(seller, [(catalogue["saw"], 1)], sold_at=datetime(2026, 3, 31, 12, tzinfo=UTC))

    months = get(api_client, staff, group_by="month")["rows"]
    weeks = get(api_client, staff, group_by="week")["rows"]
    days = get(api_client, staff, group_by="day")["rows"]

    assert [(r["key"], r["label"], r["sales"]) for r in months] == [
        ("2026-03", "March 2026", 2), ("2026-04", "April 2026", 1),
    ]
    assert [(r["key"], r["label"]) for r in weeks] == [("2026-03-02", "2026-W10"), ("2026-03-30", "2026-W14")]
    assert [r["key"] for r in days] == ["2026-03-04", "2026-03-31", "2026-04-01"]


def test_store_is_one_no_store_row_until_stores_exist(api_client, staff, seller, catalogue):
    make_sale(seller, [(catalogue["hammer"], 1)])
    make_sale(staff, [(catalogue["saw"], 1)])

    rows = get(api_client, staff, group_by="store")["rows"]

    assert [(row["key"], row["label"], row["sales"], row["revenue"]) for row in rows] == [
        (None, "No store", 2, "35.00")
    ]


def test_nullable_keys_have_a_none_row(api_client, staff, seller, catalogue):
    make_sale(seller, [(catalogue["saw"], 1)])

    channel_rows = get(api_client, staff, group_by="channel")["rows"]
    group_rows = get(api_client, staff, group_by="product_group")["rows"]

    assert [(row["key"], row["label"]) for row in channel_rows] == [(None, "No channel")]
    assert [(row["key"], row["label"]) for row in group_rows] == [(None, "No product group")]


def test_filters_of_the_list_apply(api_client, staff, seller, catalogue):
    other = UserFactory()
    make_sale(seller, [(catalogue["hammer"], 1)])
    make_sale(other, [(catalogue["saw"], 1)])

    report = get(api_client, staff, group_by="seller", seller=other.pk)

    assert [(row["key"], row["label"]) for row in report["rows"]] == [(other.pk, other.username)]
    assert report["totals"]["revenue"] == "25.00"


def test_a_sale_without_revenue_and_no_sales_give_no_rows(api_client, staff, seller, catalogue):
    make_sale(seller, [(catalogue["hammer"], 1)], status=SaleStatus.DRAFT)

    report = get(api_client, staff, group_by="product")

    assert report["rows"] == []
    assert report["totals"] == {
        "sales": 0, "units": 0, "revenue": "0.00", "discount": "0.00", "tax": "0.00", "cost": "0.00",
        "profit": "0.00", "margin": None,
    }


# --- scoping, errors, CSV ---------------------------------------------------------------------------------------------


def test_a_seller_sees_own_sales_and_no_cost(api_client, staff, seller, catalogue):
    make_sale(seller, [(catalogue["hammer"], 1)])
    make_sale(UserFactory(), [(catalogue["saw"], 1)])

    report = get(api_client, seller, group_by="seller")

    assert [row["key"] for row in report["rows"]] == [seller.pk]
    (row,) = report["rows"]
    assert (row["revenue"], row["cost"], row["profit"], row["margin"]) == ("10.00", None, None, None)
    assert (report["totals"]["cost"], report["totals"]["profit"], report["totals"]["margin"]) == (None, None, None)
    assert_rows_add_up(report, costs=False)


def test_an_unknown_group_by_is_a_400(api_client, staff):
    response = api_client(staff).get(REPORT, {"group_by": "year"})

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["attr"], error["code"]) == ("group_by", "invalid_choice")


def test_group_by_defaults_to_day(api_client, staff):
    assert api_client(staff).get(REPORT).json()["group_by"] == "day"


def test_a_bad_filter_is_a_400(api_client, staff):
    response = api_client(staff).get(REPORT, {"group_by": "day", "customer": "x"})

    assert response.status_code == 400


def test_anonymous_is_refused(api_client):
    assert api_client().get(REPORT, {"group_by": "day"}).status_code == 401


def test_csv_is_the_same_report(api_client, staff, seller, catalogue):
    make_sale(seller, [(catalogue["hammer"], 2), (catalogue["saw"], 1)], shipping_cost=D("5.00"))
    report = get(api_client, staff, group_by="product")

    response = api_client(staff).get(REPORT, {"group_by": "product", "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0] == ["key", "label", "sales", "units", "revenue", "discount", "tax", "cost", "profit", "margin"]
    expected = [[("" if row[k] is None else str(row[k])) for k in lines[0]] for row in report["rows"]]
    totals = {"key": "", "label": "Total", **report["totals"]}
    expected.append([("" if totals[k] is None else str(totals[k])) for k in lines[0]])
    assert lines[1:] == expected


def test_csv_errors_come_as_json(api_client, staff):
    response = api_client(staff).get(REPORT, {"group_by": "year", "format": "csv"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")


# --- exactness over random data -------------------------------------------------------------------------------------


def random_sales(seed: int, catalogue_variants, sellers, *, currencies) -> None:
    rng = random.Random(seed)
    channels = [ChannelFactory(), None]
    customers = [CustomerFactory(), CustomerFactory(), None]
    statuses = [SaleStatus.COMPLETED, SaleStatus.COMPLETED, SaleStatus.CONFIRMED, SaleStatus.PENDING, SaleStatus.DRAFT]
    for _ in range(24):
        currency, rate = rng.choice(currencies)
        lines = rng.sample(catalogue_variants, rng.randint(1, 3))
        sale = make_sale(
            rng.choice(sellers),
            [(variant, rng.randint(1, 4)) for variant in lines],
            status=rng.choice(statuses),
            currency=currency,
            exchange_rate=rate,
            channel=rng.choice(channels),
            customer=rng.choice(customers),
            discount=D(rng.choice(["0", "5", "12.5"])),
            discount_type="percent",
            shipping_cost=D(rng.choice(["0", "4.95"])),
            sold_at=datetime(2026, rng.randint(1, 4), rng.randint(1, 28), rng.randint(0, 23), tzinfo=UTC),
        )
        if sale.status == SaleStatus.COMPLETED and rng.random() < 0.4:
            item = rng.choice(list(sale.items.all()))
            if item.quantity_active > 1:
                services.sale_return(
                    sale=sale, user=StaffFactory(),
                    lines=[ReturnLine(item=item, quantity=rng.randint(1, item.quantity_active - 1))],
                )


@pytest.fixture
def varied_catalogue(db):
    groups = [ProductGroupFactory(), ProductGroupFactory()]
    prices = [("9.99", "4.10"), ("25.00", "19.99"), ("0.10", "0.03"), ("3.33", "1.11"), ("149.95", "120.00")]
    return [
        stocked_variant(100_000, price=D(price), cost_price=D(cost), product_group=groups[i % 3] if i % 3 < 2 else None)
        for i, (price, cost) in enumerate(prices)
    ]


@pytest.mark.parametrize(
    "currencies",
    [
        pytest.param([("USD", None)], id="usd"),
        pytest.param([("USD", None), ("EUR", D("1.08345678")), ("EUR", D("0.915"))], id="usd-and-eur"),
    ],
)
def test_random_sales_add_up_to_the_totals_and_the_summary(api_client, varied_catalogue, currencies):
    sellers = [UserFactory(), UserFactory()]
    staff = StaffFactory()
    random_sales(20261205, varied_catalogue, sellers, currencies=currencies)
    expected = expected_revenue(Sale.objects.all())
    filters = [{}, {"seller": sellers[0].pk}, {"created_after": "2000-01-01"}, {"status": "completed"}]

    for params in filters:
        reports = {group_by: get(api_client, staff, group_by=group_by, **params) for group_by in GROUP_BY_CHOICES}
        revenues = {D(report["totals"]["revenue"]) for report in reports.values()}
        assert len(revenues) == 1, (params, revenues)  # every grouping, the same totals
        for report in reports.values():
            assert_rows_add_up(report)
        assert revenues == {summary_revenue(api_client, staff, **params)}, params
    assert D(get(api_client, staff, group_by="day")["totals"]["revenue"]) == expected
    # A seller's own report: their sales only, the same figures as the staff's filtered by them.
    own = get(api_client, sellers[0], group_by="month")
    filtered = get(api_client, staff, group_by="month", seller=sellers[0].pk)
    assert own["totals"]["revenue"] == filtered["totals"]["revenue"]
    assert D(own["totals"]["revenue"]) == summary_revenue(api_client, sellers[0])


def test_the_report_takes_a_fixed_number_of_queries(
    api_client, staff, seller, catalogue, django_assert_max_num_queries
):
    for _ in range(5):
        make_sale(seller, [(catalogue["hammer"], 1), (catalogue["saw"], 2)])
    client = api_client(staff)
    for group_by in ("month", "product"):
        with django_assert_max_num_queries(4):  # the token, the sales, the lines (product: and the totals)
            assert client.get(REPORT, {"group_by": group_by}).status_code == 200
