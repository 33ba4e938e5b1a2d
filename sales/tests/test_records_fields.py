"""Sale records (records.md "Sale fields"): due date, customer reference, admin note, updated_by, metadata, and the
list's tag / metadata / customer_reference / sale-date filters and ordering by sold_at."""

from datetime import datetime

import pytest
from django.test import override_settings

from inventory.tests.factories import stocked_variant
from sales.models import Sale
from sales.tests.factories import UserFactory
from sales.tests.test_api import SALES, create_sale, error, line, results, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def variant(warehouse):
    return stocked_variant(100, warehouse=warehouse)


def test_create_takes_due_date_customer_reference_and_metadata(api_client, seller, variant):
    body = create_sale(
        api_client(seller), line(variant, 1), due_date="2026-01-31", customer_reference="PO-4711",
        metadata={"erp_id": "A-1", "source": "pos"},
    )

    assert (body["due_date"], body["customer_reference"]) == ("2026-01-31", "PO-4711")
    assert body["metadata"] == {"erp_id": "A-1", "source": "pos"}
    assert body["admin_note"] is None  # a seller never sees it
    assert body["updated_by"] == {"id": seller.pk, "username": seller.username}


def test_a_seller_may_not_write_the_admin_note(api_client, seller, variant):
    client = api_client(seller)
    entry = error(client.post(SALES, {"items": [line(variant, 1)], "admin_note": "x"}, format="json"), 400)
    assert (entry["code"], entry["attr"]) == ("permission", "admin_note")

    sale = create_sale(client, line(variant, 1))
    entry = error(client.patch(url(sale), {"admin_note": ""}, format="json"), 400)
    assert (entry["code"], entry["attr"]) == ("permission", "admin_note")


def test_staff_write_and_read_the_admin_note_sellers_see_null(api_client, seller, staff, variant):
    sale = create_sale(api_client(seller), line(variant, 1))

    response = api_client(staff).patch(url(sale), {"admin_note": "check the ID"}, format="json")

    assert response.status_code == 200 and response.json()["admin_note"] == "check the ID"
    assert api_client(seller).get(url(sale)).json()["admin_note"] is None
    assert results(api_client(seller).get(SALES))[0]["admin_note"] is None
    assert results(api_client(staff).get(SALES))[0]["admin_note"] == "check the ID"


def test_records_stay_editable_after_confirm(api_client, seller, variant):
    client = api_client(seller)
    sale = create_sale(client, line(variant, 1), status="confirmed")

    response = client.patch(
        url(sale), {"due_date": "2026-02-01", "customer_reference": "PO-9", "metadata": {"k": "v"}}, format="json"
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["due_date"], body["customer_reference"], body["metadata"]) == ("2026-02-01", "PO-9", {"k": "v"})
    assert client.patch(url(sale), {"due_date": None}, format="json").json()["due_date"] is None


def test_customer_reference_longer_than_100_is_400(api_client, seller, variant):
    response = api_client(seller).post(
        SALES, {"items": [line(variant, 1)], "customer_reference": "x" * 101}, format="json"
    )
    assert error(response, 400)["attr"] == "customer_reference"


def test_updated_by_is_the_last_user_who_changed_the_sale(api_client, seller, staff, variant):
    sale = create_sale(api_client(seller), line(variant, 1))

    body = api_client(staff).patch(url(sale), {"note": "hello"}, format="json").json()
    assert body["updated_by"] == {"id": staff.pk, "username": staff.username}

    body = api_client(seller).post(url(sale, "confirm"), {}, format="json").json()
    assert body["updated_by"] == {"id": seller.pk, "username": seller.username}
    assert Sale.objects.get(pk=sale["id"]).updated_by_id == seller.pk


def test_a_patch_that_changes_nothing_keeps_updated_by(api_client, seller, staff, variant):
    sale = create_sale(api_client(seller), line(variant, 1), note="same")

    body = api_client(staff).patch(url(sale), {"note": "same"}, format="json").json()

    assert body["updated_by"]["id"] == seller.pk


def test_patch_merges_metadata_and_null_removes_a_key(api_client, seller, variant):
    client = api_client(seller)
    sale = create_sale(client, line(variant, 1), metadata={"a": "1", "b": "2"})

    body = client.patch(url(sale), {"metadata": {"b": None, "c": "3"}}, format="json").json()

    assert body["metadata"] == {"a": "1", "c": "3"}


@pytest.mark.parametrize(
    ("metadata", "attr"),
    [
        (["a"], "metadata"),
        ({"k" * 41: "v"}, "metadata"),
        ({"k": "v" * 501}, "metadata.k"),
        ({"k": 1}, "metadata.k"),
        ({f"k{i}": "v" for i in range(51)}, "metadata"),
    ],
    ids=["not-an-object", "long-key", "long-value", "not-a-string", "51-keys"],
)
def test_metadata_limits_are_400(api_client, seller, variant, metadata, attr):
    response = api_client(seller).post(SALES, {"items": [line(variant, 1)], "metadata": metadata}, format="json")
    assert error(response, 400)["attr"] == attr


