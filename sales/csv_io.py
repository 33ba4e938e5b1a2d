"""The one CSV format of sales: one row per item, each row carrying its sale's fields and totals.

The admin export action, `manage.py export_sales` and `manage.py import_sales`
all use this module, so a file exported from one database imports into another
that has the same catalogue (skus) and reference data (channel, warehouse, tax
and carrier codes, seller usernames). Reading only parses and checks the shape
of the values; turning rows into sales is `sales.services.imports`.
"""

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sales.api.representation import ITEM, SALE
from sales.models import Sale, SaleItem
from salesproject.api.representation import MONEY, RATE
from salesproject.money import quantize

# The file's columns in order (what the import reads). Values come from the field tables
# (`sales.api.representation`: each field's `csv` name); a table field with a CSV name not
# listed here is exported after these (and is informational: the import ignores it).
SALE_COLUMNS = (
    "reference",
    "number",
    "external_id",
    "status",
    "payment_status",
    "fulfillment_status",
    "delivery_status",
    "cancellation_status",
    "sold_at",
    "created_at",
    "channel",
    "warehouse",
    "customer_email",
    "customer_name",
    "seller",
    "currency",
    "discount_type",
    "discount",
    "tax",
    "tax_rate",
    "prices_include_tax",
    "shipping_cost",
    "tax_shipping",
    "cancel_reason",
    "delivery_mode",
    "payment_mode",
    "delivery_note",
    "subtotal",
    "discount_total",
    "shipping_tax",
    "tax_total",
    "grand_total",
    "paid_total",
    "returned_total",
    "net_total",
    "balance_due",
    "cost_total",
    "profit",
    "margin",
)
ITEM_COLUMNS = (
    "item_sku",
    "item_name",
    "item_quantity",
    "item_quantity_returned",
    "item_quantity_cancelled",
    "item_quantity_fulfilled",
    "item_unit_price",
    "item_discount_type",
    "item_discount",
    "item_tax_rate",
    "item_subtotal",
    "item_discount_total",
    "item_tax_total",
    "item_total",
    "item_cost_total",
    "item_profit",
    "item_warehouse",
    "item_carrier",
    "item_tracking_code",
)
EXPORT_COLUMNS = SALE_COLUMNS + ITEM_COLUMNS

# Written for people and reports only; the import recomputes or ignores them (the statuses and fulfilled
# units follow from how the import recreates the sale, see `sales.services.imports`).
INFORMATIONAL_COLUMNS = frozenset(
    {
        "number", "payment_status", "fulfillment_status", "delivery_status", "cancellation_status", "created_at",
        "customer_name", "paid_total", "returned_total", "net_total", "balance_due", "item_name",
        "item_quantity_fulfilled",
        # Cost and profit (money.md "Cost, profit and reports"): derived, for reading only.
        "cost_total", "profit", "margin", "item_cost_total", "item_profit",
    }
)
# Read when the file has them; a file without them (exported before they existed) imports with their
# defaults: dispatch, payment mode not stated, no delivery note, no cancelled units.
OPTIONAL_COLUMNS = frozenset({"delivery_mode", "payment_mode", "delivery_note", "item_quantity_cancelled"})
# The columns an import needs: a file without one of them is refused before any row is looked at.
REQUIRED_COLUMNS = tuple(c for c in EXPORT_COLUMNS if c not in INFORMATIONAL_COLUMNS | OPTIONAL_COLUMNS)

# Sales fetched per query (and their items per prefetch query) while exporting.
EXPORT_CHUNK_SIZE = 500

_TRUE = frozenset({"true", "1", "yes", "y"})
_FALSE = frozenset({"false", "0", "no", "n", ""})
# Two decimal places at most, no sign, no thousands separator, no exponent: "1,2" or "1e3" is an error, not a guess.
_MONEY = re.compile(r"\d{1,12}(\.\d{1,2})?")
_PERCENT = re.compile(r"\d{1,3}(\.\d{1,2})?")
_INTEGER = re.compile(r"\d{1,9}")


# --- writing ---------------------------------------------------------------------------


def write_sales_csv(
    sales: QuerySet[Sale] | Iterable[Sale],
    stream: IO[str] | Any,
    *,
    progress: Callable[[Iterator[Sale]], Iterable[Sale]] | None = None,
) -> int:
    """Write the header and one row per item of every sale to `stream`; return how many sales were written.

    `stream` is anything with `.write(str)` (a file, `sys.stdout`, an
    `HttpResponse`). A queryset is read in chunks with its related rows fetched
    per chunk, so the number of queries depends on the number of chunks, never
    on the number of sales; a plain iterable of sales is prefetched in one go.
    `progress` may wrap the stream of sales (a tqdm bar in the command).
    """
    writer = csv.writer(stream, lineterminator="\r\n")
    sale_columns, item_columns = export_columns()
    writer.writerow(sale_columns + item_columns)
    count = 0
    sales_iter = _iter_for_export(sales)
    for sale in progress(sales_iter) if progress else sales_iter:
        for row in sale_rows(sale, columns=(sale_columns, item_columns)):
            writer.writerow(row)
        count += 1
    return count


def export_columns() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The sale and item columns written: the file's own, then any other the field tables name."""
    return _with_table_columns(SALE_COLUMNS, SALE), _with_table_columns(ITEM_COLUMNS, ITEM)


def _with_table_columns(columns: tuple[str, ...], table) -> tuple[str, ...]:
    return columns + tuple(name for name in table.csv_getters() if name not in columns)


