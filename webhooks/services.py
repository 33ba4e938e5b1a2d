"""Every write of webhooks: subscriptions, the fan-out of events to deliveries, attempts, retries, requeue.

A delivery's task row is written in the transaction that makes the delivery due (django-tasks-db), so it
exists exactly when that change committed. An attempt claims the delivery with a lease (a conditional
UPDATE), sends outside any transaction, then records the outcome under a row lock.
"""

import json
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from rest_framework.fields import DateTimeField
from standardwebhooks.webhooks import Webhook as Signer

from events.models import Event, EventType, new_event_uid
from salesproject.errors import DomainError, ValidationError
from webhooks import transport
from webhooks.models import UNSETTLED, DeliveryStatus, Webhook, WebhookDelivery, new_secret
from webhooks.tasks import deliver

logger = logging.getLogger(__name__)

PING = "webhook.ping"
USER_AGENT = "salesproject-webhooks/1"


class WebhookInactive(DomainError):
    code = "webhook_inactive"
    default_detail = "The webhook subscription is not active; activate it first."


class DeliveryInProgress(DomainError):
    code = "delivery_in_progress"
    default_detail = "The delivery is being attempted right now; try again in a few seconds."


# --- subscriptions -----------------------------------------------------------------------------------------


def check_event_types(events: list[str]) -> list[str]:
    valid = set(EventType.values) | {"*"}
    for index, name in enumerate(events):
        if name not in valid:
            raise ValidationError(
                f'Unknown event type "{name}". Valid types: *, {", ".join(EventType.values)}.',
                code="unknown_event_type",
                attr=f"events.{index}",
            )
    return list(dict.fromkeys(events))


@transaction.atomic
def webhook_create(*, url: str, events: list[str], active: bool = True, description: str = "") -> Webhook:
    transport.check(url)
    return Webhook.objects.create(url=url, events=check_event_types(events), active=active, description=description)


@transaction.atomic
def webhook_update(*, webhook: Webhook, data: dict) -> Webhook:
    """Change a subscription; reactivating it clears its failure record and sends what is waiting."""
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    if "url" in data and data["url"] != webhook.url:
        transport.check(data["url"])
    if "events" in data:
        data["events"] = check_event_types(data["events"])
    reactivated = data.get("active") is True and not webhook.active
    for name in ("url", "events", "active", "description"):
        if name in data:
            setattr(webhook, name, data[name])
    if reactivated:
        webhook.failing_since = None
        webhook.disabled_reason = ""
    webhook.save()
    if reactivated:
        now = timezone.now()
        for delivery in webhook.deliveries.filter(status__in=UNSETTLED).order_by("pk"):
            delivery.next_attempt_at = now
            delivery.save(update_fields=["next_attempt_at", "updated_at"])
            _enqueue(delivery)
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook) -> None:
    webhook.delete()


@transaction.atomic
def webhook_rotate_secret(*, webhook: Webhook) -> Webhook:
    """A new secret, used from the next attempt on (an attempt reads the secret after claiming)."""
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    webhook.secret = new_secret()
    webhook.save(update_fields=["secret", "updated_at"])
    return webhook


@transaction.atomic
def webhook_ping(*, webhook: Webhook) -> WebhookDelivery:
    """A `webhook.ping` to this subscription only; it is not an event of the feed."""
    if not webhook.active:
        raise WebhookInactive()
    now = timezone.now()
    body = {
        "id": new_event_uid(),
        "type": PING,
        "created_at": _iso(now),
        "data": {"object": {"webhook": webhook.pk, "url": webhook.url}},
    }
    delivery = WebhookDelivery.objects.create(webhook=webhook, payload=body, next_attempt_at=now)
    _enqueue(delivery)
    return delivery


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again whatever its state, with a fresh retry schedule (`attempts` starts again at 0)."""
    delivery = WebhookDelivery.objects.select_for_update().select_related("webhook").get(pk=delivery.pk)
    now = timezone.now()
    if not delivery.webhook.active:
        raise WebhookInactive()
    if delivery.claimed_until and delivery.claimed_until > now:
        raise DeliveryInProgress()
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.delivered_at = None
    delivery.save()
    _enqueue(delivery)
    return delivery


# --- fan-out and attempts ---------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return DateTimeField().to_representation(value)


def event_body(event: Event) -> dict:
    """The event as the feed shows it: `{"id", "type", "created_at", "data", "previous"?}`."""
    body = {"id": event.uid, "type": event.type, "created_at": _iso(event.created_at), "data": event.data}
    if event.previous is not None:
        body["previous"] = event.previous
    return body


def _enqueue(delivery: WebhookDelivery, *, at: datetime | None = None) -> None:
    task = deliver.using(run_after=at) if at else deliver
    result = task.enqueue(delivery.pk)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(task_id=str(result.id))


def _blocked(delivery: WebhookDelivery) -> bool:
    """Whether an earlier event of the same sale is still unsettled for this subscription (per-sale order)."""
    if delivery.sale_id is None or delivery.event_id is None:
        return False
    return WebhookDelivery.objects.filter(
        webhook_id=delivery.webhook_id,
        sale_id=delivery.sale_id,
        event_id__lt=delivery.event_id,
        status__in=UNSETTLED,
    ).exists()


@transaction.atomic(savepoint=False)  # part of the event's transaction: no savepoint of its own
def deliveries_fan_out(*, event: Event) -> int:
    """One delivery and its task per active subscription that wants the event (in the event's transaction)."""
    hooks = [hook for hook in Webhook.objects.filter(active=True) if hook.wants(event.type)]
    now = timezone.now()
    for hook in hooks:
        delivery = WebhookDelivery.objects.create(webhook=hook, event=event, sale_id=event.sale_id, next_attempt_at=now)
        # Enqueued even when an earlier event of the sale is unsettled: the task then waits for it (`_blocked`),
        # and the settling of the earlier one enqueues it again (see `_release_next`).
        _enqueue(delivery)
    return len(hooks)


def _lease() -> timedelta:
    # An attempt takes at most WEBHOOK_TIMEOUT (plus name resolution): the lease outlives it comfortably.
    return timedelta(seconds=settings.WEBHOOK_TIMEOUT * 3)


def delivery_attempt(*, delivery_id: int) -> str:
    """Claim, POST, record. Returns what happened: delivered, retrying, failed, or why nothing was sent."""
    now = timezone.now()
    delivery = WebhookDelivery.objects.select_related("webhook", "event").filter(pk=delivery_id).first()
    if delivery is None:
        return "gone"
    if delivery.status not in UNSETTLED:
        return "settled"
    if not delivery.webhook.active:
        return "inactive"
    if delivery.next_attempt_at and delivery.next_attempt_at > now:
        return "not_due"
    if _blocked(delivery):
        return "waiting"
    claim = secrets.token_hex(16)
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery.pk, status__in=UNSETTLED)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + _lease(), claim=claim)
    )
    if not claimed:
        return "claimed"  # another worker attempts it now
    url, secret = Webhook.objects.values_list("url", "secret").get(pk=delivery.webhook_id)  # after a rotation: new
    body = event_body(delivery.event) if delivery.event_id else delivery.payload
    payload = json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    sent_at = timezone.now()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": body["id"],
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Signer(secret).sign(body["id"], sent_at, payload),
    }
    outcome = transport.post(url, payload, headers)
    return _record(delivery.pk, claim, outcome)


