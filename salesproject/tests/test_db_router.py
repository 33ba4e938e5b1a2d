"""The read replica: list and summary reads go to it, everything else (and every write) to the primary."""

import uuid
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test.utils import CaptureQueriesContext

from inventory.tests.factories import stocked_variant
from sales import services
from sales.models import Sale
from sales.services import ItemData
from salesproject.db_router import REPLICA_DB_ALIAS, PrimaryReplicaRouter, read_alias, replica_configured

SALES = "/api/v1/sales/"


# Every test here may use the `replica` alias, which the module adds (see below).
pytestmark = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS])


@pytest.fixture(scope="module", autouse=True)
def replica_alias(django_db_setup):
    """Configure `replica` for this module, as settings do when DATABASE_REPLICA_URL is set.

    A test mirror: another connection to the primary's test database (tests
    commit their rows, so it sees them). Module-scoped so it exists before each
    test's database set-up, which must know the alias.
    """
    connections.settings[REPLICA_DB_ALIAS] = {
        **connections.settings[DEFAULT_DB_ALIAS],
        "TEST": {"MIRROR": DEFAULT_DB_ALIAS},
    }
    yield
    connections[REPLICA_DB_ALIAS].close()
    del connections[REPLICA_DB_ALIAS]
    del connections.settings[REPLICA_DB_ALIAS]


@pytest.fixture
def mirror():
    return connections[REPLICA_DB_ALIAS]


def sql_of(context) -> list[str]:
    return [query["sql"] for query in context.captured_queries]


def test_without_a_replica_reads_use_the_primary():
    saved = connections.settings.pop(REPLICA_DB_ALIAS)
    try:
        assert not replica_configured()
        assert read_alias() == DEFAULT_DB_ALIAS
    finally:
        connections.settings[REPLICA_DB_ALIAS] = saved


def test_with_a_replica_lag_tolerant_reads_use_it_outside_transactions():
    assert read_alias() == REPLICA_DB_ALIAS
    with transaction.atomic():
        assert read_alias() == DEFAULT_DB_ALIAS  # part of the primary's transaction


@pytest.mark.parametrize(
    ("path", "read"),
    [
        (SALES, '"sales_sale"'),
        (f"{SALES}summary/", '"sales_salemonthlytotal"'),  # the summary's rollup: whole months
        (f"{SALES}summary/?created_after=2024-03-02", '"sales_saledailytotal"'),  # and the days of a partial one
        (f"{SALES}?cursor=", '"sales_sale"'),
    ],
)
def test_list_and_summary_read_from_the_replica(api_client, staff, mirror, path, read):
    services.sale_create(seller=staff, data=services.NewSale(items=[ItemData(variant=stocked_variant(5), quantity=1)]))
    client = api_client(staff)

    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary, CaptureQueriesContext(mirror) as replica:
        response = client.get(path)

    assert response.status_code == 200
    assert any(read in sql for sql in sql_of(replica))
    assert not any(table in sql for sql in sql_of(primary) for table in ('"sales_sale', read))


def test_detail_and_writes_stay_on_the_primary(api_client, staff, mirror):
    variant = stocked_variant(5)
    client = api_client(staff)

    with CaptureQueriesContext(mirror) as replica:
        created = client.post(SALES, {"items": [{"variant": variant.pk, "quantity": 1}]}, format="json")
        detail = client.get(f"{SALES}{created.json()['id']}/")
        confirmed = client.post(f"{SALES}{created.json()['id']}/confirm/")

    assert (created.status_code, detail.status_code, confirmed.status_code) == (201, 200, 200)
    assert sql_of(replica) == []


def test_an_instance_read_from_the_replica_is_saved_to_the_primary(staff, mirror):
    sale = services.sale_create(
        seller=staff,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(5), quantity=1)],
        ),
    )
    copy = Sale.objects.using(REPLICA_DB_ALIAS).get(pk=sale.pk)

    assert PrimaryReplicaRouter().db_for_write(Sale, instance=copy) == DEFAULT_DB_ALIAS
    with CaptureQueriesContext(mirror) as replica:
        services.sale_update(sale=copy, user=staff, data={"note": "from the replica's copy"})

    assert sql_of(replica) == []
    assert Sale.objects.using(DEFAULT_DB_ALIAS).get(pk=sale.pk).note == "from the replica's copy"


@pytest.fixture
def separate_replica(mirror):
    """Point `replica` at a genuinely separate PostgreSQL database, migrated; dropped afterwards."""
    primary = connections[DEFAULT_DB_ALIAS]
    if primary.vendor != "postgresql":
        pytest.skip("a separate replica database needs PostgreSQL")
    settings_dict = connections.settings[REPLICA_DB_ALIAS]
    mirrored_name, name = settings_dict["NAME"], f"{primary.settings_dict['NAME']}_replica_{uuid.uuid4().hex[:8]}"
    with primary.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    mirror.close()
    settings_dict["NAME"] = name
    try:
        call_command("migrate", database=REPLICA_DB_ALIAS, verbosity=0)
        yield mirror
    finally:
        mirror.close()
        settings_dict["NAME"] = mirrored_name
        with primary.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.slow
def test_a_separate_replica_database_answers_the_list(api_client, staff, separate_replica):
    """Rows that exist only on the replica show in the list; the detail, from the primary, does not know them."""
    on_primary = services.sale_create(
        seller=staff,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(5), quantity=1)],
        ),
    )
    with replica_writes():
        on_replica = services.sale_create(
            seller=copy_user(staff),
            data=services.NewSale(
                items=[ItemData(variant=stocked_variant(5), quantity=1)],
                reference="ONLY-REPLICA",
            ),
        )
    client = api_client(staff)

    listed = client.get(SALES).json()
    summary = client.get(f"{SALES}summary/").json()
    detail = client.get(f"{SALES}{on_replica.pk}/")

    assert [sale["reference"] for sale in listed["results"]] == ["ONLY-REPLICA"]
    assert on_primary.reference not in {sale["reference"] for sale in listed["results"]}
    assert summary["total_sales"] == 1
    assert detail.status_code == 404 or detail.json()["reference"] != "ONLY-REPLICA"


@contextmanager
def replica_writes():
    """Let the test seed the replica through the ordinary services (a router that writes to the replica)."""
    from django.db import router

    class WriteToReplica:
        def db_for_read(self, model, **hints):
            return REPLICA_DB_ALIAS

        def db_for_write(self, model, **hints):
            return REPLICA_DB_ALIAS

    router.routers.insert(0, WriteToReplica())
    try:
        with transaction.atomic(using=REPLICA_DB_ALIAS):
            yield
    finally:
        router.routers.pop(0)


def copy_user(user):
    """The same user (same id) on the replica, so the sale's seller exists there."""
    from django.contrib.auth import get_user_model

    fields = {f.attname: getattr(user, f.attname) for f in get_user_model()._meta.concrete_fields}
    get_user_model()(**fields).save(using=REPLICA_DB_ALIAS, force_insert=True)
    return get_user_model().objects.using(REPLICA_DB_ALIAS).get(pk=user.pk)
