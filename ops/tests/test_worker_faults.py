"""`manage.py db_worker` outlives the database going away (issue 17, events.md "Bad input and faults").

A real worker subprocess reaches PostgreSQL through the TCP proxy of the fault tests (`live.TcpProxy`), which
makes the outage: open connections die, new ones are refused (`refuse`, a server that is down) or never
answered (`blackhole`, a network partition). The worker must still be running during it, deliver a webhook
to a receiver on 127.0.0.1 once the database is back, and still stop on SIGTERM. A delivery whose task lost
the database mid-attempt is handed a new task by `manage.py run_periodic` once its lease ends.
"""

import signal
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from salesproject.tests.live import TcpProxy, database_url, wait_for_no_other_sessions
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.tests import live_worker
from webhooks.tests.factories import record, subscribe
from webhooks.tests.live_worker import WorkerProcess
from webhooks.tests.receiver import Answer, Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

OUTAGE = 4.0  # seconds the database stays away
BACK_WITHIN = 25.0  # seconds for a delivery after the restore: back-off (≤ 10 s) + a connect timeout + slack


@pytest.fixture
def pg_proxy():
    db = connection.settings_dict
    proxy = TcpProxy((db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def worker(transactional_db, tmp_path, pg_proxy, monkeypatch):
    """One db_worker on the webhooks queue whose DATABASE_URL goes through `pg_proxy`; stopped at teardown."""
    url = database_url(host="127.0.0.1", port=pg_proxy.port)
    monkeypatch.setattr(live_worker, "database_url", lambda: url)  # WorkerProcess takes no URL of its own
    process = live_worker.WorkerProcess(tmp_path / "worker.log", env={"DATABASE_CONNECT_TIMEOUT": "2"}).start()
    yield process
    process.stop()
    wait_for_no_other_sessions()


def wait_until(predicate, timeout: float, what: str, worker: WorkerProcess) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert worker.process.poll() is None, f"the worker died\n{worker.log_tail()}"
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout} s\n{worker.log_tail()}")


def delivered(receiver: Receiver, worker: WorkerProcess, count: int, timeout: float = 30) -> None:
    wait_until(lambda: len(receiver.received) >= count, timeout, f"{count} request(s) at the receiver", worker)


@pytest.mark.parametrize("fault", ["refuse", "blackhole"])
def test_the_worker_outlives_a_database_outage_and_then_runs_tasks(worker, pg_proxy, fault):
    with Receiver() as receiver:
        subscribe(receiver.url)
        record(sale_id=1)
        delivered(receiver, worker, 1)  # it started, connected and works

        getattr(pg_proxy, fault)()
        time.sleep(OUTAGE)
        assert worker.process.poll() is None, worker.log_tail()
        pg_proxy.restore()

        event = record(sale_id=2)
        delivered(receiver, worker, 2, timeout=BACK_WITHIN)
        assert receiver.received[-1].webhook_id == event.uid
    log = worker.log_path.read_text()
    assert "lost the database" in log and "Traceback" not in log


def test_a_shutdown_signal_stops_the_worker_while_the_database_is_away(worker, pg_proxy):
    with Receiver() as receiver:
        subscribe(receiver.url)
        record(sale_id=1)
        delivered(receiver, worker, 1)
    pg_proxy.refuse()
    wait_until(lambda: "lost the database" in worker.log_path.read_text(), 10, "a warning", worker)
    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(timeout=5) == 0, worker.log_tail()


def test_a_delivery_whose_task_lost_the_database_mid_attempt_is_requeued_by_run_periodic(worker, pg_proxy):
    with Receiver(Answer(delay=2)) as receiver:  # the first POST is slow: the database goes while it waits
        subscribe(receiver.url)
        event = record(sale_id=1)
        delivered(receiver, worker, 1)
        pg_proxy.refuse()  # recording the outcome fails, and so does marking the task failed
        wait_until(lambda: "lost the database" in worker.log_path.read_text(), 10, "a warning", worker)
        pg_proxy.restore()

        delivery = WebhookDelivery.objects.get()
        assert delivery.status == DeliveryStatus.PENDING and delivery.claimed_until is not None
        assert DBTaskResult.objects.get(id=delivery.task_id).status == "RUNNING"  # claimed, never finished

        # The lease runs out (WEBHOOK_TIMEOUT × 3): as if that much time had passed.
        past = timezone.now() - timedelta(hours=1)
        WebhookDelivery.objects.update(claimed_until=past)
        DBTaskResult.objects.filter(id=delivery.task_id).update(started_at=past)
        out = StringIO()
        call_command("run_periodic", "--job", "webhook_retries", stdout=out, stderr=out)
        assert out.getvalue() == "webhook_retries: requeued 1 due webhook delivery(ies)\n"

        delivered(receiver, worker, 2, timeout=BACK_WITHIN)
        assert [r.webhook_id for r in receiver.received] == [event.uid, event.uid]  # at least once, same id
        wait_until(lambda: WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED, 10, "delivered", worker)
    assert worker.process.poll() is None, worker.log_tail()
