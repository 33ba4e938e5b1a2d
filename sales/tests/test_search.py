"""`GET /sales/?search=`: a case-insensitive substring of the reference, the customer's name or e-mail, or a line's sku
or name; newest first with `count`, the same on SQLite and PostgreSQL. On PostgreSQL the trigram indexes of migration
sales.0005 answer it."""

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.db import IntegrityError, connection

from customers.tests.factories import CustomerFactory
from inventory.tests.factories import stocked_variant
from sales import services
from sales.filters import SaleFilter
from sales.models import Sale
from sales.services import ItemData
from sales.tests.factories import SaleFactory, UserFactory

pytestmark = pytest.mark.django_db

SALES = "/api/v1/sales/"
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
trigram_migration = importlib.import_module("sales.migrations.0005_search_trigram")
TRIGRAM_INDEXES = {name: (table, column) for name, table, column in trigram_migration.INDEXES}


def make_sale(seller, variants, *, customer=None, reference=None, minutes=0, status="pending") -> Sale:
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=variant, quantity=1) for variant in variants],
            status=status,
            customer=customer,
            reference=reference,
        ),
    )
    Sale.objects.filter(pk=sale.pk).update(created_at=T0 + timedelta(minutes=minutes))
    return sale


@pytest.fixture
def shop(staff, warehouse):
    """Sales that each match one searched column, by distinct words; `many` has 23 sales of one customer."""
    seller_a, seller_b = UserFactory(), UserFactory()
    walrus = CustomerFactory(name="Wanda Walrus", email="wanda@icefloe.example")
    prolific = CustomerFactory(name="Petra Prolific", email="petra@buys-a-lot.example")
    kettle = stocked_variant(50, sku="KTL-COPPER", name="Copper kettle")
    lamp = stocked_variant(50, sku="LMP-ORCHID", name="Orchid lamp")
    plain = stocked_variant(200, sku="PLN-0001", name="Plain thing")
    pot = stocked_variant(50, sku="CPR-POT", name="Copper pot")
    sales = {
        "by_reference": make_sale(seller_a, [plain], reference="ZEPHYR-7731", minutes=1),
        "by_name": make_sale(seller_a, [plain], customer=walrus, reference="R-0002", minutes=2),
        "by_sku": make_sale(seller_b, [kettle, plain], reference="R-0003", minutes=3, status="confirmed"),
        "by_line_name": make_sale(seller_b, [plain, lamp], reference="R-0004", minutes=4),
        "nothing": make_sale(seller_a, [plain], reference="R-0005", minutes=5),
        # every route at once: reference, customer and two lines all hold "copper"
        "everything": make_sale(
            seller_a,
            [pot, pot],
            customer=CustomerFactory(name="Copper Cole", email="copper@cole.example"),
            reference="COPPER-1",
            minutes=6,
        ),
    }
    many = [make_sale(seller_b, [plain], customer=prolific, reference=f"P-{n:03d}", minutes=100 + n) for n in range(23)]
    # Two of them share a created_at: the id breaks the tie, newest id first.
    Sale.objects.filter(pk__in=[many[5].pk, many[6].pk]).update(created_at=T0 + timedelta(minutes=105))
    return {"sales": sales, "many": many, "seller_a": seller_a, "seller_b": seller_b, "staff": staff}


def page(client, **query) -> dict:
    response = client.get(SALES, query)
    assert response.status_code == 200, response.json()
    return response.json()


def ids(body) -> list[int]:
    return [row["id"] for row in body["results"]]


