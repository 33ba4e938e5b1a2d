"""Stores, their members, a sale's store and device, and a manager's scope (records.md, "Stores, teams and devices")."""

import pytest

from inventory.services import stock_receive
from inventory.tests.factories import WarehouseFactory, stocked_variant
from sales import selectors, services
from sales.models import Sale, Store, StoreMembership, StoreRole
from sales.services import ItemData
from sales.tests.factories import ChannelFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
STORES = f"{API}/stores/"
SALES = f"{API}/sales/"


@pytest.fixture
def north_warehouse(warehouse):
    return WarehouseFactory(code="NORTH")


@pytest.fixture
def variant(warehouse, north_warehouse):
    """Stocked in MAIN and in NORTH (north's default stock source)."""
    variant = stocked_variant(100)
    stock_receive(variant=variant, warehouse=north_warehouse, quantity=100, reason="test")
    return variant


@pytest.fixture
def north(north_warehouse):
    return Store.objects.create(code="north", name="North", warehouse=north_warehouse)


@pytest.fixture
def south(warehouse):
    return Store.objects.create(code="south", name="South", warehouse=warehouse)


def member(store, user, role=StoreRole.SELLER):
    return StoreMembership.objects.create(store=store, user=user, role=role)


def sell(seller, variant, **fields) -> Sale:
    return services.sale_create(
        seller=seller, data=services.NewSale(items=[ItemData(variant=variant, quantity=1)], **fields)
    )


# --- /stores/ ---------------------------------------------------------------------------------------------------


def test_staff_create_a_store_with_its_codes(api_client, staff, warehouse):
    ChannelFactory(code="pos")

    response = api_client(staff).post(
        STORES,
        {"code": "rome", "name": "Rome", "warehouse": "MAIN", "channel": "pos", "address": {"city": "Roma"}},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        "id": body["id"], "code": "rome", "name": "Rome", "warehouse": "MAIN", "channel": "pos",
        "address": {"city": "Roma"},
    }


def test_a_seller_cannot_create_a_store(api_client, seller, warehouse):
    response = api_client(seller).post(STORES, {"code": "x", "name": "X", "warehouse": "MAIN"}, format="json")

    assert response.status_code == 403


def test_a_member_reads_only_their_stores_and_staff_read_all(api_client, seller, staff, north, south):
    member(north, seller)

    mine = api_client(seller).get(STORES).json()["results"]
    everything = api_client(staff).get(STORES).json()["results"]

    assert [row["code"] for row in mine] == ["north"]
    assert [row["code"] for row in everything] == ["north", "south"]
    assert api_client(seller).get(f"{STORES}{south.pk}/").status_code == 404
    assert api_client(seller).get(f"{STORES}{north.pk}/").json()["warehouse"] == "NORTH"


def test_staff_add_change_and_remove_a_member(api_client, staff, seller, north):
    client = api_client(staff)
    members = f"{STORES}{north.pk}/members/"

    added = client.post(members, {"user": seller.pk, "role": "seller"}, format="json")
    changed = client.post(members, {"user": seller.pk, "role": "manager"}, format="json")
    listed = client.get(members)

    assert (added.status_code, added.json()) == (201, {"user": seller.pk, "role": "seller"})
    assert (changed.status_code, changed.json()) == (200, {"user": seller.pk, "role": "manager"})
    assert listed.json() == [{"user": seller.pk, "role": "manager"}]
    assert client.delete(f"{members}{seller.pk}/").status_code == 204
    assert client.delete(f"{members}{seller.pk}/").status_code == 404
    assert client.get(members).json() == []


def test_a_member_reads_the_members_but_cannot_change_them(api_client, seller, north):
    member(north, seller)
    client = api_client(seller)

    assert client.get(f"{STORES}{north.pk}/members/").json() == [{"user": seller.pk, "role": "seller"}]
    body = {"user": seller.pk, "role": "manager"}
    assert client.post(f"{STORES}{north.pk}/members/", body, format="json").status_code == 403
    assert client.delete(f"{STORES}{north.pk}/members/{seller.pk}/").status_code == 403


