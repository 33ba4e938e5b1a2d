"""The figures of the admin's sales dashboard, and its revenue chart as server-side SVG.

Each selector is one aggregate query, whatever the number of days or sales.

Rules the dashboard follows (the design is silent on them):
- Revenue is the net total (grand total, tax and shipping included, minus what
  returned units were charged) of the sales in `REVENUE_STATUSES`: confirmed,
  in delivery, completed, as the API's summary counts it. Drafts and pending
  sales are not revenue yet; cancelled, rejected and refunded sales are not
  revenue at all. The sale count next to a revenue figure counts the same sales.
- A sale belongs to the day it was sold (`sold_at`), in the `TIME_ZONE`
  setting's time zone. "Today" runs from local midnight; "last 7 days" is today
  and the 6 days before it; "last 30 days" today and the 29 before.
- Money of different currencies is never added up as it is (money.md): every
  money figure is in the base currency (`SALES_BASE_CURRENCY`), each sale
  converted with its own snapshotted `exchange_rate` and rounded to the base's
  minor units, then summed (as the API's summary does). The per-currency table
  gives each currency's own money next to its base value, over the chart's days.
  A product's revenue converts each of its lines the same way.
- Low stock is the stock list's rule: available (on hand − reserved) at or
  below `LOW_STOCK_THRESHOLD`, per variant and warehouse.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from inventory.models import LOW_STOCK_THRESHOLD, StockLevel
from sales.models import REVENUE_STATUSES, Sale, SaleItem, SaleStatus, net_total_expression
from sales.selectors import BaseAmount, net_base_amount
from salesproject.money import quantize

ZERO = Decimal("0.00")
PERIODS = (("Today", 1), ("Last 7 days", 7), ("Last 30 days", 30))
CHART_DAYS = 30
TOP_PRODUCTS = 10
LOW_STOCK_ROWS = 20


@dataclass(frozen=True)
class PeriodFigures:
    label: str
    days: int
    revenue: Decimal
    sales: int


@dataclass(frozen=True)
class DayFigures:
    day: date
    revenue: Decimal
    sales: int


@dataclass(frozen=True)
class StatusFigures:
    status: str
    label: str
    sales: int
    total: Decimal


@dataclass(frozen=True)
class CurrencyFigures:
    currency: str
    sales: int
    revenue: Decimal  # in `currency`
    revenue_base: Decimal  # in the base currency
    paid: Decimal  # in `currency`


@dataclass(frozen=True)
class ProductFigures:
    product_id: int
    sku: str
    name: str
    units: int
    revenue: Decimal


# --- days ------------------------------------------------------------------------------


def local_today() -> date:
    """Today in the `TIME_ZONE` setting's zone, where the dashboard's days begin and end."""
    return timezone.localdate(timezone=timezone.get_default_timezone())


def day_start(day: date) -> datetime:
    """The aware instant a local day begins (midnight in `TIME_ZONE`, DST included)."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def _window(days: int, today: date) -> tuple[datetime, datetime]:
    """[start, end) of the last `days` local days, today included."""
    return day_start(today - timedelta(days=days - 1)), day_start(today + timedelta(days=1))


def base_currency() -> str:
    return settings.SALES_BASE_CURRENCY


def _of_currency(queryset: QuerySet, currency: str | None, path: str = "currency") -> QuerySet:
    return queryset if currency is None else queryset.filter(**{path: currency})


def revenue_sales(*, currency: str | None = None) -> QuerySet[Sale]:
    """The sales whose net total is revenue (of one currency, or all)."""
    return _of_currency(Sale.objects.filter(status__in=REVENUE_STATUSES), currency).order_by()


# --- selectors -------------------------------------------------------------------------


def revenue_periods(*, currency: str | None = None, today: date | None = None) -> list[PeriodFigures]:
    """Revenue (base currency) and sale count of today, the last 7 and the last 30 days, in one query.

    `currency`: only the sales in that currency (still converted to the base one); None: all."""
    today = today or local_today()
    longest = max(days for _, days in PERIODS)
    start, end = _window(longest, today)
    aggregates = {}
    for _, days in PERIODS:
        since = Q(sold_at__gte=_window(days, today)[0])
        aggregates[f"revenue_{days}"] = Sum(net_base_amount(), filter=since, default=ZERO)
        aggregates[f"sales_{days}"] = Count("pk", filter=since)
    totals = revenue_sales(currency=currency).filter(sold_at__gte=start, sold_at__lt=end).aggregate(**aggregates)
    return [
        PeriodFigures(
            label=label,
            days=days,
            revenue=quantize(totals[f"revenue_{days}"], base_currency()),
            sales=totals[f"sales_{days}"],
        )
        for label, days in PERIODS
    ]


