"""Pagination of the top-level lists: page numbers by default, an opt-in keyset cursor for deep paging.

`?page=&page_size=` (alias `limit`) is the contract's default and answers
`{"count", "next", "previous", "results"}`. A page deep in a large table costs
as much as reading every row before it (`OFFSET`), plus a `COUNT(*)` of the
whole match. `?cursor=` (empty for the first page) switches to keyset paging:
the next page starts after the last row shown (`WHERE (created_at, id) <
(…)` in the list's own order), so page 10,000 is as fast as page 1; the
answer has no `count`, and `next` / `previous` carry the cursor.
"""

import base64
import binascii
import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator as DjangoPaginator
from django.db.models import Q
from django.utils import timezone
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

CURSOR_PARAM = "cursor"
# A cursor this server writes is a few hundred characters; anything much longer was not written here.
MAX_CURSOR_LENGTH = 2000


@dataclass(frozen=True)
class _Key:
    """One column of the list's order: the model field and whether it is descending."""

    field: object
    descending: bool

    @property
    def name(self) -> str:
        return f"{'-' if self.descending else ''}{self.field.name}"


def _invalid(message: str = "Invalid cursor.") -> ValidationError:
    return ValidationError({CURSOR_PARAM: [message]}, code="invalid")


def _order_keys(queryset) -> list[_Key]:
    """The queryset's order as model fields, made total by ending with the primary key."""
    query = queryset.query
    names = list(query.order_by) or (list(queryset.model._meta.ordering) if query.default_ordering else [])
    opts = queryset.model._meta
    keys: list[_Key] = []
    for name in names:
        if not isinstance(name, str) or "__" in name or name.lstrip("-") == "?":
            raise _invalid("Cursor paging is not available for this ordering.")
        bare = name.lstrip("-")
        try:
            field = opts.pk if bare == "pk" else opts.get_field(bare)
        except FieldDoesNotExist:
            field = None
        if field is None or field.is_relation:  # a relation orders by the other model's ordering
            raise _invalid("Cursor paging is not available for this ordering.")
        keys.append(_Key(field=field, descending=name.startswith("-")))
    if not any(key.field == opts.pk or key.field.unique for key in keys):
        keys.append(_Key(field=opts.pk, descending=keys[0].descending if keys else False))
    return keys


def _total_order(queryset):
    """The queryset ordered with the primary key as last tie-break, so rows with equal keys
    (two sales of the same total) cannot swap places between two page requests."""
    try:
        keys = _order_keys(queryset)
    except ValidationError:
        return queryset  # an ordering on a relation or an expression: left as the view made it
    return queryset.order_by(*(key.name for key in keys))


