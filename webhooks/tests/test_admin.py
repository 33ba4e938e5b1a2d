"""The back office: a disabled subscription is announced, deliveries are redelivered through the service."""

import pytest
from django.urls import reverse

from webhooks.models import Webhook, WebhookDelivery
from webhooks.tests.factories import record, subscribe

pytestmark = pytest.mark.django_db


def test_an_automatically_disabled_subscription_is_announced(boss_client):
    hook = subscribe("http://127.0.0.1:9/in")
    Webhook.objects.filter(pk=hook.pk).update(active=False, disabled_reason="Disabled automatically on …")

    for url in (reverse("admin:webhooks_webhook_changelist"), reverse("admin:webhooks_webhook_change", args=[hook.pk])):
        page = boss_client.get(url).content.decode()
        assert "Disabled automatically on …" in page


def test_the_redeliver_action_queues_the_selected_deliveries(boss_client):
    subscribe("http://127.0.0.1:9/in")
    record()
    WebhookDelivery.objects.update(status="failed", attempts=7, next_attempt_at=None)
    delivery = WebhookDelivery.objects.get()

    response = boss_client.post(
        reverse("admin:webhooks_webhookdelivery_changelist"),
        {"action": "redeliver", "_selected_action": [delivery.pk]},
        follow=True,
    )

    assert "Redeliver: 1 queued." in response.content.decode()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)


def test_adding_a_subscription_checks_its_url_and_events(boss_client):
    url = reverse("admin:webhooks_webhook_add")

    refused = boss_client.post(url, {"url": "ftp://x", "events": '["sale.nope"]', "description": ""})
    accepted = boss_client.post(
        url, {"url": "http://127.0.0.1:9/in", "events": '["*"]', "active": "on", "description": "CRM"}
    )

    assert refused.status_code == 200
    assert "Enter an http or https URL" in refused.content.decode()
    assert "Unknown event type" in refused.content.decode()
    assert accepted.status_code == 302
    hook = Webhook.objects.get()
    assert hook.secret in boss_client.get(accepted.url).content.decode()  # the message, once
    assert hook.secret not in boss_client.get(reverse("admin:webhooks_webhook_change", args=[hook.pk])).content.decode()
    assert (hook.events, hook.description, hook.secret.startswith("whsec_")) == (["*"], "CRM", True)
