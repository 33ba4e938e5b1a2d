"""Customer e-mails (events.md "Background work"): asked for in the change's transaction, sent by a task on
the `emails` queue, text + HTML, opt-out, never without an address, retried on a failing SMTP server without
touching the sale, once per (sale, kind) however often an event or a task repeats."""

import smtplib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from customers.factories import CustomerFactory
from events.services import event_record
from inventory.factories import stocked_variant
from notifications import services
from notifications.models import CustomerEmail, EmailKind, EmailStatus
from payments.services import NewPayment
from sales import services as sales_services
from sales.factories import CarrierFactory, SaleFactory
from sales.models import Sale
from sales.services import ItemData

pytestmark = pytest.mark.django_db

FAILING_BACKEND = "notifications.tests.test_emails.FailingBackend"


class FailingBackend(BaseEmailBackend):
    """An SMTP server that drops the connection."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def run_email_tasks() -> list[DBTaskResult]:
    """Work the `emails` queue as `manage.py db_worker` does (its own Worker.run_task), once per ready row."""
    worker = Worker(
        queue_names=["emails"], interval=0, batch=True, backend_name="default", startup_delay=False,
        max_tasks=None, worker_id="test-worker", excluded_queue_names=[],
    )  # fmt: skip
    rows = list(DBTaskResult.objects.ready().filter(queue_name="emails"))
    for row in rows:
        row.claim(worker.worker_id)
        worker.run_task(row)
        row.refresh_from_db()
    return rows


def time_passes() -> None:
    """Every task scheduled for later is due now."""
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now() - timedelta(seconds=1))


def email_tasks() -> int:
    return DBTaskResult.objects.filter(queue_name="emails", task_path="notifications.tasks.send_customer_email").count()


def sale_event(sale: Sale, type: str, status: str, **extra):
    return event_record(
        type=type, object_type="sale", object_id=sale.pk, obj={"id": sale.pk, "reference": sale.reference,
        "status": status}, sale_id=sale.pk, seller_id=sale.seller_id, previous={"status": "pending"}, extra=extra,
    )  # fmt: skip


def confirmed(sale: Sale):
    return sale_event(sale, "sale.status_changed", "confirmed")


@pytest.fixture
def customer(db):
    return CustomerFactory(name="Ada O'Brien", email="ada@example.com")


@pytest.fixture
def sale(warehouse, customer):
    variant = stocked_variant(10, name="Blue mug")
    return SaleFactory(customer=customer, items=[ItemData(variant=variant, quantity=2)])


# --- content ---------------------------------------------------------------------------------------------


def test_confirmed_email_is_queued_with_the_event_and_sent_by_the_worker_as_text_and_html(sale):
    event = confirmed(sale)

    queued = CustomerEmail.objects.get(sale=sale)
    assert (queued.kind, queued.status, queued.event_uid) == (EmailKind.SALE_CONFIRMED, "pending", event.uid)
    assert mail.outbox == []  # nothing is sent inside the change
    [task] = run_email_tasks()

    assert task.status == "SUCCESSFUL"
    [message] = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.subject == f"Your order {sale.reference} is confirmed"
    assert "Hello Ada O'Brien," in message.body  # text: not HTML-escaped
    assert sale.reference in message.body
    assert "2 × Blue mug" in message.body
    assert f"Total: {sale.grand_total} {sale.currency}" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "Ada O&#x27;Brien" in html  # HTML: escaped
    assert f"<strong>{sale.reference}</strong>" in html
    assert "Blue mug" in html
    queued.refresh_from_db()
    assert (queued.status, queued.to, queued.attempts) == (EmailStatus.SENT, "ada@example.com", 1)
    assert queued.sent_at is not None


def test_shipped_email_carries_the_carrier_tracking_code_and_link(warehouse, customer):
    carrier = CarrierFactory(name="Speedy", tracking_url_template="https://track.example.com/{tracking_code}")
    sale = SaleFactory(customer=customer, status="confirmed")
    fulfillment = sales_services.sale_fulfil(sale=sale, user=None, carrier=carrier, tracking_code="ZX81")
    sale_event(sale, "sale.fulfillment_created", "in_delivery",
               fulfillment={"id": fulfillment.pk, "status": "shipped", "tracking_code": "ZX81"})  # fmt: skip
    run_email_tasks()

    [message] = [m for m in mail.outbox if "on its way" in m.subject]
    assert message.subject == f"Your order {sale.reference} is on its way"
    assert "with Speedy" in message.body
    assert "Tracking code: ZX81" in message.body
    assert "Track your parcel: https://track.example.com/ZX81" in message.body
    html = message.alternatives[0][0]
    assert '<a href="https://track.example.com/ZX81">Track your parcel</a>' in html
    assert CustomerEmail.objects.get(sale=sale, kind=EmailKind.SALE_SHIPPED).reference == str(fulfillment.pk)


def test_each_parcel_gets_its_own_shipped_email_but_pickups_and_other_events_none(warehouse, customer):
    sale = SaleFactory(customer=customer)
    for fulfillment_id in (11, 12, 11):
        shipped = {"id": fulfillment_id, "status": "shipped"}
        sale_event(sale, "sale.fulfillment_created", "in_delivery", fulfillment=shipped)
    sale_event(sale, "sale.fulfillment_created", "in_delivery", fulfillment={"id": 13, "status": "ready_for_pickup"})
    sale_event(sale, "sale.status_changed", "cancelled")
    sale_event(sale, "sale.updated", "confirmed")

    assert sorted(CustomerEmail.objects.filter(sale=sale).values_list("kind", "reference")) == [
        (EmailKind.SALE_SHIPPED, "11"), (EmailKind.SALE_SHIPPED, "12"),
    ]  # fmt: skip


def test_refunded_email_states_what_was_given_back(warehouse, customer):
    variant = stocked_variant(10, price=Decimal("10.00"))
    sale = SaleFactory(
        customer=customer, status="confirmed", items=[ItemData(variant=variant, quantity=1)],
        payments=[NewPayment(amount=Decimal("6.00"))],
    )  # fmt: skip
    sales_services.sale_refund(sale=sale, user=None)
    sale_event(sale, "sale.status_changed", "refunded")
    run_email_tasks()

    [message] = [m for m in mail.outbox if "refunded" in m.subject]
    assert message.subject == f"Your order {sale.reference} has been refunded"
    assert f"We have sent back 6.00 {sale.currency}" in message.body
    assert f"<strong>6.00 {sale.currency}</strong>" in message.alternatives[0][0]


# --- who gets none ---------------------------------------------------------------------------------------


def test_a_customer_who_opted_out_gets_nothing(sale, customer):
    customer.email_opt_out = True
    customer.save()

    confirmed(sale)

    assert not CustomerEmail.objects.exists()
    assert email_tasks() == 0


def test_opting_out_after_the_email_was_queued_still_stops_it(sale, customer):
    confirmed(sale)
    customer.email_opt_out = True
    customer.save()

    run_email_tasks()

    assert mail.outbox == []
    email = CustomerEmail.objects.get()
    assert (email.status, email.last_error) == (EmailStatus.SKIPPED, "The customer opted out of e-mails.")


@pytest.mark.parametrize("address", ["", None])
def test_no_email_without_an_address_or_a_customer(warehouse, address):
    customer = CustomerFactory(email=address) if address is not None else None
    sale = SaleFactory(customer=customer)

    confirmed(sale)

    assert not CustomerEmail.objects.exists()
    assert email_tasks() == 0


def test_an_address_removed_after_queueing_is_skipped_at_send_time(sale, customer):
    confirmed(sale)
    customer.email = ""
    customer.save()

    run_email_tasks()

    assert mail.outbox == []
    assert CustomerEmail.objects.get().status == EmailStatus.SKIPPED


# --- faults ----------------------------------------------------------------------------------------------


def test_a_failing_smtp_server_is_retried_with_backoff_then_sends_once_and_the_sale_is_intact(sale, settings):
    settings.EMAIL_BACKEND = FAILING_BACKEND
    confirmed(sale)
    before = timezone.now()

    [first] = run_email_tasks()

    assert first.status == "SUCCESSFUL"  # the task recorded the failure; it did not crash the worker
    email = CustomerEmail.objects.get()
    assert (email.status, email.attempts) == (EmailStatus.PENDING, 1)
    assert email.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert before + timedelta(seconds=55) < email.next_attempt_at < timezone.now() + timedelta(seconds=65)
    retry = DBTaskResult.objects.get(status="READY", queue_name="emails")
    assert retry.run_after == email.next_attempt_at
    assert run_email_tasks() == []  # not before its time

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    time_passes()
    run_email_tasks()

    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == (EmailStatus.SENT, 2, "")
    stored = Sale.objects.get(pk=sale.pk)
    assert (stored.status, stored.grand_total, stored.updated_at) == (sale.status, sale.grand_total, sale.updated_at)


def test_it_gives_up_after_the_last_attempt(sale, settings):
    settings.EMAIL_BACKEND = FAILING_BACKEND
    confirmed(sale)

    for _ in range(services.MAX_ATTEMPTS):
        assert len(run_email_tasks()) == 1
        time_passes()

    email = CustomerEmail.objects.get()
    assert (email.status, email.attempts) == (EmailStatus.FAILED, services.MAX_ATTEMPTS)
    assert run_email_tasks() == []  # no further retry
    assert email_tasks() == services.MAX_ATTEMPTS


def test_a_fault_while_queueing_never_fails_the_change(sale, monkeypatch):
    def broken(**kwargs):
        CustomerEmail.objects.create(sale=sale, kind=EmailKind.SALE_CONFIRMED)  # a write, undone with the fault
        raise RuntimeError("template missing")

    monkeypatch.setattr("notifications.receivers.customer_email_request", broken)

    event = confirmed(sale)

    assert event.pk is not None
    assert not CustomerEmail.objects.exists()


def test_a_rolled_back_change_leaves_no_email_and_no_task(sale):
    with pytest.raises(RuntimeError), transaction.atomic():
        confirmed(sale)
        raise RuntimeError("the change failed after its event")

    assert not CustomerEmail.objects.exists()
    assert email_tasks() == 0


# --- once ------------------------------------------------------------------------------------------------


def test_one_email_per_sale_and_kind_even_when_the_event_and_the_task_repeat(sale):
    confirmed(sale)
    confirmed(sale)  # the same change reported twice
    email = CustomerEmail.objects.get()
    assert email_tasks() == 1
    from notifications.tasks import send_customer_email

    send_customer_email.enqueue(email.pk)  # a duplicate task (a requeue, an at-least-once redelivery)

    run_email_tasks()
    assert services.customer_email_send(email_id=email.pk) == "nothing to do"

    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 1)


def test_requeue_gives_a_new_task_only_to_emails_that_lost_theirs(sale, warehouse, customer):
    confirmed(sale)
    fresh = SaleFactory(customer=customer)
    confirmed(fresh)
    DBTaskResult.objects.all().delete()  # their tasks are gone (a worker killed mid-task)
    CustomerEmail.objects.filter(sale=sale).update(next_attempt_at=timezone.now() - timedelta(hours=1))

    assert services.emails_requeue_due() == 1
    assert services.emails_requeue_due() == 0  # its time moved on

    run_email_tasks()
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    assert CustomerEmail.objects.get(sale=sale).status == EmailStatus.SENT


# --- the opt-out on the customer -------------------------------------------------------------------------


def test_the_opt_out_is_read_and_written_through_the_customers_api(api_client, seller, customer):
    client = api_client(seller)
    url = f"/api/v1/customers/{customer.pk}/"
    assert client.get(url).json()["email_opt_out"] is False

    response = client.patch(url, {"email_opt_out": True}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["email_opt_out"] is True
    customer.refresh_from_db()
    assert customer.email_opt_out is True
    created = client.post("/api/v1/customers/", {"name": "New"}, format="json").json()
    assert created["email_opt_out"] is False


# --- the real flow: the sale services' own events --------------------------------------------------------


def test_a_sale_confirmed_shipped_and_refunded_sends_three_emails_even_after_a_failing_smtp_server(sale, settings):
    settings.EMAIL_BACKEND = FAILING_BACKEND
    carrier = CarrierFactory(name="Speedy", tracking_url_template="https://track.example.com/{tracking_code}")

    sales_services.sale_confirm(sale=sale, user=None)
    run_email_tasks()  # the server is down: the sale goes on regardless
    sales_services.sale_fulfil(sale=sale.pk, user=None, carrier=carrier, tracking_code="ZX81")
    sales_services.sale_refund(sale=sale.pk, user=None)

    assert Sale.objects.get(pk=sale.pk).status == "refunded"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    time_passes()
    run_email_tasks()
    run_email_tasks()  # a second pass finds nothing more to send

    assert sorted(m.subject.split(" ", 3)[-1] for m in mail.outbox) == [
        "has been refunded", "is confirmed", "is on its way",
    ]  # fmt: skip
    assert "https://track.example.com/ZX81" in next(m.body for m in mail.outbox if "on its way" in m.subject)
    assert set(CustomerEmail.objects.values_list("status", flat=True)) == {EmailStatus.SENT}


def test_the_admin_lists_the_emails_read_only(boss_client, sale):
    confirmed(sale)
    email = CustomerEmail.objects.get()

    listing = boss_client.get("/admin/notifications/customeremail/")
    page = boss_client.get(f"/admin/notifications/customeremail/{email.pk}/change/")

    assert listing.status_code == page.status_code == 200
    assert sale.reference in listing.content.decode()
    assert b'name="_save"' not in page.content