def expected_ids(term: str, *, seller=None) -> list[int]:
    """The contract, computed in Python from the rows: newest first, ties by id."""
    term = term.strip().lower()
    sales = Sale.objects.select_related("customer").prefetch_related("items")
    if seller is not None:
        sales = sales.filter(seller=seller)
    found = [
        sale
        for sale in sales
        if term in sale.reference.lower()
        or (sale.customer is not None and (term in sale.customer.name.lower() or term in sale.customer.email.lower()))
        or any(term in item.sku.lower() or term in item.name.lower() for item in sale.items.all())
    ]
    return [sale.pk for sale in sorted(found, key=lambda sale: (sale.created_at, sale.pk), reverse=True)]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("ZEPHYR-77", "by_reference"),  # the sale's reference
        ("walrus", "by_name"),  # the customer's name
        ("icefloe.exa", "by_name"),  # the customer's e-mail
        ("TL-COPP", "by_sku"),  # a line's sku
        ("orchid la", "by_line_name"),  # a line's name
    ],
)
def test_each_searched_column_finds_its_sale_and_only_it(term, expected, shop, api_client):
    body = page(api_client(shop["staff"]), search=term)

    assert ids(body) == [shop["sales"][expected].pk]
    assert body["count"] == 1


@pytest.mark.parametrize("term", ["zephyr-7731", "ZEPHYR-7731", "Zephyr-7731", "  zEpHyR-7731  "])
def test_search_ignores_case_and_surrounding_spaces(term, shop, api_client):
    assert ids(page(api_client(shop["staff"]), search=term)) == [shop["sales"]["by_reference"].pk]


def test_a_sale_matched_by_several_columns_and_lines_is_listed_once(shop, api_client):
    body = page(api_client(shop["staff"]), search="copper")

    assert ids(body) == [shop["sales"]["everything"].pk, shop["sales"]["by_sku"].pk]
    assert body["count"] == 2


def test_a_customer_with_many_sales_pages_newest_first_with_the_full_count(shop, api_client):
    client = api_client(shop["staff"])
    newest_first = expected_ids("petra@buys-a-lot")

    first = page(client, search="petra@buys-a-lot", page_size=10)
    third = page(client, search="petra@buys-a-lot", page_size=10, page=3)

    assert len(newest_first) == 23
    assert first["count"] == third["count"] == 23
    assert ids(first) == newest_first[:10]
    assert ids(third) == newest_first[20:]
    assert newest_first.index(shop["many"][6].pk) < newest_first.index(shop["many"][5].pk)  # same time: higher id first


def test_cursor_paging_of_a_search_walks_the_same_rows_as_page_numbers(shop, api_client):
    client = api_client(shop["staff"])
    walked, body = [], page(client, search="buys-a-lot", page_size=7, cursor="")
    while True:
        walked += ids(body)
        if not body["next"]:
            break
        body = client.get(body["next"]).json()

    assert "count" not in body
    assert walked == expected_ids("buys-a-lot") == ids(page(client, search="buys-a-lot", page_size=50))


def test_a_search_that_matches_nothing_is_an_empty_page(shop, api_client):
    body = page(api_client(shop["staff"]), search="no-such-thing-anywhere")

    assert body["count"] == 0
    assert body["results"] == []


def test_percent_and_underscore_are_literal_characters(shop, api_client):
    client = api_client(shop["staff"])
    odd = make_sale(shop["seller_a"], [stocked_variant(5)], reference="SALE_50%_OFF", minutes=7)

    assert ids(page(client, search="_50%")) == [odd.pk]
    assert ids(page(client, search="%")) == [odd.pk]
    assert ids(page(client, search="E_5")) == [odd.pk]
    assert ids(page(client, search="R_000")) == []  # "_" is no wildcard: R-0002 … R-0005 do not match


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "confirmed"}, ["by_sku"]),
        ({"status": "pending"}, ["everything"]),
        ({"created_after": "2024-03-01T12:05:00Z"}, ["everything"]),
        ({"created_before": "2024-03-01T12:05:00Z"}, ["by_sku"]),
        (lambda shop: {"seller": shop["seller_b"].pk}, ["by_sku"]),
    ],
    ids=["status=confirmed", "status=pending", "created_after", "created_before", "seller"],
)
def test_search_combines_with_the_other_filters(query, expected, shop, api_client):
    query = query(shop) if callable(query) else query

    found = ids(page(api_client(shop["staff"]), search="COPPER", **query))

    assert found == [shop["sales"][name].pk for name in expected]


