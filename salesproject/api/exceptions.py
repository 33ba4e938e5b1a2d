"""One error body for every 4xx/5xx: the shape of drf-standardized-errors, plus the request's `request_id`.

Domain errors raised by the services carry a code, a detail and an attribute
path; they are turned into that body here and nowhere else.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, OperationalError
from django_filters import (
    ChoiceFilter,
    ModelChoiceFilter,
    ModelMultipleChoiceFilter,
    MultipleChoiceFilter,
    OrderingFilter,
)
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from drf_standardized_errors import formatter, handler
from drf_standardized_errors.types import Error
from rest_framework import exceptions, serializers, status
from rest_framework.settings import api_settings

from salesproject.api.authentication import not_authenticated
from salesproject.api.fields import invalid_choice, unknown_reference
from salesproject.api.http import REQUEST_TOO_LARGE, TOO_MANY_FIELDS_DETAIL
from salesproject.api.throttles import AnonThrottle
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
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            over = _anonymous_over_limit(self.context)
            if over is not None:
                return _throttled(over)
        if isinstance(exc, exceptions.NotAuthenticated):
            return self._wrong_auth_scheme(exc)
        if isinstance(exc, exceptions.MethodNotAllowed):
            return self._method_not_allowed(exc)
        if isinstance(exc, exceptions.Throttled):
            return _throttled(exc)
        if isinstance(exc, exceptions.ValidationError):
            return self._filter_errors(exc)
        return super().convert_known_exceptions(exc)

    def _wrong_auth_scheme(self, exc: exceptions.NotAuthenticated) -> exceptions.APIException:
        """No one signed in and the Authorization header had another scheme than Bearer: say so (same code)."""
        humane = not_authenticated(self.context.get("request"))
        if humane is None or exc.detail != exceptions.NotAuthenticated.default_detail:
            return exc
        # The view set the WWW-Authenticate header (or turned the 401 into a 403) on the exception it raised.
        humane.status_code = exc.status_code
        if hasattr(exc, "auth_header"):
            humane.auth_header = exc.auth_header
        return humane

    def _method_not_allowed(self, exc: exceptions.MethodNotAllowed) -> exceptions.APIException:
        """`Method "PUT" not allowed.` -> `… not allowed here; this URL allows GET, PATCH, DELETE.` (same code)."""
        view = self.context.get("view")
        allowed = [method for method in getattr(view, "allowed_methods", ()) if method not in ("HEAD", "OPTIONS")]
        if not allowed or exc.detail != exceptions.MethodNotAllowed.default_detail.format(method=_method(exc)):
            return exc
        exc.detail = exceptions.ErrorDetail(
            f'Method "{_method(exc)}" not allowed here; this URL allows {", ".join(allowed)}.',
            code="method_not_allowed",
        )
        return exc

    def _filter_errors(self, exc: exceptions.ValidationError) -> exceptions.ValidationError:
        """A query-parameter filter's `invalid_choice` (django-filter's form wording, "Select a valid choice. That
        choice is not one of the available choices.") says what was given and what is valid, like a body field:
        `"bogus" is not a valid choice. Valid choices: draft, pending.` or `Unknown warehouse "NOPE".`"""
        request = self.context.get("request")
        filterset_class = getattr(self.context.get("view"), "filterset_class", None)
        if not isinstance(exc.detail, dict) or request is None or filterset_class is None:
            return exc
        params = request.query_params
        filters = getattr(filterset_class, "base_filters", {})
        for name, entries in exc.detail.items():
            filter_ = filters.get(name)
            if filter_ is None or name not in params or not isinstance(entries, list):
                continue
            for index, entry in enumerate(entries):
                if getattr(entry, "code", None) != "invalid_choice" or not _is_form_choice_error(str(entry)):
                    continue  # not django-filter's (a body field's, a service's): already worded
                detail = _filter_choice_detail(filter_, params.getlist(name))
                if detail:
                    entries[index] = exceptions.ErrorDetail(detail, code="invalid_choice")
        return exc


def _is_form_choice_error(text: str) -> bool:
    """Whether `text` is a Django form (Model)ChoiceField's `invalid_choice`: "Select a valid choice. …"."""
    prefix = str(forms.ChoiceField.default_error_messages["invalid_choice"]).partition("%(value)s")[0]
    return bool(prefix) and text.startswith(prefix)


