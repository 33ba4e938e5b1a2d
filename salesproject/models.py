"""Abstract base models shared by every app."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from salesproject.money import CENT


class MoneyField(models.DecimalField):
    """A money column: 15 digits with three decimals, the most any currency has (KWD, BHD, ...).

    Read back with two decimals unless the third is used (`Decimal("80.00")`, `Decimal("1.505")`), so
    amounts look in Python as they do in most currencies; what an amount is *shown* with is its currency's
    minor units (`salesproject.money.quantize(value, currency)`, the API's renderers).
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 15)
        kwargs.setdefault("decimal_places", 3)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        two = value.quantize(CENT)
        return two if two == value else value


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class IdempotencyKey(models.Model):
    """A client's `Idempotency-Key` and the first response given for it.

    Kept in the database so every app server behind a load balancer sees it.
    """

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress"
        DONE = "done"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=20, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_idempotency_key_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class RateCounter(models.Model):
    """One rate limit's count for one client (`salesproject.api.throttles`): the hits of the current fixed
    window (`slot`: seconds since the epoch // the limit's period) and of the window before it.

    Counted by one INSERT … ON CONFLICT statement per request, in the shared database so every worker process
    and every app server counts against one limit.
    """

    key = models.CharField(max_length=255, primary_key=True)
    slot = models.BigIntegerField()
    hits = models.PositiveIntegerField()
    previous_hits = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.hits}"
