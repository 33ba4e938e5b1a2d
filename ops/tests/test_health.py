"""/healthz and /readyz: what each checks, the 503 body that says which check failed, no auth, no throttling."""

import logging
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max
from rest_framework.throttling import AnonRateThrottle

from ops import health


def queued_task(*, waited: timedelta, queue: str = "default", delayed: bool = False) -> DBTaskResult:
    """A READY task row that has been due for `waited` (enqueued then, or delayed until then)."""
    now = timezone.now()
    row = DBTaskResult.objects.create(
        task_path="ops.tests.tasks.add", args_kwargs={"args": [1, 2], "kwargs": {}}, backend_name="default",
        queue_name=queue, run_after=now - waited if delayed else get_date_max(),
    )  # fmt: skip
    enqueued = now - waited - timedelta(hours=1) if delayed else now - waited
    DBTaskResult.objects.filter(pk=row.pk).update(enqueued_at=enqueued)
    return row


def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: pytest-django fails any database access in this test.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_readyz_is_200_when_the_database_answers_everything_is_migrated_and_no_task_waits(client, settings):
    settings.READYZ_MAX_TASK_AGE = 600  # whatever the default is
    response = client.get("/readyz")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok" and body["failed"] == []
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["migrations"] == {"ok": True}
    assert body["checks"]["task_queue"] == {"ok": True, "depth": 0, "oldest_age_seconds": 0.0, "max_age_seconds": 600}


@pytest.mark.django_db
def test_readyz_is_503_naming_the_task_queue_when_the_oldest_due_task_waited_too_long(client, settings):
    settings.READYZ_MAX_TASK_AGE = 60
    queued_task(waited=timedelta(seconds=5))
    assert client.get("/readyz").status_code == 200

    queued_task(waited=timedelta(seconds=90), delayed=True)  # due for 90 s (enqueued long before, with a delay)
    DBTaskResult.objects.create(  # not due yet: does not count, however long ago it was enqueued
        task_path="ops.tests.tasks.add",
        args_kwargs={"args": [], "kwargs": {}},
        backend_name="default",
        run_after=timezone.now() + timedelta(hours=1),
    )
    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["failed"] == ["task_queue"]
    queue = body["checks"]["task_queue"]
    assert queue["ok"] is False and queue["depth"] == 2 and 89 <= queue["oldest_age_seconds"] < 120
    assert "is a db_worker running?" in queue["detail"]


@pytest.mark.django_db
def test_readyz_ignores_the_task_age_when_the_threshold_is_0(client, settings):
    settings.READYZ_MAX_TASK_AGE = 0
    queued_task(waited=timedelta(days=2))

    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_readyz_is_503_naming_the_first_unapplied_migration(client, monkeypatch):
    monkeypatch.setattr(health, "_all_migrated", False)
    monkeypatch.setattr(
        "django.db.migrations.executor.MigrationExecutor.migration_plan",
        lambda self, targets: [(self.loader.graph.nodes[("sales", "0001_initial")], False)],
    )

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["migrations"]
    assert body["checks"]["migrations"]["detail"] == "1 migration(s) not applied, the first sales.0001_initial."


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_fails_and_does_not_show_the_error(client, monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "10.1.2.3", port 5432 failed: Connection refused')

    monkeypatch.setattr(connection, "cursor", refuse)

    with caplog.at_level(logging.WARNING, logger="ops.health"):
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["database", "migrations", "task_queue"]
    assert body["checks"]["database"] == {"ok": False, "detail": "The database is unreachable."}
    assert "10.1.2.3" not in response.content.decode()  # in the log, for the operator, not in the answer
    assert any("10.1.2.3" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_probes_need_no_auth_are_never_throttled_and_are_not_logged_at_info(client, monkeypatch, caplog):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "1/min", "user": "1/min"})

    with caplog.at_level(logging.INFO, logger="ops.requests"):
        codes = {client.get(path).status_code for path in ["/healthz", "/readyz"] * 5}

    assert codes == {200}
    assert not [record for record in caplog.records if record.name == "ops.requests"]


def test_probes_answer_get_and_head_only(client):
    assert client.post("/healthz").status_code == 405
    assert client.head("/healthz").status_code == 200
