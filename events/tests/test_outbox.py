"""Every business change writes its events in its own transaction (events.md): the right type, object and previous."""

from decimal import Decimal

import pytest
from django.db import transaction

from events.models import Event
from inventory import services as stock_services
from inventory.models import LOW_STOCK_THRESHOLD, StockLevel
from inventory.services import InsufficientStock
from inventory.tests.factories import stocked_variant
from payments import services as payment_services
from payments.models import Payment
from payments.services import AllocationData
from sales import services
from sales.models import Sale
from sales.services import ItemData, ItemQuantity, NewPayment, NewSale, ReturnLine
from sales.services.documents import sale_issue_invoice
from sales.services.payments import sale_payment_set_status
from sales.tests.factories import CarrierFactory, StaffFactory

pytestmark = pytest.mark.django_db


def create(seller, *lines, status="pending", **kwargs) -> Sale:
    items = [ItemData(variant=variant, quantity=quantity) for variant, quantity in lines]
    return services.sale_create(seller=seller, data=NewSale(items=items, status=status, **kwargs))


def events_after(mark: int = 0) -> list[Event]:
    return list(Event.objects.filter(id__gt=mark).order_by("id"))


def last_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def types(events) -> list[str]:
    return [event.type for event in events]


def detail(client_for, user, sale_id) -> dict:
    return client_for(user).get(f"/api/v1/sales/{sale_id}/").json()


@pytest.fixture
def variant(db):
    return stocked_variant(100)


# --- sales ---------------------------------------------------------------------------------------------------------


def test_a_sale_created_confirmed_with_a_payment_writes_sale_created_only(seller, variant, api_client):
    mark = last_id()
    sale = create(seller, (variant, 2), status="confirmed", payments=[NewPayment(amount="1.00")])

    events = events_after(mark)

    assert types(events) == ["sale.created"]
    event = events[0]
    assert event.uid.startswith("evt_")
    assert (event.object_type, event.object_id, event.sale_id, event.seller_id) == (
        "sale",
        str(sale.pk),
        sale.pk,
        seller.pk,
    )
    assert event.previous is None
    # The object is what the seller reads at GET /sales/{id}/, payments included.
    assert event.data["object"] == detail(api_client, seller, sale.pk)
    assert event.data["object"]["payments"][0]["amount"] == "1.00"


def test_staff_only_fields_never_reach_an_event(seller, staff, variant, api_client):
    sale = create(seller, (variant, 1))
    mark = last_id()

    services.sale_update(sale=sale, user=staff, data={"admin_note": "do not tell", "note": "for all"})

    [event] = events_after(mark)
    assert event.type == "sale.updated"
    obj = event.data["object"]
    assert obj["admin_note"] is None and obj["items"][0].get("cost_price") is None and obj.get("profit") is None
    assert obj["note"] == "for all"
    assert "do not tell" not in str(event.data) + str(event.previous)
    assert obj == detail(api_client, seller, sale.pk)


def test_one_edit_of_fields_and_notes_is_one_sale_updated_with_the_values_before(seller, variant):
    sale = create(seller, (variant, 1), note="old note")
    mark = last_id()

    services.sale_update(sale=sale, user=seller, data={"note": "new note", "shipping_cost": Decimal("5.00")})

    [event] = events_after(mark)
    assert event.type == "sale.updated"
    assert event.previous["note"] == "old note"
    assert event.previous["shipping_cost"] == "0.00"
    assert event.previous["grand_total"] != event.data["object"]["grand_total"]
    assert "updated_at" not in event.previous and "items" not in event.previous


def test_a_line_edit_of_tracking_is_a_delivery_update_with_the_line_before(seller, variant):
    sale = create(seller, (variant, 1), status="confirmed")
    item = sale.items.get()
    mark = last_id()

    services.sale_update_item(item=item, user=seller, data={"tracking_code": "TRACK-1"})

    [event] = events_after(mark)
    assert event.type == "sale.delivery_updated"
    assert event.previous == {"items": [{"id": item.pk, "tracking_code": ""}]}
    assert event.data["object"]["items"][0]["tracking_code"] == "TRACK-1"


