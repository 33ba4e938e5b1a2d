"""Reads of sales tuned for the API and the admin: scope, related rows, aggregates."""

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Count, DecimalField, F, Func, Prefetch, Q, QuerySet, Sum
from django.utils import timezone
from django_filters.constants import EMPTY_VALUES

from customers.models import Customer
from inventory.models import ProductKind
from inventory.services.audit import stock_key_filter
from payments.models import Payment
from sales.models import (
    FINAL_TRACKING_STATUSES,
    RESERVING_STATUSES,
    REVENUE_STATUSES,
    Fulfillment,
    FulfillmentLine,
    Sale,
    SaleDailyTotal,
    SaleEvent,
    SaleItem,
    SaleMonthlyTotal,
    SalePromotion,
    SaleStatus,
    StoreMembership,
    StoreRole,
    TrackingEvent,
)
from sales.rollup_triggers import base_amount_sql
from salesproject.api.authentication import MANAGES_STORES_ATTR
from salesproject.db_router import on_replica
from salesproject.filters import IntegerFilter
from salesproject.money import minor_units, quantize

ZERO = Decimal("0.00")


def user_manages_stores(user) -> bool:
    """Whether `user` manages a store: read once per user object (the bearer token's query already brings it,
    see `salesproject.api.authentication`), so a plain seller's scope stays the one-index `seller = me`."""
    cached = getattr(user, MANAGES_STORES_ATTR, None)
    if cached is None:
        cached = user.is_authenticated and managed_stores(user=user).exists()
        setattr(user, MANAGES_STORES_ATTR, cached)
    return bool(cached)


def managed_stores(*, user) -> QuerySet[StoreMembership]:
    """The ids of the stores `user` manages, as a subquery."""
    return StoreMembership.objects.filter(user_id=user.pk, role=StoreRole.MANAGER).values("store_id")


def sale_scope(*, user, replica: bool = False) -> QuerySet[Sale]:
    """The sales a user may see and act on: staff see all; a store's manager its sales and their own; anyone
    else only the sales they sold (records.md, "Stores, teams and devices").

    `replica` reads them from the read replica when one is configured (lists and
    summaries, which may lag the primary by the replication delay).
    """
    queryset = on_replica(Sale.objects.all()) if replica else Sale.objects.all()
    if not user.is_staff:
        if user_manages_stores(user):
            queryset = queryset.filter(Q(seller=user) | Q(store_id__in=managed_stores(user=user)))
        else:
            queryset = queryset.filter(seller=user)
    return queryset


def sale_with_related(queryset: QuerySet[Sale], *, payments: bool = False) -> QuerySet[Sale]:
    """Load what a sale's representation shows in a fixed number of queries."""
    items = SaleItem.objects.select_related("warehouse", "carrier", "product_group").order_by("pk")
    queryset = queryset.select_related(
        "seller", "customer", "channel", "warehouse", "tax", "locked_by", "store", "updated_by"
    ).prefetch_related(
        Prefetch("items", queryset=items),
        Prefetch("children", queryset=Sale.objects.only("id", "parent_id", "status").order_by("pk")),
        Prefetch("applied_promotions", queryset=SalePromotion.objects.select_related("promotion").order_by("pk")),
    )
    if payments:
        queryset = queryset.prefetch_related(
            Prefetch("payments", queryset=Payment.objects.select_related("user").order_by("pk"))
        )
    return queryset


def fulfillments_with_related(queryset: QuerySet[Fulfillment]) -> QuerySet[Fulfillment]:
    """Load what a fulfilment's representation shows: carrier, user, lines with their sku, tracking."""
    return queryset.select_related("carrier", "user").prefetch_related(
        Prefetch("lines", queryset=FulfillmentLine.objects.select_related("item").order_by("pk")),
        Prefetch("tracking", queryset=TrackingEvent.objects.select_related("user").order_by("pk")),
    )


def sale_fulfillments(*, sale: Sale) -> QuerySet[Fulfillment]:
    """A sale's fulfilments, oldest first."""
    return fulfillments_with_related(Fulfillment.objects.filter(sale=sale).order_by("pk"))


class BaseAmount(Func):
    """One sale's `amount` in the base currency: × its `exchange_rate`, rounded half-up to the base currency's
    minor units (`SALES_BASE_CURRENCY`); what the rollup's triggers add up (`rollup_triggers.BASE_AMOUNT_SQL`).

    `amount` is an expression of the sale's own columns (no parameters), e.g. `F("grand_total")`.
    """

    arity = 2
    output_field = DecimalField(max_digits=30, decimal_places=3)

    def __init__(self, amount, rate=None, *, places: int | None = None):
        super().__init__(amount, rate if rate is not None else F("exchange_rate"))
        self.places = minor_units(settings.SALES_BASE_CURRENCY) if places is None else places

    def as_sql(self, compiler, connection, **extra_context):
        (amount, amount_params), (rate, rate_params) = (compiler.compile(e) for e in self.source_expressions)
        if amount_params or rate_params:  # each may appear twice in the SQL: columns only
            raise ValueError("BaseAmount takes column expressions without parameters")
        return base_amount_sql(connection.vendor, amount, rate, self.places), []


