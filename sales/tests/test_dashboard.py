"""The admin's sales dashboard (figures, chart, access) and the admin's static files served with DEBUG off."""

import re
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from wsgiref.util import setup_testing_defaults

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client, override_settings

from inventory.filters import StockLevelFilter
from inventory.models import StockLevel
from inventory.tests.factories import stocked_variant
from sales import dashboard
from sales import services as sale_services
from sales.models import ExchangeRate, SaleStatus
from sales.services import ItemData
from sales.tests.factories import StaffFactory, UserFactory
from salesproject import settings as project_settings

D = Decimal
URL = "/admin/dashboard/"


@pytest.fixture
def client(boss_client):
    return boss_client  # signed in as `boss`, a superuser (conftest.py)


def sell(
    price: str,
    *,
    status: str = SaleStatus.CONFIRMED,
    sold_at=None,
    quantity: int = 1,
    variant=None,
    currency: str | None = None,
    user=None,
):
    """A sale of `quantity` units at `price` (no tax), taken to `status` through the services."""
    variant = variant or stocked_variant(50)
    if status in sale_services.CREATE_STATUSES:
        created_as = status
    elif status == SaleStatus.REJECTED:
        created_as = SaleStatus.PENDING
    else:
        created_as = SaleStatus.CONFIRMED
    user = user or StaffFactory(is_superuser=True)
    sale = sale_services.sale_create(
        seller=user,
        data=sale_services.NewSale(
            status=created_as,
            sold_at=sold_at,
            currency=currency,
            items=[ItemData(variant=variant, quantity=quantity, unit_price=D(price))],
        ),
    )
    if status != created_as:
        sale = sale_services.sale_transition_to(sale=sale, user=user, status=status)
    return sale


def today_at(hour: int, days_ago: int = 0):
    return dashboard.day_start(dashboard.local_today() - timedelta(days=days_ago)) + timedelta(hours=hour)


# --- access ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_is_sent_to_the_admin_login():
    response = Client().get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={URL}"


def test_a_non_staff_user_is_sent_to_the_admin_login(db):
    client = Client()
    client.force_login(UserFactory())

    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_without_the_permission_to_view_sales_is_refused(db):
    client = Client()
    client.force_login(StaffFactory())

    assert client.get(URL).status_code == 403


def test_staff_allowed_to_view_sales_sees_it_and_the_link_on_the_admin_index(db):
    clerk = StaffFactory()
    clerk.user_permissions.add(Permission.objects.get(codename="view_sale"))
    client = Client()
    client.force_login(clerk)

    assert client.get(URL).status_code == 200
    assert f'href="{URL}"' in client.get("/admin/").content.decode()


def test_the_index_shows_no_link_to_staff_who_may_not_open_it(db):
    client = Client()
    client.force_login(StaffFactory())

    assert URL not in client.get("/admin/").content.decode()