def test_transitions_write_status_changed_with_the_status_before(seller, variant):
    sale = create(seller, (variant, 1))
    mark = last_id()

    services.sale_confirm(sale=sale, user=seller)
    services.sale_cancel(sale=sale, user=seller, reason="customer")

    events = events_after(mark)
    assert types(events) == ["sale.status_changed", "sale.status_changed"]
    assert [e.previous for e in events] == [{"status": "pending"}, {"status": "confirmed"}]
    assert [e.data["object"]["status"] for e in events] == ["confirmed", "cancelled"]


def test_shipping_writes_the_fulfilment_and_the_status_change(seller, variant):
    sale = create(seller, (variant, 2), status="confirmed")
    mark = last_id()

    services.sale_ship(sale=sale, user=seller, carrier=CarrierFactory(), tracking_code="T-9")

    events = events_after(mark)
    assert sorted(types(events)) == ["sale.fulfillment_created", "sale.status_changed"]
    created = next(e for e in events if e.type == "sale.fulfillment_created")
    assert created.data["fulfillment"]["tracking_code"] == "T-9"
    assert created.data["object"]["status"] == "in_delivery"


def test_tracking_a_fulfilment_is_a_delivery_update(seller, variant):
    sale = create(seller, (variant, 2), status="confirmed")
    fulfillment = services.sale_fulfil(
        sale=sale, user=seller, lines=[ItemQuantity(item=sale.items.get().pk, quantity=1)]
    )
    mark = last_id()

    services.fulfillment_track(fulfillment=fulfillment, user=seller, status="in_transit")

    [event] = events_after(mark)
    assert event.type == "sale.delivery_updated"
    assert event.data["fulfillment"]["id"] == fulfillment.pk
    assert event.data["fulfillment"]["status"] == "in_transit"


def test_a_payment_that_pays_the_sale_writes_payment_recorded_then_sale_paid(seller, variant):
    sale = create(seller, (variant, 1), status="confirmed")
    mark = last_id()

    payment = services.sale_record_payment(sale=sale, user=seller, amount=sale.grand_total, method="cash")

    events = events_after(mark)
    assert types(events) == ["payment.recorded", "sale.paid"]
    recorded, paid = events
    assert (recorded.object_type, recorded.object_id, recorded.sale_id) == ("payment", str(payment.pk), sale.pk)
    assert recorded.data["object"]["amount"] == str(sale.grand_total)
    assert paid.previous == {"payment_status": "unpaid"}
    assert paid.data["object"]["payment_status"] == "paid"
    assert paid.data["payment"]["id"] == payment.pk


def test_a_part_payment_is_not_sale_paid(seller, variant):
    sale = create(seller, (variant, 1), status="confirmed")
    mark = last_id()

    services.sale_record_payment(sale=sale, user=seller, amount="0.01", method="cash")

    assert types(events_after(mark)) == ["payment.recorded"]


def test_a_pending_payment_that_succeeds_is_payment_status_changed(seller, variant):
    sale = create(seller, (variant, 1), status="confirmed")
    payment = services.sale_record_payment(
        sale=sale, user=seller, amount=sale.grand_total, method="card", status="pending"
    )
    mark = last_id()

    sale_payment_set_status(payment=payment, status="successful", user=seller)

    events = events_after(mark)
    assert types(events) == ["payment.status_changed", "sale.paid"]
    assert events[0].previous == {"status": "pending"}
    assert events[0].data["object"]["status"] == "successful"