def _after(keys: list[_Key], values: list, *, backwards: bool) -> Q:
    """Rows strictly after `values` in the order of `keys` (before them, going backwards).

    Written as `k1 ≥ v1 AND (k1 > v1 OR (k1 = v1 AND k2 > v2) …)`: the leading
    range lets PostgreSQL walk the index of the first column from the cursor on.
    """

    def op(key: _Key, strict: bool) -> str:
        later = key.descending != backwards  # "after" means smaller on a descending column
        return ("lt" if later else "gt") + ("" if strict else "e")

    condition = Q()
    equal = Q()
    for key, value in zip(keys, values, strict=True):
        condition |= equal & Q(**{f"{key.field.attname}__{op(key, True)}": value})
        equal &= Q(**{key.field.attname: value})
    first = keys[0]
    return Q(**{f"{first.field.attname}__{op(first, False)}": values[0]}) & condition


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=&page_size=` (alias `limit`); page sizes above the maximum are capped; `?cursor=` for keyset paging."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    cursor_query_param = CURSOR_PARAM

    _cursor_mode = False

    def get_page_size(self, request):
        for param in (self.page_size_query_param, "limit"):
            raw = request.query_params.get(param)
            if raw is None:
                continue
            try:
                size = int(raw)
            except ValueError:
                return self.page_size
            return min(max(size, 1), self.max_page_size)
        return self.page_size

    # --- keyset mode -------------------------------------------------------------------

    def paginate_queryset(self, queryset, request, view=None, *, rows=None, counter=None):
        """One page of `queryset`, in the view's order (keyset order with `?cursor=`).

        A view that serves its pages its own way calls this itself with `rows(queryset)`, turning a
        page's queryset into the rows served (`values()` rows, say), and `counter(queryset)`, counting
        the matches for the page-number `count`; either left out is the queryset as it is.
        """
        if self.cursor_query_param not in request.query_params:
            if rows is not None or counter is not None:
                self.django_paginator_class = functools.partial(_RowsPaginator, rows=rows, counter=counter)
            return super().paginate_queryset(_total_order(queryset), request, view)
        self._cursor_mode = True
        self.request = request
        size = self.get_page_size(request)
        keys = _order_keys(queryset)
        token = request.query_params[self.cursor_query_param]
        backwards, start = self._decode(token, keys) if token else (False, None)

        ordering = [f"{'-' if key.descending != backwards else ''}{key.field.attname}" for key in keys]
        rows_query = queryset.order_by(*ordering)
        if rows is not None:
            rows_query = rows(rows_query)
        if start is not None:
            rows_query = rows_query.filter(_after(keys, start, backwards=backwards))
        page = list(rows_query[: size + 1])
        more = len(page) > size
        page = page[:size]
        if backwards:
            page.reverse()
        values = [[_value(row, key.field.attname) for key in keys] for row in page]

        self._next = self._previous = None
        if page:
            if more or backwards:
                self._next = self._link(keys, values[-1], backwards=False)
            if (more and backwards) or (start is not None and not backwards):
                self._previous = self._link(keys, values[0], backwards=True)
        return page

    def get_paginated_response(self, data):
        if not self._cursor_mode:
            return super().get_paginated_response(data)
        return Response({"next": self._next, "previous": self._previous, "results": data})

    def _link(self, keys: list[_Key], values: list, *, backwards: bool) -> str:
        payload = {
            "o": [key.name for key in keys],
            "v": [key.field.value_to_string(_Row(key.field, value)) for key, value in zip(keys, values, strict=True)],
            "b": backwards,
        }
        token = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, token)

    def _decode(self, token: str, keys: list[_Key]) -> tuple[bool, list]:
        """The direction and the start values of a cursor, each checked as its column would check it.

        A cursor comes from the client, so it is input like any other: anything but what `_link`
        writes (a value out of its column's range such as `1E+999999`, a date-time off the calendar,
        JSON nested to exhaustion) is a 400 `invalid`, never handed to the database.
        """
        if len(token) > MAX_CURSOR_LENGTH:
            raise _invalid()
        try:
            payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            names, raw, backwards = payload["o"], payload["v"], payload["b"]
        except (binascii.Error, ValueError, TypeError, KeyError, RecursionError):
            raise _invalid() from None
        if names != [key.name for key in keys]:
            raise _invalid("This cursor belongs to another ordering; start again with an empty cursor.")
        if not isinstance(backwards, bool) or not isinstance(raw, list) or len(raw) != len(keys):
            raise _invalid()
        if not all(isinstance(value, str) for value in raw):  # `_link` writes every value as a string
            raise _invalid()
        try:
            values = [_cursor_value(key.field, value) for key, value in zip(keys, raw, strict=True)]
        except (DjangoValidationError, TypeError, ValueError, ArithmeticError):
            raise _invalid() from None
        if any(value is None for value in values):
            raise _invalid()
        return backwards, values

    # --- schema ---------------------------------------------------------------------------

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["results"]
        response["properties"]["count"]["description"] = (
            "Number of matching rows (page-number paging only; absent when paging with `cursor`)."
        )
        return response

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        parameters += [
            {
                "name": "limit",
                "required": False,
                "in": "query",
                "description": "Alias of page_size.",
                "schema": {"type": "integer"},
            },
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": (
                    "Keyset paging for deep pages: send it empty for the first page, then follow `next` / "
                    "`previous`, which carry the cursor. The answer then has no `count`, and `page` is ignored."
                ),
                "schema": {"type": "string"},
            },
        ]
        return parameters


class _RowsPaginator(DjangoPaginator):
    """Serves each page as `rows(queryset)` (when given), and counts with `counter(queryset)`
    (when given; else the queryset itself, without the joins of the rows)."""

    def __init__(self, object_list, per_page, *, rows=None, counter=None, **kwargs) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.rows = rows or (lambda queryset: queryset)
        self.counter = counter

    @cached_property
    def count(self) -> int:
        return self.counter(self.object_list) if self.counter is not None else super().count

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(self.rows(self.object_list)[bottom:top], number, self)


def _cursor_value(field, text: str):
    """One value of a cursor as its model field reads it, refused (ValidationError) when the column could not
    hold it: the field's own validators (digits and places of a decimal, the range of an integer)."""
    value = field.to_python(text)
    if value is None:
        return None
    if isinstance(value, datetime):
        # In UTC: PostgreSQL refuses offsets beyond ±15:59, and one that leaves the calendar is no time.
        value = (value if timezone.is_aware(value) else timezone.make_aware(value, UTC)).astimezone(UTC)
    field.run_validators(value)
    return value


def _value(row, name: str):
    """A column of a result row: a model instance, or a dict from `values()`."""
    return row[name] if isinstance(row, dict) else getattr(row, name)


class _Row:
    """Stands in for a model instance so `Field.value_to_string` can serialise a bare value."""

    def __init__(self, field, value) -> None:
        setattr(self, field.attname, value)
