"""`Idempotency-Key` on POST: the same key and body replay the first response.

The key is claimed with an INSERT that a unique constraint guards, committed
at once, so two app servers (or two threads) racing with one key cannot both
do the work: the loser waits for the winner's response, or gets 409
`idempotency_in_progress` if it takes too long.
"""

import hashlib
import time
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.response import Response

from salesproject.models import IdempotencyKey

HEADER = "Idempotency-Key"
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05


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
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    **fields, method=request.method, path=request.path[:500], request_hash=request_hash
                )
        except IntegrityError:
            pass
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
            store(record, response)
        return response