class _Resources(HTMLParser):
    """Every address the page would make a browser fetch or follow."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "action", "data") and value:
                self.urls.append(value)


def test_the_page_renders_everything_from_this_server(client, warehouse):
    sell("25.00", sold_at=today_at(1))

    page = client.get(URL).content.decode()

    parser = _Resources()
    parser.feed(page)
    assert parser.urls
    external = [url for url in parser.urls if re.match(r"^(https?:)?//", url)]
    assert external == []
    assert "<svg" in page and "<script src=" not in page.replace('<script src="/static/', "")


# --- figures -----------------------------------------------------------------------------------------------


def test_revenue_counts_confirmed_shipped_and_completed_sales_only(db, warehouse):
    sell("10.00", status=SaleStatus.CONFIRMED, sold_at=today_at(1))
    sell("20.00", status=SaleStatus.IN_DELIVERY, sold_at=today_at(1))
    sell("40.00", status=SaleStatus.COMPLETED, sold_at=today_at(1))
    for status in (
        SaleStatus.DRAFT,
        SaleStatus.PENDING,
        SaleStatus.CANCELLED,
        SaleStatus.REJECTED,
        SaleStatus.REFUNDED,
    ):
        sell("1000.00", status=status, sold_at=today_at(1))

    [today, *_] = dashboard.revenue_periods(currency="USD")

    assert (today.revenue, today.sales) == (D("70.00"), 3)


def test_periods_are_today_the_last_7_and_the_last_30_local_days(db, warehouse):
    sell("1.00", sold_at=today_at(0))  # local midnight today
    sell("2.00", sold_at=today_at(23, days_ago=1))
    sell("4.00", sold_at=today_at(12, days_ago=6))
    sell("8.00", sold_at=today_at(12, days_ago=7))
    sell("16.00", sold_at=today_at(12, days_ago=29))
    sell("32.00", sold_at=today_at(23, days_ago=30))  # outside every period

    periods = dashboard.revenue_periods(currency="USD")

    assert [(p.label, p.revenue, p.sales) for p in periods] == [
        ("Today", D("1.00"), 1),
        ("Last 7 days", D("7.00"), 3),
        ("Last 30 days", D("31.00"), 5),
    ]


@override_settings(TIME_ZONE="America/New_York")
def test_days_are_cut_at_midnight_in_the_time_zone_setting(db, warehouse):
    today = dashboard.local_today()
    # 03:30 UTC on a day is still the evening before in New York (UTC-4 or UTC-5).
    early_utc = dashboard.day_start(today) + timedelta(hours=-1)
    sell("5.00", sold_at=early_utc)

    days = dashboard.revenue_per_day(currency="USD")
    periods = dashboard.revenue_periods(currency="USD")

    assert days[-1].day == today and days[-1].revenue == D("0.00")
    assert (days[-2].day, days[-2].revenue, days[-2].sales) == (today - timedelta(days=1), D("5.00"), 1)
    assert periods[0].revenue == D("0.00") and periods[1].revenue == D("5.00")


def test_revenue_per_day_lists_every_day_oldest_first_with_zeros(db, warehouse):
    sell("10.00", sold_at=today_at(9))
    sell("15.50", sold_at=today_at(18))
    sell("3.00", sold_at=today_at(9, days_ago=3))

    days = dashboard.revenue_per_day(currency="USD")

    assert len(days) == 30
    assert [d.day for d in days] == [dashboard.local_today() - timedelta(days=n) for n in range(29, -1, -1)]
    assert (days[-1].revenue, days[-1].sales) == (D("25.50"), 2)
    assert (days[-4].revenue, days[-4].sales) == (D("3.00"), 1)
    assert sum(d.sales for d in days) == 3


def test_money_of_another_currency_is_converted_per_sale_with_its_own_rate(db, warehouse):
    ExchangeRate.objects.create(currency="EUR", rate=D("1.08375000"), valid_from=today_at(0, days_ago=60))
    ExchangeRate.objects.create(currency="JPY", rate=D("0.00673100"), valid_from=today_at(0, days_ago=60))
    variant = stocked_variant(50, sku="FX")
    sell("10.00", sold_at=today_at(1), variant=variant)
    sell("99.99", sold_at=today_at(1), currency="EUR", variant=variant)  # 108.364... → 108.36
    sell("0.02", sold_at=today_at(1), currency="EUR", variant=variant)  # 0.021675 → 0.02
    sell("1500", sold_at=today_at(1), currency="JPY", variant=variant)  # 10.0965 → 10.10

    [today, *_] = dashboard.revenue_periods()

    assert (today.revenue, today.sales) == (D("128.48"), 4)  # 10.00 + 108.36 + 0.02 + 10.10, never 1609.01
    assert dashboard.revenue_per_day()[-1].revenue == D("128.48")
    assert [(p.sku, p.revenue) for p in dashboard.top_products()] == [("FX", D("128.48"))]
    confirmed = {row.status: row.total for row in dashboard.sales_by_status()}[SaleStatus.CONFIRMED]
    assert confirmed == D("128.48")
    assert dashboard.revenue_periods(currency="EUR")[0].revenue == D("108.38")
    assert [(c.currency, c.sales, c.revenue, c.revenue_base) for c in dashboard.currency_figures()] == [
        ("USD", 1, D("10.00"), D("10.00")),
        ("EUR", 2, D("100.01"), D("108.38")),
        ("JPY", 1, D("1500"), D("10.10")),
    ]


def test_sales_by_status_lists_every_status(db, warehouse):
    sell("10.00", status=SaleStatus.CONFIRMED)
    sell("20.00", status=SaleStatus.CONFIRMED)
    sell("5.00", status=SaleStatus.CANCELLED)

    rows = {row.status: (row.sales, row.total) for row in dashboard.sales_by_status(currency="USD")}

    assert list(rows) == SaleStatus.values
    assert rows[SaleStatus.CONFIRMED] == (2, D("30.00"))
    assert rows[SaleStatus.CANCELLED] == (1, D("5.00"))
    assert rows[SaleStatus.DRAFT] == (0, D("0.00"))


def test_top_products_rank_revenue_from_revenue_counting_sales(db, warehouse):
    variants = {name: stocked_variant(50, sku=f"TOP-{name}") for name in ("a", "b", "c")}
    sell("10.00", variant=variants["a"], quantity=3, sold_at=today_at(1))  # 30
    sell("50.00", variant=variants["b"], quantity=1, sold_at=today_at(1))  # 50
    sell("5.00", variant=variants["a"], quantity=1, sold_at=today_at(1, days_ago=2))  # a: 35
    sell("999.00", variant=variants["c"], status=SaleStatus.CANCELLED, sold_at=today_at(1))
    sell("999.00", variant=variants["c"], sold_at=today_at(1, days_ago=40))  # too old

    top = dashboard.top_products(currency="USD")

    assert [(p.sku, p.units, p.revenue) for p in top] == [("TOP-b", 1, D("50.00")), ("TOP-a", 4, D("35.00"))]


def test_top_products_keeps_ten(db, warehouse):
    for index in range(12):
        sell(f"{index + 1}.00", sold_at=today_at(1))

    top = dashboard.top_products(currency="USD")

    assert len(top) == 10
    assert top[0].revenue == D("12.00") and top[-1].revenue == D("3.00")


def test_low_stock_uses_the_stock_lists_rule(db, warehouse):
    stocked_variant(5, sku="AT")
    stocked_variant(6, sku="ABOVE")
    reserved = stocked_variant(7, sku="RESERVED")
    sell("1.00", status=SaleStatus.PENDING, variant=reserved, quantity=4)  # 3 available

    shown = [level.variant.sku for level in dashboard.low_stock_levels()]

    assert shown == ["RESERVED", "AT"]
    api = StockLevelFilter({"low_stock": "true"}, queryset=StockLevel.objects.all()).qs
    assert sorted(shown) == sorted(level.variant.sku for level in api)


def test_the_page_shows_the_figures(client, warehouse):
    sell("12.34", sold_at=today_at(1))

    response = client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "12.34 USD" in page
    assert page.count("<rect ") == 30
    assert 'id="top-products"' in page and 'id="sales-by-status"' in page and 'id="low-stock"' in page
    assert 'id="sales-by-currency"' in page and "12.34 USD" in page.split('id="sales-by-currency"')[1]


def test_the_page_asks_a_fixed_number_of_queries(client, warehouse, django_assert_num_queries):
    for days_ago in range(3):
        sell("10.00", sold_at=today_at(1, days_ago=days_ago))
    with django_assert_num_queries(9) as few:  # session, user, then one query per figure: 6, the task queue
        client.get(URL)
    for days_ago in range(3, 25):
        sell("10.00", sold_at=today_at(1, days_ago=days_ago), status=SaleStatus.COMPLETED)

    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(URL)

    assert response.status_code == 200


def test_the_figures_are_in_the_base_currency_whatever_the_query(client, warehouse):
    response = client.get(URL + "?currency=<script>")

    assert response.status_code == 200
    assert response.context["currency"] == "USD"  # SALES_BASE_CURRENCY


# --- the chart -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "top"),
    [
        ("0", "1"),
        ("0.3", "0.5"),
        ("1", "1"),
        ("7", "10"),
        ("12", "20"),
        ("230.5", "250"),
        ("2600", "5000"),
        ("10001", "20000"),
    ],
)
def test_the_y_axis_ends_on_a_round_number(value, top):
    assert dashboard.nice_ceiling(D(value)) == D(top)


def test_the_chart_draws_one_bar_per_day_scaled_to_the_axis():
    today = dashboard.local_today()
    days = [dashboard.DayFigures(day=today - timedelta(days=n), revenue=D(0), sales=0) for n in range(29, -1, -1)]
    days[-1] = dashboard.DayFigures(day=today, revenue=D("200.00"), sales=3)
    days[-2] = dashboard.DayFigures(day=days[-2].day, revenue=D("100.00"), sales=1)

    svg = str(dashboard.revenue_chart_svg(days, currency="USD"))

    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert len(heights) == 30
    assert heights[-1] == pytest.approx(2 * heights[-2]) and heights[-1] > 0
    assert heights[:-2] == [0.0] * 28
    assert f"{today:%a %d %b %Y}: 200.00 USD (3 sales)" in svg
    assert "No revenue" not in svg


def test_an_empty_chart_says_so_and_escapes_its_text():
    today = dashboard.local_today()
    days = [dashboard.DayFigures(day=today, revenue=D(0), sales=0)]

    svg = str(dashboard.revenue_chart_svg(days, currency="<b>"))

    assert "No revenue in these days" in svg
    assert "<b>" not in svg and "&lt;b&gt;" in svg


# --- static files with DEBUG off: what gunicorn serves -----------------------------------------------------------


@contextmanager
def production_static(static_root):
    """The project's own static settings (not the test suite's), DEBUG off, as gunicorn runs them."""
    with override_settings(
        DEBUG=False,
        STORAGES=project_settings.STORAGES,
        STATIC_ROOT=static_root,
        WHITENOISE_USE_FINDERS=project_settings.WHITENOISE_USE_FINDERS,
        WHITENOISE_AUTOREFRESH=False,
    ):
        yield


def wsgi_get(app, path: str, **headers: str) -> tuple[str, dict[str, str], bytes]:
    """One GET through the WSGI application itself, as gunicorn calls it (no test client in between)."""
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update({"PATH_INFO": path, "REQUEST_METHOD": "GET", "QUERY_STRING": "", **headers})
    answer: dict = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(response_headers)

    # As Django's test client does: the test's database connection must outlive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            result.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], body


def admin_css_url(app) -> str:
    status, _, page = wsgi_get(app, "/admin/login/")
    assert status.startswith("200"), status
    return re.search(r'href="(/static/admin/css/base[^"]*\.css)"', page.decode()).group(1)


def test_without_collectstatic_the_wsgi_app_serves_the_admin_css(db, tmp_path):
    with production_static(tmp_path):  # an empty STATIC_ROOT: nothing was collected
        app = get_wsgi_application()
        url = admin_css_url(app)
        status, headers, body = wsgi_get(app, url)

    assert url == "/static/admin/css/base.css"
    assert status == "200 OK"
    assert headers["Content-Type"].startswith("text/css")
    assert b"--primary" in body


def test_after_collectstatic_the_admin_css_is_hashed_compressed_and_cached_for_good(db, tmp_path):
    with production_static(tmp_path):
        # The admin's files are what this is about; the API docs' large bundles only cost time here.
        call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=["drf_spectacular_sidecar"])
        app = get_wsgi_application()
        url = admin_css_url(app)
        status, headers, body = wsgi_get(app, url, HTTP_ACCEPT_ENCODING="gzip")

    assert re.fullmatch(r"/static/admin/css/base\.[0-9a-f]{12}\.css", url)
    assert status == "200 OK"
    assert headers["Content-Encoding"] == "gzip"
    assert "immutable" in headers["Cache-Control"] and "max-age=315360000" in headers["Cache-Control"]
    assert body[:2] == b"\x1f\x8b"
