"""Import sales from the CSV format of `sales.csv_io`: all or nothing per sale, idempotent by reference.

Rows are grouped by `reference`; each group becomes one sale, created in its
own transaction through `sale_create` (and the transition services when the
file's status cannot be a creation status), so stock, pricing and the activity
log follow exactly the rules of a sale made by hand. The file's totals are
never written: they are compared with what pricing computes, and a difference
rejects the sale. A reference that already exists is skipped as "already
imported", which makes a second run of the same file create nothing.

How each exported status is recreated:

- draft, pending, confirmed, completed: created in that status directly;
- in_delivery: created confirmed, then shipped (items keep the file's carrier
  and tracking code);
- cancelled: created as a draft, then cancelled with the file's
  `cancel_reason` (`other` when blank). A draft holds no stock, so the
  import's net stock effect is nil, like the original sale's;
- rejected: created pending, then rejected, because only a pending sale can be
  rejected: its units must be available at import time, and are released at
  once;
- refunded, and any sale with returned units: rejected with a reason. The file
  does not say what money was paid back or whether the units were restocked,
  and guessing would put stock and payments out of line.

Payments are not imported (the file has no payment rows): `paid_total` and
`payment_status` are informational, so an imported sale starts unpaid.

Delivery: `delivery_mode`, `payment_mode` and `delivery_note` are read when the
file has them (optional columns: a file exported before they existed imports
as dispatch, mode not stated, no note). `fulfillment_status`, `delivery_status`,
`cancellation_status` and `item_quantity_fulfilled` are informational: an
in_delivery sale is recreated with one fulfilment of everything (the ship
transition), a completed one fulfilled and delivered. A sale with some units
cancelled (`item_quantity_cancelled`) is rejected with a reason, like one with
returns: its totals count only the units left and the file does not say how it
got there. (A sale cancelled whole keeps its lines as sold, 0 cancelled, and
imports as cancelled.)
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from customers.models import Customer
from customers.services import customer_create
from inventory.models import Variant, Warehouse
from inventory.services import InsufficientStock
from sales.csv_io import (
    SALE_COLUMNS,
    CsvRow,
    CsvValueError,
    parse_bool,
    parse_choice,
    parse_count,
    parse_money,
    parse_percent,
    parse_quantity,
    parse_when,
)
from sales.models import (
    CancelReason,
    Carrier,
    Channel,
    DeliveryMode,
    DiscountType,
    PaymentMode,
    Sale,
    SaleItem,
    SaleStatus,
    TaxRate,
)
from sales.services.commands import ItemData, NewSale
from sales.services.editing import sale_create
from sales.services.transitions import sale_cancel, sale_reject, sale_ship
from salesproject.errors import DomainError, DuplicateReference
from salesproject.money import ZERO

# The status `sale_create` is asked for, for each status a file may carry.
CREATE_STATUS_FOR = {
    SaleStatus.DRAFT: SaleStatus.DRAFT,
    SaleStatus.PENDING: SaleStatus.PENDING,
    SaleStatus.CONFIRMED: SaleStatus.CONFIRMED,
    SaleStatus.COMPLETED: SaleStatus.COMPLETED,
    SaleStatus.IN_DELIVERY: SaleStatus.CONFIRMED,
    SaleStatus.CANCELLED: SaleStatus.DRAFT,
    SaleStatus.REJECTED: SaleStatus.PENDING,
}
IMPORTABLE_STATUSES = tuple(CREATE_STATUS_FOR)

# Totals in the file checked against the computed ones (a blank value is not checked).
SALE_CHECKED = ("tax_rate", "subtotal", "discount_total", "shipping_tax", "tax_total", "grand_total")
ITEM_CHECKED = {
    "item_tax_rate": "tax_rate",
    "item_subtotal": "subtotal",
    "item_discount_total": "discount_total",
    "item_tax_total": "tax_total",
    "item_total": "total",
}
_LOOKUP_CHUNK = 1000

Progress = Callable[[Iterable, int], Iterable]


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reference: str
    reason: str


@dataclass
class ImportReport:
    """What an import did; with `dry_run` the counts say what it would have done."""

    dry_run: bool = False
    rows_read: int = 0
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rejected_sales: list[str] = field(default_factory=list)
    rejected_rows: list[RejectedRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected_rows

    def summary(self) -> str:
        text = (
            f"rows read {self.rows_read}, sales created {len(self.created)}, "
            f"skipped (already imported) {len(self.skipped)}, rejected {len(self.rejected_sales)}"
        )
        unattached = len({r.line for r in self.rejected_rows if not r.reference})
        if unattached:
            text += f" (and {unattached} row(s) without a reference)"
        if self.dry_run:
            text += " [dry run: nothing was saved]"
        return text


class _Rejected(Exception):
    """The sale being imported is refused; `problems` are (line or None for every row, reason)."""

    def __init__(self, problems: Sequence[tuple[int | None, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(reason for _, reason in self.problems))


@dataclass
class _ItemPlan:
    row: CsvRow
    data: ItemData
    expected: dict[str, Decimal]


@dataclass
class _SalePlan:
    reference: str
    status: str
    seller: object
    customer: Customer | None
    customer_email: str
    customer_name: str
    fields: dict
    cancel_reason: str
    items: list[_ItemPlan]
    expected: dict[str, Decimal]


def sale_import(
    *, rows: Iterable[CsvRow], user=None, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Create the sales of a parsed CSV file, one transaction per sale; never raise for a bad row, report it.

    `user` is the operator: it is recorded on the activity log and is the
    seller of every row whose seller is blank or unknown here (without it
    such rows are rejected). With `dry_run` everything is validated and
    created inside one transaction that is rolled back at the end, so later
    sales see the stock used by earlier ones exactly as in a real run.
    `progress(iterable, total)` may wrap the loop over sales (a tqdm bar).
    """
    report = ImportReport(dry_run=dry_run)
    groups: dict[str, list[CsvRow]] = {}
    for row in rows:
        report.rows_read += 1
        if not row.reference:
            report.rejected_rows.append(RejectedRow(row.line, "", "reference: required (it groups rows into sales)."))
            continue
        groups.setdefault(row.reference, []).append(row)

    importer = _Importer(user=user)
    existing = _existing_references(list(groups))
    loop = progress(groups.items(), len(groups)) if progress else groups.items()
    if dry_run:
        with transaction.atomic():
            importer.run(loop, existing, report)
            transaction.set_rollback(True)
    else:
        importer.run(loop, existing, report)
    return report


