"""The sales dashboard: a staff-only admin page of revenue, sales by status, top products and low stock.

Mounted in `salesproject/urls.py` under the admin's own `admin_view`, so an
anonymous or non-staff visitor is sent to the admin login. Reading it also
needs the permission to view sales (a superuser has it). All figures come
from `sales.dashboard`, in the base currency, with a table per currency, and the background-task queue from
`sales.task_queue`; this view only renders.
"""

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from inventory.models import LOW_STOCK_THRESHOLD
from sales import dashboard
from sales.task_queue import waiting_tasks_by_queue


def _changelist_url(name: str) -> str | None:
    """The admin change list of a model, or None when that model is not in the admin."""
    try:
        return reverse(f"admin:{name}_changelist")
    except NoReverseMatch:
        return None


def sales_dashboard(request: HttpRequest) -> TemplateResponse:
    if not request.user.has_perm("sales.view_sale"):
        raise PermissionDenied
    # Every money figure is in the base currency, each sale converted with its own rate (see sales.dashboard).
    currency = dashboard.base_currency()
    today = dashboard.local_today()
    days = dashboard.revenue_per_day(today=today)
    now = timezone.now()
    queues = [
        {"name": queue.queue, "depth": queue.depth, "age": round(queue.oldest_age_seconds(now))}
        for queue in waiting_tasks_by_queue()
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Sales dashboard",
        "subtitle": None,
        "currency": currency,
        "today": today,
        "periods": dashboard.revenue_periods(today=today),
        "days": days,
        "chart": dashboard.revenue_chart_svg(days, currency=currency),
        "by_status": dashboard.sales_by_status(),
        "by_currency": dashboard.currency_figures(today=today),
        "top_products": dashboard.top_products(today=today),
        "low_stock": dashboard.low_stock_levels(),
        "low_stock_threshold": LOW_STOCK_THRESHOLD,
        "chart_days": dashboard.CHART_DAYS,
        "time_zone": settings.TIME_ZONE,
        "sales_url": _changelist_url("sales_sale"),
        "stock_url": _changelist_url("inventory_stocklevel"),
        # Background tasks waiting for a `manage.py db_worker` (sales.task_queue): per queue, and all together.
        "task_queues": queues,
        "tasks_waiting": sum(queue["depth"] for queue in queues),
        "oldest_task_age": max((queue["age"] for queue in queues), default=0),
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
