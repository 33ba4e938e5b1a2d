"""Requests refused before any view runs: bodies that are too large, NUL characters in the query or headers.

`BodySizeMiddleware` sits near the top of `MIDDLEWARE`. It reads the request's
`Content-Length` and answers 413 when it is above the route's limit, before
a byte of the body is read: `API_MAX_BODY_BYTES` (default 1 MiB) on every
route, API or admin; the routes of `settings.API_LARGE_BODY_ROUTES` (the invoice upload)
allow more. Django never reads past `Content-Length` (a body without one, chunked,
reads as empty), so this bounds what any request costs in memory and time.
Under /api/ the answer is the API's error body, `request_too_large`; elsewhere
plain text. `DATA_UPLOAD_MAX_MEMORY_SIZE` is set at least as large as the
largest route limit, so Django's own check (`RequestDataTooBig`) can only fire
behind this one; where it still does, it is also a 413 (here for Django views,
in the API's exception handler for DRF's).

A path under /api/ with a non-ASCII character is a 404 (ids are ASCII digits; `٤`
would read as 4). A NUL character (`%00`) in a query parameter or a header is refused with a 400
on every route: PostgreSQL cannot compare or store text holding one, so it
would otherwise reach the database as an error (a filter by code, the admin's
search, an `Idempotency-Key`).
"""

import re
import uuid

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.urls import Resolver404, resolve

from salesproject.api.http import invalid_input, is_api, page_not_found, request_too_large

NUL_CODE = "null_characters_not_allowed"


def content_length(request) -> int:
    """The declared body size; absent or malformed counts as 0, as Django then reads no body at all."""
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def body_limit(request) -> int:
    """The largest body this request's route accepts, in bytes."""
    limit = settings.API_MAX_BODY_BYTES
    if request.method == "POST":
        try:
            view_name = resolve(request.path_info).view_name
        except Resolver404:
            return limit
        if view_name in settings.API_LARGE_BODY_ROUTES:
            limit = max(limit, settings.API_LARGE_BODY_ROUTES[view_name])
    return limit


def too_large_detail(limit: int) -> str:
    return f"The request body is larger than the {limit} bytes ({limit / 1_048_576:.1f} MiB) this endpoint accepts."


class BodySizeMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        length = content_length(request)
        if length > settings.API_MAX_BODY_BYTES:  # only then is the route worth resolving
            limit = body_limit(request)
            if length > limit:
                return request_too_large(request, too_large_detail(limit))
        if is_api(request) and not request.path_info.isascii():
            # Every API path is ASCII and names rows by integer id; Python reads "٤" (Arabic-Indic 4) as 4,
            # so `/api/v1/customers/٤/` would otherwise be customer 4.
            return page_not_found(request)
        refusal = refuse_nul(request)
        if refusal is not None:
            return refusal
        return self.get_response(request)

    def process_exception(self, request, exception):
        """A Django view that read a body past DATA_UPLOAD_MAX_MEMORY_SIZE: 413, not Django's 400."""
        if isinstance(exception, RequestDataTooBig):
            return request_too_large(request, too_large_detail(settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
        return None


def refuse_nul(request):
    """400 when a query parameter (name or value) or a header holds a NUL character."""
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query:
        names = [name for name, values in request.GET.lists() if "\x00" in name or any("\x00" in v for v in values)]
        attr = names[0].replace("\x00", "\\x00") if names else None
        return invalid_input(request, NUL_CODE, "Null characters are not allowed in query parameters.", attr)
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            header = key.removeprefix("HTTP_").replace("_", "-").title()
            return invalid_input(request, NUL_CODE, f"Null characters are not allowed in the {header} header.", None)
    return None


REQUEST_ID_HEADER = "X-Request-ID"
# What a client may send as its own request id: anything else (too long, odd characters) is replaced, so the
# id can go into logs and headers as it is.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestIdMiddleware:
    """Every answer carries `X-Request-ID`: the client's own when it sent a usable one, else a new UUID.

    The id is kept on the request (`request.request_id`) for whatever logs or reports about it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        return response
