"""One error body for every 4xx/5xx: the shape of drf-standardized-errors.

Domain errors raised by the services carry a code, a detail and an attribute
path; they are turned into that body here and nowhere else.
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, OperationalError
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from drf_standardized_errors import formatter, handler
from drf_standardized_errors.types import Error
from rest_framework import exceptions, serializers, status
from rest_framework.settings import api_settings

from salesproject.api.http import REQUEST_TOO_LARGE, TOO_MANY_FIELDS_DETAIL
from salesproject.db import is_transient_db_error, sqlstate
from salesproject.db_timeouts import QUERY_CANCELED
from salesproject.errors import DomainError

logger = logging.getLogger(__name__)


class DomainAPIException(exceptions.APIException):
    """A service's domain error on its way to the client."""

    def __init__(self, error: DomainError) -> None:
        self.status_code = error.status_code
        self.error = error
        super().__init__(detail=error.detail, code=error.code)


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is temporarily unavailable; try again shortly."
    default_code = "service_unavailable"


class QueryTimeout(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = (
        "The query took too long and was cancelled; narrow it (a longer search term, a date range, "
        "fewer rows) or try again later."
    )
    default_code = "query_timeout"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with data written at the same time; try again."
    default_code = "conflict"


class RequestTooLarge(exceptions.APIException):
    """A body over the route's limit that got past `salesproject.middleware.BodySizeMiddleware` (it refuses
    by Content-Length first): Django's `RequestDataTooBig`, whoever read the body."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = REQUEST_TOO_LARGE


class TooManyFields(exceptions.APIException):
    """More query parameters or form fields than DATA_UPLOAD_MAX_NUMBER_FIELDS (or files than ..._FILES)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = TOO_MANY_FIELDS_DETAIL
    default_code = "too_many_fields"


class BadRequest(exceptions.APIException):
    """Any other request Django calls suspicious."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Bad request."
    default_code = "bad_request"


@extend_schema_serializer(component_name="RequestTooLargeError")
class _TooLargeErrorSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=[REQUEST_TOO_LARGE])
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


# `client_error` as a pattern, not an enum: a second one-value enum of it would clash with the 409's in the schema.
@extend_schema_field({"type": "string", "pattern": "^client_error$", "example": "client_error"})
class _ClientErrorType(serializers.CharField):
    pass


class RequestTooLargeResponseSerializer(serializers.Serializer):
    """The request body is larger than this operation accepts (`request_too_large`); it was not read."""

    # The 413 of every operation (DRF_STANDARDIZED_ERRORS' ERROR_SCHEMAS): any request may be refused for its size.
    type = _ClientErrorType()
    errors = _TooLargeErrorSerializer(many=True)


@dataclass
class _EntryError(Error):
    """An error of `DomainError.entries()`: its `extra` members are spread into the entry of the body."""

    extra: dict[str, Any]


def domain_validation_error(error: DomainError) -> exceptions.ValidationError:
    attr = error.attr or api_settings.NON_FIELD_ERRORS_KEY
    return exceptions.ValidationError({attr: [exceptions.ErrorDetail(error.detail, code=error.code)]})


class ExceptionHandler(handler.ExceptionHandler):
    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, DomainError):
            return domain_validation_error(exc) if exc.status_code == 400 else DomainAPIException(exc)
        if isinstance(exc, RequestDataTooBig):
            return RequestTooLarge()
        if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
            return TooManyFields()
        if isinstance(exc, SuspiciousOperation):
            logger.warning("suspicious request: %s", exc)
            return BadRequest()
        if isinstance(exc, DjangoValidationError):
            if hasattr(exc, "error_dict"):
                return exceptions.ValidationError(exc.message_dict)
            return exceptions.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: exc.messages})
        if is_transient_db_error(exc):
            # A deadlock or serialization failure the service could not retry away: nothing was
            # written, the client may simply try again. Not an outage, so not a 503.
            logger.warning("lock conflict reached the API (SQLSTATE %s): %s", sqlstate(exc), exc)
            return Conflict()
        if isinstance(exc, OperationalError) and sqlstate(exc) == QUERY_CANCELED:
            # DATABASE_STATEMENT_TIMEOUT cut a statement: the database is up, this request is too heavy.
            request = self.context.get("request")
            logger.warning("statement cancelled on %s: %s", request and request.get_full_path(), exc)
            return QueryTimeout()
        if isinstance(exc, OperationalError):
            logger.warning("database unavailable: %s", exc)
            return ServiceUnavailable()
        if isinstance(exc, IntegrityError):
            logger.exception("integrity error reached the API")
            return Conflict()
        return super().convert_known_exceptions(exc)


class ExceptionFormatter(formatter.ExceptionFormatter):
    def get_errors(self) -> list[Error]:
        if isinstance(self.exc, DomainAPIException):
            error = self.exc.error
            entries = error.entries()
            if entries:
                return [
                    _EntryError(code=error.code, detail=entry.detail, attr=entry.attr, extra=dict(entry.extra))
                    for entry in entries
                ]
            return [Error(code=error.code, detail=str(error.detail), attr=error.attr)]
        return super().get_errors()

    def format_error_response(self, error_response):
        body = super().format_error_response(error_response)
        body["errors"] = [_spread_extra(entry) for entry in body["errors"]]
        return body


def _spread_extra(entry: dict[str, Any]) -> dict[str, Any]:
    """`{code, detail, attr, extra: {k: v}}` -> `{code, detail, attr, k: v}`; other entries unchanged."""
    if "extra" not in entry:
        return entry
    extra = entry.pop("extra")
    return {**entry, **extra}
