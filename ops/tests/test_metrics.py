"""/metrics: who may scrape it, and the business figures it reads from the database at scrape time."""

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from events.services import event_record
from inventory.models import StockLevel
from inventory.tests.factories import stocked_variant
from ops.tests.test_health import queued_task
from webhooks.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db

URL = "/metrics"


def samples(response) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text answer."""
    text = response.content.decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sale_event(type: str, status: str, sale_id: int) -> None:
    event_record(type=type, object_type="sale", object_id=sale_id, obj={"id": sale_id, "status": status},
                 sale_id=sale_id)  # fmt: skip


# --- access --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_may_scrape(client, address):
    response = client.get(URL, REMOTE_ADDR=address)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")


@pytest.mark.parametrize(
    "headers",
    [
        {"REMOTE_ADDR": "203.0.113.5"},
        {"REMOTE_ADDR": "10.0.0.7"},
        # Relayed by a proxy on this host: the proxy is loopback, the client is not.
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.5"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "127.0.0.1, 203.0.113.5"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "not-an-address"},
        {"REMOTE_ADDR": "203.0.113.5", "HTTP_AUTHORIZATION": "Bearer "},
    ],
)
def test_anyone_else_gets_a_404_as_if_there_were_no_such_page(client, headers):
    response = client.get(URL, **headers)

    assert response.status_code == 404
    assert b"sales_created" not in response.content


def test_allowed_networks_come_from_the_setting(client, settings):
    settings.METRICS_ALLOWED_CIDRS = ["10.0.0.0/8"]

    assert client.get(URL, REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get(URL, REMOTE_ADDR="127.0.0.1").status_code == 404


def test_the_metrics_token_opens_it_from_anywhere_and_a_wrong_one_does_not(client, settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    outside = {"REMOTE_ADDR": "203.0.113.5", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}

    assert client.get(URL, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token", **outside).status_code == 200
    assert client.get(URL, HTTP_AUTHORIZATION="Bearer s3cret-scrape-tokeN", **outside).status_code == 404
    assert client.get(URL, HTTP_AUTHORIZATION="Basic s3cret-scrape-token", **outside).status_code == 404


def test_no_token_configured_means_no_token_is_accepted(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get(URL, REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION="Bearer ").status_code == 404


# --- what it says --------------------------------------------------------------------------------------------


def test_business_figures_are_read_from_the_database(client):
    sale_event("sale.created", "pending", 1)
    sale_event("sale.created", "pending", 2)
    sale_event("sale.created", "confirmed", 3)  # created confirmed: confirmed once
    sale_event("sale.status_changed", "confirmed", 1)
    sale_event("sale.status_changed", "cancelled", 2)
    sale_event("sale.updated", "confirmed", 1)  # not a status change
    event_record(type="stock.low", object_type="stock_level", object_id=9, obj={"id": 9})
    short, low, _plenty = stocked_variant(2), stocked_variant(3), stocked_variant(50)
    StockLevel.objects.filter(variant=short).update(reserved=2)  # 0 available
    StockLevel.objects.filter(variant=low).update(reserved=1)  # 2 available
    webhook = Webhook.objects.create(url="http://127.0.0.1:9/hook", events=["*"])
    for status in ["delivered", "delivered", "failed", "retrying"]:
        WebhookDelivery.objects.create(webhook=webhook, status=status, payload={})
    queued_task(waited=timedelta(seconds=30), queue="webhooks")
    queued_task(waited=timedelta(seconds=5), queue="webhooks")
    queued_task(waited=timedelta(seconds=1), queue="emails")

    figures = samples(client.get(URL))

    assert figures[("metrics_database_up", ())] == 1
    assert figures[("sales_created_total", ())] == 3
    assert figures[("sales_confirmed_total", ())] == 2
    assert figures[("sales_cancelled_total", ())] == 1
    assert figures[("stock_low_total", ())] == 1
    assert figures[("stock_levels_out", ())] == 1
    assert figures[("stock_levels_low", ())] == 2
    deliveries = {labels[0][1]: value for (name, labels), value in figures.items() if name == "webhook_deliveries"}
    assert deliveries == {"pending": 0, "delivered": 2, "retrying": 1, "failed": 1}
    assert figures[("task_queue_depth", (("queue", "webhooks"),))] == 2
    assert figures[("task_queue_depth", (("queue", "emails"),))] == 1
    assert figures[("task_queue_depth", (("queue", "default"),))] == 0
    assert 29 <= figures[("task_queue_oldest_age_seconds", (("queue", "webhooks"),))] < 60
    assert figures[("task_queue_oldest_age_seconds", (("queue", "default"),))] == 0


def test_django_prometheus_request_metrics_and_api_error_codes_are_there(client, seller, api_client):
    api_client(seller).post("/api/v1/sales/", {"items": [{"variant": stocked_variant(1).pk, "quantity": 5}]},
                            format="json")  # fmt: skip

    figures = samples(client.get(URL))

    assert any(name == "django_http_requests_total_by_method_total" for name, _ in figures)
    assert figures[("api_errors_total", (("code", "insufficient_stock"), ("status", "409")))] >= 1


def test_a_database_failure_is_a_gauge_at_0_not_a_500(client, monkeypatch):
    from django.db import OperationalError

    def fail(self):
        raise OperationalError("gone")

    monkeypatch.setattr("ops.metrics.BusinessCollector._sales_and_stock", fail)

    response = client.get(URL)

    assert response.status_code == 200
    assert samples(response)[("metrics_database_up", ())] == 0