def test_a_merge_beyond_50_keys_is_400(api_client, seller, variant):
    client = api_client(seller)
    sale = create_sale(client, line(variant, 1), metadata={f"k{i}": "v" for i in range(50)})

    assert error(client.patch(url(sale), {"metadata": {"one-more": "v"}}, format="json"), 400)["attr"] == "metadata"
    assert client.patch(url(sale), {"metadata": {"k0": None, "one-more": "v"}}, format="json").status_code == 200


# --- the list's filters ------------------------------------------------------------------------------------------


def ids(response) -> set[int]:
    return {row["id"] for row in results(response)}


def test_tag_filter_matches_sales_carrying_every_tag(api_client, seller, variant):
    client = api_client(seller)
    both = create_sale(client, line(variant, 1), tags=["vip", "gift"])
    vip = create_sale(client, line(variant, 1), tags=["vip"])
    create_sale(client, line(variant, 1), tags=["gift-card"])

    assert ids(client.get(SALES, {"tag": ["vip", "gift"]})) == {both["id"]}
    assert ids(client.get(SALES, {"tag": "vip"})) == {both["id"], vip["id"]}
    assert ids(client.get(SALES, {"tag": "nope"})) == set()
    assert api_client(seller).get("/api/v1/sales/summary/", {"tag": "vip"}).json()["total_sales"] == 2


def test_metadata_and_customer_reference_filters_and_search(api_client, seller, variant):
    client = api_client(seller)
    one = create_sale(client, line(variant, 1), metadata={"erp": "A:1"}, customer_reference="PO-777")
    create_sale(client, line(variant, 1), metadata={"erp": "B"}, customer_reference="PO-778")

    assert ids(client.get(SALES, {"metadata": "erp:A:1"})) == {one["id"]}  # split at the first colon
    assert ids(client.get(SALES, {"metadata": "other:A:1"})) == set()
    assert ids(client.get(SALES, {"customer_reference": "PO-777"})) == {one["id"]}
    assert ids(client.get(SALES, {"search": "po-777"})) == {one["id"]}


@pytest.mark.parametrize("value", ["no-colon", ":value", f"{'k' * 41}:v"])
def test_a_malformed_metadata_filter_is_400(api_client, seller, value):
    assert error(api_client(seller).get(SALES, {"metadata": value}), 400)["attr"] == "metadata"


@override_settings(TIME_ZONE="Europe/Rome")
def test_sale_date_bounds_cover_the_whole_day_in_time_zone(api_client, seller, variant):
    client = api_client(seller)
    # 23:30 UTC on the 1st is 00:30 on the 2nd in Rome; 22:30 UTC on the 2nd is 23:30 on the 2nd there.
    early = create_sale(client, line(variant, 1), sold_at="2024-03-01T23:30:00Z")
    late = create_sale(client, line(variant, 1), sold_at="2024-03-02T22:30:00Z")
    create_sale(client, line(variant, 1), sold_at="2024-03-02T23:30:00Z")  # the 3rd in Rome
    create_sale(client, line(variant, 1), sold_at="2024-03-01T22:30:00Z")  # the 1st in Rome
    day = {early["id"], late["id"]}

    assert ids(client.get(SALES, {"sold_after": "2024-03-02", "sold_before": "2024-03-02"})) == day
    assert ids(client.get(SALES, {"start_date": "2024-03-02", "end_date": "2024-03-02"})) == day
    summary = client.get("/api/v1/sales/summary/", {"start_date": "2024-03-02", "end_date": "2024-03-02"}).json()
    assert summary["total_sales"] == 2


def test_start_and_end_date_filter_the_sale_date_not_creation(api_client, seller, variant):
    client = api_client(seller)
    old = create_sale(client, line(variant, 1), sold_at="2020-05-05T10:00:00Z")  # created now, sold in 2020

    assert ids(client.get(SALES, {"start_date": "2020-05-05", "end_date": "2020-05-05"})) == {old["id"]}
    assert ids(client.get(SALES, {"created_before": "2020-05-05"})) == set()


def test_ordering_by_sold_at_pages_with_the_cursor(api_client, variant):
    seller = UserFactory()
    client = api_client(seller)
    moments = ["2024-01-05", "2024-01-01", "2024-01-04", "2024-01-02", "2024-01-03"]
    made = {create_sale(client, line(variant, 1), sold_at=f"{day}T10:00:00Z")["id"]: day for day in moments}
    newest_first = sorted(made, key=lambda pk: made[pk], reverse=True)

    seen, page = [], client.get(SALES, {"ordering": "-sold_at", "cursor": "", "page_size": 2})
    while True:
        body = page.json()
        seen += [row["id"] for row in body["results"]]
        if not body["next"]:
            break
        page = client.get(body["next"])
    assert seen == newest_first
    ascending = [row["id"] for row in results(client.get(SALES, {"ordering": "sold_at"}))]
    assert ascending == newest_first[::-1]
    assert [datetime.fromisoformat(made[pk]).day for pk in ascending] == [1, 2, 3, 4, 5]
