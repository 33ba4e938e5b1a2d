"""The periodic jobs, for cron or a systemd timer: `manage.py run_periodic` (every job) every few minutes.

Running it twice at once is harmless. On PostgreSQL each job holds an advisory lock while it runs, so a
second run skips a job the first is still doing. Each job is also safe on its own, which is what SQLite
(no advisory locks; one writer at a time) relies on: a stale sale is cancelled under its row lock after
checking again that it is still pending and stale, requeues lock or claim their rows, deletes are idempotent.
"""

from collections.abc import Callable
from contextlib import contextmanager, suppress
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from notifications.services import emails_requeue_due
from sales.management.commands.cancel_stale_sales import parse_duration
from sales.services.maintenance import sale_cancel_stale, stale_pending_sales
from salesproject.api.throttles import rate_counters_prune
from salesproject.errors import DomainError
from salesproject.models import IdempotencyKey


def stale_sales() -> str:
    age, now = parse_duration(settings.SALES_STALE_PENDING_AFTER), timezone.now()
    cancelled, skipped, failed = [], 0, []
    for sale in stale_pending_sales(older_than=age, now=now).only("pk", "reference"):
        try:
            done = sale_cancel_stale(sale=sale, older_than=age, now=now)
        except DomainError as exc:
            failed.append(f"{sale.reference} ({exc})")
            continue
        if done is None:
            skipped += 1
        else:
            cancelled.append(sale.reference)
    summary = f"cancelled {len(cancelled)} sale(s) pending longer than {settings.SALES_STALE_PENDING_AFTER}"
    if cancelled:
        more = f" and {len(cancelled) - 20} more" if len(cancelled) > 20 else ""
        summary += ": " + ", ".join(cancelled[:20]) + more
    summary += f"; skipped {skipped} (changed meanwhile)"
    if failed:
        raise CommandError(f"{summary}; could not cancel {', '.join(failed)}")
    return summary


# The webhooks' jobs are imported when they run, so the other jobs run even if that app is broken.


def webhook_retries() -> str:
    from webhooks.services import deliveries_requeue_due

    return f"requeued {deliveries_requeue_due()} due webhook delivery(ies)"


def webhook_disable_failing() -> str:
    from webhooks.services import subscriptions_disable_failing

    days = settings.WEBHOOK_DISABLE_AFTER / timedelta(days=1)
    return f"disabled {subscriptions_disable_failing()} webhook(s) failing for {days:g} day(s)"


def email_retries() -> str:
    return f"requeued {emails_requeue_due()} customer e-mail(s) that lost their task"


def prune_tasks() -> str:
    days = settings.TASK_RESULTS_KEEP_DAYS
    old = DBTaskResult.objects.finished().filter(finished_at__lt=timezone.now() - timedelta(days=days))
    return f"deleted {old.delete()[0]} finished task row(s) older than {days} day(s)"


def prune_idempotency_keys() -> str:
    hours = settings.IDEMPOTENCY_KEY_TTL_HOURS
    old = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - timedelta(hours=hours))
    return f"deleted {old.delete()[0]} idempotency key(s) older than {hours} hour(s)"


def prune_rate_counters() -> str:
    return f"deleted {rate_counters_prune()} rate-limit counter(s) of clients not seen for a while"


JOBS: dict[str, Callable[[], str]] = {
    "stale_sales": stale_sales,
    "webhook_retries": webhook_retries,
    "webhook_disable_failing": webhook_disable_failing,
    "email_retries": email_retries,
    "prune_tasks": prune_tasks,
    "prune_idempotency_keys": prune_idempotency_keys,
    "prune_rate_counters": prune_rate_counters,
}


@contextmanager
def job_lock(name: str):
    """Yield whether this run may do the job: on PostgreSQL, whether it got the job's advisory lock (held for
    the session until the job ends); elsewhere always."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = f"run_periodic:{name}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key])
        locked = cursor.fetchone()[0]
    try:
        yield locked
    finally:
        if locked:  # a connection that died took its lock with it
            with suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])


class Command(BaseCommand):
    help = (
        "Run the periodic jobs (all, or those named with --job) and print what each did: cancel stale pending "
        "sales (SALES_STALE_PENDING_AFTER), requeue due webhook deliveries, disable failing webhooks, requeue "
        "customer e-mails that lost their task, delete finished task rows (TASK_RESULTS_KEEP_DAYS), old "
        "idempotency keys (IDEMPOTENCY_KEY_TTL_HOURS) and the rate-limit counters of clients not seen lately. "
        "Safe to run twice at once. A failing job does not stop "
        "the others; the exit status is then non-zero. For cron: */5 * * * * manage.py run_periodic"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--job",
            action="append",
            choices=list(JOBS),
            dest="jobs",
            metavar="JOB",
            help=f"Run only this job (repeatable): {', '.join(JOBS)}.",
        )

    def handle(self, *args, jobs: list[str] | None, **options):
        failed = []
        for name in jobs or JOBS:
            with job_lock(name) as mine:
                if not mine:
                    self.stdout.write(f"{name}: skipped, another run_periodic is doing it")
                    continue
                try:
                    self.stdout.write(f"{name}: {JOBS[name]()}")
                except Exception as exc:  # reported; the other jobs still run
                    failed.append(name)
                    self.stderr.write(f"{name}: FAILED: {type(exc).__name__}: {exc}")
        if failed:
            raise CommandError(f"{len(failed)} job(s) failed: {', '.join(failed)}")