def _existing_references(references: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(references), _LOOKUP_CHUNK):
        chunk = references[start : start + _LOOKUP_CHUNK]
        found.update(Sale.objects.filter(reference__in=chunk).values_list("reference", flat=True))
    return found


class _Importer:
    """Resolves codes with small caches and turns each group of rows into a sale."""

    def __init__(self, *, user) -> None:
        self.user = user
        self._variants: dict[str, Variant | None] = {}
        self._cache: dict[tuple[type, str], object | None] = {}

    def run(self, groups: Iterable[tuple[str, list[CsvRow]]], existing: set[str], report: ImportReport) -> None:
        for reference, rows in groups:
            if reference in existing:
                report.skipped.append(reference)
                continue
            try:
                plan = self.plan(reference, rows)
                with transaction.atomic():
                    self.create(plan)
            except DuplicateReference:  # created by someone else since the existence check
                report.skipped.append(reference)
                continue
            except _Rejected as exc:
                _report_rejection(report, reference, rows, exc.problems)
                continue
            report.created.append(reference)

    # --- reading one group of rows ----------------------------------------------------

    def plan(self, reference: str, rows: list[CsvRow]) -> _SalePlan:
        problems: list[tuple[int | None, str]] = []
        first = rows[0]
        for row in rows:
            if row.too_long:
                problems.append((row.line, "the row has more values than the header has columns."))
        for row in rows[1:]:
            differing = [name for name in SALE_COLUMNS if row[name] != first[name]]
            if differing:
                problems.append(
                    (
                        row.line,
                        f"sale column(s) {', '.join(differing)} differ from line {first.line}, "
                        "the first row of this sale.",
                    )
                )
        plan = None
        try:
            plan = self._plan_sale(reference, first)
        except _Rejected as exc:
            problems.extend(exc.problems)
        items = []
        warehouse = plan.fields["warehouse"] if plan else None
        for row in rows:
            try:
                items.append(self._plan_item(row, warehouse))
            except _Rejected as exc:
                problems.extend(exc.problems)
        if problems:
            raise _Rejected(problems)
        plan.items = items
        return plan

    def _plan_sale(self, reference: str, row: CsvRow) -> _SalePlan:
        problems: list[tuple[int | None, str]] = []

        def value(parse, *args, **kwargs):
            try:
                return parse(*args, **kwargs)
            except CsvValueError as exc:
                problems.append((row.line, str(exc)))
                return None

        status = value(parse_choice, row["status"], "status", SaleStatus.values)
        if status == SaleStatus.REFUNDED:
            problems.append(
                (
                    row.line,
                    "status: refunded sales are not imported (the file does not say what was paid back or restocked).",
                )
            )
        cancel_reason = value(
            parse_choice, row["cancel_reason"], "cancel_reason", CancelReason.values, blank=CancelReason.OTHER
        )
        currency = row["currency"].upper()
        if currency and not (len(currency) == 3 and currency.isalpha()):
            problems.append((row.line, f"currency: {row['currency']!r} is not a three-letter code."))
        fields = {
            "external_id": row["external_id"],
            "currency": currency or None,
            "sold_at": value(parse_when, row["sold_at"], "sold_at"),
            "discount_type": value(
                parse_choice, row["discount_type"], "discount_type", DiscountType.values, blank=DiscountType.FIXED
            ),
            "discount": value(parse_money, row["discount"], "discount", blank=ZERO),
            "prices_include_tax": value(parse_bool, row["prices_include_tax"], "prices_include_tax"),
            "shipping_cost": value(parse_money, row["shipping_cost"], "shipping_cost", blank=ZERO),
            "tax_shipping": value(parse_bool, row["tax_shipping"], "tax_shipping"),
            "channel": self._by_code(Channel, row["channel"], "channel", problems, row.line),
            "warehouse": self._by_code(Warehouse, row["warehouse"], "warehouse", problems, row.line),
            "tax": self._by_code(TaxRate, row["tax"], "tax", problems, row.line),
            # Optional columns: blank or absent take the defaults of a new sale.
            "delivery_mode": value(
                parse_choice, row["delivery_mode"], "delivery_mode", DeliveryMode.values, blank=DeliveryMode.DISPATCH
            ),
            "payment_mode": value(parse_choice, row["payment_mode"], "payment_mode", PaymentMode.values, blank="")
            or None,
            "delivery_note": row["delivery_note"],
        }
        expected = {}
        for name in SALE_CHECKED:
            parsed = value(parse_percent if name == "tax_rate" else parse_money, row[name], name)
            if parsed is not None:
                expected[name] = parsed
        seller = self._seller(row["seller"])
        if seller is None:
            problems.append(
                (
                    row.line,
                    f"seller: no user {row['seller']!r} here, and no --user to fall back on."
                    if row["seller"]
                    else "seller: blank, and no --user to fall back on.",
                )
            )
        email = row["customer_email"]
        customer = None
        if email:
            try:
                validate_email(email)
            except DjangoValidationError:
                problems.append((row.line, f"customer_email: {email!r} is not an email address."))
            else:
                matches = list(Customer.objects.filter(email__iexact=email).order_by("pk")[:2])
                if len(matches) > 1:
                    problems.append(
                        (row.line, f"customer_email: several customers have {email!r}; make it unique first.")
                    )
                customer = matches[0] if matches else None
        if problems:
            raise _Rejected(problems)
        return _SalePlan(
            reference=reference,
            status=status,
            seller=seller,
            customer=customer,
            customer_email=email,
            customer_name=row["customer_name"],
            fields=fields,
            cancel_reason=cancel_reason,
            items=[],
            expected=expected,
        )

    def _plan_item(self, row: CsvRow, warehouse: Warehouse | None) -> _ItemPlan:
        problems: list[tuple[int | None, str]] = []

        def value(parse, *args, **kwargs):
            try:
                return parse(*args, **kwargs)
            except CsvValueError as exc:
                problems.append((row.line, str(exc)))
                return None

        sku = row["item_sku"]
        variant = self._variant(sku) if sku else None
        if not sku:
            problems.append((row.line, "item_sku: required."))
        elif variant is None:
            problems.append((row.line, f"item_sku: no variant with sku {sku!r}."))
        quantity = value(parse_quantity, row["item_quantity"], "item_quantity")
        if value(parse_count, row["item_quantity_returned"], "item_quantity_returned"):
            problems.append(
                (
                    row.line,
                    "item_quantity_returned: sales with returned units are not imported (the "
                    "file does not say whether they were restocked or refunded).",
                )
            )
        cancelled = value(parse_count, row["item_quantity_cancelled"], "item_quantity_cancelled")
        if cancelled:
            problems.append(
                (
                    row.line,
                    "item_quantity_cancelled: sales with part of their units cancelled are not imported (their "
                    "totals count only the units left, and the file does not say how the others were cancelled).",
                )
            )
        unit_price = value(parse_money, row["item_unit_price"], "item_unit_price")
        if row["item_unit_price"] == "":
            problems.append((row.line, "item_unit_price: required (the price the line was sold at)."))
        item_warehouse = self._by_code(Warehouse, row["item_warehouse"], "item_warehouse", problems, row.line)
        expected = {}
        for column, attr in ITEM_CHECKED.items():
            parsed = value(parse_percent if column == "item_tax_rate" else parse_money, row[column], column)
            if parsed is not None:
                expected[attr] = parsed
        data = ItemData(
            quantity=quantity or 0,
            variant=variant,
            unit_price=unit_price,
            discount=value(parse_money, row["item_discount"], "item_discount", blank=ZERO),
            discount_type=value(
                parse_choice,
                row["item_discount_type"],
                "item_discount_type",
                DiscountType.values,
                blank=DiscountType.FIXED,
            ),
            warehouse=item_warehouse or warehouse,
            carrier=self._by_code(Carrier, row["item_carrier"], "item_carrier", problems, row.line),
            tracking_code=row["item_tracking_code"],
        )
        if problems:
            raise _Rejected(problems)
        return _ItemPlan(row=row, data=data, expected=expected)

    def _by_code(self, model: type, code: str, column: str, problems: list, line: int):
        if not code:
            return None
        key = (model, code)
        if key not in self._cache:
            self._cache[key] = model.objects.filter(code=code).first()
        found = self._cache[key]
        if found is None:
            problems.append((line, f"{column}: no {model._meta.verbose_name} with code {code!r}."))
        return found

    def _variant(self, sku: str) -> Variant | None:
        if sku not in self._variants:
            self._variants[sku] = Variant.objects.select_related("product").filter(sku=sku).first()
        return self._variants[sku]

    def _seller(self, username: str):
        if username:
            key = (get_user_model(), username)
            if key not in self._cache:
                self._cache[key] = (
                    get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: username}).first()
                )
            if self._cache[key] is not None:
                return self._cache[key]
        return self.user

    # --- writing one sale ---------------------------------------------------------------

    def create(self, plan: _SalePlan) -> Sale:
        """Create the sale, check its totals against the file's and take it to the file's status."""
        actor = self.user or plan.seller
        customer = plan.customer
        try:
            if customer is None and plan.customer_email:
                customer = customer_create(name=plan.customer_name or plan.customer_email, email=plan.customer_email)
            command = NewSale(
                items=[item.data for item in plan.items],
                status=CREATE_STATUS_FOR[plan.status],
                customer=customer,
                reference=plan.reference,
                **plan.fields,
            )
            sale = sale_create(seller=plan.seller, data=command, user=actor)
            _check_totals(sale, plan)
            if plan.status == SaleStatus.IN_DELIVERY:
                sale_ship(sale=sale, user=actor)
            elif plan.status == SaleStatus.CANCELLED:
                sale_cancel(sale=sale, user=actor, reason=plan.cancel_reason, note="imported")
            elif plan.status == SaleStatus.REJECTED:
                sale_reject(sale=sale, user=actor, note="imported")
        except DuplicateReference:
            raise
        except InsufficientStock as exc:
            raise _Rejected(
                [
                    (
                        _line_of(plan, s.attr),
                        f"insufficient stock: {s.sku}: requested {s.requested}, available {s.available}.",
                    )
                    for s in exc.shortages
                ]
            ) from exc
        except DomainError as exc:
            raise _Rejected([(_line_of(plan, exc.attr), f"{exc.attr + ': ' if exc.attr else ''}{exc.detail}")]) from exc
        except DjangoValidationError as exc:
            raise _Rejected([(None, "; ".join(exc.messages))]) from exc
        except IntegrityError as exc:  # a database constraint the services did not foresee: refuse this sale only
            raise _Rejected([(None, f"the database refused the sale: {exc}")]) from exc
        return sale


