"""Queries per request do not grow with the number of lines of a sale nor with the page size.

Each test runs the same request at two sizes and asserts the same number of
queries, under a ceiling that pins today's count, so an N+1 (or a new query
per request) shows up here first.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.tests.factories import CustomerFactory
from inventory.tests.factories import stocked_variant
from sales import services
from sales.models import Sale, SaleItem
from sales.services import ItemData
from sales.tests.factories import ChannelFactory, TaxRateFactory

SALES = "/api/v1/sales/"

# token, rate counter, idempotency claim, customer, channel, variants, tax; the transaction; addresses, default
# warehouse, sale insert, reference check, numbering, items, stock (lock, update, ledger: no savepoint
# of its own inside the sale's transaction), activity, the outbox event and the webhook subscriptions that want
# it; the idempotency answer. A keyed
# POST runs in one transaction with its claim, which adds the claim's lock timeout and the service's savepoint
# (SAVEPOINT, RELEASE). Plus the automatic promotions that may apply, the tax's components (a tax is
# named here) and the seller's store. 28, whatever the number of lines.
CREATE_MAX_QUERIES = 28
# token + user, rate counter, count, sales with their references, items with theirs, the sales split off them,
# the promotions applied to them.
LIST_MAX_QUERIES = 7
# A sale created completed also records its units as one fulfilment that arrived: the fulfilment, its
# lines, its tracking, the lines' fulfilled units, the event, the sale's statuses.
FULFILMENT_QUERIES = 6


def count_queries(call) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as context:
        result = call()
    return len(context.captured_queries), result


@pytest.fixture
def catalogue(db):
    ChannelFactory(code="web")
    TaxRateFactory()
    return [stocked_variant(1000) for _ in range(20)]


def create_body(variants, **extra) -> dict:
    return {
        "channel": "web",
        "tax": "vat5",
        "items": [{"variant": variant.pk, "quantity": 1, "unit_price": "9.99"} for variant in variants],
        **extra,
    }


@pytest.mark.parametrize("status", ["pending", "completed"])
def test_create_costs_the_same_queries_for_one_line_and_for_twenty(api_client, seller, catalogue, status):
    client = api_client(seller)
    customer = CustomerFactory()

    def create(variants, key):
        body = create_body(variants, status=status, customer=customer.pk)
        return client.post(SALES, body, format="json", HTTP_IDEMPOTENCY_KEY=key)

    one, first = count_queries(lambda: create(catalogue[:1], "one"))
    twenty, second = count_queries(lambda: create(catalogue, "twenty"))

    assert (first.status_code, second.status_code) == (201, 201)
    assert len(second.json()["items"]) == 20
    assert one == twenty
    # + the two permission reads a completed sale's refund button needs
    assert twenty <= CREATE_MAX_QUERIES + 2 + (FULFILMENT_QUERIES if status == "completed" else 0)


def test_create_naming_products_and_item_warehouses_stays_constant(api_client, seller, catalogue, warehouse):
    """Lines given by product (default variant) and with their own warehouse code load them in bulk too."""
    client = api_client(seller)

    def body(variants):
        return {"items": [{"product": v.product_id, "quantity": 1, "warehouse": warehouse.code} for v in variants]}

    one, first = count_queries(lambda: client.post(SALES, body(catalogue[:1]), format="json"))
    twenty, second = count_queries(lambda: client.post(SALES, body(catalogue), format="json"))

    assert (first.status_code, second.status_code) == (201, 201)
    assert one == twenty


def test_create_answer_matches_the_detail_read_back(api_client, seller, catalogue):
    """The create answer is built from the rows just written; it must equal what a read returns."""
    client = api_client(seller)
    body = create_body(catalogue[:3], customer=CustomerFactory().pk, payments=[{"amount": "5.00"}])

    created = client.post(SALES, body, format="json")
    detail = client.get(f"{SALES}{created.json()['id']}/")

    assert created.status_code == 201
    assert created.json() == detail.json()


def test_created_sale_keeps_its_lines_and_payments_loaded(seller, catalogue, django_assert_num_queries):
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=v, quantity=1) for v in catalogue[:3]],
            payments=[services.NewPayment(amount=1)],
        ),
    )

    with django_assert_num_queries(0):
        items, payments = list(sale.items.all()), list(sale.payments.all())

    assert [item.pk for item in items] == list(
        SaleItem.objects.filter(sale=sale).order_by("pk").values_list("pk", flat=True)
    )
    assert [payment.pk for payment in payments] == list(sale.payments.order_by("pk").values_list("pk", flat=True))
    assert sale.paid_total == Sale.objects.get(pk=sale.pk).paid_total


def sales_with_lines(seller, variants, count: int) -> None:
    customer = CustomerFactory()
    for _ in range(count):
        services.sale_create(
            seller=seller,
            data=services.NewSale(
                customer=customer,
                items=[ItemData(variant=variant, quantity=1) for variant in variants],
            ),
        )


@pytest.mark.parametrize("params", [{}, {"cursor": ""}], ids=["pages", "cursor"])
def test_list_costs_the_same_queries_for_five_rows_and_for_fifty(api_client, seller, catalogue, params):
    sales_with_lines(seller, catalogue[:3], 50)
    client = api_client(seller)

    small, first = count_queries(lambda: client.get(SALES, {**params, "page_size": 5}))
    large, second = count_queries(lambda: client.get(SALES, {**params, "page_size": 50}))

    assert (len(first.json()["results"]), len(second.json()["results"])) == (5, 50)
    assert small == large <= LIST_MAX_QUERIES


def test_list_queries_do_not_grow_with_the_lines_per_sale(api_client, seller, catalogue):
    few, many = ChannelFactory(code="few"), ChannelFactory(code="many")
    for channel, variants in ((few, catalogue[:1]), (many, catalogue)):
        for _ in range(5):
            services.sale_create(
                seller=seller,
                data=services.NewSale(
                    channel=channel,
                    items=[ItemData(variant=v, quantity=1) for v in variants],
                ),
            )
    client = api_client(seller)

    one, _ = count_queries(lambda: client.get(SALES, {"channel": "few"}))
    twenty, response = count_queries(lambda: client.get(SALES, {"channel": "many"}))

    assert sum(len(sale["items"]) for sale in response.json()["results"]) == 100
    assert one == twenty


def test_summary_queries_do_not_grow_with_the_number_of_sales(api_client, seller, catalogue):
    client = api_client(seller)
    sales_with_lines(seller, catalogue[:1], 2)
    few, _ = count_queries(lambda: client.get(f"{SALES}summary/"))
    sales_with_lines(seller, catalogue[:1], 20)
    many, response = count_queries(lambda: client.get(f"{SALES}summary/"))

    assert response.json()["total_sales"] == 22
    assert few == many <= 4  # token + user, rate counter, totals, per-status totals


@pytest.mark.django_db
def test_the_list_order_has_one_index_and_no_single_column_rival():
    """(created_at, id) gives the list's order without a sort; a created_at-only index beside it let
    PostgreSQL walk that one and sort every tie by id (a whole bulk load of one timestamp)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Sale._meta.db_table)
    indexed = [info["columns"] for info in constraints.values() if info["index"] and not info["unique"]]

    assert ["created_at", "id"] in indexed
    assert ["created_at"] not in indexed
