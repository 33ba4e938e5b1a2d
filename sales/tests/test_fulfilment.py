"""Fulfilments, tracking, delivery and payment modes, and locks, through the API (fulfilment.md)."""

from decimal import Decimal

import pytest

from inventory.models import StockMovement
from inventory.tests.factories import stocked_variant
from sales.models import Fulfillment, Sale, SaleEvent, TrackingEvent
from sales.tests.factories import CarrierFactory

pytestmark = pytest.mark.django_db

SALES = "/api/v1/sales/"


def url(sale_id: int, suffix: str = "") -> str:
    return f"{SALES}{sale_id}/{suffix}"


def make_sale(client, *lines, status="confirmed", **fields):
    body = {"status": status, "items": [{"variant": v.pk, "quantity": q} for v, q in lines], **fields}
    response = client.post(SALES, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def error(response) -> tuple[int, str, str | None]:
    entry = response.json()["errors"][0]
    return response.status_code, entry["code"], entry["attr"]


@pytest.fixture
def client(api_client, seller):
    return api_client(seller)


@pytest.fixture
def two_lines(client):
    a, b = stocked_variant(20), stocked_variant(20)
    sale = make_sale(client, (a, 3), (b, 2))
    return sale, [item["id"] for item in sale["items"]]


def test_a_partial_fulfilment_ships_the_sale_and_counts_units(client, two_lines):
    sale, (a, _b) = two_lines
    carrier = CarrierFactory(code="dhl", tracking_url_template="https://dhl.example/{tracking_code}")

    response = client.post(
        url(sale["id"], "fulfillments/"),
        {"items": [{"item": a, "quantity": 2}], "carrier": "dhl", "tracking_code": "JD01"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == f"{sale['reference']}-F1"
    assert body["status"] == "shipped"
    assert body["delivery_mode"] == "dispatch"
    assert body["items"] == [{"item": a, "sku": sale["items"][0]["sku"], "quantity": 2}]
    assert (body["carrier"], body["tracking_url"]) == (carrier.code, "https://dhl.example/JD01")
    assert [event["status"] for event in body["tracking"]] == ["shipped"]
    assert body["is_delayed"] is False
    detail = client.get(url(sale["id"])).json()
    assert detail["status"] == "in_delivery"
    assert detail["fulfillment_status"] == "partially_fulfilled"
    assert detail["delivery_status"] == "shipped"
    assert (detail["total_quantity"], detail["quantity_remaining"]) == (5, 3)
    assert [item["quantity_fulfilled"] for item in detail["items"]] == [2, 0]


def test_fulfilling_moves_no_stock(client, two_lines):
    sale, _ = two_lines
    before = StockMovement.objects.count()

    client.post(url(sale["id"], "fulfillments/"), {}, format="json")

    assert StockMovement.objects.count() == before


def test_without_items_every_unit_left_goes_and_the_second_is_numbered_f2(client, two_lines):
    sale, (a, b) = two_lines
    client.post(url(sale["id"], "fulfillments/"), {"items": [{"item": b, "quantity": 1}]}, format="json")

    second = client.post(url(sale["id"], "fulfillments/"), {}, format="json").json()

    assert second["number"] == f"{sale['reference']}-F2"
    assert sorted((line["item"], line["quantity"]) for line in second["items"]) == sorted([(a, 3), (b, 1)])
    listed = client.get(url(sale["id"], "fulfillments/")).json()
    assert [f["number"] for f in listed] == [f"{sale['reference']}-F1", f"{sale['reference']}-F2"]
    assert client.get(url(sale["id"])).json()["fulfillment_status"] == "fulfilled"


def test_more_units_than_left_is_a_400_on_the_quantity(client, two_lines):
    sale, (a, b) = two_lines

    response = client.post(
        url(sale["id"], "fulfillments/"), {"items": [{"item": b, "quantity": 1}, {"item": a, "quantity": 4}]},
        format="json",
    )

    assert error(response) == (400, "max_value", "items.1.quantity")
    assert not Fulfillment.objects.exists()


def test_an_item_of_another_sale_is_a_400_on_the_item(client, two_lines):
    sale, _ = two_lines
    other = make_sale(client, (stocked_variant(5), 1))

    response = client.post(
        url(sale["id"], "fulfillments/"), {"items": [{"item": other["items"][0]["id"], "quantity": 1}]},
        format="json",
    )

    assert error(response) == (400, "does_not_exist", "items.0.item")


@pytest.mark.parametrize("status", ["draft", "pending"])
def test_a_sale_not_confirmed_cannot_be_fulfilled(client, status):
    sale = make_sale(client, (stocked_variant(5), 1), status=status)

    response = client.post(url(sale["id"], "fulfillments/"), {}, format="json")

    assert error(response)[:2] == (409, "invalid_transition")


def test_tracking_to_delivered_completes_the_sale_with_no_user(client, two_lines):
    sale, _ = two_lines
    fulfillment = client.post(url(sale["id"], "fulfillments/"), {}, format="json").json()
    tracking = url(sale["id"], f"fulfillments/{fulfillment['id']}/tracking/")

    for status in ("in_transit", "out_for_delivery"):
        assert client.post(tracking, {"status": status, "location": "Lyon"}, format="json").status_code == 201
        assert client.get(url(sale["id"])).json()["delivery_status"] == status
    response = client.post(tracking, {"status": "delivered"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "delivered" and body["delivered_at"] is not None
    assert [e["status"] for e in body["tracking"]] == ["shipped", "in_transit", "out_for_delivery", "delivered"]
    detail = client.get(url(sale["id"])).json()
    assert (detail["status"], detail["delivery_status"]) == ("completed", "delivered")
    completion = SaleEvent.objects.filter(sale_id=sale["id"], to_status="completed").get()
    assert completion.type == "status_changed"
    assert completion.user is None
    assert completion.data["reason"] == "delivered"


def test_a_partial_delivery_does_not_complete_the_sale(client, two_lines):
    sale, (a, _) = two_lines
    fulfillment = client.post(
        url(sale["id"], "fulfillments/"), {"items": [{"item": a, "quantity": 3}]}, format="json"
    ).json()

    client.post(url(sale["id"], f"fulfillments/{fulfillment['id']}/tracking/"), {"status": "delivered"}, format="json")

    assert client.get(url(sale["id"])).json()["status"] == "in_delivery"


@pytest.mark.parametrize(
    ("status", "code"),
    [("ready_for_pickup", "invalid_transition"), ("picked_up", "invalid_transition"), ("lost", "invalid_choice")],
)
def test_a_status_of_the_other_mode_is_a_409_and_an_unknown_one_a_400(client, two_lines, status, code):
    sale, _ = two_lines
    fulfillment = client.post(url(sale["id"], "fulfillments/"), {}, format="json").json()

    response = client.post(
        url(sale["id"], f"fulfillments/{fulfillment['id']}/tracking/"), {"status": status}, format="json"
    )

    assert error(response)[:2] == (409 if code == "invalid_transition" else 400, code)


def test_nothing_is_tracked_after_delivered(client, two_lines):
    sale, _ = two_lines
    fulfillment = client.post(url(sale["id"], "fulfillments/"), {}, format="json").json()
    tracking = url(sale["id"], f"fulfillments/{fulfillment['id']}/tracking/")
    client.post(tracking, {"status": "delivered"}, format="json")

    response = client.post(tracking, {"status": "in_transit"}, format="json")

    assert error(response)[:2] == (409, "invalid_transition")
    assert TrackingEvent.objects.filter(fulfillment_id=fulfillment["id"]).count() == 2


def test_a_failed_fulfilment_gives_its_units_back_and_marks_delivery_failed(client, two_lines):
    sale, _ = two_lines
    fulfillment = client.post(url(sale["id"], "fulfillments/"), {}, format="json").json()

    client.post(url(sale["id"], f"fulfillments/{fulfillment['id']}/tracking/"), {"status": "failed"}, format="json")

    detail = client.get(url(sale["id"])).json()
    assert (detail["fulfillment_status"], detail["delivery_status"]) == ("unfulfilled", "failed")
    assert detail["quantity_remaining"] == 5
    again = client.post(url(sale["id"], "fulfillments/"), {}, format="json")
    assert again.status_code == 201
    assert client.get(url(sale["id"])).json()["delivery_status"] == "shipped"


def test_a_pickup_sale_starts_ready_for_pickup_and_completes_when_picked_up(client):
    sale = make_sale(client, (stocked_variant(5), 2), delivery_mode="pickup", payment_mode="in_store")
    assert (sale["delivery_mode"], sale["payment_mode"]) == ("pickup", "in_store")

    fulfillment = client.post(url(sale["id"], "fulfillments/"), {}, format="json").json()
    assert fulfillment["status"] == "ready_for_pickup"
    shipped = client.post(
        url(sale["id"], f"fulfillments/{fulfillment['id']}/tracking/"), {"status": "shipped"}, format="json"
    )
    assert error(shipped)[:2] == (409, "invalid_transition")
    client.post(url(sale["id"], f"fulfillments/{fulfillment['id']}/tracking/"), {"status": "picked_up"}, format="json")

    detail = client.get(url(sale["id"])).json()
    assert (detail["status"], detail["delivery_status"]) == ("completed", "picked_up")


def test_a_prepaid_sale_with_money_due_cannot_go_out(client):
    sale = make_sale(client, (stocked_variant(5), 1), payment_mode="prepaid")

    for response in (
        client.post(url(sale["id"], "fulfillments/"), {}, format="json"),
        client.post(url(sale["id"], "ship/"), {}, format="json"),
        client.post(url(sale["id"], "complete/"), {}, format="json"),
    ):
        assert error(response)[:2] == (409, "payment_required")
    client.post(url(sale["id"], "payments/"), {"amount": sale["grand_total"]}, format="json")
    assert client.post(url(sale["id"], "fulfillments/"), {}, format="json").status_code == 201


def test_a_sale_with_no_payment_mode_goes_out_unpaid(client):
    sale = make_sale(client, (stocked_variant(5), 1))

    assert client.post(url(sale["id"], "ship/"), {}, format="json").status_code == 200


def test_ship_is_one_fulfilment_of_everything_left(client, two_lines):
    sale, (_a, _) = two_lines
    CarrierFactory(code="ups")

    body = client.post(url(sale["id"], "ship/"), {"carrier": "ups", "tracking_code": "1Z9"}, format="json").json()

    assert (body["status"], body["fulfillment_status"], body["delivery_status"]) == (
        "in_delivery", "fulfilled", "shipped"
    )
    assert {item["carrier"] for item in body["items"]} == {"ups"}
    (fulfillment,) = client.get(url(sale["id"], "fulfillments/")).json()
    assert (fulfillment["carrier"], fulfillment["tracking_code"]) == ("ups", "1Z9")


@pytest.mark.parametrize("path", ["complete/", None])
def test_a_completed_sale_is_fulfilled_by_one_delivered_fulfilment(client, path):
    variant = stocked_variant(5)
    if path is None:
        sale = make_sale(client, (variant, 2), status="completed")
    else:
        sale = make_sale(client, (variant, 2))
        sale = client.post(url(sale["id"], path), {}, format="json").json()

    assert (sale["status"], sale["fulfillment_status"], sale["delivery_status"]) == (
        "completed", "fulfilled", "delivered"
    )
    (fulfillment,) = client.get(url(sale["id"], "fulfillments/")).json()
    assert fulfillment["status"] == "delivered"


def test_delivery_fields_change_while_open_only(client):
    sale = make_sale(client, (stocked_variant(5), 1), status="pending")

    patched = client.patch(url(sale["id"]), {"delivery_mode": "pickup", "delivery_note": "Ring twice"}, format="json")
    assert patched.status_code == 200
    assert (patched.json()["delivery_mode"], patched.json()["delivery_note"]) == ("pickup", "Ring twice")
    client.post(url(sale["id"], "confirm/"), format="json")

    assert error(client.patch(url(sale["id"]), {"payment_mode": "prepaid"}, format="json"))[:2] == (
        409, "sale_locked"
    )


def test_another_sellers_sale_is_a_404(api_client, client, two_lines):
    sale, _ = two_lines
    from sales.tests.factories import UserFactory

    stranger = api_client(UserFactory())

    assert stranger.get(url(sale["id"], "fulfillments/")).status_code == 404
    assert stranger.post(url(sale["id"], "fulfillments/"), {}, format="json").status_code == 404


# --- locks ----------------------------------------------------------------------------------


def test_only_staff_lock_and_a_locked_sale_refuses_every_change(api_client, client, staff, two_lines):
    sale, (a, _) = two_lines
    assert error(client.post(url(sale["id"], "lock/"), {"reason": "fraud check"}, format="json"))[:2] == (
        403, "permission_denied"
    )
    staff_client = api_client(staff)

    locked = staff_client.post(url(sale["id"], "lock/"), {"reason": "fraud check"}, format="json")

    assert locked.status_code == 200
    body = locked.json()
    assert (body["locked"], body["locked_reason"], body["locked_by"]["username"]) == (
        True, "fraud check", staff.username
    )
    assert body["locked_at"] is not None
    before = Sale.objects.get(pk=sale["id"])
    attempts = [
        client.patch(url(sale["id"]), {"note": "x"}, format="json"),
        client.post(url(sale["id"], "fulfillments/"), {}, format="json"),
        client.post(url(sale["id"], "ship/"), {}, format="json"),
        client.post(url(sale["id"], "cancel/"), {}, format="json"),
        client.post(url(sale["id"], "payments/"), {"amount": "1.00"}, format="json"),
        client.post(url(sale["id"], "returns/"), {"items": [{"item": a, "quantity": 1}]}, format="json"),
        staff_client.post(url(sale["id"], "status/"), {"status": "completed"}, format="json"),
        staff_client.delete(url(sale["id"])),
        staff_client.post(url(sale["id"], "lock/"), {}, format="json"),
    ]
    for response in attempts:
        status, code, _ = error(response)
        assert (status, code) == (409, "sale_locked"), response.content
        assert staff.username in response.json()["errors"][0]["detail"]
        assert "fraud check" in response.json()["errors"][0]["detail"]
    after = Sale.objects.get(pk=sale["id"])
    assert (after.status, after.paid_total, after.note) == (before.status, before.paid_total, before.note)
    assert client.get(url(sale["id"])).status_code == 200

    unlocked = staff_client.post(url(sale["id"], "unlock/"), format="json").json()
    assert (unlocked["locked"], unlocked["locked_by"], unlocked["locked_at"]) == (False, None, None)
    assert client.post(url(sale["id"], "ship/"), {}, format="json").status_code == 200
    types = list(SaleEvent.objects.filter(sale_id=sale["id"], type__in=["locked", "unlocked"]).values_list("type"))
    assert types == [("locked",), ("unlocked",)]


def test_money_of_a_completed_pos_sale_is_untouched_by_fulfilment(client):
    variant = stocked_variant(5, price=Decimal("10.00"))

    sale = make_sale(client, (variant, 3), status="completed")

    assert (sale["grand_total"], sale["total_quantity"], sale["quantity_remaining"]) == ("30.00", 3, 0)
