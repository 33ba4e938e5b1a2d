"""Fan-out, attempts, retries, ordering, redeliver, ping, rotation, auto-disable and requeue, against a real
receiver on 127.0.0.1 (tasks run in the test process; the live worker is in test_live.py)."""

import json
import socket
import ssl
import subprocess
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from standardwebhooks.webhooks import Webhook as Verifier

from events.models import Event
from webhooks import services, transport
from webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from webhooks.tests.factories import record, run_tasks, subscribe
from webhooks.tests.receiver import Answer, Receiver

pytestmark = pytest.mark.django_db
FAST = override_settings(WEBHOOK_RETRY_SCHEDULE=[0, 0], WEBHOOK_TIMEOUT=2)


def test_event_is_delivered_signed_with_the_feed_body():
    with Receiver() as receiver:
        hook = subscribe(receiver.url, ["sale.created"])
        event = record("sale.created", sale_id=7, reference="S-7")
        assert run_tasks() == ["delivered"]
        (got,) = receiver.received
    body = Verifier(hook.secret).verify(got.body, got.headers)
    assert body == {
        "id": event.uid,
        "type": "sale.created",
        "created_at": body["created_at"],
        "data": {"object": {"id": 7, "reference": "S-7"}},
    }
    assert got.headers["webhook-id"] == event.uid
    assert got.headers["webhook-signature"].startswith("v1,")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_only_active_subscriptions_wanting_the_type_get_a_delivery():
    wanted = subscribe("http://127.0.0.1:9/a", ["sale.paid"])
    subscribe("http://127.0.0.1:9/b", ["sale.created"])
    everything = subscribe("http://127.0.0.1:9/c", ["*"])
    subscribe("http://127.0.0.1:9/d", ["*"], active=False)
    record("sale.paid")
    assert set(WebhookDelivery.objects.values_list("webhook_id", flat=True)) == {wanted.pk, everything.pk}
    assert DBTaskResult.objects.filter(queue_name="webhooks").count() == 2


def test_a_rolled_back_change_leaves_no_delivery_and_no_task():
    subscribe("http://127.0.0.1:9/a")
    with pytest.raises(RuntimeError), transaction.atomic():
        record()
        raise RuntimeError
    assert not WebhookDelivery.objects.exists() and not DBTaskResult.objects.exists()


@FAST
def test_a_500_then_a_200_is_one_delivered_event_after_a_retry():
    with Receiver(Answer(500, body=b"boom"), Answer(200)) as receiver:
        subscribe(receiver.url)
        event = record()
        assert run_tasks() == ["retrying", "delivered"]
        assert receiver.ids() == [event.uid, event.uid]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)
    assert Webhook.objects.get().failing_since is None


@override_settings(WEBHOOK_RETRY_SCHEDULE=[60, 600])
def test_a_failure_is_retried_on_the_schedule():
    with Receiver(default=Answer(503, body=b"down")) as receiver:
        subscribe(receiver.url)
        record()
        before = timezone.now()
        assert run_tasks() == ["retrying"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error == "HTTP 503: down"
    assert before + timedelta(seconds=59) < delivery.next_attempt_at < timezone.now() + timedelta(seconds=61)
    task = DBTaskResult.objects.get(id=delivery.task_id)
    assert task.status == "READY" and task.run_after == delivery.next_attempt_at
    assert Webhook.objects.get().failing_since is not None


@FAST
def test_after_the_last_retry_the_delivery_has_failed():
    with Receiver(default=Answer(500)) as receiver:
        subscribe(receiver.url)
        record()
        assert run_tasks() == ["retrying", "retrying", "failed"]
        assert len(receiver.received) == 3
    assert WebhookDelivery.objects.get().next_attempt_at is None


@FAST
def test_a_redirect_is_a_failure_and_is_not_followed():
    with Receiver(Answer(302, headers={"Location": "http://127.0.0.1:9/elsewhere"}), Answer(200)) as receiver:
        subscribe(receiver.url)
        record()
        assert run_tasks()[0] == "retrying"
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert [r.path for r in receiver.received] == ["/hook", "/hook"]


@override_settings(WEBHOOK_TIMEOUT=0.5, WEBHOOK_RETRY_SCHEDULE=[60])
def test_a_receiver_that_hangs_is_a_timeout():
    with Receiver(Answer(200, delay=30)) as receiver:
        subscribe(receiver.url)
        record()
        assert run_tasks() == ["retrying"]
    assert WebhookDelivery.objects.get().last_error == "timed out after 0.5 s"


@override_settings(WEBHOOK_RETRY_SCHEDULE=[60])
def test_a_dead_receiver_is_a_connection_failure():
    subscribe("http://127.0.0.1:9/nobody-listens")
    record()
    assert run_tasks() == ["retrying"]
    assert WebhookDelivery.objects.get().last_error.startswith("connection failed")


def test_a_huge_error_body_is_not_read_whole():
    with Receiver(Answer(500, body=b"x" * 5_000_000), default=Answer(200)) as receiver:
        subscribe(receiver.url)
        record()
        run_tasks(limit=1)
    assert len(WebhookDelivery.objects.get().last_error) <= len("HTTP 500: ") + transport.SNIPPET_BYTES


@override_settings(WEBHOOK_RETRY_SCHEDULE=[60])
def test_events_of_one_sale_wait_for_the_earlier_to_settle():
    with Receiver(Answer(500), default=Answer(200)) as receiver:
        subscribe(receiver.url)
        first, second = record(sale_id=1), record("sale.updated", sale_id=1)
        other = record(sale_id=2)
        assert sorted(run_tasks()) == ["delivered", "retrying", "waiting"]
        assert receiver.ids() == [first.uid, other.uid]  # the second waits for the first's retry
        past = timezone.now() - timedelta(seconds=1)
        WebhookDelivery.objects.filter(event=first).update(next_attempt_at=past)
        DBTaskResult.objects.filter(status="READY").update(run_after=past)
        assert run_tasks() == ["delivered", "delivered"]
        assert receiver.ids() == [first.uid, other.uid, first.uid, second.uid]


def test_a_delivery_claimed_by_another_worker_is_not_attempted_twice():
    subscribe("http://127.0.0.1:9/a")
    record()
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now() + timedelta(seconds=30))
    assert services.delivery_attempt(delivery_id=delivery.pk) == "claimed"
    assert WebhookDelivery.objects.get().attempts == 0


