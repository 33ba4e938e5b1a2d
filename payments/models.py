"""Payments and refunds; a transaction may arrive before it is matched to a sale."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    WALLET_TRANSFER = "wallet_transfer", "Wallet transfer"
    USSD = "ussd", "USSD"
    DEPOSIT = "deposit", "Deposit"
    OTHER = "other", "Other"


class PaymentKind(models.TextChoices):
    PAYMENT = "payment", "Payment"
    REFUND = "refund", "Refund"


class PaymentState(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCESSFUL = "successful", "Successful"
    FAILED = "failed", "Failed"


class Payment(models.Model):
    # Empty until the transaction is matched (a bank transfer that arrives first).
    # PROTECT: a sale with payments is never deleted, so no transaction is orphaned (and re-assignable).
    sale = models.ForeignKey("sales.Sale", null=True, blank=True, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    method = models.CharField(max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.CASH)
    kind = models.CharField(max_length=10, choices=PaymentKind.choices, default=PaymentKind.PAYMENT)
    status = models.CharField(max_length=10, choices=PaymentState.choices, default=PaymentState.SUCCESSFUL)
    # Provider's reference; unique when given (NULLs do not collide).
    reference = models.CharField(max_length=100, null=True, blank=True, unique=True)
    received_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=Decimal("0")), name="payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} ({self.method})"

    @property
    def signed_amount(self) -> Decimal:
        return -self.amount if self.kind == PaymentKind.REFUND else self.amount