def net_base_amount() -> BaseAmount:
    """A sale's net total (grand total minus returns) in the base currency."""
    return BaseAmount(F("grand_total") - F("returned_total"))


def sale_summary(*, queryset: QuerySet[Sale], user=None, filters: Mapping[str, Any] | None = None) -> dict:
    """Counts and net totals (grand total minus returns) of the matching sales; revenue counts confirmed,
    shipped and completed ones. Money of different currencies is never added up (money.md): `total_revenue`,
    `total_paid` and `by_status` are in the base currency (each sale converted with its own rate and
    rounded to the base's minor units, then summed); `by_currency` gives each currency's own figures.

    `queryset` is the user's scope with the list's filters applied; `filters` the
    filter set's cleaned data and `user` the reader. When every filter in use is
    one the rollup answers exactly — status, seller, currency, and date bounds on UTC day
    boundaries — and the reader's scope is a seller or everything, the figures are
    added up from the rollup in one query: whole UTC months from `SaleMonthlyTotal`
    (one row per month, seller, status and currency), the partial months at the edges of a date
    range from `SaleDailyTotal` (one row per day, seller, status and currency). Anything else
    (search, customer, channel, a date-time bound inside a day, …), or no `filters`/`user`, reads
    the sales themselves: one pass grouped by status and currency. Both give the same answer, to the
    minor unit of every currency and of the base one.
    """
    rows = _rollup_rows(user=user, filters=filters) if user is not None and filters is not None else None
    if rows is None:
        rows = (
            queryset.order_by()
            .values("status", "currency")
            .annotate(
                count=Count("*"),
                total=Sum("grand_total", default=ZERO),
                paid=Sum("paid_total", default=ZERO),
                total_base=Sum(BaseAmount(F("grand_total")), default=ZERO),
                paid_base=Sum(BaseAmount(F("paid_total")), default=ZERO),
            )
        )
    base = settings.SALES_BASE_CURRENCY
    by_status = {status: {"count": 0, "total": ZERO} for status in SaleStatus.values}
    by_currency: dict[str, dict] = {}
    total_paid = ZERO
    for row in rows:  # the rollup may give a key twice (its monthly and its daily part): add them up
        status, currency = row["status"], row["currency"]
        by_status[status]["count"] += int(row["count"])
        by_status[status]["total"] += row["total_base"]
        total_paid += row["paid_base"]
        money = by_currency.setdefault(currency, {"count": 0, "total_revenue": ZERO, "total_paid": ZERO})
        money["count"] += int(row["count"])
        money["total_paid"] += row["paid"]
        if status in REVENUE_STATUSES:
            money["total_revenue"] += row["total"]
    # Totals are net of returns: the few sales with returns, through their own partial index. In base, a
    # sale's net is its net total converted (not its converted grand total minus its converted returns).
    returns = (
        queryset.filter(returned_total__gt=0)
        .order_by()
        .values("status", "currency")
        .annotate(
            returned=Sum("returned_total"),
            returned_base=Sum(BaseAmount(F("grand_total")) - net_base_amount()),
        )
    )
    for row in returns:
        by_status[row["status"]]["total"] -= row["returned_base"]
        if row["status"] in REVENUE_STATUSES:
            by_currency[row["currency"]]["total_revenue"] -= row["returned"]
    for entry in by_status.values():
        entry["total"] = quantize(entry["total"], base)
    return {
        "total_sales": sum(entry["count"] for entry in by_status.values()),
        "total_revenue": quantize(sum((by_status[status]["total"] for status in REVENUE_STATUSES), ZERO), base),
        "total_paid": quantize(total_paid, base),
        "by_status": by_status,
        "by_currency": {
            currency: {
                "count": money["count"],
                "total_revenue": quantize(money["total_revenue"], currency),
                "total_paid": quantize(money["total_paid"], currency),
            }
            for currency, money in sorted(by_currency.items())
        },
    }


