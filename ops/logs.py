"""Structured logs: one JSON line per request and per task, through structlog and the standard library.

`settings.LOGGING` names `json_formatter` (or `console_formatter`, `DJANGO_LOG_FORMAT=console`) as the formatter of
its one handler, so what Django, the libraries and the project log comes out in the same shape; `configure()`
(OpsConfig.ready) sends structlog's own loggers through the same handler. Every line has `time`, `level`,
`logger` and `event`; lines written while a request runs carry its `request_id`.

`RequestLogMiddleware` writes `request_finished` (method, path, status, duration, SQL queries, user id); the task
signals write `task_finished`. Keys that name a secret (`password`, `token`, `authorization`, …) are blanked in
every line, and a query string's secret-looking parameters too; bodies and headers are never logged.
"""

import logging
import re
import time
from contextlib import ExitStack
from urllib.parse import parse_qsl, urlencode

import structlog
from django.db import connections
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty
from django_tasks import TaskResultStatus
from django_tasks.signals import task_finished, task_started
from prometheus_client import Counter

REDACTED = "[redacted]"
# A key of a log line, or a query parameter, whose value may be a credential.
SECRET_NAME = re.compile(r"pass|secret|token|auth|api.?key|signature|cookie|session|csrf|credential", re.I)
# Routes probed every few seconds by orchestrators and scrapers: logged at debug, not info.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

request_logger = structlog.get_logger("ops.requests")
task_logger = structlog.get_logger("ops.tasks")

API_ERRORS = Counter(
    "api_errors",
    "API error answers by status and error code (e.g. insufficient_stock: a stock shortage).",
    ["status", "code"],
)


def redact_secrets(_logger, _method, event_dict: dict) -> dict:
    """structlog processor: blank the value of every key that names a secret."""
    for key in event_dict:
        if key != "event" and SECRET_NAME.search(key):
            event_dict[key] = REDACTED
    return event_dict


SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
    redact_secrets,
]


def _formatter(renderer) -> structlog.stdlib.ProcessorFormatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS,  # records of plain `logging` loggers (Django, libraries)
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )


def json_formatter() -> logging.Formatter:
    """For production and log shippers: one JSON object per line."""
    return _formatter(structlog.processors.JSONRenderer())


def console_formatter() -> logging.Formatter:
    """For a developer's terminal and the test suite: `time [level] event key=value …`, no colours."""
    return _formatter(structlog.dev.ConsoleRenderer(colors=False))


def configure() -> None:
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


class QueryCounter:
    """A database execute wrapper that counts the statements run through it."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def safe_query(query_string: str) -> str:
    """The query string with the values of secret-looking parameters blanked."""
    if not query_string:
        return ""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    return urlencode([(name, REDACTED if SECRET_NAME.search(name) else value) for name, value in pairs], safe="[]")


def user_id(request) -> int | None:
    """The signed-in user's id, without loading a session nobody read (the user DRF authenticated is set on the
    request; AuthenticationMiddleware's lazy user only if something evaluated it)."""
    user = request.__dict__.get("user")
    if isinstance(user, LazyObject):
        user = None if user._wrapped is empty else user._wrapped
    return user.pk if user is not None and user.is_authenticated else None


def error_code(response) -> str:
    """The first error code of an API error body (DRF's Response keeps it as data), else ""."""
    data = getattr(response, "data", None)
    errors = data.get("errors") if isinstance(data, dict) else None
    if errors and isinstance(errors, list) and isinstance(errors[0], dict):
        return str(errors[0].get("code", ""))
    return ""


class RequestLogMiddleware:
    """One `request_finished` line per request; place it right after RequestIdMiddleware."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        counter = QueryCounter()
        request_id = getattr(request, "request_id", None)
        with ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(counter))
            stack.enter_context(structlog.contextvars.bound_contextvars(request_id=request_id))
            response = self.get_response(request)
            status = response.status_code
            code = error_code(response) if status >= 400 else ""
            if code:
                API_ERRORS.labels(str(status), code).inc()
            if request.path in QUIET_PATHS:  # a failing probe says why in its own warning (ops.health)
                log = request_logger.debug
            else:
                log = request_logger.error if status >= 500 else request_logger.info
            log(
                "request_finished",
                method=request.method,
                path=request.path,
                query=safe_query(request.META.get("QUERY_STRING", "")),
                status=status,
                error_code=code or None,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                sql_queries=counter.count,
                user_id=user_id(request),
                remote_addr=request.META.get("REMOTE_ADDR"),
            )
        return response


# --- tasks (django-tasks' signals, sent by `manage.py db_worker` around each task) ---------------------------

_running: dict[str, tuple[float, QueryCounter]] = {}


@receiver(task_started, dispatch_uid="ops.logs.task_started")
def _task_started(sender, task_result, **kwargs) -> None:
    counter = QueryCounter()
    for connection in connections.all():
        connection.execute_wrappers.append(counter)
    _running[task_result.id] = (time.perf_counter(), counter)


@receiver(task_finished, dispatch_uid="ops.logs.task_finished")
def _task_finished(sender, task_result, **kwargs) -> None:
    started, counter = _running.pop(task_result.id, (None, None))
    for connection in connections.all():
        if counter in connection.execute_wrappers:
            connection.execute_wrappers.remove(counter)
    failed = task_result.status == TaskResultStatus.FAILED
    (task_logger.warning if failed else task_logger.info)(
        "task_finished",
        task_id=task_result.id,
        task=task_result.task.module_path,
        queue=task_result.task.queue_name,
        status=task_result.status.value.lower(),
        attempts=task_result.attempts,
        error=task_result.errors[-1].exception_class_path if failed and task_result.errors else None,
        duration_ms=round((time.perf_counter() - started) * 1000, 1) if started is not None else None,
        sql_queries=counter.count if counter is not None else None,
        worker_id=task_result.worker_ids[-1] if task_result.worker_ids else None,
    )
