"""A real `manage.py db_worker` delivering to a real receiver on 127.0.0.1 (PostgreSQL: real row locks,
concurrent workers). Figures (latency from commit to receiver, throughput) are printed and kept under
test-artifacts/faults/."""

import os
import random
import statistics
import time

import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token
from standardwebhooks.webhooks import Webhook as Verifier

from inventory.tests.factories import default_warehouse, stocked_variant
from sales.tests.factories import StaffFactory
from salesproject.tests.live import ApiClient, LiveServer, database_url, save_figures, wait_for_no_other_sessions
from webhooks import services
from webhooks.models import WebhookDelivery
from webhooks.tasks import deliver
from webhooks.tests.factories import record, subscribe
from webhooks.tests.live_worker import WorkerProcess
from webhooks.tests.receiver import Answer, Receiver

# `db_worker --interval` for the latency test (bench/webhooks_delivery.py runs it with several).
INTERVAL = float(os.environ.get("WEBHOOK_BENCH_INTERVAL", "0.1"))
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers(transactional_db, tmp_path):
    """`workers(interval=…, env=…)` starts one db_worker on the webhooks queue; all stopped at teardown."""
    started: list[WorkerProcess] = []

    def start(**options) -> WorkerProcess:
        worker = WorkerProcess(tmp_path / f"worker-{len(started)}.log", **options)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()
    wait_for_no_other_sessions()


def wait_until(predicate, timeout: float, what: str, worker: WorkerProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout} s" + (f"\n{worker.log_tail()}" if worker else ""))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def test_a_signed_event_reaches_the_receiver_within_a_second_of_its_commit(workers):
    with Receiver() as receiver:
        hook = subscribe(receiver.url, ["sale.created", "sale.updated"])
        worker = workers(interval=INTERVAL)
        record(sale_id=999)  # warm-up: the worker has started and connected
        receiver.wait_for(1, timeout=30)
        latencies = []
        rng = random.Random(17)
        for sale_id in range(1, 51):
            # Commits land anywhere in the worker's poll cycle (right after a delivery it polls again at once).
            time.sleep(rng.uniform(0.1, 0.1 + INTERVAL * 1.5))
            event = record(sale_id=sale_id)  # committed when it returns (no transaction around it)
            committed = time.time()
            got = receiver.wait_for(len(latencies) + 2, timeout=5)[-1]
            assert got.webhook_id == event.uid
            latencies.append(got.at - committed)
        body = Verifier(hook.secret).verify(got.body, got.headers)
        assert body["id"] == event.uid and body["type"] == "sale.created"

        worker.stop()

        # Throughput of one worker: a backlog of 300 events, the receiver answering at once.
        backlog_from = len(receiver.received)
        for sale_id in range(1000, 1300):
            record("sale.updated", sale_id=sale_id)
        workers(interval=INTERVAL)
        received = receiver.wait_for(backlog_from + 300, timeout=180)[backlog_from:]
        drain = received[-1].at - received[0].at
    figures = {
        "worker_interval_s": INTERVAL,
        "latency_commit_to_receiver_ms": {
            "p50": round(percentile(latencies, 0.50) * 1000, 1),
            "p99": round(percentile(latencies, 0.99) * 1000, 1),
            "max": round(max(latencies) * 1000, 1),
            "mean": round(statistics.mean(latencies) * 1000, 1),
        },
        "throughput_one_worker_per_s": round(299 / drain, 1),
    }
    save_figures(f"webhooks_latency_interval_{INTERVAL:g}", figures)
    assert max(latencies) < INTERVAL + 0.9, figures


def test_a_sale_created_through_the_api_reaches_the_receiver_signed_within_a_second(workers, tmp_path):
    default_warehouse()
    variant = stocked_variant(100)
    token = Token.objects.create(user=StaffFactory()).key
    server = LiveServer(db_url=database_url(), log_path=tmp_path / "gunicorn.log", workers=1).start()
    try:
        with Receiver() as receiver:
            hook = subscribe(receiver.url, ["sale.created"])
            workers(plain=True)  # a plain `manage.py db_worker`: every queue, 0.2 s polls (ops' db_worker)
            client = ApiClient(server.base_url, token)
            client.get("/api/v1/webhooks/")  # warm-up
            time.sleep(3)  # the worker has started
            answer = client.post("/api/v1/sales/", {"items": [{"variant": variant.pk, "quantity": 1}]})
            answered = time.time()  # the sale committed before its answer left
            assert answer.status == 201, answer.body
            (got,) = receiver.wait_for(1, timeout=10)
    finally:
        server.stop()
    body = Verifier(hook.secret).verify(got.body, got.headers)
    assert (body["type"], body["data"]["object"]["id"]) == ("sale.created", answer.body["id"])
    save_figures("webhooks_sale_created", {"answer_to_receiver_ms": round((got.at - answered) * 1000, 1)})
    assert got.at - answered < 1.0