def _method(exc: exceptions.MethodNotAllowed) -> str:
    # DRF keeps no attribute for it: read it back from the default detail, `Method "PUT" not allowed.`
    text = str(exc.detail)
    return text.split('"')[1] if text.count('"') == 2 else ""


def _anonymous_over_limit(context: dict) -> exceptions.Throttled | None:
    """A request no one could be signed in for counts against its address's anonymous limit, so refused requests
    (guessed tokens included) are limited like any anonymous traffic: over it, 429 instead of 401. DRF itself
    checks throttles only after authentication and permissions, which would let 401s through unlimited."""
    request, view = context.get("request"), context.get("view")
    if request is None or not getattr(view, "throttle_classes", None):
        return None
    throttle = AnonThrottle()
    if throttle.allow_request(request, view):
        return None
    return exceptions.Throttled(throttle.wait())


def _throttled(exc: exceptions.Throttled) -> exceptions.Throttled:
    """`Request was throttled. Expected available in 60 seconds.` -> `Too many requests; try again in 60 seconds.`"""
    if not str(exc.detail).startswith(str(exceptions.Throttled.default_detail)):
        return exc  # a throttle that said something of its own
    wait = exc.wait
    if wait is None:
        text = "Too many requests; try again later."
    else:
        seconds = max(int(wait), 1)  # DRF rounded it up to whole seconds (the Retry-After header)
        text = f"Too many requests; try again in {seconds} second{'s' if seconds != 1 else ''}."
    exc.detail = exceptions.ErrorDetail(text, code=exc.default_code)
    return exc


def _filter_choice_detail(filter_, given: list[str]) -> str | None:
    """The detail of a filter's `invalid_choice`, or None to keep django-filter's."""
    if isinstance(filter_, OrderingFilter):
        return None  # salesproject.ordering words its own
    if isinstance(filter_, ModelChoiceFilter | ModelMultipleChoiceFilter):
        queryset = filter_.extra.get("queryset")
        if queryset is None or callable(queryset):
            return None
        values = [value for value in _split(filter_, given) if value]
        if not values:
            return None
        field = filter_.extra.get("to_field_name") or "pk"
        unknown = values[0]
        if len(values) > 1 and field != "pk":  # name the first value that matches no row
            known = {str(key) for key in queryset.filter(**{f"{field}__in": values}).values_list(field, flat=True)}
            unknown = next((value for value in values if value not in known), unknown)
        return unknown_reference(str(queryset.model._meta.verbose_name), unknown, quote=field != "pk")
    if isinstance(filter_, ChoiceFilter | MultipleChoiceFilter):
        choices = filter_.extra.get("choices")
        if callable(choices):
            choices = choices()
        valid = [str(key) for key, _label in _flat(choices or ())]
        unknown = next((value for value in _split(filter_, given) if value not in valid), None)
        if unknown is None or not valid:
            return None
        return invalid_choice(unknown, valid)
    return None


def _split(filter_, given: list[str]) -> list[str]:
    # A multiple-choice filter takes the parameter repeated; a single one reads its last value (QueryDict's get).
    return given if isinstance(filter_, MultipleChoiceFilter | ModelMultipleChoiceFilter) else given[-1:]


def _flat(choices: Iterable) -> list[tuple]:
    """Choices with their optgroups flattened."""
    flat = []
    for key, label in choices:
        if isinstance(label, list | tuple):
            flat.extend(label)
        else:
            flat.append((key, label))
    return flat


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
        request_id = getattr(self.context.get("request"), "request_id", None)  # RequestIdMiddleware's
        if request_id:
            body["request_id"] = request_id
        return body


def _spread_extra(entry: dict[str, Any]) -> dict[str, Any]:
    """`{code, detail, attr, extra: {k: v}}` -> `{code, detail, attr, k: v}`; other entries unchanged."""
    if "extra" not in entry:
        return entry
    extra = entry.pop("extra")
    return {**entry, **extra}
