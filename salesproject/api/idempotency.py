"""`Idempotency-Key` on POST: the same key and body replay the first response.

A keyed POST runs in one transaction: the claim (an INSERT that a unique
constraint guards), the work and the stored response commit together or not at
all. So a key is never left claimed by work that did not happen (a worker
killed, the database gone mid-request): the retry simply runs again. Two app
servers (or threads) racing with one key cannot both do the work: on
PostgreSQL the second INSERT waits on the first's uncommitted row, then
replays its response; after `WAIT_SECONDS` it gets 409
`idempotency_in_progress`. Transient failures (5xx, a lock `conflict`) are
rolled back with the claim, so they are never replayed. The COMMIT itself can fail
(deferred triggers and constraints run there, e.g. the sales rollup's): the client
gets 409 `conflict` (503 if the database went away), and nothing is kept.
"""

import hashlib
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.response import Response

from salesproject.api.exceptions import Conflict
from salesproject.db import sqlstate
from salesproject.models import IdempotencyKey

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05
LOCK_NOT_AVAILABLE = "55P03"
# Answers a retry must not replay: the work did not happen and may succeed next time.
TRANSIENT_CODES = frozenset({"conflict", "service_unavailable", "idempotency_in_progress"})


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This Idempotency-Key was used with a different request."
    default_code = "idempotency_conflict"


