"""Money helpers: every amount is a `Decimal` in its currency's minor units (ISO 4217), rounded half-up.

Most currencies have two decimals; JPY and KRW none, KWD, BHD, JOD, OMR and TND three. The table
comes from the `iso4217` package (the ISO list, maintained); a code it does not know counts as two
decimals. Money columns hold three decimals, the most any currency has.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

import iso4217

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")
# The largest amount a money column (14 digits, 2 places) holds: every stored amount and total must fit.
MAX_AMOUNT = Decimal("999999999999.99")


def to_decimal(value: object) -> Decimal:
    """Turn an int, str or Decimal into a Decimal; refuse floats, which cannot hold cents exactly."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal amount: {value!r}") from exc


UNITS = {0: Decimal("1"), 1: Decimal("0.1"), 2: CENT, 3: Decimal("0.001"), 4: Decimal("0.0001")}


@lru_cache(maxsize=512)
def minor_units(currency: str | None) -> int:
    """The number of decimals of a currency's amounts (2 for a code the ISO table does not know or None)."""
    if not currency:
        return 2
    try:
        exponent = iso4217.Currency(currency.upper()).exponent
    except (ValueError, KeyError):
        return 2
    return exponent if exponent is not None and exponent in UNITS else 2


def unit(currency: str | None) -> Decimal:
    """The smallest amount of a currency: 0.01 USD, 1 JPY, 0.001 KWD."""
    return UNITS[minor_units(currency)]


def quantize(value: object, currency: str | None = None) -> Decimal:
    """Round to the currency's minor units (two places without a currency), half-up."""
    return to_decimal(value).quantize(unit(currency), rounding=ROUND_HALF_UP)


def has_more_decimals(value: Decimal, currency: str | None) -> bool:
    """Whether an input amount has more decimals than its currency has (`"1.005"` USD, `"10.5"` JPY)."""
    value = to_decimal(value)
    return value.is_finite() and value != value.quantize(unit(currency), rounding=ROUND_HALF_UP)


def fits(value: Decimal) -> bool:
    """Whether an amount (of either sign) can be stored exactly in a money column."""
    return value.is_finite() and abs(value) <= MAX_AMOUNT
