"""`manage.py run_periodic`: each job does its work and says what it did; one failing job does not stop the
others; two runs at once never cancel a sale twice (PostgreSQL: advisory locks, and the row-locked re-check
that SQLite relies on alone)."""

import time
from contextlib import nullcontext
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command, get_commands, load_command_class
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from customers.factories import CustomerFactory
from inventory.factories import stocked_variant
from inventory.tests.test_concurrency import errors_of, run_together
from notifications.models import CustomerEmail, EmailKind
from notifications.tasks import send_customer_email
from ops.management.commands import run_periodic
from sales.factories import SaleFactory
from sales.models import Sale, SaleEvent, SaleEventType, SaleStatus
from sales.services import ItemData
from sales.tests.test_commands import age, reserved
from salesproject.api.throttles import AnonThrottle, UserThrottle
from salesproject.models import IdempotencyKey, RateCounter


def run(*args: str) -> str:
    out = StringIO()
    call_command("run_periodic", *args, stdout=out, stderr=out)
    return out.getvalue()


def stale_sales(count: int, variant) -> list[Sale]:
    sales = [SaleFactory(items=[ItemData(variant=variant, quantity=1)]) for _ in range(count)]
    for sale in sales:
        age(sale, 50)
    return sales


def cancels_of(sale: Sale) -> int:
    return SaleEvent.objects.filter(sale=sale, type=SaleEventType.STATUS_CHANGED, to_status="cancelled").count()