def sale_rows(sale: Sale, *, columns: tuple[tuple[str, ...], tuple[str, ...]] | None = None) -> list[list[str]]:
    """The CSV rows of one sale (its items should be prefetched); a sale without items still gets one row."""
    sale_columns, item_columns = columns or export_columns()
    head = _values(sale, SALE, sale_columns)
    items = list(sale.items.all())
    if not items:
        return [head + [""] * len(item_columns)]
    return [head + _values(item, ITEM, item_columns) for item in items]


def _item_prefetch() -> Prefetch:
    return Prefetch("items", queryset=SaleItem.objects.select_related("warehouse", "carrier").order_by("id"))


_SALE_RELATED = ("channel", "warehouse", "customer", "seller", "tax")


def _iter_for_export(sales: QuerySet[Sale] | Iterable[Sale]) -> Iterator[Sale]:
    if isinstance(sales, QuerySet):
        queryset = sales.select_related(*_SALE_RELATED).prefetch_related(_item_prefetch())
        yield from queryset.iterator(chunk_size=EXPORT_CHUNK_SIZE)
        return
    sales = list(sales)
    prefetch_related_objects(sales, *_SALE_RELATED, _item_prefetch())
    yield from sales


def _values(instance, table, columns: tuple[str, ...]) -> list[str]:
    getters = table.csv_getters()
    currency = instance.sale.currency if isinstance(instance, SaleItem) else instance.currency
    values = []
    for name in columns:
        kind, read = getters[name]
        value = read(instance)
        if kind in (MONEY, RATE):
            values.append(_money(value, currency if kind == MONEY else None))
        else:
            values.append(_text(value))
    return values


def _money(value: Decimal | None, currency: str | None) -> str:
    """In the currency's decimals (`1500` JPY), as the API writes it; rates with two."""
    return "" if value is None else format(quantize(value, currency), "f")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


# --- reading ---------------------------------------------------------------------------


class CsvFormatError(Exception):
    """The file as a whole cannot be read as a sales CSV (no header, missing columns)."""


class CsvValueError(ValueError):
    """One value of one row is malformed; the message names the column."""


@dataclass
class CsvRow:
    """One data row: its line number in the file (1 is the header) and its values by column name."""

    line: int
    values: dict[str, str] = field(default_factory=dict)
    # More values than the header has columns: the row is misaligned, so none of its values can be trusted.
    too_long: bool = False

    def __getitem__(self, column: str) -> str:
        return self.values.get(column, "")

    @property
    def reference(self) -> str:
        return self["reference"]


def read_sales_csv(stream: IO[str]) -> Iterator[CsvRow]:
    """Yield the data rows of a sales CSV, checking the header first.

    Raises `CsvFormatError` at once when the header lacks a column the import
    reads. Values are stripped of surrounding blanks; blank lines are skipped.
    Line numbers are those of the file (a quoted value may span lines; a row's
    number is the line it starts on).
    """
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise CsvFormatError("The file is empty: expected a header row.") from None
    except csv.Error as exc:
        raise CsvFormatError(f"Line 1: {exc}.") from exc
    header = [name.strip().lstrip("\ufeff") for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise CsvFormatError(f"Missing column(s): {', '.join(missing)}.")
    duplicated = sorted({name for name in header if name and header.count(name) > 1})
    if duplicated:
        raise CsvFormatError(f"Duplicated column(s): {', '.join(duplicated)}.")
    next_line = reader.line_num + 1
    while True:
        start = next_line
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvFormatError(f"Line {start}: {exc}.") from exc
        next_line = reader.line_num + 1
        if not any(value.strip() for value in values):
            continue
        row = CsvRow(line=start)
        for index, name in enumerate(header):
            if name:
                row.values[name] = values[index].strip() if index < len(values) else ""
        row.too_long = len(values) > len(header)
        yield row


# --- value parsers (strict: a malformed value is an error, never a guess) -------------


def parse_money(value: str, column: str, *, blank: Decimal | None = None) -> Decimal | None:
    """A non-negative amount with at most two decimals ("12", "12.5", "12.50"); blank gives `blank`."""
    if value == "":
        return blank
    if not _MONEY.fullmatch(value):
        raise CsvValueError(f"{column}: {value!r} is not an amount like 12.50.")
    return quantize(Decimal(value))


def parse_percent(value: str, column: str) -> Decimal | None:
    if value == "":
        return None
    if not _PERCENT.fullmatch(value) or Decimal(value) > 100:
        raise CsvValueError(f"{column}: {value!r} is not a percentage between 0 and 100.")
    return quantize(Decimal(value))


def parse_quantity(value: str, column: str) -> int:
    if not _INTEGER.fullmatch(value) or int(value) < 1:
        raise CsvValueError(f"{column}: {value!r} is not a whole number of at least 1.")
    return int(value)


def parse_count(value: str, column: str) -> int:
    """A whole number of zero or more; blank is zero."""
    if value == "":
        return 0
    if not _INTEGER.fullmatch(value):
        raise CsvValueError(f"{column}: {value!r} is not a whole number.")
    return int(value)


def parse_bool(value: str, column: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise CsvValueError(f"{column}: {value!r} is not true or false.")


def parse_choice(value: str, column: str, choices: Iterable[str], *, blank: str | None = None) -> str:
    if value == "" and blank is not None:
        return blank
    allowed = list(choices)
    if value not in allowed:
        raise CsvValueError(f"{column}: {value!r} is not one of {', '.join(allowed)}.")
    return value


def parse_when(value: str, column: str) -> datetime | None:
    """An ISO 8601 date and time; without an offset it is read in the project's time zone."""
    if value == "":
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CsvValueError(f"{column}: {value!r} is not a date and time like 2025-01-31T14:30:00+00:00.")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed
