"""Keyset (`?cursor=`) paging beside the default page numbers, on the sales list and another list."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.tests.factories import stocked_variant
from sales import services
from sales.models import Sale
from sales.services import ItemData

SALES = "/api/v1/sales/"


@pytest.fixture
def sales(staff):
    """Seven sales; two share a created_at (the tie the id must break) and two a grand total."""
    variant = stocked_variant(100)
    made = [
        services.sale_create(
            seller=staff,
            data=services.NewSale(
                items=[ItemData(variant=variant, quantity=1, unit_price=price)],
            ),
        )
        for price in ("10.00", "20.00", "20.00", "5.00", "7.00", "30.00", "1.00")
    ]
    base = timezone.now() - timedelta(days=1)
    for index, sale in enumerate(made):
        moment = base + timedelta(minutes=min(index, 5))  # the last two share a moment
        Sale.objects.filter(pk=sale.pk).update(created_at=moment)
    return made


def walk(client, url: str, params: dict) -> tuple[list[int], list[dict]]:
    """Follow `next` links to the end: the ids seen and every answer."""
    answers = [client.get(url, params).json()]
    while answers[-1]["next"]:
        answers.append(client.get(answers[-1]["next"]).json())
    return [row["id"] for answer in answers for row in answer["results"]], answers


def page_ids(client, url: str, params: dict) -> list[int]:
    return [row["id"] for row in client.get(url, {**params, "page_size": 500}).json()["results"]]


@pytest.mark.parametrize("ordering", [None, "created_at", "-grand_total", "grand_total", "number", "-number"])
def test_cursor_walk_sees_every_sale_once_in_the_page_order(api_client, staff, sales, ordering):
    client = api_client(staff)
    params = {"ordering": ordering} if ordering else {}

    seen, answers = walk(client, SALES, {**params, "cursor": "", "page_size": 2})

    assert seen == page_ids(client, SALES, params)
    assert len(seen) == len(sales)
    assert [len(answer["results"]) for answer in answers] == [2, 2, 2, 1]


def test_cursor_answer_has_no_count_and_page_numbers_keep_it(api_client, staff, sales):
    client = api_client(staff)

    by_cursor = client.get(SALES, {"cursor": "", "page_size": 3}).json()
    by_page = client.get(SALES, {"page_size": 3}).json()

    assert set(by_cursor) == {"next", "previous", "results"}
    assert by_cursor["previous"] is None
    assert "cursor=" in by_cursor["next"]
    assert set(by_page) == {"count", "next", "previous", "results"}
    assert by_page["count"] == len(sales)


def test_previous_link_walks_back_to_the_same_pages(api_client, staff, sales):
    client = api_client(staff)
    first = client.get(SALES, {"cursor": "", "page_size": 3}).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    back_to_second = client.get(third["previous"]).json()
    back_to_first = client.get(back_to_second["previous"]).json()

    assert back_to_second["results"] == second["results"]
    assert back_to_first["results"] == first["results"]
    assert back_to_first["previous"] is None
    assert back_to_first["next"] is not None


def test_cursor_keeps_the_filters_of_the_request(api_client, staff, sales):
    client = api_client(staff)
    params = {"total_min": "10", "cursor": "", "page_size": 1}

    seen, _ = walk(client, SALES, params)

    expected = [
        sale.pk for sale in sorted(sales, key=lambda s: (s.created_at, s.pk)) if sale.grand_total >= Decimal("10")
    ]
    assert sorted(seen) == sorted(expected)
    assert seen == page_ids(client, SALES, {"total_min": "10"})


def test_a_row_added_while_paging_is_neither_skipped_nor_repeated(api_client, staff, sales):
    client = api_client(staff)
    first = client.get(SALES, {"cursor": "", "page_size": 3}).json()
    services.sale_create(
        seller=staff,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(5), quantity=1)],
        ),
    )  # newest: page one

    seen = [row["id"] for row in first["results"]]
    answer = first
    while answer["next"]:
        answer = client.get(answer["next"]).json()
        seen += [row["id"] for row in answer["results"]]

    assert sorted(seen) == sorted(sale.pk for sale in sales)


@pytest.mark.parametrize("cursor", ["not-base64!", "e30", "eyJvIjpbXSwidiI6W10sImIiOmZhbHNlfQ"])
def test_a_malformed_cursor_is_a_400_on_cursor(api_client, staff, sales, cursor):
    response = api_client(staff).get(SALES, {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "cursor"


def test_a_cursor_from_another_ordering_is_a_400(api_client, staff, sales):
    client = api_client(staff)
    next_link = client.get(SALES, {"cursor": "", "page_size": 2, "ordering": "grand_total"}).json()["next"]
    token = next_link.split("cursor=")[1].split("&")[0]

    response = client.get(SALES, {"cursor": token, "ordering": "-grand_total"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "cursor"


def test_seller_cursor_walk_stays_within_their_own_sales(api_client, seller, staff, sales):
    own = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(5), quantity=1)],
        ),
    )

    seen, _ = walk(api_client(seller), SALES, {"cursor": "", "page_size": 1})

    assert seen == [own.pk]


def test_another_list_offers_the_cursor_too(api_client, staff, sales):
    """Stock movements (a ledger that only grows) page by cursor in their own order."""
    client = api_client(staff)

    seen, _ = walk(client, "/api/v1/stock/movements/", {"cursor": "", "page_size": 2})

    assert seen == page_ids(client, "/api/v1/stock/movements/", {})
    assert len(seen) == len(sales) + 1  # the receipt, then one reservation per sale
