"""Money helpers: every amount is a `Decimal` with two places, rounded half-up."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

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


def quantize(value: object) -> Decimal:
    """Round to currency minor units (two places), half-up."""
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def fits(value: Decimal) -> bool:
    """Whether an amount (of either sign) can be stored exactly in a money column."""
    return value.is_finite() and abs(value) <= MAX_AMOUNT
