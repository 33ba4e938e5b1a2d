"""Events and subscriptions for the webhook tests."""

from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from events.services import event_record
from webhooks import services


def record(type: str = "sale.created", *, sale_id: int | None = 1, **obj):
    return event_record(
        type=type, object_type="sale", object_id=sale_id or 0, obj={"id": sale_id, **obj}, sale_id=sale_id
    )


def subscribe(url: str, events=("*",), **kwargs):
    return services.webhook_create(url=url, events=list(events), **kwargs)


def run_tasks(limit: int = 100) -> list:
    """Run the ready webhook tasks in this process, as db_worker would (without its connection handling,
    which would end the test's transaction); returns their return values."""
    worker = Worker(
        queue_names=["webhooks"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    )
    values = []
    for _ in range(limit):
        row = DBTaskResult.objects.ready().filter(queue_name="webhooks").first()
        if row is None:
            return values
        row.claim("test")
        worker.run_task(row)
        row.refresh_from_db()
        values.append(row.return_value if row.status == "SUCCESSFUL" else f"error: {row.traceback[-300:]}")
    return values
