"""What the five dialects share: auth, body decoding, ids and the error path (compat.md, "Rules for all five").

A dialect view subclasses `CompatView`, sets `dialect` and implements `error_body(status, code, message)`.
Every exception a view raises (a service's `DomainError`, DRF's own, a bad body) goes through the product's
one exception handler first, so the status and code are the same as `/api/v1/`'s; only the envelope is the
dialect's. Nothing here knows a rule of the product.
"""

import json
from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from drf_spectacular.plumbing import get_doc
from rest_framework import exceptions, parsers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from salesproject.api.authentication import BearerTokenAuthentication
from salesproject.api.parsers import JSONParser
from salesproject.api.renderers import JSONRenderer
from salesproject.api.schema import AutoSchema


class FormOrJSONParser(parsers.FormParser):
    """`application/x-www-form-urlencoded`, or a JSON document sent with that type (curl's `-d '{…}'` without
    `-H "Content-Type: application/json"`). Form bodies come back as a plain dict, PHP-style keys unflattened
    (`items[0][product_id]=1` → `{"items": [{"product_id": "1"}]}`)."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        text = raw.decode((parser_context or {}).get("encoding") or "utf-8", errors="strict") if raw else ""
        if text.lstrip()[:1] in ("{", "["):
            try:
                return json.loads(text)
            except ValueError as exc:
                raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        return unflatten(QueryDict(text, encoding="utf-8"))


class MultiPartParser(parsers.MultiPartParser):
    """`multipart/form-data` (`curl -F`, `FormData`): fields unflattened like a form; files under their names."""

    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        data = unflatten(result.data)
        for name in result.files:
            data[name] = result.files[name]
        return data


def unflatten(query: QueryDict | Mapping) -> dict[str, Any]:
    """A form's fields as a JSON-like document: `a[b][0][c]=1` nests, `a[]=1&a[]=2` is a list, a repeated plain
    key keeps its last value."""
    out: dict[str, Any] = {}
    items = query.lists() if isinstance(query, QueryDict) else ((k, [v]) for k, v in query.items())
    for key, values in items:
        path = _key_path(key)
        if path[-1] == "":  # a[]=1&a[]=2
            for value in values:
                _put(out, [*path[:-1], None], value)
        else:
            _put(out, path, values[-1])
    return _lists(out)


def _key_path(key: str) -> list[str]:
    if "[" not in key or not key.endswith("]"):
        return [key]
    head, _, rest = key.partition("[")
    return [head, *rest[:-1].split("][")]


def _put(node: dict, path: list, value: Any) -> None:
    for step in path[:-1]:
        child = node.get(step)
        if not isinstance(child, dict):
            child = node[step] = {}
        node = child
    last = path[-1]
    if last is None:
        node.setdefault("__list__", []).append(value)
    else:
        node[last] = value


def _lists(node: Any) -> Any:
    """Dicts whose keys are all digits (or the `[]` marker) become lists, in index order."""
    if not isinstance(node, dict):
        return node
    if set(node) == {"__list__"}:
        return [_lists(v) for v in node["__list__"]]
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(isinstance(k, str) and k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def json_value(value: Any) -> Any:
    """A field documented as a "JSON encoded string": the string decoded, or the JSON value as sent."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            raise exceptions.ParseError("The field is not valid JSON.") from None
    return value


def parse_id(value: Any, *, prefix: str = "") -> int | None:
    """One of our integer ids as a dialect writes it: `12`, `"12"` or `"<prefix>12"`; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if prefix and text.startswith(prefix):
        text = text[len(prefix):]
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    number = int(text)
    return number or None


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """JSON whatever `Accept` says, as the source systems answer: never the browsable API's HTML, never a 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class CompatAutoSchema(AutoSchema):
    """The tag `compat-<dialect>`, and none of the product's error bodies: a dialect answers errors in its own
    envelope, so each view declares its error statuses itself (`extend_schema(responses=…)`)."""

    def get_tags(self) -> list[str]:
        return [f"compat-{self.view.dialect}"]

    def get_description(self) -> str:
        return get_doc(getattr(self.view, self.method.lower(), None))  # the handler's docstring, not CompatView's

    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        return False

    def _get_error_response_examples(self) -> list:
        return []  # drf-standardized-errors' examples show the product's envelope, not the dialect's


class CompatView(APIView):
    """Base of every dialect view: Bearer tokens, JSON / form / multipart bodies, errors in the dialect's
    envelope. Subclasses set `dialect` (the schema tag is `compat-<dialect>`) and `error_body`."""

    dialect = ""
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser, FormOrJSONParser, MultiPartParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation
    schema = CompatAutoSchema()

    # The product's field names in an error's path → the dialect's, so a message names what the client sent.
    attr_names: Mapping[str, str] = {}

    def error_body(self, status: int, code: str, message: str) -> Any:  # pragma: no cover - each dialect's own
        raise NotImplementedError

    def failure(self, status: int, message: str) -> tuple[int, str]:
        """The status and message a dialect answers for the product's; the same unless its document says else."""
        return status, message

    def handle_exception(self, exc):
        """The product's handler decides status and code (so a short stock is the same 409 everywhere); the
        dialect only re-wraps the first error. Anything that handler does not know still propagates."""
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            exc.auth_header = self.get_authenticate_header(self.request)  # `WWW-Authenticate: Bearer`, as DRF's own
        handler = api_settings.EXCEPTION_HANDLER
        context = self.get_exception_handler_context()
        response = handler(exc, context)
        if response is None:
            raise exc
        code, message = first_error(response.data, names=self.attr_names)
        status, message = self.failure(response.status_code, message)
        wrapped = Response(self.error_body(status, code, message), status=status)
        wrapped.error_code = code  # the product's code, which the envelope may not show (idempotency reads it)
        for header in ("WWW-Authenticate", "Retry-After", "Allow"):
            if header in response:
                wrapped[header] = response[header]
        return wrapped


def first_error(body: Any, *, names: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(code, message) of the product's standard error body; the message names the field when there is one, each
    part of its path renamed through `names`."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        return "error", "The request failed."
    first = errors[0]
    detail = str(first.get("detail") or "")
    attr = ".".join((names or {}).get(part, part) for part in str(first.get("attr") or "").split("."))
    attr = attr.removesuffix(f".{api_settings.NON_FIELD_ERRORS_KEY}")  # `items.non_field_errors` → `items`
    message = f"{attr}: {detail}" if attr and attr != api_settings.NON_FIELD_ERRORS_KEY else detail
    return str(first.get("code") or "error"), message
