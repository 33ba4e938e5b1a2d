"""`GET /metrics`: Prometheus text, for a scraper on an allowed address or holding the metrics token.

Two parts. django-prometheus's request metrics (its middleware) and `api_errors_total` live in each process;
with gunicorn and several workers set `PROMETHEUS_MULTIPROC_DIR` (an empty directory, wiped before each start)
and run gunicorn with `-c python:ops.gunicorn`, so any worker's answer adds up all of them. The business figures
are read from the database at scrape time (`BusinessCollector`), so every worker reports the same numbers:
sales created / confirmed / cancelled and stock-low crossings (counted from the events outbox, append-only),
stock levels low or out now, webhook deliveries by status, and the task queue's depth and age per queue.

Access: the request's address and every address of its X-Forwarded-For must be in `METRICS_ALLOWED_CIDRS`
(default loopback; a request relayed by a proxy from outside is therefore refused), or it carries
`Authorization: Bearer <METRICS_TOKEN>`. Anything else is a plain 404: the route does not show it exists.
"""

import hmac
import ipaddress
import logging
import os
from functools import lru_cache

import prometheus_client
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, F, Q
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from events.models import Event, EventType
from inventory.models import LOW_STOCK_THRESHOLD, StockLevel
from sales.models import SaleStatus
from sales.task_queue import waiting_tasks_by_queue
from webhooks.models import DeliveryStatus, WebhookDelivery

logger = logging.getLogger(__name__)


# --- access --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _address_allowed(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in _networks(tuple(settings.METRICS_ALLOWED_CIDRS)))


def _has_token(request) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def scrape_allowed(request) -> bool:
    if _has_token(request):
        return True
    forwarded = [part for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    return all(_address_allowed(address) for address in [request.META.get("REMOTE_ADDR", ""), *forwarded])


# --- the business figures ------------------------------------------------------------------------------------


class BusinessCollector:
    """Reads the database on each scrape; four queries."""

    def collect(self):
        up = GaugeMetricFamily("metrics_database_up", "1 when the business figures below could be read.")
        try:
            families = [*self._sales_and_stock(), self._webhooks(), *self._task_queue()]
        except DatabaseError as exc:
            logger.warning("metrics: business figures unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _sales_and_stock(self) -> list:
        created_or_changed = [EventType.SALE_CREATED, EventType.SALE_STATUS_CHANGED]
        counts = Event.objects.filter(type__in=[*created_or_changed, EventType.STOCK_LOW]).aggregate(
            created=Count("pk", filter=Q(type=EventType.SALE_CREATED)),
            # A sale created already confirmed counts as confirmed too (its only event is sale.created).
            confirmed=Count("pk", filter=Q(type__in=created_or_changed, data__object__status=SaleStatus.CONFIRMED)),
            cancelled=Count("pk", filter=Q(type__in=created_or_changed, data__object__status=SaleStatus.CANCELLED)),
            stock_low=Count("pk", filter=Q(type=EventType.STOCK_LOW)),
        )
        levels = StockLevel.objects.alias(available=F("on_hand") - F("reserved")).aggregate(
            low=Count("pk", filter=Q(available__lte=LOW_STOCK_THRESHOLD)),
            out=Count("pk", filter=Q(available__lte=0)),
        )
        return [
            _counter("sales_created", "Sales created (sale.created events).", counts["created"]),
            _counter("sales_confirmed", "Sales that became confirmed.", counts["confirmed"]),
            _counter("sales_cancelled", "Sales that became cancelled.", counts["cancelled"]),
            _counter(
                "stock_low",
                "Times a stock level fell to or below the low-stock threshold (stock.low events).",
                counts["stock_low"],
            ),
            _gauge(
                "stock_levels_low",
                f"Stock levels with at most {LOW_STOCK_THRESHOLD} units available now.",
                levels["low"],
            ),
            _gauge(
                "stock_levels_out",
                "Stock levels with no unit available now (a shortage for the next sale).",
                levels["out"],
            ),
        ]

    def _webhooks(self) -> GaugeMetricFamily:
        by_status = dict(
            WebhookDelivery.objects.order_by().values("status").annotate(n=Count("pk")).values_list("status", "n")
        )
        family = GaugeMetricFamily("webhook_deliveries", "Webhook deliveries by status.", labels=["status"])
        for status in DeliveryStatus.values:
            family.add_metric([status], by_status.get(status, 0))
        return family

    def _task_queue(self) -> list:
        now = timezone.now()
        waiting = {figures.queue: figures for figures in waiting_tasks_by_queue()}
        queues = sorted({*settings.TASKS["default"].get("QUEUES", ["default"]), *waiting})
        depth = GaugeMetricFamily("task_queue_depth", "Background tasks due, waiting for a worker.", labels=["queue"])
        age = GaugeMetricFamily(
            "task_queue_oldest_age_seconds", "How long the oldest due task has waited (0: none).", labels=["queue"]
        )
        for queue in queues:
            figures = waiting.get(queue)
            depth.add_metric([queue], figures.depth if figures else 0)
            age.add_metric([queue], figures.oldest_age_seconds(now) if figures else 0.0)
        return [depth, age]


def _counter(name: str, documentation: str, value: int) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _gauge(name: str, documentation: str, value: int) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _process_registry():
    """The per-process metrics: all workers' (multiprocess mode) or this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return prometheus_client.REGISTRY


@never_cache
@require_safe
def metrics(request) -> HttpResponse:
    if not scrape_allowed(request):
        raise Http404
    business = prometheus_client.CollectorRegistry(auto_describe=False)
    business.register(BusinessCollector())
    body = prometheus_client.generate_latest(_process_registry()) + prometheus_client.generate_latest(business)
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
