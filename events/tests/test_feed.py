"""GET /api/v1/events/: scoped like the sales, newest first, keyset-paged, filtered by type, time and object."""

import pytest
from django.utils import timezone

from events.models import Event
from inventory.tests.factories import stocked_variant
from sales.models import Store, StoreMembership, StoreRole
from sales.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/"
SALES = "/api/v1/sales/"


@pytest.fixture
def variant(db):
    return stocked_variant(100)


def sell(client, variant, **extra) -> dict:
    response = client.post(SALES, {"items": [{"variant": variant.pk, "quantity": 1}], **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def feed(client, **params) -> dict:
    response = client.get(EVENTS, params)
    assert response.status_code == 200, response.json()
    return response.json()


def object_ids(body: dict) -> list[str]:
    return [str(event["data"]["object"]["id"]) for event in body["results"]]


def test_a_sale_made_through_the_api_is_in_its_sellers_feed(api_client, seller, variant):
    client = api_client(seller)
    sale = sell(client, variant)
    client.post(f"{SALES}{sale['id']}/confirm/", {}, format="json")

    body = feed(client)

    assert set(body) == {"next", "previous", "results"}  # keyset pages: no count
    confirmed, created = body["results"]
    assert (confirmed["type"], created["type"]) == ("sale.status_changed", "sale.created")
    assert created["id"].startswith("evt_") and set(created) == {"id", "type", "created_at", "data"}
    assert confirmed["previous"] == {"status": "pending"}
    assert created["data"]["object"]["id"] == sale["id"]
    assert confirmed["data"]["object"] == client.get(f"{SALES}{sale['id']}/").json()


def test_sellers_see_their_own_sales_events_only_and_staff_see_all(api_client, seller, staff, variant):
    other = UserFactory()
    mine, theirs = sell(api_client(seller), variant), sell(api_client(other), variant)

    assert object_ids(feed(api_client(seller))) == [str(mine["id"])]
    assert object_ids(feed(api_client(other))) == [str(theirs["id"])]
    assert feed(api_client(seller), object_id=theirs["id"])["results"] == []
    everything = feed(api_client(staff))
    # Staff also see the stock events, which belong to no sale (the receipt that stocked the variant).
    assert {event["type"] for event in everything["results"]} == {"sale.created", "stock.adjusted"}
    assert {str(theirs["id"]), str(mine["id"])} <= set(object_ids(everything))


def test_a_store_manager_sees_the_events_of_the_stores_sales(api_client, seller, variant, warehouse):
    store_a = Store.objects.create(code="a", name="A", warehouse=warehouse)
    store_b = Store.objects.create(code="b", name="B", warehouse=warehouse)
    manager, outsider = UserFactory(), UserFactory()
    StoreMembership.objects.create(store=store_a, user=seller, role=StoreRole.SELLER)
    StoreMembership.objects.create(store=store_b, user=outsider, role=StoreRole.SELLER)
    StoreMembership.objects.create(store=store_a, user=manager, role=StoreRole.MANAGER)
    in_a, in_b = sell(api_client(seller), variant), sell(api_client(outsider), variant)

    assert object_ids(feed(api_client(manager))) == [str(in_a["id"])]
    assert str(in_b["id"]) not in object_ids(feed(api_client(manager), object_id=in_b["id"]))


def test_a_deleted_sales_events_stay_with_its_seller(api_client, seller, variant):
    client = api_client(seller)
    sale = sell(client, variant, status="draft")

    assert client.delete(f"{SALES}{sale['id']}/").status_code == 204

    body = feed(client, object_id=sale["id"])
    assert [event["type"] for event in body["results"]] == ["sale.deleted", "sale.created"]
    assert feed(api_client(UserFactory()), object_id=sale["id"])["results"] == []


def test_filters_by_type_object_and_time(api_client, seller, variant):
    client = api_client(seller)
    first, second = sell(client, variant), sell(client, variant)
    client.patch(f"{SALES}{first['id']}/", {"note": "hello"}, format="json")

    assert [e["type"] for e in feed(client, type="sale.updated")["results"]] == ["sale.updated"]
    assert object_ids(feed(client, object_id=second["id"])) == [str(second["id"])]
    later = timezone.now() + timezone.timedelta(minutes=5)
    assert feed(client, created_after=later.isoformat())["results"] == []
    assert len(feed(client, created_after="2000-01-01")["results"]) == 3


@pytest.mark.parametrize(
    ("params", "attr"),
    [
        ({"type": "sale.exploded"}, "type"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"ordering": "type"}, "ordering"),
    ],
)
def test_bad_filters_are_400_on_their_name(api_client, seller, params, attr):
    response = api_client(seller).get(EVENTS, params)

    assert response.status_code == 400
    assert [error["attr"] for error in response.json()["errors"]] == [attr]


def test_newest_first_paged_by_cursor_both_ways(api_client, seller, variant):
    client = api_client(seller)
    sales = [sell(client, variant) for _ in range(5)]
    newest_first = [str(sale["id"]) for sale in reversed(sales)]

    page1 = feed(client, page_size=2)
    page2 = client.get(page1["next"]).json()
    page3 = client.get(page2["next"]).json()

    assert object_ids(page1) + object_ids(page2) + object_ids(page3) == newest_first
    assert page3["next"] is None and page1["previous"] is None
    assert object_ids(client.get(page2["previous"]).json()) == newest_first[:2]
    assert object_ids(feed(client, ordering="id")) == newest_first[::-1]  # oldest first, to poll forward


def test_anonymous_callers_are_refused(api_client):
    assert api_client().get(EVENTS).status_code == 401


def test_the_feed_reads_a_bounded_number_of_queries(api_client, seller, variant, django_assert_max_num_queries):
    client = api_client(seller)
    for _ in range(10):
        sell(client, variant)

    with django_assert_max_num_queries(3):  # token + user, the page
        assert len(feed(client)["results"]) == 10
    assert Event.objects.filter(seller_id=seller.pk).count() == 10
