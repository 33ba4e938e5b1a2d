"""Django-level error pages: under /api/ they answer with the API's error body, not HTML."""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults

REQUEST_TOO_LARGE = "request_too_large"
TOO_LARGE_DETAIL = "The request body is too large."
TOO_MANY_FIELDS_DETAIL = "The request has too many parameters or fields."


def is_api(request) -> bool:
    """API clients (v1 and the seed-native dialects under /compat/) get JSON refusals, never an HTML page."""
    return request.path.startswith(("/api/", "/compat/"))


def _dialect_body(request, status: int, code: str, message: str):
    """Under /compat/, the seed dialect's own error envelope: the `error_body` of the view the path resolves to
    (duck-typed, as this layer imports no dialect); None elsewhere."""
    if not request.path.startswith("/compat/"):
        return None
    try:
        view_class = getattr(resolve(request.path_info).func, "view_class", None)
    except Resolver404:
        return None
    error_body = getattr(view_class, "error_body", None)
    return error_body(view_class(), status, code, message) if error_body is not None else None


def _error(
    request, status: int, code: str, detail: str, *, attr: str | None = None, kind: str | None = None
) -> JsonResponse:
    dialect = _dialect_body(request, status, code, f"{attr}: {detail}" if attr else detail)
    if dialect is not None:
        return JsonResponse(dialect, status=status, safe=False, json_dumps_params={"separators": (",", ":")})
    body = {
        "type": kind or ("client_error" if status < 500 else "server_error"),
        "errors": [{"code": code, "detail": detail, "attr": attr}],
    }
    if getattr(request, "request_id", None):  # RequestIdMiddleware's, as in the API's own error bodies
        body["request_id"] = request.request_id
    return JsonResponse(body, status=status, json_dumps_params={"separators": (",", ":")})  # as DRF writes it


def request_too_large(request, detail: str) -> HttpResponse:
    """413: under /api/ the API's error body (`request_too_large`), elsewhere (the admin) plain text."""
    if is_api(request):
        return _error(request, 413, REQUEST_TOO_LARGE, detail)
    return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")


def invalid_input(request, code: str, detail: str, attr: str | None) -> HttpResponse:
    """400 for input refused before any view ran: a validation error under /api/, plain text elsewhere."""
    if is_api(request):
        return _error(request, 400, code, detail, attr=attr, kind="validation_error")
    return HttpResponse(detail, status=400, content_type="text/plain; charset=utf-8")


def page_not_found(request, exception=None):
    if is_api(request):
        return _error(request, 404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception)


def bad_request(request, exception=None):
    # Django answers 400 for a SuspiciousOperation raised outside DRF's views (a form body read by the CSRF
    # check of an admin page, say); a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 there too.
    if isinstance(exception, RequestDataTooBig):
        return request_too_large(request, TOO_LARGE_DETAIL)
    if is_api(request):
        if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
            return _error(request, 400, "too_many_fields", TOO_MANY_FIELDS_DETAIL)
        return _error(request, 400, "bad_request", "Bad request.")
    return defaults.bad_request(request, exception)


def server_error(request):
    if is_api(request):
        return _error(request, 500, "error", "Server Error (500)")
    return defaults.server_error(request)