def test_unassigned_payments_are_recorded_for_staff_then_assigned(seller, staff, variant):
    sale = create(seller, (variant, 1), status="confirmed")
    mark = last_id()

    payment = payment_services.payment_record(
        user=staff, amount=sale.grand_total, method="bank_transfer", reference="TX-1"
    )
    services.sale_assign_payment(transaction_reference="TX-1", user=staff, sale=sale)

    events = events_after(mark)
    assert types(events) == ["payment.recorded", "payment.assigned", "sale.paid"]
    recorded, assigned, _ = events
    assert (recorded.sale_id, recorded.seller_id) == (None, None)  # on no sale yet: staff's only
    assert recorded.data["object"]["sale"] is None
    assert (assigned.object_id, assigned.sale_id, assigned.seller_id) == (str(payment.pk), sale.pk, seller.pk)
    assert assigned.data["object"]["sale"] == sale.pk


def test_returning_units_writes_sale_returned(seller, variant):
    sale = create(seller, (variant, 2), status="completed")
    mark = last_id()

    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=sale.items.get().pk, quantity=1)])

    events = events_after(mark)
    assert "sale.returned" in types(events)
    returned = next(e for e in events if e.type == "sale.returned")
    assert returned.data["object"]["items"][0]["quantity_returned"] == 1


def test_deleting_a_sale_writes_sale_deleted_with_the_sale_as_it_was(seller, variant):
    sale = create(seller, (variant, 1), reference="GONE-1")
    mark = last_id()

    services.sale_delete(sale=sale, user=seller)

    [event] = events_after(mark)
    assert event.type == "sale.deleted"
    assert (event.object_id, event.seller_id) == (str(sale.pk), seller.pk)
    assert event.data["object"]["reference"] == "GONE-1"


def test_issuing_an_invoice_writes_invoice_issued(seller, variant):
    sale = create(seller, (variant, 1), status="confirmed")
    mark = last_id()

    document = sale_issue_invoice(sale=sale, user=seller)

    [event] = events_after(mark)
    assert (event.type, event.object_type, event.object_id, event.sale_id) == (
        "invoice.issued",
        "invoice",
        str(document.pk),
        sale.pk,
    )
    assert event.data["object"]["number"] == document.number
    assert event.data["object"]["kind"] == "invoice"


