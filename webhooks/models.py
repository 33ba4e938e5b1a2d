"""Webhook subscriptions and one delivery row per (event, subscription) (events.md, "Webhooks")."""

import base64
import secrets

from django.db import models
from django.db.models import Q

from events.models import Event

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


class Webhook(models.Model):
    """A subscription: where to POST which event types. `failing_since` is the first failed attempt since the
    last success; after WEBHOOK_DISABLE_AFTER of that the subscription is deactivated with a `disabled_reason`."""

    url = models.CharField(max_length=2000)  # checked by webhooks.transport
    events = models.JSONField(default=list, help_text='Event types, or ["*"] for all.')
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=255, blank=True)
    secret = models.CharField(max_length=100, default=new_secret)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED = "failed"


UNSETTLED = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


class WebhookDelivery(models.Model):
    """One event to one subscription. A ping has no `event` row (pings are not in the feed): its body is in
    `payload`. `sale_id` is copied from the event so per-sale ordering needs no join. `claimed_until` is the
    lease of the worker attempting it now (`claim` its token): two workers never attempt it at once.
    `task_id` is the task row meant to attempt it next (the periodic requeue looks for lost ones)."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    payload = models.JSONField(null=True, blank=True)
    sale_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "event"], condition=Q(event__isnull=False), name="webhook_delivery_once"
            ),
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="webhook_delivery_status_valid"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            models.Index(fields=["webhook", "sale_id", "status"], name="webhook_delivery_sale_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_uid} → {self.webhook_id} ({self.status})"

    @property
    def event_uid(self) -> str:
        return self.event.uid if self.event_id else (self.payload or {}).get("id", "")