def _check_totals(sale: Sale, plan: _SalePlan) -> None:
    """Refuse the sale when a total in the file differs from the one pricing computed."""
    problems: list[tuple[int | None, str]] = []
    for name, expected in plan.expected.items():
        actual = getattr(sale, name)
        if actual != expected:
            problems.append((None, f"{name}: the file says {expected}, pricing computes {actual}."))
    items = list(SaleItem.objects.filter(sale=sale).order_by("pk"))
    for item, item_plan in zip(items, plan.items, strict=True):
        for attr, expected in item_plan.expected.items():
            actual = getattr(item, attr)
            if actual != expected:
                problems.append(
                    (item_plan.row.line, f"item_{attr}: the file says {expected}, pricing computes {actual}.")
                )
    if problems:
        raise _Rejected(problems)


def _line_of(plan: _SalePlan, attr: str | None) -> int | None:
    """The file line an error about `items.<n>…` is about; None (every row of the sale) otherwise."""
    if attr and attr.startswith("items."):
        index = attr.split(".")[1]
        if index.isdigit() and int(index) < len(plan.items):
            return plan.items[int(index)].row.line
    return None


def _report_rejection(
    report: ImportReport, reference: str, rows: list[CsvRow], problems: list[tuple[int | None, str]]
) -> None:
    """Report every row of a refused sale: its own reasons, or why the sale as a whole was refused."""
    report.rejected_sales.append(reference)
    by_line: dict[int, list[str]] = {}
    general = []
    for line, reason in problems:
        if line is None:
            general.append(reason)
        else:
            by_line.setdefault(line, []).append(reason)
    for row in rows:
        reasons = by_line.get(row.line, []) + general
        if not reasons:
            lines = ", ".join(str(line) for line in sorted(by_line))
            reasons = [f"rejected with its sale (see line{'s' if len(by_line) > 1 else ''} {lines})."]
        for reason in reasons:
            report.rejected_rows.append(RejectedRow(row.line, reference, reason))


def iter_rejections(report: ImportReport) -> Iterator[str]:
    """One human line per rejected row, in file order."""
    for rejected in sorted(report.rejected_rows, key=lambda r: r.line):
        prefix = f"line {rejected.line}"
        if rejected.reference:
            prefix += f" ({rejected.reference})"
        yield f"{prefix}: {rejected.reason}"
