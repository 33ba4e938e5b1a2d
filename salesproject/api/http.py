"""Django-level error pages: under /api/ they answer with the API's error body, not HTML."""

from django.http import JsonResponse
from django.views import defaults


def _error(status: int, code: str, detail: str) -> JsonResponse:
    body = {"type": "client_error" if status < 500 else "server_error",
            "errors": [{"code": code, "detail": detail, "attr": None}]}
    return JsonResponse(body, status=status)


def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return _error(404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception)


def bad_request(request, exception=None):
    if request.path.startswith("/api/"):
        return _error(400, "bad_request", "Bad request.")
    return defaults.bad_request(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return _error(500, "error", "Server Error (500)")
    return defaults.server_error(request)