def test_uploading_an_invoice_writes_invoice_issued_with_the_uploads_answer(seller, variant, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    sale = create(seller, (variant, 1), status="confirmed")
    mark = last_id()

    invoice = services.sale_attach_invoice(sale=sale, user=seller, content=b"%PDF-1.4\n%%EOF\n", filename="a.pdf")

    [event] = events_after(mark)
    assert (event.type, event.object_id, event.sale_id) == ("invoice.issued", str(invoice.pk), sale.pk)
    assert event.data["object"] == {
        "id": invoice.pk,
        "number": invoice.number,
        "url": f"/api/v1/sales/{sale.pk}/invoice/",
    }


def test_cancelling_some_units_is_an_update(seller, variant):
    sale = create(seller, (variant, 3))
    mark = last_id()

    services.sale_cancel_items(sale=sale, user=seller, lines=[ItemQuantity(item=sale.items.get().pk, quantity=1)])

    [event] = events_after(mark)
    assert event.type == "sale.updated"
    assert event.previous["grand_total"] != event.data["object"]["grand_total"]
    assert event.data["object"]["items"][0]["quantity_cancelled"] == 1


def test_a_clone_is_created_and_its_source_unchanged(seller, variant):
    source = create(seller, (variant, 1), status="completed")
    mark = last_id()

    clone = services.sale_clone(sale=source, user=seller, reason="exchange")

    assert [(e.type, e.sale_id) for e in events_after(mark)] == [("sale.created", clone.pk)]


def test_a_payment_spread_over_two_sales_is_one_event_and_pays_each(seller, variant):
    first, second = create(seller, (variant, 1), status="confirmed"), create(seller, (variant, 1), status="confirmed")
    mark = last_id()

    services.sale_assign_payment(
        transaction_reference="TX-2",
        user=StaffFactory(),
        amount=first.grand_total + second.grand_total,
        method="bank_transfer",
        allocations=[
            AllocationData(sale=first, amount=first.grand_total),
            AllocationData(sale=second, amount=second.grand_total),
        ],
    )

    events = events_after(mark)
    assert types(events) == ["payment.recorded", "sale.paid", "sale.paid"]
    assert {e.sale_id for e in events[1:]} == {first.pk, second.pk}
    assert len(events[0].data["object"]["allocations"]) == 2


def test_locking_for_review_is_an_update_naming_what_changed(seller, variant):
    sale = create(seller, (variant, 1))
    mark = last_id()

    services.sale_lock_for_review(sale=sale, user=StaffFactory(is_superuser=True), reason="check")

    [event] = events_after(mark)
    assert event.type == "sale.updated"
    assert event.previous["locked"] is False and event.data["object"]["locked"] is True


def test_a_split_updates_the_sale_and_creates_the_new_one(seller, variant):
    sale = create(seller, (variant, 3))
    mark = last_id()

    new_sale = services.sale_split(sale=sale, user=seller, lines=[ItemQuantity(item=sale.items.get().pk, quantity=1)])

    events = events_after(mark)
    assert sorted((e.type, e.sale_id) for e in events) == sorted(
        [("sale.updated", sale.pk), ("sale.created", new_sale.pk)]
    )


# --- stock ---------------------------------------------------------------------------------------------------------


def test_receipts_and_adjustments_are_stock_adjusted_with_their_kind(staff, warehouse):
    variant = stocked_variant(0)
    mark = last_id()

    stock_services.stock_receive(variant=variant, warehouse=warehouse, quantity=20, user=staff)
    stock_services.stock_adjust(variant=variant, warehouse=warehouse, quantity_change=-2, user=staff, reason="count")

    events = events_after(mark)
    assert [(e.type, e.data["kind"]) for e in events] == [
        ("stock.adjusted", "receipt"),
        ("stock.adjusted", "adjustment"),
    ]
    assert [e.data["object"]["available"] for e in events] == [20, 18]
    assert all(e.seller_id is None and e.sale_id is None for e in events)  # staff's only


def test_stock_low_is_written_once_when_available_crosses_the_threshold(seller, warehouse):
    variant = stocked_variant(LOW_STOCK_THRESHOLD + 3)
    mark = last_id()

    create(seller, (variant, 2))  # still above the threshold
    create(seller, (variant, 2))  # crosses it
    create(seller, (variant, 1))  # already low: no new event

    low = [e for e in events_after(mark) if e.type == "stock.low"]
    level = StockLevel.objects.get(variant=variant, warehouse=warehouse)
    assert len(low) == 1
    assert low[0].object_id == str(level.pk)
    assert low[0].data["object"]["available"] == LOW_STOCK_THRESHOLD - 1
    assert low[0].previous == {"available": LOW_STOCK_THRESHOLD + 1}


# --- all or nothing ------------------------------------------------------------------------------------------------


def test_a_create_that_fails_on_its_second_line_leaves_no_event(seller):
    plenty, short = stocked_variant(100), stocked_variant(1)
    mark = last_id()

    with pytest.raises(InsufficientStock):
        create(seller, (plenty, 99), (short, 2))

    assert events_after(mark) == []
    assert not Sale.objects.exists()


def test_a_change_rolled_back_after_it_was_made_takes_its_events_with_it(seller, variant):
    sale = create(seller, (variant, 1), status="confirmed")
    mark = last_id()

    with pytest.raises(RuntimeError), transaction.atomic():
        services.sale_record_payment(sale=sale, user=seller, amount=sale.grand_total, method="cash")
        assert types(events_after(mark)) == ["payment.recorded", "sale.paid"]  # written with the change
        raise RuntimeError("the caller's transaction fails after the change")

    assert events_after(mark) == []
    assert not Payment.objects.exists()
