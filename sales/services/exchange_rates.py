"""Exchange rates to the base currency (`SALES_BASE_CURRENCY`), and the rate a sale snapshots (money.md).

One unit of `currency` is worth `rate` units of the base currency from `valid_from` on. A sale keeps
the rate it was given, or the one valid when it was sold: changing or deleting a rate later never
changes a sale (its `exchange_rate` is a copy).
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

import iso4217
from django.conf import settings
from django.db import transaction

from sales.models import RATE, ExchangeRate
from salesproject.errors import ValidationError

ONE = Decimal("1")
RATE_PLACES = RATE["decimal_places"]
RATE_MAX = Decimal(10) ** (RATE["max_digits"] - RATE["decimal_places"])  # exclusive
EXCHANGE_RATE_MISSING = "exchange_rate_missing"
FIELDS = ("currency", "rate", "valid_from")


def base_currency() -> str:
    return settings.SALES_BASE_CURRENCY.upper()


def clean_rate(value: Decimal, *, attr: str = "rate") -> Decimal:
    """A rate as stored: positive, at most 8 decimals, below the column's limit (else 400 on `attr`)."""
    value = Decimal(value)
    if not value.is_finite() or value <= 0:
        raise ValidationError("An exchange rate must be greater than 0.", attr=attr)
    if value != value.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise ValidationError(f"An exchange rate has at most {RATE_PLACES} decimals.", attr=attr)
    if value >= RATE_MAX:
        raise ValidationError(f"An exchange rate must be below {RATE_MAX}.", code="amount_too_large", attr=attr)
    return value.quantize(Decimal(1).scaleb(-RATE_PLACES))


def _clean_currency(value: str) -> str:
    code = (value or "").upper()
    try:
        iso4217.Currency(code)
    except (ValueError, KeyError):
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code.", attr="currency") from None
    if code == base_currency():
        raise ValidationError(
            f"{code} is the base currency: its rate is always 1.", code="base_currency", attr="currency"
        )
    return code


def _save(rate: ExchangeRate) -> ExchangeRate:
    taken = ExchangeRate.objects.filter(currency=rate.currency, valid_from=rate.valid_from).exclude(pk=rate.pk)
    if taken.exists():
        raise ValidationError(
            f"{rate.currency} already has a rate from {rate.valid_from.isoformat()}.", code="unique", attr="valid_from"
        )
    rate.save()
    return rate


@transaction.atomic
def exchange_rate_create(*, currency: str, rate: Decimal, valid_from: datetime) -> ExchangeRate:
    return _save(ExchangeRate(currency=_clean_currency(currency), rate=clean_rate(rate), valid_from=valid_from))


@transaction.atomic
def exchange_rate_update(*, exchange_rate: ExchangeRate, data: dict[str, Any]) -> ExchangeRate:
    """Change a rate; the sales that snapshotted it keep their copy."""
    if "currency" in data:
        exchange_rate.currency = _clean_currency(data["currency"])
    if "rate" in data:
        exchange_rate.rate = clean_rate(data["rate"])
    if "valid_from" in data:
        exchange_rate.valid_from = data["valid_from"]
    return _save(exchange_rate)


@transaction.atomic
def exchange_rate_delete(*, exchange_rate: ExchangeRate) -> None:
    exchange_rate.delete()


def rate_at(*, currency: str, at: datetime) -> Decimal | None:
    """The rate of `currency` valid at `at` (the latest with `valid_from <= at`); 1 for the base currency."""
    if currency.upper() == base_currency():
        return ONE
    return (
        ExchangeRate.objects.filter(currency=currency.upper(), valid_from__lte=at)
        .order_by("-valid_from")
        .values_list("rate", flat=True)
        .first()
    )


def sale_rate(*, currency: str, sold_at: datetime, given: Decimal | None = None) -> Decimal:
    """The rate a sale snapshots: `given` (the body's `exchange_rate`), else the one valid at `sold_at`,
    else 400 `exchange_rate_missing` on `currency`. A sale in the base currency is at 1 (another given rate
    is refused)."""
    if currency.upper() == base_currency():
        if given is not None and Decimal(given) != ONE:
            raise ValidationError(
                f"A sale in the base currency ({base_currency()}) has an exchange rate of 1.", attr="exchange_rate"
            )
        return ONE.quantize(Decimal(1).scaleb(-RATE_PLACES))
    if given is not None:
        return clean_rate(given, attr="exchange_rate")
    rate = rate_at(currency=currency, at=sold_at)
    if rate is None:
        raise ValidationError(
            f"No exchange rate of {currency.upper()} to {base_currency()} is valid at {sold_at.isoformat()}: "
            "add one (/exchange-rates/) or give the sale's `exchange_rate`.",
            code=EXCHANGE_RATE_MISSING,
            attr="currency",
        )
    return rate
