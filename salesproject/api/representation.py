"""Field tables: one declaration per resource, from which every way of showing it is derived.

A `Table` lists a resource's output fields in order; each `Field` says its name,
where its value comes from (`source`: a model attribute, a related path like
`seller__username`, or a model property with a `compute` of the row for the fast
renderer), its `kind`, whether it may be null, its help text, whether only staff
may see it, and its CSV column name(s). From a table come:

- `TableSerializer` subclasses: the DRF serializer (so the OpenAPI schema). Fields
  backed by a model field of the same name are built by ModelSerializer (so
  lengths, enums and help texts read as before); the rest from their kind.
- `Table.columns` / `Table.row_renderer`: the fast renderer. A `values()` row (or
  a loaded instance turned into the same row by `Table.instance_reader`) becomes
  the serializer's JSON through a function generated once from the table: a
  plain dictionary display, as fast as one written out by hand (the list renders
  tens of thousands of fields per page; see `sales.api.list_rows`).
- `Table.csv_getters`: the CSV values of the fields that carry a `csv` name.

A staff-only field is null for everybody else, in the serializer and in the
renderer alike (and nullable in the schema). Derived things are cached per
`Table.fields` value, so a test may swap the fields and see every path change.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

from salesproject.money import UNITS, minor_units, to_decimal

INT = "int"
STR = "str"
BOOL = "bool"
MONEY = "money"  # in the row's currency (`Table.currency`)
RATE = "rate"  # a percent or rate: two decimals whatever the currency
DATETIME = "datetime"
CHOICE = "choice"
OBJECT = "object"  # a related row, shown as the nested table `of` ({...} or null)
LIST = "list"  # `of` STR (a JSON list of strings) or a nested table (given by the caller: `context=True`)
JSON_OBJECT = "json_object"  # a JSON object column with the keys of the serializer `of` (those present)
KINDS = frozenset({INT, STR, BOOL, MONEY, RATE, DATETIME, CHOICE, OBJECT, LIST, JSON_OBJECT})


@dataclass(frozen=True, eq=False)
class Field:
    name: str
    kind: str
    source: str = ""  # default: `name`
    nullable: bool = False
    help: str = ""
    of: Any = None  # OBJECT and LIST: a nested `Table` (LIST may say STR); JSON_OBJECT: a serializer class
    compute: Callable[[dict], Any] | None = None  # the fast renderer's value from the row (`source` is a property)
    reads: tuple[str, ...] = ()  # row keys a `compute` needs that no other field brings (plain columns)
    context: bool = False  # given by the caller of the renderer (`ctx[name]`), not read from the row
    detail_only: bool = False  # in the detail (`detail=True`) only
    staff_only: bool = False  # null unless the reader is staff
    api: bool = True  # False: a CSV column only
    csv: str | dict[str, str] | None = None  # the CSV column; for an OBJECT, {nested field name: column}
    drf: Callable[[], serializers.Field] | None = None  # the serializer field, where the kind cannot say it all

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")
        if not self.source:
            object.__setattr__(self, "source", self.name)


class Table:
    """The ordered output fields of one resource; `name` is its schema component (`<name>Serializer`)."""

    def __init__(self, name: str, fields, *, model=None, doc: str = "", currency: str = ""):
        self.name, self.fields, self.model, self.doc = name, tuple(fields), model, doc
        # Where the row's currency is (`currency`, `sale__currency`): its MONEY fields show that currency's
        # decimals. Without one (a tax rate's percent), two.
        self.currency = currency
        self._cache: dict = {}
        self._cache_of: tuple | None = None
        self._serializer: type | None = None

    def __repr__(self) -> str:
        return f"Table({self.name!r})"

    def _cached(self, key, build):
        if self._cache_of is not self.fields:  # the fields were swapped (a test): derive everything anew
            self._cache, self._cache_of = {}, self.fields
        try:
            return self._cache[key]
        except KeyError:
            self._cache[key] = built = build()
            return built

    def api_fields(self, *, detail: bool = True) -> list[Field]:
        return [f for f in self.fields if f.api and (detail or not f.detail_only)]

    # --- the fast renderer ------------------------------------------------------------

    def columns(self) -> tuple[str, ...]:
        """The `values()` keys the renderer reads (every field of the API, detail included)."""
        currency = [self.currency] if self.currency else []
        return self._cached("columns", lambda: tuple(dict.fromkeys([*_columns(self.api_fields(), ""), *currency])))

    def row_renderer(self, *, detail: bool = True) -> Callable[..., dict]:
        """`render(row, ctx, zone, staff)`: the serializer's JSON of one row of `columns()`."""
        return self._cached(("render", detail), lambda: _compile_renderer(self, detail))

    def instance_reader(self) -> Callable[[Any], dict]:
        """`read(instance)`: a loaded instance as a row of `columns()` (choices as plain strings)."""
        return self._cached("read", lambda: _compile_reader(self))

    # --- the serializer ---------------------------------------------------------------

    def serializer(self) -> type:
        """`<name>Serializer`, made once (so one schema component): its fields are read from the table
        whenever it is instantiated. A variant (the sale list without payments) or a class with its own
        docstring may subclass `TableSerializer` itself, naming its `table`."""
        if self._serializer is None:
            base = TableSerializer if self.model is not None else TablePlainSerializer
            attrs = {"table": self, "__module__": __name__, "__doc__": self.doc or None}
            if self.model is not None:
                attrs["Meta"] = type("Meta", (), {"model": self.model})
            self._serializer = type(f"{self.name}Serializer", (base,), attrs)
        return self._serializer

    def declared_fields(self, *, detail: bool) -> dict[str, serializers.Field]:
        """Fresh serializer fields for everything ModelSerializer cannot build from the model itself."""
        declared = {}
        for f in self.api_fields(detail=detail):
            built = _drf_field(self, f)
            if built is not None:
                declared[f.name] = built
        return declared

    # --- CSV --------------------------------------------------------------------------

    def csv_getters(self) -> dict[str, tuple[str, Callable[[Any], Any]]]:
        """{column: (kind, read(instance))} for every field with a CSV name, in table order."""
        return self._cached("csv", lambda: dict(_csv_getters(self)))


