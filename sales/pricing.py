"""Price an order: line discounts, order discount, tax and shipping, in Decimal cents.

Pure calculation, no database: services feed it plain inputs and store what it returns,
so every total a sale shows can be recomputed and checked line by line.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction

from salesproject.money import CENT, HUNDRED, MAX_AMOUNT, ZERO, fits, quantize, to_decimal

PERCENT = "percent"
FIXED = "fixed"
DISCOUNT_TYPES = (PERCENT, FIXED)

Amount = Decimal | int | str


class PricingError(ValueError):
    """Reject an input that cannot be priced; `attr` names the input by its dotted path."""

    def __init__(self, detail: str, *, attr: str, code: str = "invalid") -> None:
        super().__init__(detail)
        self.detail = detail
        self.attr = attr
        self.code = code


@dataclass(frozen=True)
class LineInput:
    """Describe one line as entered; values may still be str or int until priced."""

    unit_price: Decimal
    quantity: int
    discount: Decimal = Decimal("0")
    discount_type: str = FIXED
    tax_rate: Decimal = Decimal("0")


@dataclass(frozen=True)
class LineResult:
    """Carry every amount of a line so stored lines add up to the stored order totals."""

    subtotal: Decimal
    line_discount: Decimal
    order_discount: Decimal
    discount_total: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class OrderResult:
    """Carry the order totals together with the lines they are the sums of."""

    lines: tuple[LineResult, ...]
    subtotal: Decimal
    line_discount_total: Decimal
    order_discount: Decimal
    discount_total: Decimal
    shipping: Decimal
    shipping_tax: Decimal
    tax_total: Decimal
    grand_total: Decimal


def _decimal(value: object, *, attr: str) -> Decimal:
    """Coerce an input to a finite Decimal, naming the input when it is not a number."""
    try:
        number = to_decimal(value)
    except (TypeError, ValueError) as exc:
        raise PricingError(f"Not a valid amount: {value!r}.", attr=attr) from exc
    if not number.is_finite():
        raise PricingError(f"Not a valid amount: {value!r}.", attr=attr)
    return number


def _non_negative(value: object, *, attr: str) -> Decimal:
    """Coerce an input that must not be below zero."""
    number = _decimal(value, attr=attr)
    if number < 0:
        raise PricingError("Must not be negative.", attr=attr, code="min_value")
    return number


def _quantity(value: object, *, attr: str) -> int:
    """Coerce a quantity to a whole number of at least one."""
    if isinstance(value, bool):
        raise PricingError("Quantity must be a whole number.", attr=attr)
    if isinstance(value, int):
        quantity = value
    else:
        number = _decimal(value, attr=attr)
        if number != number.to_integral_value():
            raise PricingError("Quantity must be a whole number.", attr=attr)
        quantity = int(number)
    if quantity < 1:
        raise PricingError("Quantity must be at least 1.", attr=attr, code="min_value")
    return quantity


def _tax_in(*, amount: Decimal, rate: Decimal, inclusive: bool) -> Decimal:
    """Return the tax on `amount`: added on top when exclusive, contained in it when inclusive."""
    if inclusive:
        return quantize(amount * rate / (HUNDRED + rate))
    return quantize(amount * rate / HUNDRED)


def _ceil_cent(value: Decimal) -> Decimal:
    """Round up to the cent, so a weight with sub-cent digits still caps its share at whole cents."""
    return value.quantize(CENT, rounding=ROUND_CEILING)


def line_discount_amount(*, subtotal: Decimal, discount: Decimal, discount_type: str, attr: str) -> Decimal:
    """Return the discount taken off `subtotal`; refuse one that is negative or larger than it.

    `attr` is the path of the discount input ("items.0.discount", "discount"); an unknown
    type is reported on the sibling "<attr>_type".
    """
    if discount_type not in DISCOUNT_TYPES:
        raise PricingError(
            f'Unknown discount type "{discount_type}"; use "{PERCENT}" or "{FIXED}".',
            attr=f"{attr}_type",
            code="invalid_choice",
        )
    subtotal = quantize(_decimal(subtotal, attr=attr))
    value = _non_negative(discount, attr=attr)
    if discount_type == PERCENT:
        if value > HUNDRED:
            raise PricingError("A percent discount cannot exceed 100.", attr=attr, code="max_value")
        return quantize(subtotal * value / HUNDRED)
    amount = quantize(value)
    if amount > subtotal:
        raise PricingError(
            f"The discount {amount} exceeds the amount it applies to ({subtotal}).", attr=attr, code="max_value"
        )
    return amount


def allocate(*, amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split `amount` across `weights` in proportion, in cents, so the shares add up exactly.

    Round each share half-up and give the remainder to the first largest weight. When that
    would push its share past zero or past its own weight (many tiny lines), fall back to
    largest remainders so no share changes sign or exceeds what it is shared against.
    """
    amount = quantize(_decimal(amount, attr="discount"))
    values = [_non_negative(weight, attr="discount") for weight in weights]
    total = sum(values, ZERO)
    if total == 0:
        if amount != 0:
            raise PricingError("There is nothing to apply the discount to.", attr="discount", code="max_value")
        return [ZERO for _ in values]

    magnitude = abs(amount)
    shares = [quantize(magnitude * value / total) for value in values]
    remainder = magnitude - sum(shares, ZERO)
    largest = max(range(len(values)), key=lambda index: values[index])  # first largest on ties
    absorbed = shares[largest] + remainder
    capped = magnitude <= total
    if absorbed >= 0 and not (capped and absorbed > _ceil_cent(values[largest])):
        shares[largest] = absorbed
    else:
        shares = _largest_remainders(magnitude=magnitude, values=values, total=total)
    if amount < 0:
        return [ZERO - share for share in shares]
    return shares