def revenue_per_day(
    *, currency: str | None = None, days: int = CHART_DAYS, today: date | None = None
) -> list[DayFigures]:
    """Revenue (base currency) and sale count of each of the last `days` local days, oldest first, days without
    sales as zero."""
    today = today or local_today()
    start, end = _window(days, today)
    rows = (
        revenue_sales(currency=currency)
        .filter(sold_at__gte=start, sold_at__lt=end)
        .annotate(day=TruncDate("sold_at", tzinfo=timezone.get_default_timezone()))
        .values("day")
        .annotate(revenue=Sum(net_base_amount()), sales=Count("pk"))
        .order_by("day")
    )
    by_day = {row["day"]: row for row in rows}
    figures = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        row = by_day.get(day)
        revenue = quantize(row["revenue"], base_currency()) if row else ZERO
        figures.append(DayFigures(day=day, revenue=revenue, sales=row["sales"] if row else 0))
    return figures


def sales_by_status(*, currency: str | None = None) -> list[StatusFigures]:
    """How many sales (and of what net value, base currency) are in each status now, every status listed."""
    rows = (
        _of_currency(Sale.objects.all(), currency)
        .order_by()
        .values("status")
        .annotate(sales=Count("pk"), total=Sum(net_base_amount(), default=ZERO))
    )
    by_status = {row["status"]: row for row in rows}
    return [
        StatusFigures(
            status=status,
            label=label,
            sales=by_status[status]["sales"] if status in by_status else 0,
            total=quantize(by_status[status]["total"], base_currency()) if status in by_status else ZERO,
        )
        for status, label in SaleStatus.choices
    ]


def currency_figures(*, days: int = CHART_DAYS, today: date | None = None) -> list[CurrencyFigures]:
    """Per currency, over the last `days` local days: the revenue-counting sales, their net revenue in the
    currency and in the base currency, and what they were paid (in the currency); the base currency first."""
    today = today or local_today()
    start, end = _window(days, today)
    rows = (
        revenue_sales()
        .filter(sold_at__gte=start, sold_at__lt=end)
        .values("currency")
        .annotate(
            sales=Count("pk"),
            revenue=Sum(net_total_expression(), default=ZERO),
            revenue_base=Sum(net_base_amount(), default=ZERO),
            paid=Sum("paid_total", default=ZERO),
        )
        .order_by("currency")
    )
    figures = [
        CurrencyFigures(
            currency=row["currency"],
            sales=row["sales"],
            revenue=quantize(row["revenue"], row["currency"]),
            revenue_base=quantize(row["revenue_base"], base_currency()),
            paid=quantize(row["paid"], row["currency"]),
        )
        for row in rows
    ]
    return sorted(figures, key=lambda row: (row.currency != base_currency(), row.currency))


def top_products(
    *, currency: str | None = None, days: int = CHART_DAYS, limit: int = TOP_PRODUCTS, today: date | None = None
) -> list[ProductFigures]:
    """The products that brought the most revenue (base currency) over the last `days` days.

    A product's revenue is the sum of what its lines were charged (line
    totals, tax included; shipping belongs to no product) in the sales that
    count as revenue, each line converted with its sale's rate and rounded.
    """
    today = today or local_today()
    start, end = _window(days, today)
    rows = (
        _of_currency(
            SaleItem.objects.filter(
                sale__status__in=REVENUE_STATUSES,
                sale__sold_at__gte=start,
                sale__sold_at__lt=end,
            ),
            currency,
            "sale__currency",
        )
        .values("product_id", "product__sku", "product__name")
        .annotate(units=Sum("quantity"), revenue=Sum(BaseAmount(F("total"), F("sale__exchange_rate"))))
        .order_by("-revenue", "product__sku")[:limit]
    )
    return [
        ProductFigures(
            product_id=row["product_id"],
            sku=row["product__sku"],
            name=row["product__name"],
            units=row["units"],
            revenue=quantize(row["revenue"], base_currency()),
        )
        for row in rows
    ]