def test_a_seller_searches_only_their_own_sales(shop, api_client):
    # "r-000" is in the references of by_name, by_sku, by_line_name and nothing; seller A sold two of them.
    seller_a = shop["seller_a"]

    found = ids(page(api_client(seller_a), search="r-000"))

    assert found == expected_ids("r-000", seller=seller_a)
    assert found == [shop["sales"]["nothing"].pk, shop["sales"]["by_name"].pk]


def test_the_summary_counts_what_the_search_lists(shop, api_client):
    client = api_client(shop["staff"])

    summary = client.get(f"{SALES}summary/", {"search": "plain"}).json()

    assert summary["total_sales"] == page(client, search="plain")["count"] == len(expected_ids("plain")) == 28


@pytest.mark.parametrize("term", ["a", "Pr", "0", "-0", "ket", "kettle", ".example", "lot.ex", "p-01", "zzz"])
def test_any_term_lists_exactly_the_sales_the_contract_names(term, shop, api_client):
    """Short terms (no trigram to look up) included: the answer is the same, only found without the index."""
    body = page(api_client(shop["staff"]), search=term, page_size=500)

    assert ids(body) == expected_ids(term)
    assert body["count"] == len(body["results"])


# --- PostgreSQL: the trigram indexes ----------------------------------------------------------------------------------


def trigram_indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = ANY(%s) AND i.indisvalid",
            [list(TRIGRAM_INDEXES)],
        )
        return dict(cursor.fetchall())


@pytest.mark.postgres
def test_the_migration_built_a_valid_trigram_index_per_searched_column():
    found = trigram_indexes()

    assert set(found) == set(TRIGRAM_INDEXES)
    for name, (table, column) in TRIGRAM_INDEXES.items():
        assert f"ON public.{table} USING gin (upper(({column})::text) gin_trgm_ops)" in found[name]
        assert found[name].endswith("WITH (fastupdate=off)")  # no pending list for searches to read


@pytest.mark.postgres
def test_the_search_query_can_use_every_trigram_index(shop):
    """With full scans priced out, the plan must reach each table through its trigram indexes: proof that
    the indexed expression is the one the filter writes (a query the index cannot serve still plans a Seq Scan)."""
    queryset = SaleFilter({"search": "copper"}, queryset=Sale.objects.all()).qs.order_by("-created_at", "-id")
    sql, params = queryset.query.sql_with_params()

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")  # nor a whole-table walk of the primary key
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    for name in TRIGRAM_INDEXES:
        assert f"Bitmap Index Scan on {name}" in plan, plan
    assert "Seq Scan" not in plan, plan


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_migration_is_reversible():
    def run(function) -> None:
        with connection.schema_editor(atomic=False) as editor:
            function(apps, editor)

    try:
        run(trigram_migration.drop_indexes)
        assert trigram_indexes() == {}
    finally:
        run(trigram_migration.create_indexes)
    assert set(trigram_indexes()) == set(TRIGRAM_INDEXES)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_migration_rebuilds_an_index_a_failed_concurrent_build_left_invalid(seller):
    for _ in range(2):
        SaleFactory(seller=seller)
    with connection.cursor() as cursor:
        cursor.execute('DROP INDEX "sale_reference_trgm_idx"')
        # A CONCURRENTLY build that fails (here: duplicates) leaves an INVALID index under its name.
        with pytest.raises(IntegrityError):
            cursor.execute('CREATE UNIQUE INDEX CONCURRENTLY "sale_reference_trgm_idx" ON sales_sale ((1))')
    assert "sale_reference_trgm_idx" not in trigram_indexes()

    with connection.schema_editor(atomic=False) as editor:
        trigram_migration.create_indexes(apps, editor)

    assert "USING gin (upper((reference)::text) gin_trgm_ops)" in trigram_indexes()["sale_reference_trgm_idx"]