@transaction.atomic
def _record(delivery_id: int, claim: str, outcome: transport.Outcome) -> str:
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
    if delivery.claim != claim:
        logger.warning("webhook delivery %s: lease lost during the attempt; outcome dropped", delivery_id)
        return "superseded"
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error[:500]
    delivery.claimed_until = None
    delivery.claim = ""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if outcome.delivered:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, now, None
        Webhook.objects.filter(pk=delivery.webhook_id, failing_since__isnull=False).update(failing_since=None)
    else:
        if delivery.attempts <= len(schedule):
            delivery.status = DeliveryStatus.RETRYING
            delivery.next_attempt_at = now + timedelta(seconds=schedule[delivery.attempts - 1])
        else:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        Webhook.objects.filter(pk=delivery.webhook_id, failing_since__isnull=True).update(failing_since=now)
    delivery.save()
    if delivery.status == DeliveryStatus.RETRYING:
        _enqueue(delivery, at=delivery.next_attempt_at)
    else:
        _release_next(delivery)
    if not outcome.delivered:
        webhook = Webhook.objects.select_for_update().get(pk=delivery.webhook_id)
        failing_since = webhook.failing_since  # None if another delivery succeeded meanwhile
        if webhook.active and failing_since and failing_since <= now - settings.WEBHOOK_DISABLE_AFTER:
            _disable(webhook, now)
    return str(delivery.status)


def _release_next(delivery: WebhookDelivery) -> None:
    """The next unsettled event of the same sale for this subscription may go now."""
    if delivery.sale_id is None or delivery.event_id is None:
        return
    following = (
        WebhookDelivery.objects.filter(
            webhook_id=delivery.webhook_id,
            sale_id=delivery.sale_id,
            event_id__gt=delivery.event_id,
            status__in=UNSETTLED,
        )
        .order_by("event_id")
        .first()
    )
    if following is not None:
        _enqueue(following, at=following.next_attempt_at if following.next_attempt_at > timezone.now() else None)


def _disable(webhook: Webhook, now: datetime) -> None:
    webhook.active = False
    webhook.disabled_reason = (
        f"Disabled automatically on {now:%Y-%m-%d %H:%M} UTC: every delivery had failed since "
        f"{webhook.failing_since:%Y-%m-%d %H:%M} UTC. Fix the receiver, then reactivate the subscription."
    )
    webhook.save(update_fields=["active", "disabled_reason", "updated_at"])
    logger.warning("webhook %s disabled: failing since %s", webhook.pk, webhook.failing_since)


# --- periodic (manage.py run_periodic) ----------------------------------------------------------------------


def deliveries_requeue_due(now: datetime | None = None) -> int:
    """Enqueue again the due deliveries whose task is gone, finished without settling them, or died with its
    worker (running for longer than a lease, nobody holding the delivery's lease). Concurrent runs skip each
    other's rows; a duplicate task would find the delivery claimed or settled and do nothing."""
    now = now or timezone.now()
    count = 0
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status__in=UNSETTLED, next_attempt_at__lte=now, webhook__active=True)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("pk")[:1000]
        )
        alive = DBTaskResult.objects.filter(id__in=[d.task_id for d in due if d.task_id]).filter(
            Q(status=TaskResultStatus.READY)
            | Q(status=TaskResultStatus.RUNNING, started_at__gt=now - _lease())  # a worker is on it now
        )
        waiting = {str(task_id) for task_id in alive.values_list("id", flat=True)}
        for delivery in due:
            if delivery.task_id in waiting or _blocked(delivery):
                continue
            _enqueue(delivery)
            count += 1
    return count


def subscriptions_disable_failing(now: datetime | None = None) -> int:
    """Deactivate the subscriptions whose deliveries have failed for WEBHOOK_DISABLE_AFTER (3 days)."""
    now = now or timezone.now()
    with transaction.atomic():
        failing = list(
            Webhook.objects.select_for_update(skip_locked=True).filter(
                active=True, failing_since__lte=now - settings.WEBHOOK_DISABLE_AFTER
            )
        )
        for webhook in failing:
            _disable(webhook, now)
    return len(failing)