def test_a_rotated_secret_signs_from_the_next_attempt():
    with Receiver() as receiver:
        hook = subscribe(receiver.url)
        record()
        old = hook.secret
        rotated = services.webhook_rotate_secret(webhook=hook)
        run_tasks()
        (got,) = receiver.received
    assert rotated.secret != old and rotated.secret.startswith("whsec_")
    Verifier(rotated.secret).verify(got.body, got.headers)
    with pytest.raises(Exception, match="No matching signature"):
        Verifier(old).verify(got.body, got.headers)


def test_ping_goes_to_that_subscription_only_and_not_to_the_feed():
    with Receiver() as receiver, Receiver() as bystander:
        hook = subscribe(receiver.url)
        subscribe(bystander.url)
        services.webhook_ping(webhook=hook)
        assert run_tasks() == ["delivered"]
        (got,) = receiver.received
        assert not bystander.received
    body = Verifier(hook.secret).verify(got.body, got.headers)
    assert body["type"] == "webhook.ping" and body["id"].startswith("evt_")
    assert not Event.objects.exists()


@FAST
def test_redeliver_sends_a_failed_delivery_again():
    with Receiver(Answer(500), Answer(500), Answer(500), default=Answer(200)) as receiver:
        subscribe(receiver.url)
        event = record()
        run_tasks()
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == "failed"
        services.delivery_redeliver(delivery=delivery)
        assert run_tasks() == ["delivered"]
        assert receiver.ids() == [event.uid] * 4
    assert WebhookDelivery.objects.get().attempts == 1


def test_redeliver_refuses_an_inactive_subscription():
    hook = subscribe("http://127.0.0.1:9/a")
    record()
    Webhook.objects.filter(pk=hook.pk).update(active=False)
    with pytest.raises(services.WebhookInactive):
        services.delivery_redeliver(delivery=WebhookDelivery.objects.get())


@override_settings(WEBHOOK_RETRY_SCHEDULE=[0])
def test_a_subscription_failing_for_three_days_is_disabled():
    with Receiver(default=Answer(500)) as receiver:
        hook = subscribe(receiver.url)
        record()
        Webhook.objects.filter(pk=hook.pk).update(failing_since=timezone.now() - timedelta(days=3, minutes=1))
        run_tasks()
    hook.refresh_from_db()
    assert not hook.active and "Disabled automatically" in hook.disabled_reason


def test_the_periodic_disable_counts_only_subscriptions_failing_for_three_days():
    now = timezone.now()
    old = subscribe("http://127.0.0.1:9/a")
    recent = subscribe("http://127.0.0.1:9/b")
    Webhook.objects.filter(pk=old.pk).update(failing_since=now - timedelta(days=3, seconds=1))
    Webhook.objects.filter(pk=recent.pk).update(failing_since=now - timedelta(days=2))
    assert services.subscriptions_disable_failing(now) == 1
    assert services.subscriptions_disable_failing(now) == 0
    assert list(Webhook.objects.filter(active=True).values_list("pk", flat=True)) == [recent.pk]


def test_reactivating_clears_the_failure_and_sends_what_waited():
    with Receiver() as receiver:
        hook = subscribe(receiver.url)
        Webhook.objects.filter(pk=hook.pk).update(active=False, disabled_reason="x", failing_since=timezone.now())
        record()  # not for an inactive subscription
        Webhook.objects.filter(pk=hook.pk).update(active=True)
        record()
        Webhook.objects.filter(pk=hook.pk).update(active=False)
        assert run_tasks() == ["inactive"]
        hook = services.webhook_update(webhook=hook, data={"active": True})
        assert run_tasks() == ["delivered"]
    assert (hook.failing_since, hook.disabled_reason) == (None, "")


