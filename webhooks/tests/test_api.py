"""/api/v1/webhooks/: staff-only CRUD, the secret shown only on create and rotation, validation codes,
the delivery log, redeliver and ping."""

import pytest
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from webhooks.models import Webhook, WebhookDelivery
from webhooks.tests.factories import record, run_tasks, subscribe
from webhooks.tests.receiver import Answer, Receiver

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhooks/"


@pytest.fixture
def client(api_client, staff):
    return api_client(staff)


def codes(response) -> list[tuple[str, str]]:
    return [(error["code"], error["attr"]) for error in response.json()["errors"]]


def test_create_shows_the_secret_once(client):
    response = client.post(URL, {"url": "http://127.0.0.1:9/in", "events": ["sale.created"]}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "url", "events", "active", "description", "secret"}
    assert body["secret"].startswith("whsec_") and body["secret"] == Webhook.objects.get().secret
    assert (body["active"], body["description"]) == (True, "")
    assert client.get(f"{URL}{body['id']}/").json()["secret"] is None
    assert client.get(URL).json()["results"][0]["secret"] is None


def test_a_secret_sent_by_the_client_is_ignored(client):
    response = client.post(URL, {"url": "http://127.0.0.1:9/in", "events": ["*"], "secret": "mine"}, format="json")

    assert response.status_code == 201
    assert Webhook.objects.get().secret == response.json()["secret"] != "mine"


def test_rotate_secret_answers_the_new_one(client):
    hook = subscribe("http://127.0.0.1:9/in")

    response = client.post(f"{URL}{hook.pk}/rotate-secret/")

    assert response.status_code == 200
    assert response.json()["secret"] == Webhook.objects.get().secret != hook.secret


def test_update_and_delete(client):
    hook = subscribe("http://127.0.0.1:9/in")

    response = client.patch(f"{URL}{hook.pk}/", {"events": ["sale.paid", "sale.paid"], "active": False}, format="json")

    assert response.status_code == 200
    assert (response.json()["events"], response.json()["active"]) == (["sale.paid"], False)
    assert client.delete(f"{URL}{hook.pk}/").status_code == 204
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"url": "not a url", "events": ["*"]}, [("invalid_url", "url")]),
        ({"url": "ftp://x.example/", "events": ["*"]}, [("invalid_url", "url")]),
        ({"url": "http://127.0.0.1:9/", "events": ["sale.nope"]}, [("unknown_event_type", "events.0")]),
        ({"url": "http://127.0.0.1:9/", "events": []}, [("min_length", "events")]),
        ({"url": "http://127.0.0.1:9/", "events": ["*"], "colour": "red"}, [("unknown_field", "colour")]),
    ],
)
def test_invalid_subscriptions_are_refused_with_a_code(client, body, expected):
    response = client.post(URL, body, format="json")

    assert response.status_code == 400
    assert codes(response) == expected
    assert not Webhook.objects.exists()


@override_settings(PRODUCTION=True)
def test_production_refuses_a_loopback_target_and_http(client):
    response = client.post(URL, {"url": "https://127.0.0.1/in", "events": ["*"]}, format="json")
    assert codes(response) == [("private_target", "url")]
    response = client.post(URL, {"url": "http://127.0.0.1/in", "events": ["*"]}, format="json")
    assert codes(response) == [("insecure_url", "url")]


def test_sellers_and_anonymous_are_refused(api_client, seller):
    hook = subscribe("http://127.0.0.1:9/in")
    assert api_client(seller).get(URL).status_code == 403
    assert api_client(seller).post(f"{URL}{hook.pk}/ping/").status_code == 403
    assert api_client().get(URL).status_code == 401


def test_the_delivery_log_lists_attempts(client):
    with Receiver(Answer(500, body=b"nope")) as receiver:
        hook = subscribe(receiver.url)
        event = record()
        run_tasks(limit=1)

    rows = client.get(f"{URL}{hook.pk}/deliveries/").json()["results"]

    assert rows == [
        {
            "id": WebhookDelivery.objects.get().pk,
            "event": event.uid,
            "status": "retrying",
            "attempts": 1,
            "last_status_code": 500,
            "last_error": "HTTP 500: nope",
            "next_attempt_at": rows[0]["next_attempt_at"],
        }
    ]
    assert rows[0]["next_attempt_at"]


def test_redeliver_queues_the_delivery_again(client):
    with Receiver() as receiver:
        hook = subscribe(receiver.url)
        record()
        run_tasks()
        delivery = WebhookDelivery.objects.get()

        response = client.post(f"{URL}{hook.pk}/deliveries/{delivery.pk}/redeliver/")

        assert response.status_code == 202
        assert (response.json()["status"], response.json()["attempts"]) == ("pending", 0)
        assert run_tasks() == ["delivered"]
        assert len(receiver.received) == 2


def test_redeliver_of_another_subscriptions_delivery_is_404(client):
    hook = subscribe("http://127.0.0.1:9/a")
    other = subscribe("http://127.0.0.1:9/b", ["sale.paid"])
    record()

    response = client.post(f"{URL}{other.pk}/deliveries/{WebhookDelivery.objects.get(webhook=hook).pk}/redeliver/")

    assert response.status_code == 404


def test_redeliver_to_an_inactive_subscription_is_409(client):
    hook = subscribe("http://127.0.0.1:9/a")
    record()
    Webhook.objects.update(active=False)

    response = client.post(f"{URL}{hook.pk}/deliveries/{WebhookDelivery.objects.get().pk}/redeliver/")

    assert response.status_code == 409 and codes(response) == [("webhook_inactive", None)]


def test_ping_is_accepted_and_delivered(client):
    with Receiver() as receiver:
        hook = subscribe(receiver.url)

        response = client.post(f"{URL}{hook.pk}/ping/")

        assert response.status_code == 202
        assert response.json()["event"].startswith("evt_") and response.json()["status"] == "pending"
        assert DBTaskResult.objects.count() == 1
        run_tasks()
        assert receiver.ids() == [response.json()["event"]]
