"""The background-task queue as operators see it: how many tasks wait and how long the oldest has waited.

Read from django-tasks-db's table (`DBTaskResult`): a task waits while it is READY and due, that is enqueued
without a delay (`run_after` is the backend's far-future marker) or with a `run_after` now past. It has waited
since it became due. Used by the admin dashboard, `/readyz` and `/metrics`.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q
from django_tasks_db.models import DBTaskResult, get_date_max


@dataclass(frozen=True)
class QueueFigures:
    queue: str  # "" for all queues together
    depth: int
    oldest_due_at: datetime | None

    def oldest_age_seconds(self, now: datetime) -> float:
        return max((now - self.oldest_due_at).total_seconds(), 0.0) if self.oldest_due_at else 0.0


def _figures(queue: str, row: dict) -> QueueFigures:
    due = [moment for moment in (row["oldest_undelayed"], row["oldest_delayed"]) if moment is not None]
    return QueueFigures(queue=queue, depth=row["depth"], oldest_due_at=min(due) if due else None)


def _aggregates() -> dict:
    undelayed = Q(run_after=get_date_max())
    return {
        "depth": Count("pk"),
        "oldest_undelayed": Min("enqueued_at", filter=undelayed),
        "oldest_delayed": Min("run_after", filter=~undelayed),
    }


def waiting_tasks() -> QueueFigures:
    """Every queue together: one query."""
    return _figures("", DBTaskResult.objects.ready().aggregate(**_aggregates()))


def waiting_tasks_by_queue() -> list[QueueFigures]:
    """One row per queue that has waiting tasks, by name: one query."""
    rows = DBTaskResult.objects.ready().values("queue_name").annotate(**_aggregates()).order_by("queue_name")
    return [_figures(row["queue_name"], row) for row in rows]