# --- renderer code generation -----------------------------------------------------------------


def _child_column(prefix: str, source: str) -> str:
    """A nested field's row key: `customer_id` for the related row's id (no join), else `customer__name`."""
    if not prefix:
        return source
    return f"{prefix}_id" if source == "id" else f"{prefix}__{source}"


def _columns(fields, prefix: str):
    for f in fields:
        yield from (_child_column(prefix, column) for column in f.reads)
        if f.context or f.compute is not None:
            continue
        if f.kind == OBJECT:
            parent = _child_column(prefix, f.source)
            yield f"{parent}_id"
            yield from _columns(f.of.api_fields(), parent)
        else:
            yield _child_column(prefix, f.source)


class _Code:
    """Names bound into the generated function's globals."""

    def __init__(self):
        self.namespace = {
            "_money": money,
            "_when": when,
            "_strings": strings,
            "_json_object": json_object,
            "_choice": choice,
        }

    def bind(self, value, hint: str) -> str:
        name = f"_{hint}{len(self.namespace)}"
        self.namespace[name] = value
        return name


def _value(f: Field, prefix: str, code: _Code) -> str:
    """The expression of `f`'s value in the generated renderer (`cur`: the row's currency, or None)."""
    if f.context:
        expr = f"ctx[{f.name!r}]"
    elif f.kind == OBJECT:
        parent = _child_column(prefix, f.source)
        # A nested object's money is in its own currency, if it names one; else two decimals (a tax rate).
        inner = ", ".join(f"{c.name!r}: {_value(c, parent, code)}" for c in f.of.api_fields())
        expr = f"{{{inner}}}"
        if any(c.kind == MONEY for c in f.of.api_fields()):
            expr = f"(lambda cur: {expr})({_currency_of(f.of, parent)})"
        if f.nullable:
            expr = f"(None if row[{parent + '_id'!r}] is None else {expr})"
    else:
        raw = (
            f"{code.bind(f.compute, 'compute')}(row)"
            if f.compute is not None
            else f"row[{_child_column(prefix, f.source)!r}]"
        )
        if f.kind in (MONEY, RATE):
            cur = "cur" if f.kind == MONEY else "None"
            expr = f"(None if {raw} is None else _money({raw}, {cur}))" if f.nullable else f"_money({raw}, {cur})"
        elif f.kind == DATETIME:
            expr = f"_when({raw}, zone)"
        elif f.kind == LIST and f.of == STR:
            expr = f"_strings({raw})"
        elif f.kind == JSON_OBJECT:
            keys = tuple(f.of().fields)
            expr = f"_json_object({raw}, {code.bind(keys, 'keys')})"
        elif f.kind == LIST:
            raise ValueError(f"{f.name}: a list of objects is given by the caller (context=True)")
        else:
            expr = raw
    return f"({expr} if staff else None)" if f.staff_only else expr


def _currency_of(table: Table, prefix: str) -> str:
    return f"row[{_child_column(prefix, table.currency)!r}]" if table.currency else "None"