@pytest.mark.django_db
class TestJobs:
    def test_stale_sales_are_cancelled_and_their_stock_released_recent_ones_left(self, warehouse, settings):
        settings.SALES_STALE_PENDING_AFTER = "48h"
        variant = stocked_variant(10)
        [stale] = stale_sales(1, variant)
        fresh = SaleFactory(items=[ItemData(variant=variant, quantity=1)])

        out = run("--job", "stale_sales")

        assert out == (
            f"stale_sales: cancelled 1 sale(s) pending longer than 48h: {stale.reference}; "
            "skipped 0 (changed meanwhile)\n"
        )
        statuses = dict(Sale.objects.values_list("pk", "status"))
        assert (statuses[stale.pk], statuses[fresh.pk]) == (SaleStatus.CANCELLED, SaleStatus.PENDING)
        assert reserved(variant) == 1
        assert "cancelled 0 sale(s)" in run("--job", "stale_sales")  # nothing left to do

    def test_finished_task_rows_older_than_the_retention_are_deleted(self, db, settings):
        settings.TASK_RESULTS_KEEP_DAYS = 14
        old = timezone.now() - timedelta(days=15)
        rows = {name: send_customer_email.enqueue(0).id for name in ("old_ok", "old_failed", "recent", "waiting")}
        DBTaskResult.objects.filter(id=rows["old_ok"]).update(status="SUCCESSFUL", finished_at=old)
        DBTaskResult.objects.filter(id=rows["old_failed"]).update(status="FAILED", finished_at=old)
        DBTaskResult.objects.filter(id=rows["recent"]).update(status="SUCCESSFUL", finished_at=timezone.now())
        DBTaskResult.objects.filter(id=rows["waiting"]).update(enqueued_at=old)  # ready: never pruned

        out = run("--job", "prune_tasks")

        assert out == "prune_tasks: deleted 2 finished task row(s) older than 14 day(s)\n"
        left = {str(pk) for pk in DBTaskResult.objects.values_list("id", flat=True)}
        assert left == {rows["recent"], rows["waiting"]}

    def test_idempotency_keys_older_than_their_ttl_are_deleted(self, seller, settings):
        settings.IDEMPOTENCY_KEY_TTL_HOURS = 48
        for key in ("old", "new"):
            IdempotencyKey.objects.create(user=seller, key=key, method="POST", path="/api/v1/sales/", request_hash="x")
        IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=49))

        out = run("--job", "prune_idempotency_keys")

        assert out == "prune_idempotency_keys: deleted 1 idempotency key(s) older than 48 hour(s)\n"
        assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]

    def test_rate_counters_of_clients_not_seen_since_before_the_last_window_are_deleted(self, seller):
        user_slot, anon_slot = (int(time.time() // throttle().duration) for throttle in (UserThrottle, AnonThrottle))
        RateCounter.objects.create(key="throttle_anon_198.51.100.1", slot=anon_slot - 5, hits=3)
        RateCounter.objects.create(key="throttle_user_7", slot=user_slot - 2, hits=1)
        RateCounter.objects.create(key=f"throttle_user_{seller.pk}", slot=user_slot + 1, hits=1)  # now, or soon

        out = run("--job", "prune_rate_counters")

        assert out == "prune_rate_counters: deleted 2 rate-limit counter(s) of clients not seen for a while\n"
        assert list(RateCounter.objects.values_list("key", flat=True)) == [f"throttle_user_{seller.pk}"]

    def test_customer_emails_that_lost_their_task_are_requeued(self, warehouse):
        sale = SaleFactory(customer=CustomerFactory())
        email = CustomerEmail.objects.create(
            sale=sale, kind=EmailKind.SALE_CONFIRMED, next_attempt_at=timezone.now() - timedelta(hours=2)
        )

        out = run("--job", "email_retries")

        assert out == "email_retries: requeued 1 customer e-mail(s) that lost their task\n"
        task = DBTaskResult.objects.get(task_path="notifications.tasks.send_customer_email")
        assert (task.queue_name, task.args_kwargs["args"]) == ("emails", [email.pk])

    def test_the_webhook_jobs_call_the_webhooks_services(self, db, monkeypatch):
        monkeypatch.setattr("webhooks.services.deliveries_requeue_due", lambda: 3)
        monkeypatch.setattr("webhooks.services.subscriptions_disable_failing", lambda: 1)

        out = run("--job", "webhook_retries", "--job", "webhook_disable_failing")

        assert out == (
            "webhook_retries: requeued 3 due webhook delivery(ies)\n"
            "webhook_disable_failing: disabled 1 webhook(s) failing for 3 day(s)\n"
        )

    def test_every_job_runs_by_default_and_a_failing_one_does_not_stop_the_others(self, db, monkeypatch):
        def broken() -> str:
            raise RuntimeError("database full")

        monkeypatch.setitem(run_periodic.JOBS, "webhook_retries", broken)
        out = StringIO()

        with pytest.raises(CommandError, match="1 job\\(s\\) failed: webhook_retries"):
            call_command("run_periodic", stdout=out, stderr=out)

        lines = out.getvalue().splitlines()
        assert [line.split(":")[0] for line in lines] == list(run_periodic.JOBS)
        assert "webhook_retries: FAILED: RuntimeError: database full" in lines

    def test_an_unknown_job_is_refused(self, db):
        with pytest.raises(CommandError, match="invalid choice"):
            run("--job", "everything")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestConcurrentRuns:
    @pytest.mark.parametrize("advisory_lock", [True, False], ids=["advisory-lock", "row-locks-only"])
    def test_two_runs_at_once_cancel_each_stale_sale_once(self, warehouse, monkeypatch, advisory_lock):
        if not advisory_lock:  # as on SQLite: both runs do the job; the row-locked re-check keeps it single
            monkeypatch.setattr(run_periodic, "job_lock", lambda name: nullcontext(True))
        variant = stocked_variant(20)
        sales = stale_sales(8, variant)

        outcomes = run_together(*[lambda: run("--job", "stale_sales")] * 2)

        assert errors_of(outcomes) == []
        assert [cancels_of(sale) for sale in sales] == [1] * 8
        assert set(Sale.objects.values_list("status", flat=True)) == {SaleStatus.CANCELLED}
        assert reserved(variant) == 0
        cancelled = [int(o.value.split("cancelled ")[1].split(" ")[0]) for o in outcomes if "cancelled" in o.value]
        assert sum(cancelled) == 8

    def test_a_job_another_run_holds_is_skipped(self, db):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtextextended('run_periodic:prune_tasks', 0))")
        try:
            [outcome] = run_together(lambda: run("--job", "prune_tasks", "--job", "prune_idempotency_keys"))
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended('run_periodic:prune_tasks', 0))")

        assert outcome.value.splitlines() == [
            "prune_tasks: skipped, another run_periodic is doing it",
            "prune_idempotency_keys: deleted 0 idempotency key(s) older than 48 hour(s)",
        ]


def test_a_plain_db_worker_works_every_queue_and_polls_every_fifth_of_a_second():
    """events.md: tasks are "worked by `manage.py db_worker`": with no option it must take the webhooks and
    e-mails queues too (the library's own worker takes only `default`) and deliver within a second."""
    assert get_commands()["db_worker"] == "ops"
    command = load_command_class("ops", "db_worker")
    options = command.create_parser("manage.py", "db_worker").parse_args([])
    assert (options.queue_name, options.interval) == ("*", 0.2)
    explicit = command.create_parser("manage.py", "db_worker").parse_args(["--queue-name", "webhooks"])
    assert explicit.queue_name == "webhooks"
