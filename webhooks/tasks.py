"""The delivery task, on the `webhooks` queue: worked by `manage.py db_worker` (every queue by default; `--queue-name
webhooks` dedicates a worker to it) (events.md, "Background work")."""

from django_tasks import task


@task(queue_name="webhooks")
def deliver(delivery_id: int) -> str:
    """Attempt one delivery (what happened is in the delivery row; the return value says why nothing was sent)."""
    from webhooks.services import delivery_attempt  # the services enqueue this task

    return delivery_attempt(delivery_id=delivery_id)