def _compile_renderer(table: Table, detail: bool) -> Callable[..., dict]:
    code = _Code()
    body = ",\n        ".join(f"{f.name!r}: {_value(f, '', code)}" for f in table.api_fields(detail=detail))
    source = (
        f"def render(row, ctx, zone, staff):\n    cur = {_currency_of(table, '')}\n"
        f"    return {{\n        {body},\n    }}\n"
    )
    return _define(source, code, "render", table)


def _read_path(path: str, kind: str, relations: dict[str, str]) -> str:
    """The expression reading a row key from `obj`; each related row is read once into a local (`relations`)."""
    *steps, attr = path.split("__")
    holder = "obj"
    for depth in range(len(steps)):
        prefix = "__".join(steps[: depth + 1])
        if prefix not in relations:
            local = f"_r{len(relations)}"
            read = f"{holder}.{steps[depth]}"
            if depth:
                read = f"None if {holder} is None else {read}"
            relations[prefix] = (local, read)
        holder = relations[prefix][0]
    expr = f"{holder}.{attr}" if not steps else f"(None if {holder} is None else {holder}.{attr})"
    return f"_choice({expr})" if kind == CHOICE else expr


def _reader_items(fields, prefix: str):
    for f in fields:
        yield from ((_child_column(prefix, column), STR) for column in f.reads)
        if f.context or f.compute is not None:
            continue
        if f.kind == OBJECT:
            parent = _child_column(prefix, f.source)
            yield f"{parent}_id", INT
            yield from _reader_items(f.of.api_fields(), parent)
        else:
            yield _child_column(prefix, f.source), f.kind


def _compile_reader(table: Table) -> Callable[[Any], dict]:
    items = dict(_reader_items(table.api_fields(), ""))
    if table.currency:
        items.setdefault(table.currency, STR)
    relations: dict[str, tuple[str, str]] = {}
    body = ",\n        ".join(f"{column!r}: {_read_path(column, kind, relations)}" for column, kind in items.items())
    reads = "".join(f"    {local} = {read}\n" for local, read in relations.values())
    source = f"def read(obj):\n{reads}    return {{\n        {body},\n    }}\n"
    return _define(source, _Code(), "read", table)


def _define(source: str, code: _Code, name: str, table: Table):
    filename = f"<{table.name} {name}>"
    exec(compile(source, filename, "exec"), code.namespace)  # code generated from the table, nothing else
    function = code.namespace[name]
    function.__source__ = source
    return function


# --- CSV ------------------------------------------------------------------------------------


def _walk(path: str) -> Callable[[Any], Any]:
    """Read `a__b` from an instance as `obj.a.b` (None when a related row on the way is None)."""
    steps = path.split("__")

    def read(obj):
        for step in steps:
            if obj is None:
                return None
            obj = getattr(obj, step)
        return obj

    return read


def _csv_getters(table: Table):
    for f in table.fields:
        if isinstance(f.csv, str):
            yield f.csv, (f.kind, _walk(f.source))
        elif f.csv:
            nested = {c.name: c for c in f.of.fields}
            for name, column in f.csv.items():
                child = nested[name]
                yield column, (child.kind, _walk(f"{f.source}__{child.source}"))


# --- value conversions (the renderer's; each says exactly what DRF says) -------------------------

_drf_time = serializers.DateTimeField().to_representation


def money(value, currency: str | None = None) -> str:
    """A money value as its currency writes it: `"15.00"` USD, `"1500"` JPY, `"1.500"` KWD (two decimals
    without a currency), rounded half-up. What `CurrencyMoneyField` answers, for the fast renderers."""
    places = minor_units(currency)
    if type(value) is not Decimal:
        value = to_decimal(value)
    if value.as_tuple().exponent != -places:
        value = value.quantize(UNITS[places], rounding=ROUND_HALF_UP)
    return f"{value:f}"


class CurrencyMoneyField(serializers.DecimalField):
    """A read-only money field written in the decimals of the currency found at `currency` on the instance."""

    def __init__(self, *, currency: str, **kwargs):
        self.currency_path = currency
        kwargs.setdefault("read_only", True)
        super().__init__(max_digits=15, decimal_places=3, **kwargs)

    def get_attribute(self, instance):
        return super().get_attribute(instance), _walk(self.currency_path)(instance) if self.currency_path else None

    def to_representation(self, value):
        amount, currency = value
        return money(amount, currency)