# Filters the rollup answers (the dates only on UTC day boundaries); `ordering` does not change a sum.
# Only bounds on created_at: the rollup's days are creation days, so the sale-date bounds (sold_after/sold_before
# and their aliases start_date/end_date) read the sales themselves.
DATE_BOUNDS = {"created_after": False, "created_before": True}  # name: upper
ROLLUP_FILTERS = frozenset({"status", "seller", "currency", "ordering", *DATE_BOUNDS})

DayRange = tuple[date | None, date | None]  # [first, end) of UTC days; None: open on that side


def _rollup_scope(*, user, filters: Mapping[str, Any]) -> list[QuerySet] | None:
    """The rollup rows of exactly the matching sales, or None when these filters need the sales themselves.

    One or two querysets, to be added up: the whole UTC months of the date range from the monthly
    rollup (`SaleMonthlyTotal`), the days of the partial months at its edges from the daily one
    (`SaleDailyTotal`). No date bound: the monthly rows only. A range inside one month: daily only.
    """
    if not user.is_staff and user_manages_stores(user):
        return None  # a manager's scope is not one seller's: the rollup has no store, read the sales (exact)
    condition = Q() if user.is_staff else Q(seller_id=user.pk)
    lower = upper = None  # the matching days are [lower, upper)
    for name, value in filters.items():
        if value in EMPTY_VALUES or name == "ordering":
            continue  # not in use (django-filter skips these values too)
        if name not in ROLLUP_FILTERS:
            return None
        if name == "status":
            condition &= Q(status__in=list(value))
        elif name == "seller":
            if abs(value) > IntegerFilter.MAX_ID:
                return None
            condition &= Q(seller_id=value)
        elif name == "currency":
            condition &= Q(currency=value.upper())
        else:
            day = _whole_day_bound(value, upper=DATE_BOUNDS[name])
            if day is None:
                return None
            if DATE_BOUNDS[name]:
                upper = day if upper is None else min(upper, day)
            else:
                lower = day if lower is None else max(lower, day)
    months, days = _month_split(lower, upper)
    scopes = []
    if months is not None:
        scopes.append(on_replica(SaleMonthlyTotal.objects.all()).filter(condition & _range_q("month", months)))
    if days:
        edges = Q()
        for first, end in days:
            edges |= _range_q("day", (first, end))
        scopes.append(on_replica(SaleDailyTotal.objects.all()).filter(condition & edges))
    database = connections[scopes[0].db]
    if database.vendor == "postgresql" and database.in_atomic_block:
        # The rollup's triggers run at COMMIT: inside a transaction it has not seen this transaction's own writes.
        return None
    return [scope.order_by() for scope in scopes]


def _month_split(lower: date | None, upper: date | None) -> tuple[DayRange | None, list[DayRange]]:
    """Split the days [lower, upper) into the whole UTC months inside them and the days left at the edges.

    Returns (months, days): `months` the [first, end) range of month starts (first days) whose
    months lie wholly inside, or None when none does; `days` up to two day ranges, the partial
    months before and after them (the whole range when no month fits). None is an open side.
    """
    first_month = lower if lower is None or lower.day == 1 else _next_month(lower)
    end_month = None if upper is None else upper.replace(day=1)
    if (lower is not None and first_month is None) or (
        first_month is not None and end_month is not None and first_month >= end_month
    ):
        return None, [(lower, upper)]  # no whole month inside (or an empty range)
    days = []
    if lower is not None and lower != first_month:
        days.append((lower, first_month))
    if upper is not None and upper != end_month:
        days.append((end_month, upper))
    return (first_month, end_month), days


def _next_month(day: date) -> date | None:
    """The first day of the month after `day`'s, or None past the last representable month."""
    if day.month < 12:
        return day.replace(month=day.month + 1, day=1)
    return None if day.year == date.max.year else date(day.year + 1, 1, 1)


def _range_q(field: str, bounds: DayRange) -> Q:
    first, end = bounds
    condition = Q()
    if first is not None:
        condition &= Q(**{f"{field}__gte": first})
    if end is not None:
        condition &= Q(**{f"{field}__lt": end})
    return condition


def _rollup_rows(*, user, filters: Mapping[str, Any]) -> QuerySet | None:
    """Per-status and currency count and totals from the rollup, or None when it cannot answer these filters
    exactly.

    One query whatever the split: the monthly and daily parts grouped by status and currency, as one
    UNION ALL; a key may come twice (once per part), so the caller adds the rows up.
    """
    scopes = _rollup_scope(user=user, filters=filters)
    if scopes is None:
        return None
    rows = [
        scope.values("status", "currency").annotate(
            count=Sum("count", default=0),
            total=Sum("grand_total", default=ZERO),
            paid=Sum("paid_total", default=ZERO),
            total_base=Sum("grand_total_base", default=ZERO),
            paid_base=Sum("paid_total_base", default=ZERO),
        )
        for scope in scopes
    ]
    return rows[0].union(*rows[1:], all=True) if len(rows) > 1 else rows[0]