class IdempotencyInProgress(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A request with this Idempotency-Key is still being processed; retry shortly."
    default_code = "idempotency_in_progress"


class Replay(Exception):
    """Not an error: carries the stored response back out of `initial`."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _request_hash(request) -> str:
    try:
        body = request._request.body
    except RequestDataTooBig:
        raise exceptions.ValidationError({"non_field_errors": ["The request body is too large."]}) from None
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), body):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def claim(request) -> IdempotencyKey | None:
    """Claim the request's key, or raise `Replay` with the stored response, or a 409."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or not key or not request.user.is_authenticated:
        return None
    if len(key) > 255:
        raise exceptions.ValidationError({HEADER: ["At most 255 characters."]})
    request_hash = _request_hash(request)
    fields = {"user": request.user, "key": key}
    for _ in range(2):
        record = _insert_unless_taken(
            IdempotencyKey(**fields, method=request.method, path=request.path[:500], request_hash=request_hash)
        )
        if record is not None:
            return record
        expired = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
        if not IdempotencyKey.objects.filter(**fields, created_at__lt=expired).delete()[0]:
            break
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        record = IdempotencyKey.objects.filter(**fields).first()
        if record is None:  # the first request failed and let go of the key: try again as new
            return claim(request)
        if record.request_hash != request_hash:
            raise IdempotencyConflict()
        if record.state == IdempotencyKey.State.DONE:
            response = Response(record.response_body, status=record.response_status)
            response["Idempotent-Replayed"] = "true"
            raise Replay(response)
        if time.monotonic() > deadline:
            raise IdempotencyInProgress()
        time.sleep(POLL_SECONDS)


def _insert_unless_taken(record: IdempotencyKey) -> IdempotencyKey | None:
    """Insert the key, or return None if this user already holds it.

    One `INSERT … ON CONFLICT DO NOTHING RETURNING` statement (PostgreSQL, and
    SQLite ≥ 3.35): the claim costs one round trip, and since it cannot raise
    for a taken key it needs no transaction or savepoint around it.
    """
    record.created_at = timezone.now()
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        # Bounds the wait on another request's uncommitted claim of the same key (and, for the
        # rest of this request's transaction, on any row lock).
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{int(WAIT_SECONDS * 1000)}ms'")
    opts = IdempotencyKey._meta
    names = ("user", "key", "method", "path", "request_hash", "state", "created_at")
    fields = [opts.get_field(name) for name in names]
    quote = connection.ops.quote_name
    sql = (
        "INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT ({user}, {key}) DO NOTHING RETURNING {pk}"
    ).format(
        table=quote(opts.db_table),
        columns=", ".join(quote(field.column) for field in fields),
        values=", ".join(["%s"] * len(fields)),
        user=quote(opts.get_field("user").column),
        key=quote(opts.get_field("key").column),
        pk=quote(opts.pk.column),
    )
    params = [field.get_db_prep_save(field.pre_save(record, add=True), connection) for field in fields]
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    except OperationalError as exc:
        if sqlstate(exc) != LOCK_NOT_AVAILABLE:
            raise
        transaction.set_rollback(True)  # the statement aborted the transaction
        raise IdempotencyInProgress() from None
    if row is None:
        return None
    record.pk = row[0]
    record._state.adding = False
    record._state.db = connection.alias
    return record


def store(record: IdempotencyKey, response) -> None:
    """Keep the response for replays; a server error frees the key so a retry can run."""
    if response.status_code >= 500:
        IdempotencyKey.objects.filter(pk=record.pk).delete()
        return
    IdempotencyKey.objects.filter(pk=record.pk).update(
        state=IdempotencyKey.State.DONE,
        response_status=response.status_code,
        response_body=getattr(response, "data", None),
    )


def release(record: IdempotencyKey) -> None:
    IdempotencyKey.objects.filter(pk=record.pk).delete()


class IdempotentMixin:
    """For views: honour `Idempotency-Key` on every POST."""

    _idempotency_record = None
    _counted = None  # (the DRF request, the `Throttled` or None) when the rate limits were counted before BEGIN

    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST" or not request.headers.get(HEADER):
            return super().dispatch(request, *args, **kwargs)
        committing = False
        try:
            self._count_before_transaction(request, *args, **kwargs)
            with transaction.atomic():
                response = super().dispatch(request, *args, **kwargs)
                if _is_transient(response):
                    transaction.set_rollback(True)
                committing = True  # leaving the block commits: deferred constraints and triggers run now
        except DatabaseError as exc:  # the database went away, or refused the COMMIT: nothing was kept
            logger.warning("keyed request rolled back: %s", exc)
            if committing and not isinstance(exc, OperationalError | IntegrityError):
                # A deferred trigger or constraint failed the COMMIT (the sale rollup's, say): the work
                # and the claim rolled back together, so the client may simply try again.
                exc = Conflict()
            if not hasattr(self, "headers"):  # it failed to begin the transaction, before DRF's dispatch ran
                self.args, self.kwargs = args, kwargs
                self.request = self.initialize_request(request, *args, **kwargs)
                self.headers = self.default_response_headers
            response = self.finalize_response(self.request, self.handle_exception(exc), *args, **kwargs)
        return response

    def _count_before_transaction(self, request, *args, **kwargs) -> None:
        """Authenticate and count the request against the rate limits before the transaction begins: a counter's
        row stays locked until the transaction ends, so counted inside it every keyed POST of one user (a POS
        fleet on one token) would wait for the one before to commit. A request no one is signed in for is left to
        the usual path (DRF's dispatch refuses it and counts it against its address, once)."""
        self.args, self.kwargs = args, kwargs
        drf_request = self.initialize_request(request, *args, **kwargs)
        try:
            if not drf_request.user.is_authenticated:
                return
        except exceptions.APIException:
            return
        try:
            super().check_throttles(drf_request)
        except exceptions.Throttled as exc:
            self._counted = (drf_request, exc)
        else:
            self._counted = (drf_request, None)

    def initialize_request(self, request, *args, **kwargs):
        if self._counted is not None:  # the request authenticated before the transaction: the same one
            return self._counted[0]
        return super().initialize_request(request, *args, **kwargs)

    def check_throttles(self, request):
        if self._counted is None:
            return super().check_throttles(request)
        refused, self._counted = self._counted[1], None
        if refused is not None:
            raise refused
        return None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._idempotency_record = claim(request)

    def handle_exception(self, exc):
        if isinstance(exc, Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record, self._idempotency_record = self._idempotency_record, None
        if record is not None:
            # A failure here (the database went away) propagates to `dispatch`: the work rolls back
            # with the claim and the client gets a 503, never a 201 for a sale that was not kept.
            store(record, response)
        return response


def _is_transient(response) -> bool:
    if response.status_code >= 500:
        return True
    if getattr(response, "error_code", None) is not None:  # an error in a compat dialect's envelope
        return response.error_code in TRANSIENT_CODES
    data = getattr(response, "data", None)
    errors = data.get("errors") if isinstance(data, dict) else None
    return bool(errors) and isinstance(errors[0], dict) and errors[0].get("code") in TRANSIENT_CODES
