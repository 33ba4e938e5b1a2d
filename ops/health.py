"""`GET /healthz` (liveness) and `GET /readyz` (readiness), for orchestrators and load balancers.

Plain Django views at the site root: no authentication, no throttling, logged at debug (ops.logs.QUIET_PATHS),
exempt from the HTTPS redirect (SECURE_REDIRECT_EXEMPT) so a probe over plain HTTP gets the answer itself.
`/healthz` touches nothing but the process. `/readyz` checks, in order, that the database answers, that every
migration is applied and that the oldest due background task has waited less than `READYZ_MAX_TASK_AGE`
seconds (0 turns that check off); 200 when all pass, else 503, with each check's result in the body.
"""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from sales.task_queue import waiting_tasks

# Migrations do not come undone under a running process: once all were applied, later probes skip the check.
_all_migrated = False
logger = logging.getLogger(__name__)


def _answer(status: int, body: dict) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response._has_been_logged = True  # no "Service Unavailable: /readyz" error line per probe from django.request
    return response


@never_cache
@require_safe
def healthz(request) -> JsonResponse:
    return _answer(200, {"status": "ok"})


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # The error names hosts and ports: into the log, not into an answer anyone may read.
        logger.warning("readiness: database unreachable: %s", exc)
        return {"ok": False, "detail": "The database is unreachable."}
    return {"ok": True}


def check_migrations() -> dict:
    global _all_migrated
    if not _all_migrated:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            first = plan[0][0]
            return {
                "ok": False,
                "detail": f"{len(plan)} migration(s) not applied, the first {first.app_label}.{first.name}.",
            }
        _all_migrated = True
    return {"ok": True}


def check_task_queue() -> dict:
    figures = waiting_tasks()
    age = round(figures.oldest_age_seconds(timezone.now()), 1)
    limit = settings.READYZ_MAX_TASK_AGE
    result = {"ok": True, "depth": figures.depth, "oldest_age_seconds": age, "max_age_seconds": limit}
    if limit and age > limit:
        result.update(
            ok=False,
            detail=f"The oldest queued task has waited {age:.0f} s, more than {limit} s: is a db_worker running?",
        )
    return result


@never_cache
@require_safe
def readyz(request) -> JsonResponse:
    checks = {"database": check_database()}
    for name, check in (("migrations", check_migrations), ("task_queue", check_task_queue)):
        if not checks["database"]["ok"]:
            checks[name] = {"ok": False, "detail": "Not checked: the database is unreachable."}
            continue
        try:
            checks[name] = check()
        except DatabaseError as exc:  # the database went away between two checks
            logger.warning("readiness: %s check failed: %s", name, exc)
            checks[name] = {"ok": False, "detail": "The database failed during this check."}
    ready = all(check["ok"] for check in checks.values())
    failed = [name for name, check in checks.items() if not check["ok"]]
    body = {"status": "ok" if ready else "unavailable", "failed": failed, "checks": checks}
    return _answer(200 if ready else 503, body)
