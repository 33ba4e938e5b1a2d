"""Payments and refunds; a transaction may arrive before it is matched to a sale."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from salesproject.models import MoneyField


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
    #
    # What a payment pays for is its allocations (`PaymentAllocation`, `sales` below): a sale's money counts
    # only its own. `sale` repeats the sale when there is exactly one allocation (then of the whole amount),
    # and is empty for an unassigned transaction and for one spread over several sales; the services keep
    # both in step (`payments.services.payment_allocate`).
    sale = models.ForeignKey("sales.Sale", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # `sale.payments`: every payment with an allocation on that sale.
    sales = models.ManyToManyField("sales.Sale", through="PaymentAllocation", related_name="payments", blank=True)
    amount = MoneyField()  # in `currency`'s minor units
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
    metadata = models.JSONField(default=dict, blank=True)  # an integrator's flat string → string object
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

    @property
    def allocation_rows(self) -> list["PaymentAllocation"]:
        """The payment's allocations, read without a query when they are loaded or implied by `sale`.

        Loaded (prefetched, or kept by the service that wrote them): those. Else a payment with a
        `sale` has exactly one allocation, of its whole amount: it is built in memory (so a sale's
        detail shows its payments' allocations without a query per payment). Else they are read.
        """
        loaded = getattr(self, "_prefetched_objects_cache", {}).get("allocations")
        if loaded is not None:
            return list(loaded)
        if self.sale_id is not None:
            return [PaymentAllocation(payment=self, sale_id=self.sale_id, amount=self.amount)]
        if self.pk is None:
            return []
        return list(self.allocations.order_by("pk"))


class PaymentAllocation(models.Model):
    """The part of a payment or refund that is one sale's money (seed 004: one transaction over several sales)."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    # PROTECT: a sale with money on it is never deleted.
    sale = models.ForeignKey("sales.Sale", on_delete=models.PROTECT, related_name="payment_allocations")
    amount = MoneyField()  # in the payment's currency

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "sale"], name="payment_allocation_one_per_sale"),
            models.CheckConstraint(condition=Q(amount__gt=Decimal("0")), name="payment_allocation_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of payment {self.payment_id} to sale {self.sale_id}"