def test_a_500_then_a_200_is_one_delivered_event_after_a_retry(workers):
    with Receiver(Answer(500), default=Answer(200)) as receiver:
        subscribe(receiver.url)
        workers(env={"WEBHOOK_RETRY_SCHEDULE": "0.2,0.2"})
        event = record()
        receiver.wait_for(2, timeout=30)
        wait_until(lambda: WebhookDelivery.objects.get().status == "delivered", 10, "delivered")
    assert receiver.ids() == [event.uid, event.uid]
    assert WebhookDelivery.objects.get().attempts == 2


@override_settings(WEBHOOK_TIMEOUT=1)  # as the workers' (the periodic requeue reads the lease from it)
def test_killing_the_worker_mid_delivery_loses_no_event(workers):
    # The first request hangs (the worker is killed while it waits); every later one is answered at once.
    with Receiver(Answer(200, delay=30), default=Answer(200)) as receiver:
        subscribe(receiver.url)
        env = {"WEBHOOK_TIMEOUT": "1", "WEBHOOK_RETRY_SCHEDULE": "0.2,0.2,0.2"}  # a lease of 3 s
        first = workers(env=env)
        events = [record(sale_id=n % 5 + 1) for n in range(20)]
        receiver.wait_for(1, timeout=30)
        first.kill()
        killed_at = time.monotonic()
        workers(env=env)
        requeued = 0

        def all_delivered() -> bool:
            nonlocal requeued
            requeued += services.deliveries_requeue_due()  # what `manage.py run_periodic` does
            return not WebhookDelivery.objects.exclude(status="delivered").exists()

        wait_until(all_delivered, 60, "every event delivered after the kill")
        recovered = time.monotonic() - killed_at
        received = set(receiver.ids())
    assert {event.uid for event in events} <= received
    save_figures(
        "webhooks_worker_killed",
        {
            "events": len(events),
            "requests_received": len(receiver.received),
            "requeued_by_periodic": requeued,
            "seconds_to_deliver_all_after_kill": round(recovered, 2),
        },
    )
    assert requeued >= 1  # the killed worker's delivery came back through the periodic requeue


def test_two_workers_never_attempt_one_delivery_at_the_same_time(workers):
    with Receiver(default=Answer(200, delay=0.05)) as receiver:
        subscribe(receiver.url)
        events = [record(sale_id=None) for _ in range(40)]
        for delivery in WebhookDelivery.objects.all():  # every delivery has three tasks racing for it
            deliver.enqueue(delivery.pk)
            deliver.enqueue(delivery.pk)
        for _ in range(3):
            workers(interval=0.05)
        wait_until(lambda: not WebhookDelivery.objects.exclude(status="delivered").exists(), 60, "all delivered")
        ids = receiver.ids()
    assert sorted(ids) == sorted(event.uid for event in events)  # each exactly once
    assert set(receiver.max_overlap.values()) == {1}
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {1}


def test_a_receiver_that_hangs_does_not_slow_the_api(workers, tmp_path):
    token = Token.objects.create(user=StaffFactory()).key
    server = LiveServer(db_url=database_url(), log_path=tmp_path / "gunicorn.log", workers=2).start()
    try:
        client = ApiClient(server.base_url, token)
        hook_id = client.post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/x", "events": ["*"]}).body["id"]

        def latencies(count: int) -> list[float]:
            answers = [client.get("/api/v1/webhooks/") for _ in range(count)]
            answers += [client.post(f"/api/v1/webhooks/{hook_id}/ping/") for _ in range(count)]
            assert {answer.status for answer in answers} <= {200, 202}, [a.label for a in answers]
            return [answer.elapsed for answer in answers]

        before = latencies(20)
        with Receiver(default=Answer(200, delay=60)) as receiver:
            client.request("PATCH", f"/api/v1/webhooks/{hook_id}/", json_body={"url": receiver.url})
            worker = workers(interval=0.05)
            client.post(f"/api/v1/webhooks/{hook_id}/ping/")
            receiver.wait_for(1, timeout=30)  # the worker now waits on the receiver
            during = latencies(20)
            in_flight = WebhookDelivery.objects.filter(claimed_until__isnull=False).count()
            worker.stop()
    finally:
        server.stop()
    figures = {
        "api_ms_before": {"p50": round(statistics.median(before) * 1000, 1), "max": round(max(before) * 1000, 1)},
        "api_ms_while_worker_waits": {
            "p50": round(statistics.median(during) * 1000, 1),
            "max": round(max(during) * 1000, 1),
        },
    }
    save_figures("webhooks_hanging_receiver", figures)
    assert in_flight == 1
    assert statistics.median(during) < statistics.median(before) * 3 + 0.05, figures
    assert max(during) < 1.0, figures