def low_stock_levels(*, threshold: int = LOW_STOCK_THRESHOLD, limit: int = LOW_STOCK_ROWS) -> list[StockLevel]:
    """The stock levels with the fewest units available, at or below the threshold; the emptiest first."""
    return list(
        StockLevel.objects.low(threshold)
        .select_related("variant__product", "warehouse")
        .order_by("available_units", "variant__sku", "warehouse__code")[:limit]
    )


# --- the chart -------------------------------------------------------------------------

CHART_WIDTH = 760
CHART_HEIGHT = 260
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 10, 14, 30
GRID_LINES = 4


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above `value`: a round top for the y axis."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        candidate = step.scaleb(exponent)
        if candidate >= value:
            return candidate.normalize()
    return Decimal(10).scaleb(exponent)  # pragma: no cover - the loop always returns


def _px(*values: float) -> tuple[str, ...]:
    """Coordinates as SVG text, one decimal (format_html escapes its arguments to text first)."""
    return tuple(f"{value:.1f}" for value in values)


def _amount_label(value: Decimal, top: Decimal) -> str:
    return f"{value:,.0f}" if top >= 10 else f"{value:,.2f}"


def revenue_chart_svg(days: list[DayFigures], *, currency: str) -> SafeString:
    """A bar chart of revenue per day as inline SVG: no script and no request beyond the page itself.

    Colours come from CSS classes the admin's own variables style (light and
    dark themes); the presentation attributes are the fallback. Every bar has
    a tooltip with the day's revenue and number of sales.
    """
    plot_width = CHART_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = CHART_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    bottom = MARGIN_TOP + plot_height
    top = nice_ceiling(max((d.revenue for d in days), default=ZERO))
    slot = plot_width / max(len(days), 1)
    bar_width = max(slot * 0.7, 1)

    grid = []
    for line in range(GRID_LINES + 1):
        value = top * line / GRID_LINES
        y = bottom - plot_height * line / GRID_LINES
        grid.append(
            (*_px(MARGIN_LEFT, y, CHART_WIDTH - MARGIN_RIGHT, y, MARGIN_LEFT - 6, y + 4), _amount_label(value, top))
        )
    bars = []
    for index, figures in enumerate(days):
        height = float(figures.revenue / top) * plot_height if figures.revenue > 0 else 0
        x = MARGIN_LEFT + index * slot + (slot - bar_width) / 2
        sales = "sale" if figures.sales == 1 else "sales"
        tip = f"{figures.day:%a %d %b %Y}: {figures.revenue:,.2f} {currency} ({figures.sales} {sales})"
        bars.append((*_px(x, bottom - height, bar_width, height), figures.day.isoformat(), figures.revenue, tip))
    # Label every 5th day counted back from today, so the last bar (today) is always labelled.
    labels = [
        (*_px(MARGIN_LEFT + index * slot + slot / 2, bottom + 18), f"{figures.day:%d %b}")
        for index, figures in enumerate(days)
        if (len(days) - 1 - index) % 5 == 0
    ]
    total = sum((d.revenue for d in days), ZERO)
    empty = (
        format_html(
            '<text class="chart-empty" x="{}" y="{}" text-anchor="middle" fill="#666">No revenue in these days</text>',
            *_px(MARGIN_LEFT + plot_width / 2, MARGIN_TOP + plot_height / 2),
        )
        if total == 0
        else ""
    )
    return format_html(
        '<svg class="revenue-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" '
        'aria-labelledby="revenue-chart-title" preserveAspectRatio="xMidYMid meet">'
        '<title id="revenue-chart-title">Revenue per day in {}, last {} days: {} in total</title>'
        '<g class="chart-grid">{}</g><g class="chart-bars">{}</g><g class="chart-days">{}</g>{}</svg>',
        CHART_WIDTH,
        CHART_HEIGHT,
        currency,
        len(days),
        f"{total:,.2f}",
        format_html_join(
            "",
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#ccc"/>'
            '<text x="{}" y="{}" text-anchor="end" font-size="11" fill="#666">{}</text>',
            grid,
        ),
        format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="#79aec8" data-day="{}" '
            'data-revenue="{}"><title>{}</title></rect>',
            bars,
        ),
        format_html_join("", '<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="#666">{}</text>', labels),
        empty,
    )