def sale_count(*, queryset: QuerySet[Sale], user, filters: Mapping[str, Any]) -> int:
    """How many sales the list matches (its `count`): added up from the rollup when the filters
    allow it, as the summary does (one query), so the first page costs the same at 10 k or 1 M
    sales; else a COUNT(*) of `queryset`."""
    rows = _rollup_rows(user=user, filters=filters)
    if rows is None:
        return queryset.count()
    return sum(int(row["count"]) for row in rows)


def _whole_day_bound(value: date | datetime, *, upper: bool) -> date | None:
    """The UTC day a `DateBoundFilter` bound falls on, when it falls on a day boundary; else None.

    The rollup row for day D holds the sales created in [D 00:00, D+1 00:00) UTC. The
    bound is computed exactly as the filter computes it, then checked: a lower bound
    (created_at ≥ t) is answerable when t is midnight (day ≥ t's date); an upper bound
    when it ends a day — `< midnight` for a bare date, `≤ 23:59:59.999999` for a
    date-time — and then the rollup takes day < the next midnight's date.
    """
    try:
        if isinstance(value, datetime):
            moment = value + timedelta(microseconds=1) if upper else value  # ≤ t is < t + 1 µs (the finest time)
        else:
            moment = timezone.make_aware(datetime.combine(value, time.min))
            moment = moment + timedelta(days=1) if upper else moment
        moment = moment.astimezone(UTC)
    except OverflowError:
        return None
    if moment.time() != time.min:
        return None
    return moment.date()


def sale_search(queryset: QuerySet[Sale], text: str) -> QuerySet[Sale]:
    """The sales whose reference, customer name or e-mail, or a line's sku or name contains `text` (any case).

    The API's `?search=` and the admin's search box. The matching sale ids come as one UNION
    of three sets, each found through its own index (PostgreSQL: the trigram indexes of
    migration sales.0005): sales whose reference matches, sales of matching customers, sales
    of matching lines. The same three conditions OR-ed on the sale row would be checked row
    by row over every sale.
    """
    text = text.strip()
    if not text:
        return queryset
    customers = Customer.objects.filter(Q(name__icontains=text) | Q(email__icontains=text)).values("pk")
    by_reference = Sale.objects.filter(reference__icontains=text).order_by().values("pk")
    by_customer_reference = Sale.objects.filter(customer_reference__icontains=text).order_by().values("pk")
    by_customer = Sale.objects.filter(customer__in=customers).order_by().values("pk")
    lines = SaleItem.objects.filter(Q(sku__icontains=text) | Q(name__icontains=text))
    by_line = lines.order_by().values("sale_id")
    return queryset.filter(pk__in=by_reference.union(by_customer_reference, by_customer, by_line))


def sale_activity(*, sale: Sale) -> QuerySet[SaleEvent]:
    return sale.events.select_related("user").order_by("pk")


def stock_reserved_by_pending_sales(keys) -> dict[tuple[int, int], int]:
    """What pending sales hold per (variant, warehouse): the inventory audit's truth for `reserved`.

    Registered with `inventory.services.audit.register_reservation_source` by `SalesConfig.ready`;
    `keys` limits it to those (variant, warehouse) pairs (None: all). A service's lines hold nothing: left
    out by their product's kind, the rule the stock services skip them by.
    """
    return {
        (row["variant_id"], row["warehouse_id"]): row["quantity"]
        for row in SaleItem.objects.filter(stock_key_filter(keys), sale__status__in=RESERVING_STATUSES)
        .exclude(variant__product__kind=ProductKind.SERVICE)
        .order_by()
        .values("variant_id", "warehouse_id")
        .annotate(quantity=Sum(F("quantity") - F("quantity_cancelled"), default=0))
    }


def delayed_fulfillments(*, now: datetime | None = None, older_than: timedelta | None = None) -> QuerySet[Fulfillment]:
    """Fulfilments whose `expected_at` passed (more than `older_than` ago) and that neither arrived nor came back.

    The operators' report (`report_delayed_fulfilments`) and the admin's "delayed" filter; the
    partial index `fulfillment_open_expected_idx` holds exactly these rows. Most overdue first.
    """
    cutoff = (now or timezone.now()) - (older_than or timedelta(0))
    return (
        Fulfillment.objects.filter(expected_at__isnull=False, expected_at__lt=cutoff)
        .exclude(status__in=FINAL_TRACKING_STATUSES)
        .select_related("sale", "carrier")
        .order_by("expected_at", "pk")
    )
