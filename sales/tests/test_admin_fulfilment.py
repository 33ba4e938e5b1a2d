"""Fulfilments, tracking, cancel items, split, clone and lock in the sales admin, driven by a staff user.

Each page calls its service with the staff user; the result shows on the sale page, and a refusal
comes back as an error message above the same form (never a 500).
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from inventory.tests.factories import stocked_variant
from sales import services
from sales.admin import event_sentence
from sales.models import Fulfillment, Sale, SaleEvent, SaleStatus
from sales.services import ItemData, ItemQuantity
from sales.tests.factories import CarrierFactory, StaffFactory, UserFactory
from sales.tests.test_admin import CHANGELIST, change_url, form_data, texts

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return StaffFactory(is_superuser=True)


@pytest.fixture
def client(client, staff):
    client.force_login(staff)
    return client


def make_sale(*quantities: int, status: str = SaleStatus.CONFIRMED, **fields) -> Sale:
    """A sale of one fresh, stocked variant per quantity given."""
    items = [ItemData(variant=stocked_variant(20), quantity=quantity) for quantity in quantities or (3,)]
    sale = services.sale_create(seller=UserFactory(), data=services.NewSale(items=items, status=status, **fields))
    return Sale.objects.get(pk=sale.pk)


def page_url(sale: Sale, name: str) -> str:
    return reverse(f"admin:sales_sale_{name.replace('-', '_')}", args=[sale.pk])


def track_url(fulfillment: Fulfillment) -> str:
    return reverse("admin:sales_sale_track", args=[fulfillment.sale_id, fulfillment.pk])


def post_page(client, url: str, changes: dict):
    """GET the page, change some of its fields (None: leave it out), POST it back following the redirect."""
    data = form_data(client, url)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = [str(value)]
    return client.post(url, data, follow=True)


def box(item) -> str:
    return f"qty_{item.pk}"


def lines(sale: Sale) -> list:
    return list(sale.items.order_by("pk"))


def sale_page(client, sale: Sale) -> str:
    response = client.get(change_url(sale))
    assert response.status_code == 200
    return response.content.decode()


# --- the inline ---------------------------------------------------------------------------------


def test_a_sale_without_fulfilments_says_so(client):
    sale = make_sale(2)

    assert "No fulfilments yet." in sale_page(client, sale)


def test_the_inline_lists_each_fulfilment_with_items_carrier_linked_tracking_and_delay(client, staff):
    sale = make_sale(3, 2)
    a, b = lines(sale)
    dhl = CarrierFactory(code="dhl", tracking_url_template="https://dhl.example/{tracking_code}")
    late = timezone.now() - timedelta(days=2)
    services.sale_fulfil(sale=sale, user=staff, lines=[ItemQuantity(a, 2)], carrier=dhl, tracking_code="JD01",
                         expected_at=late)
    services.sale_fulfil(sale=sale, user=staff, lines=[ItemQuantity(a, 1), ItemQuantity(b, 2)])

    html = sale_page(client, sale)

    assert "No fulfilments yet." not in html
    assert f"{sale.reference}-F1" in html and f"{sale.reference}-F2" in html
    assert f"2 × {a.sku}" in html
    assert f"1 × {a.sku}, 2 × {b.sku}" in html
    assert '<a href="https://dhl.example/JD01" target="_blank" rel="noopener">JD01</a>' in html
    assert html.count('<span class="chip chip-late">late</span>') == 1  # F1 is late, F2 is not
    assert html.count("Update tracking") == 2


# --- create a fulfilment -----------------------------------------------------------------------


def test_the_fulfil_button_shows_on_a_confirmed_sale_and_not_on_a_pending_one(client):
    confirmed, pending = make_sale(2), make_sale(2, status=SaleStatus.PENDING)

    assert page_url(confirmed, "fulfil") in sale_page(client, confirmed)
    assert page_url(pending, "fulfil") not in sale_page(client, pending)


def test_the_fulfil_button_goes_once_every_unit_is_sent(client, staff):
    sale = make_sale(2)
    services.sale_fulfil(sale=sale, user=staff)

    assert page_url(sale, "fulfil") not in sale_page(client, sale)
    response = client.get(page_url(sale, "fulfil"), follow=True)
    assert texts(response) == [
        f"Create fulfilment is not available for sale {sale.reference}: every unit is sent already."
    ]


def test_the_fulfil_form_offers_every_unit_left_by_default(client, staff):
    sale = make_sale(3, 2)
    a, b = lines(sale)
    services.sale_fulfil(sale=sale, user=staff, lines=[ItemQuantity(a, 1)])

    data = form_data(client, page_url(sale, "fulfil"))

    assert data[box(a)] == ["2"] and data[box(b)] == ["2"]


def test_creating_a_fulfilment_calls_the_service_and_ships_the_sale(client):
    sale = make_sale(3, 2)
    a, b = lines(sale)
    CarrierFactory(code="ups", tracking_url_template="https://ups.example/{tracking_code}")
    carrier = sale.items.model._meta.get_field("carrier").related_model.objects.get(code="ups")

    response = post_page(client, page_url(sale, "fulfil"), {
        box(a): 2, box(b): 0, "carrier": carrier.pk, "tracking_code": "1Z99", "expected_at": "2030-01-02T10:30",
        "note": "first parcel",
    })

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == change_url(sale)
    fulfillment = Fulfillment.objects.get(sale=sale)
    assert [(line.item_id, line.quantity) for line in fulfillment.lines.all()] == [(a.pk, 2)]
    assert (fulfillment.carrier, fulfillment.tracking_code, fulfillment.note) == (carrier, "1Z99", "first parcel")
    assert fulfillment.tracking_url == "https://ups.example/1Z99"
    assert fulfillment.expected_at.year == 2030
    sale.refresh_from_db()
    assert (sale.status, sale.fulfillment_status) == ("in_delivery", "partially_fulfilled")
    assert f"Fulfilment {fulfillment.number} created: 2 × {a.sku}." in texts(response)
    html = response.content.decode()
    assert fulfillment.number in html and f"Fulfilment {fulfillment.number} created" in html  # inline, activity


def test_a_quantity_above_what_is_left_is_an_error_message_and_nothing_is_sent(client):
    sale = make_sale(3)
    (a,) = lines(sale)

    response = post_page(client, page_url(sale, "fulfil"), {box(a): 4})

    assert response.status_code == 200
    assert response.redirect_chain == []  # the same form again
    [message] = texts(response)
    assert message.startswith(f"Fulfil {sale.reference} failed: Only 3 unit(s) of {a.sku} can still be fulfilled")
    assert 'name="qty_' in response.content.decode()
    assert not Fulfillment.objects.filter(sale=sale).exists()


def test_no_quantity_at_all_is_an_error_message(client):
    sale = make_sale(3)
    (a,) = lines(sale)

    response = post_page(client, page_url(sale, "fulfil"), {box(a): 0})

    assert "Name at least one item." in texts(response)[0]
    assert not Fulfillment.objects.exists()


def test_the_fulfil_page_of_a_pending_sale_sends_back_with_the_reason(client):
    sale = make_sale(2, status=SaleStatus.PENDING)

    response = client.get(page_url(sale, "fulfil"), follow=True)

    assert response.redirect_chain[-1][0] == change_url(sale)
    assert texts(response) == [f"Create fulfilment is not available for sale {sale.reference}: it is pending."]


def test_posting_a_fulfilment_on_a_pending_sale_shows_the_services_refusal(client):
    sale = make_sale(2, status=SaleStatus.PENDING)
    (a,) = lines(sale)

    response = client.post(page_url(sale, "fulfil"), {box(a): "1"}, follow=True)

    assert "invalid_transition" in texts(response)[0]
    assert not Fulfillment.objects.exists()


# --- tracking ----------------------------------------------------------------------------------


def test_a_tracking_update_calls_the_service_and_shows_on_the_sale(client, staff):
    sale = make_sale(2)
    fulfillment = services.sale_fulfil(sale=sale, user=staff)

    response = post_page(client, track_url(fulfillment), {"status": "in_transit", "location": "Milan hub",
                                                          "note": "left the depot"})

    fulfillment.refresh_from_db()
    assert fulfillment.status == "in_transit"
    event = fulfillment.tracking.order_by("pk").last()
    assert (event.status, event.location, event.note, event.user) == ("in_transit", "Milan hub", "left the depot",
                                                                      staff)
    assert f"Fulfilment {fulfillment.number} is now in transit." in texts(response)
    assert f"Fulfilment {fulfillment.number} marked in transit" in response.content.decode()  # activity log


def test_delivering_every_parcel_completes_the_sale(client, staff):
    sale = make_sale(2)
    fulfillment = services.sale_fulfil(sale=sale, user=staff)

    post_page(client, track_url(fulfillment), {"status": "delivered"})

    sale.refresh_from_db()
    assert (sale.status, sale.delivery_status) == ("completed", "delivered")


def test_the_tracking_form_offers_only_the_statuses_of_the_fulfilments_mode(client, staff):
    sale = make_sale(1, delivery_mode="pickup")
    fulfillment = services.sale_fulfil(sale=sale, user=staff)

    html = client.get(track_url(fulfillment)).content.decode()

    assert 'value="picked_up"' in html and 'value="in_transit"' not in html


def test_a_refused_tracking_event_is_an_error_message(client, staff):
    sale = make_sale(2, 1)
    a, _ = lines(sale)
    fulfillment = services.sale_fulfil(sale=sale, user=staff, lines=[ItemQuantity(a, 2)])
    services.fulfillment_track(fulfillment=fulfillment, user=staff, status="delivered")

    response = client.post(track_url(fulfillment), {"status": "in_transit"}, follow=True)

    assert response.redirect_chain == []
    assert "it takes no more tracking" in texts(response)[0]
    assert fulfillment.tracking.count() == 2


def test_the_tracking_page_of_another_sales_fulfilment_is_not_found(client, staff):
    sale, other = make_sale(1), make_sale(1)
    fulfillment = services.sale_fulfil(sale=sale, user=staff)

    url = reverse("admin:sales_sale_track", args=[other.pk, fulfillment.pk])

    assert client.get(url).status_code == 404


# --- cancel items, split, clone ---------------------------------------------------------------


def test_cancelling_some_units_reprices_the_sale(client):
    sale = make_sale(3, 2)
    a, _b = lines(sale)
    total = sale.grand_total

    response = post_page(client, page_url(sale, "cancel-items"), {box(a): 1, "reason": "customer", "note": "too many"})

    sale.refresh_from_db()
    a.refresh_from_db()
    assert a.quantity_cancelled == 1
    assert sale.cancellation_status == "partial" and sale.grand_total < total
    assert texts(response)[0].startswith(f"Cancelled 1 × {a.sku} of sale {sale.reference}")
    assert f"1 × {a.sku}" in response.content.decode()  # the activity log names the units


def test_cancelling_more_units_than_remain_is_an_error_message(client):
    sale = make_sale(2)
    (a,) = lines(sale)

    response = post_page(client, page_url(sale, "cancel-items"), {box(a): 5})

    assert "can still be cancelled" in texts(response)[0]
    a.refresh_from_db()
    assert a.quantity_cancelled == 0


def test_splitting_moves_units_to_a_new_sale_linked_from_both(client):
    sale = make_sale(3, 2, status=SaleStatus.PENDING)
    _a, b = lines(sale)

    response = post_page(client, page_url(sale, "split"), {box(b): 2})

    new_sale = Sale.objects.get(parent=sale)
    assert [(item.sku, item.quantity) for item in new_sale.items.all()] == [(b.sku, 2)]
    assert texts(response)[0].startswith(f"Split 2 × {b.sku} off sale {sale.reference} into the new sale")
    assert f'split into <a href="{change_url(new_sale)}">{new_sale.reference}</a>' in sale_page(client, sale)
    assert f'split from <a href="{change_url(sale)}">{sale.reference}</a>' in sale_page(client, new_sale)


def test_splitting_every_unit_is_an_error_message(client):
    sale = make_sale(2, status=SaleStatus.PENDING)
    (a,) = lines(sale)

    response = post_page(client, page_url(sale, "split"), {box(a): 2})

    assert "at least one unit" in texts(response)[0]
    assert not Sale.objects.filter(parent=sale).exists()


def test_cloning_creates_a_new_sale_and_opens_it(client):
    sale = make_sale(3, 2, status=SaleStatus.COMPLETED)
    a, b = lines(sale)

    response = post_page(client, page_url(sale, "clone"), {box(a): 1, box(b): 0, "reason": "exchange"})

    clone = Sale.objects.get(cloned_from=sale)
    assert (clone.status, clone.clone_reason) == ("draft", "exchange")
    assert [(item.sku, item.quantity, item.unit_price) for item in clone.items.all()] == [(a.sku, 1, a.unit_price)]
    assert response.redirect_chain[-1][0] == change_url(clone)
    assert f"Sale {clone.reference} created from {sale.reference} (exchange)." in texts(response)
    assert f"Cloned to {clone.reference}" in sale_page(client, sale)


# --- lock and unlock -------------------------------------------------------------------------


def test_locking_hides_the_change_buttons_and_unlocking_brings_them_back(client, staff):
    sale = make_sale(2)

    response = post_page(client, page_url(sale, "lock"), {"reason": "chargeback dispute"})

    sale.refresh_from_db()
    assert sale.locked and sale.locked_by == staff and sale.locked_reason == "chargeback dispute"
    html = response.content.decode()
    assert "Locked for review by" in html and "chargeback dispute" in html
    assert page_url(sale, "fulfil") not in html and page_url(sale, "unlock") in html

    response = post_page(client, page_url(sale, "unlock"), {})

    sale.refresh_from_db()
    assert not sale.locked
    assert f"Sale {sale.reference} is unlocked." in texts(response)
    assert page_url(sale, "fulfil") in response.content.decode()
    assert [e.type for e in SaleEvent.objects.filter(sale=sale).order_by("pk")][-2:] == ["locked", "unlocked"]


def test_a_locked_sale_refuses_a_fulfilment_with_the_lock_in_the_message(client, staff):
    sale = make_sale(2)
    (a,) = lines(sale)
    services.sale_lock_for_review(sale=sale, user=staff, reason="fraud check")

    response = client.post(page_url(sale, "fulfil"), {box(a): "1"}, follow=True)

    assert "sale_locked" in texts(response)[0]
    assert not Fulfillment.objects.exists()


def test_the_structure_pages_need_the_change_permission(client):
    viewer = StaffFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_sale"))
    sale = make_sale(2)
    client.force_login(viewer)

    assert "Create fulfilment" not in sale_page(client, sale)
    for name in ("fulfil", "cancel-items", "lock", "unlock", "clone"):
        assert client.get(page_url(sale, name)).status_code == 403, name


# --- the activity log ------------------------------------------------------------------------


def test_the_new_events_read_as_sentences(staff):
    sale = make_sale(3, status=SaleStatus.CONFIRMED)
    (a,) = lines(sale)
    services.sale_cancel_items(sale=sale, user=staff, lines=[ItemQuantity(a, 1)], reason="customer")
    fulfillment = services.sale_fulfil(sale=sale, user=staff)
    services.fulfillment_track(fulfillment=fulfillment, user=staff, status="in_transit", location="Rome")
    clone = services.sale_clone(sale=sale, user=staff, reason="new_sale")
    services.sale_lock_for_review(sale=sale, user=staff, reason="review")
    services.sale_unlock(sale=sale, user=staff)
    pending = make_sale(2, status=SaleStatus.PENDING)
    child = services.sale_split(sale=pending, user=staff, lines=[ItemQuantity(lines(pending)[0], 1)])

    sentences = [
        str(event_sentence(event))
        for event in SaleEvent.objects.filter(sale__in=[sale, pending]).exclude(type__in=["created", "status_changed"])
        .order_by("pk")
    ]

    assert [sentence.split(" by ")[0].split(">", 1)[1] for sentence in sentences] == [
        "Items cancelled",
        f"Fulfilment {fulfillment.number} created",
        f"Fulfilment {fulfillment.number} marked in transit",
        f"Cloned to {clone.reference}",
        "Locked for review",
        "Unlocked",
        f"Split into {child.reference}",
    ]
    assert f"1 × {a.sku}; reason customer" in sentences[0]
    assert "location Rome" in sentences[2]


# --- list filters and columns --------------------------------------------------------------


def references(response) -> set[str]:
    return {sale.reference for sale in response.context["cl"].result_list}


def test_the_list_filters_by_delivery_status_mode_lock_and_delay(client, staff):
    late = make_sale(1)
    services.sale_fulfil(sale=late, user=staff, expected_at=timezone.now() - timedelta(hours=3))
    on_time = make_sale(1)
    services.sale_fulfil(sale=on_time, user=staff, expected_at=timezone.now() + timedelta(days=1))
    pickup = make_sale(1, delivery_mode="pickup")
    locked = make_sale(1)
    services.sale_lock_for_review(sale=locked, user=staff)
    arrived_late = make_sale(1)
    fulfillment = services.sale_fulfil(sale=arrived_late, user=staff, expected_at=timezone.now() - timedelta(days=1))
    services.fulfillment_track(fulfillment=fulfillment, user=staff, status="delivered")

    assert references(client.get(CHANGELIST, {"delayed": "yes"})) == {late.reference}
    assert late.reference not in references(client.get(CHANGELIST, {"delayed": "no"}))
    assert references(client.get(CHANGELIST, {"delivery_mode__exact": "pickup"})) == {pickup.reference}
    assert references(client.get(CHANGELIST, {"locked__exact": "1"})) == {locked.reference}
    assert references(client.get(CHANGELIST, {"delivery_status__exact": "shipped"})) == {late.reference,
                                                                                          on_time.reference}


def test_the_list_marks_late_and_locked_sales(client, staff):
    late = make_sale(1)
    services.sale_fulfil(sale=late, user=staff, expected_at=timezone.now() - timedelta(hours=3))
    services.sale_lock_for_review(sale=late, user=staff, reason="dispute")

    html = client.get(CHANGELIST).content.decode()

    assert '<span class="chip chip-late">late</span>' in html
    assert 'class="chip chip-locked" title="Locked: dispute"' in html