def test_an_unknown_role_is_refused(api_client, staff, seller, north):
    body = {"user": seller.pk, "role": "boss"}
    response = api_client(staff).post(f"{STORES}{north.pk}/members/", body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "role"


def test_a_store_with_sales_cannot_be_deleted(api_client, staff, seller, north, variant):
    member(north, seller)
    sell(seller, variant)

    response = api_client(staff).delete(f"{STORES}{north.pk}/")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "in_use"


# --- a sale's store and device ----------------------------------------------------------------------------------


def test_a_sale_takes_the_sellers_only_store_and_its_warehouse(seller, north, variant):
    member(north, seller)

    sale = sell(seller, variant, device="POS-7")

    assert (sale.store, sale.device, sale.warehouse.code) == (north, "POS-7", "NORTH")


def test_a_seller_of_two_stores_or_none_gets_no_store(seller, north, south, variant):
    assert sell(seller, variant).store is None
    member(north, seller)
    member(south, seller)

    sale = sell(seller, variant)

    assert sale.store is None
    assert sale.warehouse.code == "MAIN"


def test_a_store_named_on_create_is_kept_and_shown(api_client, seller, north, south, variant):
    member(north, seller)
    member(south, seller)

    response = api_client(seller).post(
        SALES, {"items": [{"variant": variant.pk, "quantity": 1}], "store": "south", "device": "T-1"}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["store"], response.json()["device"], response.json()["warehouse"]) == (
        "south", "T-1", "MAIN"
    )


def test_a_given_warehouse_wins_over_the_stores(seller, north, warehouse, variant):
    member(north, seller)

    sale = sell(seller, variant, warehouse=warehouse)

    assert (sale.store, sale.warehouse) == (north, warehouse)


def test_a_store_the_seller_is_not_in_is_a_400_on_store(api_client, seller, north, variant):
    response = api_client(seller).post(
        SALES, {"items": [{"variant": variant.pk, "quantity": 1}], "store": "north"}, format="json"
    )

    assert response.status_code == 400
    assert [(e["attr"], e["code"]) for e in response.json()["errors"]] == [("store", "permission")]


def test_staff_may_file_a_sale_under_any_store(api_client, staff, seller, north, variant):
    response = api_client(staff).post(
        SALES, {"items": [{"variant": variant.pk, "quantity": 1}], "store": "north", "seller": seller.pk},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["store"] == "north"


def test_an_unknown_store_code_is_a_400(api_client, seller, variant):
    response = api_client(seller).post(
        SALES, {"items": [{"variant": variant.pk, "quantity": 1}], "store": "nowhere"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "store"


def test_store_and_device_change_while_pending_only(api_client, seller, north, variant):
    member(north, seller)
    sale = sell(seller, variant, store=None)
    client = api_client(seller)

    moved = client.patch(f"{SALES}{sale.pk}/", {"store": None, "device": "POS-2"}, format="json")
    assert (moved.json()["store"], moved.json()["device"]) == (None, "POS-2")
    back = client.patch(f"{SALES}{sale.pk}/", {"store": "north"}, format="json")
    assert back.json()["store"] == "north"

    services.sale_confirm(sale=Sale.objects.get(pk=sale.pk), user=seller)
    locked = client.patch(f"{SALES}{sale.pk}/", {"device": "POS-3"}, format="json")
    assert locked.status_code == 409


def test_a_device_longer_than_64_is_refused(api_client, seller, variant):
    response = api_client(seller).post(
        SALES, {"items": [{"variant": variant.pk, "quantity": 1}], "device": "x" * 65}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "device"


# --- filters and the report -------------------------------------------------------------------------------------


def test_the_list_filters_by_store_and_device(api_client, staff, seller, north, south, variant):
    member(north, seller)
    in_north = sell(seller, variant, device="POS-1")
    in_south = sell(staff, variant, store=south, device="POS-2")
    client = api_client(staff)

    def ids(query):
        response = client.get(f"{SALES}?{query}")
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids("store=north") == [in_north.pk]
    assert ids("store=south") == [in_south.pk]
    assert ids("device=POS-2") == [in_south.pk]
    assert client.get(f"{SALES}?store=nowhere").status_code == 400
    assert client.get(f"{SALES}summary/?store=north").json()["total_sales"] == 1


def test_the_report_groups_by_store(api_client, staff, seller, north, south, variant):
    member(north, seller)
    sell(seller, variant, status="confirmed")
    sell(seller, variant, status="confirmed")
    sell(staff, variant, status="confirmed", store=south)
    sell(staff, variant, status="confirmed")

    rows = api_client(staff).get(f"{API}/reports/sales/", {"group_by": "store"}).json()["rows"]

    assert sorted((row["key"], row["label"], row["sales"]) for row in rows if row["key"]) == [
        ("north", "North", 2), ("south", "South", 1)
    ]
    assert [(row["label"], row["sales"]) for row in rows if row["key"] is None] == [("No store", 1)]


# --- a manager's scope ------------------------------------------------------------------------------------------


@pytest.fixture
def team(north, south, variant):
    """Anna manages north; Bruno sells in north, Carla in south."""
    anna, bruno, carla = UserFactory(username="anna"), UserFactory(username="bruno"), UserFactory(username="carla")
    member(north, anna, StoreRole.MANAGER)
    member(north, bruno)
    member(south, carla)
    return {
        "anna": anna, "bruno": bruno, "carla": carla,
        "north_sale": sell(bruno, variant, device="POS-N"),
        "south_sale": sell(carla, variant),
        "own_sale": sell(anna, variant),
    }


def test_a_manager_sees_their_stores_sales_and_their_own(team):
    visible = set(selectors.sale_scope(user=team["anna"]).values_list("pk", flat=True))

    assert visible == {team["north_sale"].pk, team["own_sale"].pk}
    assert set(selectors.sale_scope(user=team["bruno"]).values_list("pk", flat=True)) == {team["north_sale"].pk}


def test_a_managers_summary_counts_the_stores_sales(api_client, team):
    body = api_client(team["anna"]).get(f"{SALES}summary/").json()
    listed = api_client(team["anna"]).get(SALES).json()

    assert body["total_sales"] == listed["count"] == 2


def test_a_manager_acts_on_a_sellers_sale_of_their_store(api_client, team):
    client = api_client(team["anna"])
    sale = team["north_sale"]

    assert client.patch(f"{SALES}{sale.pk}/", {"note": "checked"}, format="json").status_code == 200
    assert client.post(f"{SALES}{sale.pk}/confirm/").status_code == 200
    assert client.get(f"{SALES}{sale.pk}/").json()["status"] == "confirmed"
    assert client.get(f"{SALES}{team['south_sale'].pk}/").status_code == 404
    assert client.post(f"{SALES}{team['south_sale'].pk}/confirm/").status_code == 404


def test_a_manager_sees_the_payments_of_the_stores_sales(api_client, team):
    paid = services.sale_record_payment(sale=team["north_sale"], amount=team["north_sale"].grand_total,
                                        user=team["bruno"])
    services.sale_record_payment(sale=team["south_sale"], amount=team["south_sale"].grand_total,
                                 user=team["carla"])

    rows = api_client(team["anna"]).get(f"{API}/payments/").json()["results"]

    assert [row["id"] for row in rows] == [paid.pk]


def test_a_demoted_manager_loses_the_stores_sales(api_client, team, north):
    StoreMembership.objects.filter(user=team["anna"]).update(role=StoreRole.SELLER)

    assert api_client(team["anna"]).get(f"{SALES}{team['north_sale'].pk}/").status_code == 404
