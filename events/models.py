"""The outbox: one row per business change, written in the change's own transaction (events.md)."""

import secrets

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class EventType(models.TextChoices):
    SALE_CREATED = "sale.created"
    SALE_UPDATED = "sale.updated"
    SALE_STATUS_CHANGED = "sale.status_changed"
    SALE_PAID = "sale.paid"
    SALE_FULFILLMENT_CREATED = "sale.fulfillment_created"
    SALE_DELIVERY_UPDATED = "sale.delivery_updated"
    SALE_RETURNED = "sale.returned"
    SALE_DELETED = "sale.deleted"
    PAYMENT_RECORDED = "payment.recorded"
    PAYMENT_STATUS_CHANGED = "payment.status_changed"
    PAYMENT_ASSIGNED = "payment.assigned"
    INVOICE_ISSUED = "invoice.issued"
    STOCK_LOW = "stock.low"
    STOCK_ADJUSTED = "stock.adjusted"


def new_event_uid() -> str:
    return "evt_" + secrets.token_hex(12)


class Event(models.Model):
    """Append-only. `id` orders the feed and per-sale delivery; `uid` ("evt_…") is the public id and the
    webhook-id receivers dedupe on. `sale_id`, `seller_id` and `store_id` are copied at write time (plain
    integers: this app sits below the ones that own those rows) so the feed scopes without joins."""

    id = models.BigAutoField(primary_key=True)
    uid = models.CharField(max_length=40, unique=True, default=new_event_uid, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    object_type = models.CharField(max_length=30)  # "sale", "payment", "stock_level", "invoice"
    object_id = models.CharField(max_length=64, db_index=True)
    sale_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    seller_id = models.BigIntegerField(null=True, blank=True)
    store_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(encoder=DjangoJSONEncoder)  # {"object": <v1 representation after the change>, ...}
    previous = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)  # changed fields before

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["seller_id", "-id"], name="event_seller_idx")]

    def __str__(self) -> str:
        return f"{self.uid} {self.type}"