def time(value, zone=None) -> str:
    """DRF's ISO 8601 string for an aware date-time in the current time zone ("Z" for UTC).

    Thousands of these per page: callers may look the current time zone up once and pass it
    (DateTimeField looks it up for every value); anything unusual goes to DRF itself.
    """
    if type(value) is datetime and value.tzinfo is not None:
        text = value.astimezone(zone or timezone.get_current_timezone()).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return _drf_time(value)


def when(value, zone=None):
    return time(value, zone) if value else None


def strings(value):
    return None if value is None else [None if item is None else str(item) for item in value]


def json_object(value, keys):
    """What a nested serializer of string fields says about a JSON object: the known keys present, as strings."""
    if value is None:
        return None
    return {name: (None if value[name] is None else str(value[name])) for name in keys if name in value}


def choice(value):
    """What a ChoiceField answers for a stored choice: the plain string (an enum member set in memory included)."""
    if value.__class__ is str or not isinstance(value, str):
        return value
    return str(value)


# --- serializers ------------------------------------------------------------------------------


def _model_field(table: Table, name: str):
    if table.model is None:
        return None
    try:
        return table.model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _drf_field(table: Table, f: Field) -> serializers.Field | None:
    """The declared serializer field of `f`, or None where ModelSerializer builds it from the model."""
    null = {"allow_null": True} if f.nullable or f.staff_only else {}
    source = {} if f.source == f.name or f.kind in (OBJECT, LIST, JSON_OBJECT) else {"source": f.source}
    helps = {"help_text": f.help} if f.help else {}
    if f.drf is not None:
        return f.drf()
    if f.kind == OBJECT:
        src = {} if f.source == f.name else {"source": f.source}
        return f.of.serializer()(read_only=True, **null, **src)
    if f.kind == LIST:
        if f.of == STR:
            return serializers.ListField(child=serializers.CharField(), read_only=True, **helps)
        return f.of.serializer()(many=True, read_only=True)
    if f.kind == JSON_OBJECT:
        return f.of(read_only=True)
    if f.kind == MONEY:
        return CurrencyMoneyField(currency=table.currency, **null, **source, **helps)
    if f.kind == RATE:
        return CurrencyMoneyField(currency="", **null, **source, **helps)
    model_field = _model_field(table, f.name)
    if model_field is not None and f.source in (f.name, model_field.attname):
        return None
    if "__" in f.source:
        relation, slug = f.source.split("__", 1)
        src = {} if relation == f.name else {"source": relation}
        return serializers.SlugRelatedField(slug_field=slug, read_only=True, **null, **src, **helps)
    kinds = {
        INT: serializers.IntegerField,
        STR: serializers.CharField,
        BOOL: serializers.BooleanField,
        DATETIME: serializers.DateTimeField,
    }
    if f.kind in kinds:
        return kinds[f.kind](read_only=True, **null, **source, **helps)
    raise ValueError(f"{table.name}.{f.name}: say its serializer field (drf=...)")


def _is_staff(context) -> bool:
    request = context.get("request")
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_staff)


class _TableFields:
    # The fields of `table` (the list's fields when `detail` is False); staff-only values null for others.

    table: Table
    detail = True

    @property
    def fields(self):
        """DRF's `Serializer.fields`, built anew when the table's fields change (a serializer made at import
        time, like a view's `extend_schema(responses=...)` instance, follows the table too)."""
        cached = self.__dict__.get("_table_fields")
        if cached is None or cached[0] is not self.table.fields:
            bound = BindingDict(self)
            for key, value in self.get_fields().items():
                bound[key] = value
            cached = self.__dict__["_table_fields"] = (self.table.fields, bound)
        return cached[1]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        hidden = [f.name for f in self.table.api_fields(detail=self.detail) if f.staff_only]
        if hidden and not _is_staff(self.context):
            for name in hidden:
                data[name] = None
        return data


class TableSerializer(_TableFields, serializers.ModelSerializer):
    # No docstring: the schema shows a subclass's own (or its table's doc) only.

    def get_fields(self):
        self._declared_fields = self.table.declared_fields(detail=self.detail)
        return super().get_fields()

    def get_field_names(self, declared_fields, info):
        return [f.name for f in self.table.api_fields(detail=self.detail)]

    def get_extra_kwargs(self):
        extra = {}
        for f in self.table.api_fields(detail=self.detail):
            kwargs = {"read_only": True}
            if f.staff_only:
                kwargs["allow_null"] = True
            if f.help:
                kwargs["help_text"] = f.help
            extra[f.name] = kwargs
        return extra


class TablePlainSerializer(_TableFields, serializers.Serializer):
    # A table without a model: every field from its kind.

    def get_fields(self):
        return self.table.declared_fields(detail=self.detail)