def _largest_remainders(*, magnitude: Decimal, values: list[Decimal], total: Decimal) -> list[Decimal]:
    """Floor every share to the cent, then hand the missing cents to the largest fractions."""
    exact = [Fraction(magnitude / CENT) * Fraction(value) / Fraction(total) for value in values]
    cents = [math.floor(share) for share in exact]
    missing = int(magnitude / CENT) - sum(cents)
    order = sorted(range(len(values)), key=lambda index: (-(exact[index] - cents[index]), -values[index], index))
    for index in order[:missing]:
        cents[index] += 1
    return [quantize(Decimal(count) * CENT) for count in cents]


def _check_fits(lines: Sequence[LineResult], *, shipping: Decimal, totals: Sequence[Decimal]) -> None:
    """Refuse an order whose amounts would not fit the stored money columns, naming the input to blame.

    A line too large is its price's fault (price × quantity, plus tax); the order's sums
    over lines that each fit are the lines' fault together (`items`).
    """
    limit = f"amounts are stored up to {MAX_AMOUNT}"
    for index, line in enumerate(lines):
        if not all(fits(amount) for amount in (line.subtotal, line.net, line.tax, line.total)):
            raise PricingError(f"This line's total is too large: {limit}.", attr=f"items.{index}.unit_price",
                               code="amount_too_large")
    if not fits(shipping):
        raise PricingError(f"Shipping is too large: {limit}.", attr="shipping_cost", code="amount_too_large")
    if not all(fits(amount) for amount in totals):
        raise PricingError(f"The order's total is too large: {limit}.", attr="items", code="amount_too_large")


def price_order(
    *,
    lines: Sequence[LineInput],
    discount: Amount = ZERO,
    discount_type: str = FIXED,
    prices_include_tax: bool = False,
    shipping: Amount = ZERO,
    tax_shipping: bool = False,
    shipping_tax_rate: Amount = ZERO,
) -> OrderResult:
    """Price an order so each line carries its share of every discount and its own tax."""
    if not lines:
        raise PricingError("An order needs at least one line.", attr="items", code="empty")

    subtotals: list[Decimal] = []
    line_discounts: list[Decimal] = []
    rates: list[Decimal] = []
    for index, line in enumerate(lines):
        prefix = f"items.{index}"
        unit_price = _non_negative(line.unit_price, attr=f"{prefix}.unit_price")
        quantity = _quantity(line.quantity, attr=f"{prefix}.quantity")
        subtotal = quantize(unit_price * quantity)
        subtotals.append(subtotal)
        line_discounts.append(
            line_discount_amount(
                subtotal=subtotal,
                discount=line.discount,
                discount_type=line.discount_type,
                attr=f"{prefix}.discount",
            )
        )
        rates.append(_non_negative(line.tax_rate, attr=f"{prefix}.tax_rate"))

    shipping_amount = quantize(_non_negative(shipping, attr="shipping_cost"))
    shipping_rate = _non_negative(shipping_tax_rate, attr="shipping_tax_rate")

    discounted = [subtotal - line_discount for subtotal, line_discount in zip(subtotals, line_discounts, strict=True)]
    order_discount = line_discount_amount(
        subtotal=sum(discounted, ZERO), discount=discount, discount_type=discount_type, attr="discount"
    )
    shares = allocate(amount=order_discount, weights=discounted)

    results: list[LineResult] = []
    for subtotal, line_discount, share, rate in zip(subtotals, line_discounts, shares, rates, strict=True):
        charged = subtotal - line_discount - share
        tax = _tax_in(amount=charged, rate=rate, inclusive=prices_include_tax)
        if prices_include_tax:
            net, total = charged - tax, charged
        else:
            net, total = charged, charged + tax
        results.append(
            LineResult(
                subtotal=subtotal,
                line_discount=line_discount,
                order_discount=share,
                discount_total=line_discount + share,
                net=net,
                tax=tax,
                total=total,
            )
        )

    shipping_tax = (
        _tax_in(amount=shipping_amount, rate=shipping_rate, inclusive=prices_include_tax) if tax_shipping else ZERO
    )
    subtotal_sum = sum((line.subtotal for line in results), ZERO)
    discount_total = sum((line.discount_total for line in results), ZERO)
    tax_total = sum((line.tax for line in results), ZERO) + shipping_tax
    grand_total = subtotal_sum - discount_total + shipping_amount
    if not prices_include_tax:
        grand_total += tax_total
    _check_fits(results, shipping=shipping_amount + shipping_tax, totals=(subtotal_sum, tax_total, grand_total))
    return OrderResult(
        lines=tuple(results),
        subtotal=subtotal_sum,
        line_discount_total=sum(line_discounts, ZERO),
        order_discount=order_discount,
        discount_total=discount_total,
        shipping=shipping_amount,
        shipping_tax=shipping_tax,
        tax_total=tax_total,
        grand_total=grand_total,
    )