def test_requeue_due_enqueues_a_delivery_whose_worker_died():
    subscribe("http://127.0.0.1:9/a")
    record()
    delivery = WebhookDelivery.objects.get()
    # the worker took the task and died mid-attempt: task row RUNNING forever, lease on the delivery
    DBTaskResult.objects.filter(id=delivery.task_id).update(status="RUNNING")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now() + timedelta(seconds=30))
    assert services.deliveries_requeue_due() == 0  # the lease still runs
    later = timezone.now() + timedelta(seconds=31)
    assert services.deliveries_requeue_due(later) == 1
    assert services.deliveries_requeue_due(later) == 0  # its new task is ready: nothing more
    assert DBTaskResult.objects.filter(status="READY").count() == 1


def test_requeue_due_leaves_waiting_and_settled_deliveries_alone():
    subscribe("http://127.0.0.1:9/a")
    record(sale_id=1)
    record("sale.updated", sale_id=1)
    DBTaskResult.objects.all().delete()
    assert services.deliveries_requeue_due() == 1  # the first of the sale; the second waits for it
    WebhookDelivery.objects.update(status=DeliveryStatus.DELIVERED)
    DBTaskResult.objects.all().delete()
    assert services.deliveries_requeue_due() == 0


# --- where a webhook may point --------------------------------------------------------------------


def _resolving_to(monkeypatch, address: str) -> None:
    def fake(host, port, *args, **kwargs):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(transport.socket, "getaddrinfo", fake)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("not a url", "invalid_url"),
        ("ftp://example.com/x", "invalid_url"),
        ("http://", "invalid_url"),
        ("https://user:pw@example.com/", "invalid_url"),
        ("https://example.com:99999/", "invalid_url"),
        ("http://exa mple.com/", "invalid_url"),
        ("http://example.com/\nHost: evil", "invalid_url"),
    ],
)
def test_urls_that_are_not_http_urls_are_refused(url, code):
    with pytest.raises(transport.TargetRefused) as refused:
        transport.check(url)
    assert refused.value.code == code


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "172.16.0.1",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "::ffff:10.0.0.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
    ],
)
@override_settings(PRODUCTION=True)
def test_production_refuses_private_targets(monkeypatch, address):
    _resolving_to(monkeypatch, address)
    with pytest.raises(transport.TargetRefused) as refused:
        transport.check("https://hooks.example.com/in")
    assert refused.value.code == "private_target"


@override_settings(PRODUCTION=True)
def test_production_refuses_http_and_accepts_public_https(monkeypatch):
    _resolving_to(monkeypatch, "93.184.216.34")
    with pytest.raises(transport.TargetRefused) as refused:
        transport.check("http://hooks.example.com/in")
    assert refused.value.code == "insecure_url"
    transport.check("https://hooks.example.com/in")


@override_settings(PRODUCTION=True, WEBHOOK_ALLOW_PRIVATE_TARGETS=True)
def test_production_may_allow_private_targets(monkeypatch):
    _resolving_to(monkeypatch, "10.1.2.3")
    transport.check("https://hooks.internal/in")


def test_outside_production_http_and_loopback_are_allowed():
    transport.check("http://127.0.0.1:8000/in")
    transport.check("http://localhost/in")


@override_settings(PRODUCTION=True, WEBHOOK_RETRY_SCHEDULE=[60])
def test_a_name_that_rebinds_to_a_private_address_is_refused_at_delivery(monkeypatch):
    _resolving_to(monkeypatch, "93.184.216.34")
    subscribe("https://hooks.example.com/in")
    record()
    _resolving_to(monkeypatch, "127.0.0.1")
    assert run_tasks() == ["retrying"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error.startswith("private_target:") and delivery.last_status_code is None


@pytest.fixture
def tls(tmp_path):
    """A self-signed certificate for localhost: the server's context, and the file a client may trust."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


@override_settings(WEBHOOK_RETRY_SCHEDULE=[60])
def test_an_untrusted_certificate_is_a_tls_error(tls):
    with Receiver(tls=tls[0]) as receiver:
        subscribe(receiver.url)
        record()
        assert run_tasks() == ["retrying"]
        assert not receiver.received
    assert WebhookDelivery.objects.get().last_error.startswith("TLS error")


def test_https_checks_the_certificate_for_the_url_host_while_connecting_to_the_checked_address(tls, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tls[1]))  # trust the test's certificate
    with Receiver(tls=tls[0]) as receiver:
        hook = subscribe(receiver.url)
        record()
        assert run_tasks() == ["delivered"]
        (got,) = receiver.received
    assert got.headers["host"] == receiver.url.split("/")[2]
    Verifier(hook.secret).verify(got.body, got.headers)


def test_the_body_is_compact_json():
    with Receiver() as receiver:
        subscribe(receiver.url)
        record(note="naïve")
        run_tasks()
        (got,) = receiver.received
    assert got.headers["content-type"] == "application/json"
    assert json.loads(got.body)["data"]["object"]["note"] == "naïve"
