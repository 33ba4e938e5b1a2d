"""What was asked of the customer e-mails and what became of each: one row per (sale, kind, reference)."""

from django.db import models


class EmailKind(models.TextChoices):
    SALE_CONFIRMED = "sale_confirmed", "Sale confirmed"
    SALE_SHIPPED = "sale_shipped", "Sale shipped"
    SALE_REFUNDED = "sale_refunded", "Sale refunded"


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # to send, or to retry at next_attempt_at
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped"  # nobody to send it to (no address, opted out); `last_error` says why
    FAILED = "failed", "Failed"  # every attempt failed


class CustomerEmail(models.Model):
    """The unique key makes the e-mail idempotent: an event seen twice, or a task run twice, sends it once.
    `reference` tells apart e-mails of one kind about one sale: the fulfilment's id for `sale_shipped`
    (each parcel its tracking e-mail), empty for the others."""

    sale = models.ForeignKey("sales.Sale", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=EmailKind.choices)
    reference = models.CharField(max_length=40, blank=True)
    event_uid = models.CharField(max_length=40, blank=True)  # the event that asked for it
    status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    to = models.EmailField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["sale", "kind", "reference"], name="customer_email_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="customer_email_due_idx", condition=models.Q(status="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of sale {self.sale_id} ({self.status})"
