"""Price an order: discounts, promotions, tax and shipping, in Decimal minor units of its currency.

Pure calculation, no database: services feed it plain inputs and store what it returns,
so every total a sale shows can be recomputed and checked line by line.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction

from salesproject.money import (
    CENT,
    HUNDRED,
    MAX_AMOUNT,
    ZERO,
    fits,
    has_more_decimals,
    minor_units,
    quantize,
    to_decimal,
    unit,
)

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


# --- round 2 inputs (money.md): taxes with kinds and components, promotions --------------------------


@dataclass(frozen=True)
class TaxComponentInput:
    """One jurisdiction's part of a combined tax."""

    name: str
    jurisdiction: str
    rate: Decimal


@dataclass(frozen=True)
class TaxInput:
    """A tax as the catalogue defines it: `percent` of the price, or `fixed` per unit (in the order's currency).

    With components, `rate` is their sum and the tax is charged as its components (one `TaxLine` each).
    """

    code: str
    name: str
    kind: str = PERCENT
    rate: Decimal = Decimal("0")
    components: tuple[TaxComponentInput, ...] = ()


@dataclass(frozen=True)
class PromotionInput:
    """A promotion that may apply: to some lines (`scope="line"`, `lines` their indexes) or to the order.

    `forced`: it came with the sale's discount code, so it takes its scope even when an automatic
    promotion would give more. The service decides which promotions are candidates (dates, usage,
    minimum subtotal, currency); the calculation picks per scope and computes amounts.
    """

    id: int
    kind: str  # PERCENT or FIXED
    value: Decimal
    scope: str  # "line" or "order"
    lines: frozenset[int] = frozenset()
    forced: bool = False


@dataclass(frozen=True)
class AppliedPromotion:
    id: int
    scope: str  # "line" or "order"
    amount: Decimal


@dataclass(frozen=True)
class TaxLine:
    """One entry of the sale's `tax_lines`: a tax or tax component actually charged."""

    code: str
    name: str
    jurisdiction: str
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True)
class LineInput:
    """Describe one line as entered; values may still be str or int until priced.

    `tax` is the line's tax in force (its own, else the order's); without one, `tax_rate` is a plain
    percent. `tax_included` None follows the order's `prices_include_tax`.
    """

    unit_price: Decimal
    quantity: int
    discount: Decimal = Decimal("0")
    discount_type: str = FIXED
    tax_rate: Decimal = Decimal("0")
    tax: TaxInput | None = None
    tax_included: bool | None = None


@dataclass(frozen=True)
class LineResult:
    """Carry every amount of a line so stored lines add up to the stored order totals.

    `discount_total` = `line_discount` + `promotion` (the line promotion) + `order_promotion` (this
    line's share of the order promotion) + `order_discount` (its share of the manual order discount).
    """

    subtotal: Decimal
    line_discount: Decimal
    order_discount: Decimal
    discount_total: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal
    promotion: Decimal = ZERO
    order_promotion: Decimal = ZERO
    tax_included: bool = False
    tax_rate: Decimal = ZERO  # the rate in force: a percent, or for a fixed tax an amount per unit
    tax_lines: tuple[TaxLine, ...] = ()


@dataclass(frozen=True)
class OrderResult:
    """Carry the order totals together with the lines they are the sums of.

    `order_discount` is the manual order discount; `promotion_total` what the promotions took off
    (both inside `discount_total`). `tax_lines` add up to `tax_total` exactly.
    """

    lines: tuple[LineResult, ...]
    subtotal: Decimal
    line_discount_total: Decimal
    order_discount: Decimal
    discount_total: Decimal
    shipping: Decimal
    shipping_tax: Decimal
    tax_total: Decimal
    grand_total: Decimal
    promotion_total: Decimal = ZERO
    promotions: tuple[AppliedPromotion, ...] = ()
    tax_lines: tuple[TaxLine, ...] = ()


CUSTOM_TAX_CODE = "custom"
CUSTOM_TAX_NAME = "Custom tax"
SCOPES = ("line", "order")


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


def _money_input(value: object, *, attr: str, currency: str | None) -> Decimal:
    """Coerce a non-negative money input (not rounded); with a currency, refuse more decimals than it has."""
    number = _non_negative(value, attr=attr)
    if currency is not None and has_more_decimals(number, currency):
        places = minor_units(currency)
        raise PricingError(
            f"Ensure that there are no more than {places} decimal places for {currency.upper()}.",
            attr=attr,
            code="max_decimal_places",
        )
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


def _tax_in(*, amount: Decimal, rate: Decimal, inclusive: bool, currency: str | None = None) -> Decimal:
    """Return the tax on `amount`: added on top when exclusive, contained in it when inclusive."""
    if inclusive:
        return quantize(amount * rate / (HUNDRED + rate), currency)
    return quantize(amount * rate / HUNDRED, currency)


def _ceil_unit(value: Decimal, step: Decimal) -> Decimal:
    """Round up to the minor unit, so a weight with finer digits still caps its share at whole units."""
    return value.quantize(step, rounding=ROUND_CEILING)


def line_discount_amount(
    *, subtotal: Decimal, discount: Decimal, discount_type: str, attr: str, currency: str | None = None
) -> Decimal:
    """Return the discount taken off `subtotal`; refuse one that is negative or larger than it.

    `attr` is the path of the discount input ("items.0.discount", "discount"); an unknown
    type is reported on the sibling "<attr>_type". A fixed discount with more decimals than
    `currency` has is refused (`max_decimal_places`); a percent is not money and may have any.
    """
    if discount_type not in DISCOUNT_TYPES:
        raise PricingError(
            f'Unknown discount type "{discount_type}"; use "{PERCENT}" or "{FIXED}".',
            attr=f"{attr}_type",
            code="invalid_choice",
        )
    subtotal = quantize(_decimal(subtotal, attr=attr), currency)
    if discount_type == PERCENT:
        value = _non_negative(discount, attr=attr)
        if value > HUNDRED:
            raise PricingError("A percent discount cannot exceed 100.", attr=attr, code="max_value")
        return quantize(subtotal * value / HUNDRED, currency)
    amount = quantize(_money_input(discount, attr=attr, currency=currency), currency)
    if amount > subtotal:
        raise PricingError(
            f"The discount {amount} exceeds the amount it applies to ({subtotal}).", attr=attr, code="max_value"
        )
    return amount


def allocate(*, amount: Decimal, weights: Sequence[Decimal], currency: str | None = None) -> list[Decimal]:
    """Split `amount` across `weights` in proportion, in minor units, so the shares add up exactly.

    Round each share half-up and give the remainder to the first largest weight. When that
    would push its share past zero or past its own weight (many tiny lines), fall back to
    largest remainders so no share changes sign or exceeds what it is shared against.
    """
    step = unit(currency)
    amount = quantize(_decimal(amount, attr="discount"), currency)
    values = [_non_negative(weight, attr="discount") for weight in weights]
    total = sum(values, ZERO)
    if total == 0:
        if amount != 0:
            raise PricingError("There is nothing to apply the discount to.", attr="discount", code="max_value")
        return [quantize(ZERO, currency) for _ in values]

    magnitude = abs(amount)
    shares = [quantize(magnitude * value / total, currency) for value in values]
    remainder = magnitude - sum(shares, quantize(ZERO, currency))
    largest = max(range(len(values)), key=lambda index: values[index])  # first largest on ties
    absorbed = shares[largest] + remainder
    capped = magnitude <= total
    if absorbed >= 0 and not (capped and absorbed > _ceil_unit(values[largest], step)):
        shares[largest] = absorbed
    else:
        shares = _largest_remainders(magnitude=magnitude, values=values, total=total, currency=currency)
    if amount < 0:
        return [-share for share in shares]
    return shares


def _largest_remainders(
    *, magnitude: Decimal, values: list[Decimal], total: Decimal, currency: str | None = None
) -> list[Decimal]:
    """Floor every share to the minor unit, then hand the missing units to the largest fractions."""
    step = unit(currency)
    exact = [Fraction(magnitude / step) * Fraction(value) / Fraction(total) for value in values]
    units = [math.floor(share) for share in exact]
    missing = int(magnitude / step) - sum(units)
    order = sorted(range(len(values)), key=lambda index: (-(exact[index] - units[index]), -values[index], index))
    for index in order[:missing]:
        units[index] += 1
    return [quantize(Decimal(count) * step, currency) for count in units]


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


# --- taxes --------------------------------------------------------------------------------------


def _line_tax(line: LineInput, *, attr: str) -> TaxInput:
    """The tax in force on a line: its `tax`, else a plain percent `tax_rate` (code and name blank)."""
    if line.tax is None:
        return TaxInput(code="", name="", kind=PERCENT, rate=_non_negative(line.tax_rate, attr=f"{attr}.tax_rate"))
    return _checked_tax(line.tax, attr=attr)


def _checked_tax(tax: TaxInput, *, attr: str) -> TaxInput:
    if tax.kind not in (PERCENT, FIXED):
        raise PricingError(f'Unknown tax kind "{tax.kind}".', attr=f"{attr}.tax", code="invalid_choice")
    rate = _non_negative(tax.rate, attr=f"{attr}.tax_rate")
    components = tuple(
        TaxComponentInput(name=c.name, jurisdiction=c.jurisdiction,
                          rate=_non_negative(c.rate, attr=f"{attr}.tax_rate"))
        for c in tax.components
    )
    if sum((c.rate for c in components), ZERO) == 0:
        components = ()  # nothing to split by: charged as the tax itself
    return TaxInput(code=tax.code, name=tax.name, kind=tax.kind, rate=rate, components=components)


def _tax_amount(
    tax: TaxInput, *, charged: Decimal, quantity: int, inclusive: bool, currency: str | None
) -> Decimal:
    """The tax of one line: a percent of what it is charged, or a fixed amount per unit.

    A fixed tax is added on top when exclusive; inclusive, it is contained in the price, at most all of it
    (a line given away cannot contain an excise larger than what it costs).
    """
    if tax.kind == FIXED:
        excise = quantize(tax.rate * quantity, currency)
        return min(excise, charged) if inclusive else excise
    return _tax_in(amount=charged, rate=tax.rate, inclusive=inclusive, currency=currency)


def _split_tax(tax: TaxInput, amount: Decimal, currency: str | None) -> tuple[TaxLine, ...]:
    """One tax line per component (shares by largest remainder, adding up to `amount`), else one for the tax.

    A tax without components has jurisdiction "" (it is not assigned to one).
    """
    if not tax.components:
        return (TaxLine(code=tax.code, name=tax.name, jurisdiction="", rate=tax.rate, amount=amount),)
    shares = allocate(amount=amount, weights=[c.rate for c in tax.components], currency=currency)
    return tuple(
        TaxLine(code=tax.code, name=c.name, jurisdiction=c.jurisdiction, rate=c.rate, amount=share)
        for c, share in zip(tax.components, shares, strict=True)
    )


def _merge_tax_lines(groups: Sequence[Sequence[TaxLine]], currency: str | None) -> tuple[TaxLine, ...]:
    """Add up the tax lines of every line and shipping by (code, name, jurisdiction, rate); drop those at 0."""
    merged: dict[tuple[str, str, str, Decimal], Decimal] = {}
    for group in groups:
        for entry in group:
            key = (entry.code, entry.name, entry.jurisdiction, entry.rate)
            merged[key] = merged.get(key, quantize(ZERO, currency)) + entry.amount
    return tuple(
        TaxLine(code=code, name=name, jurisdiction=jurisdiction, rate=rate, amount=amount)
        for (code, name, jurisdiction, rate), amount in merged.items()
        if amount != 0
    )


# --- promotions ---------------------------------------------------------------------------------


def _checked_promotions(promotions: Sequence[PromotionInput]) -> list[PromotionInput]:
    for index, promotion in enumerate(promotions):
        attr = f"promotions.{index}"
        if promotion.kind not in DISCOUNT_TYPES:
            raise PricingError(f'Unknown promotion kind "{promotion.kind}".', attr=attr, code="invalid_choice")
        if promotion.scope not in SCOPES:
            raise PricingError(f'Unknown promotion scope "{promotion.scope}".', attr=attr, code="invalid_choice")
        _non_negative(promotion.value, attr=attr)
    return list(promotions)


def _promotion_amount(promotion: PromotionInput, *, base: Decimal, currency: str | None) -> Decimal:
    """What a promotion takes off `base`: never more than `base` (a percent above 100 counts as 100)."""
    value = _decimal(promotion.value, attr="promotions")
    if promotion.kind == PERCENT:
        return quantize(base * min(value, HUNDRED) / HUNDRED, currency)
    return min(quantize(value, currency), base)


def _pick(candidates: Sequence[PromotionInput], *, base: Decimal, currency: str | None):
    """The promotion of one scope: a forced one (discount code) if any, else the largest; first on ties."""
    pool = [p for p in candidates if p.forced] or list(candidates)
    if not pool:
        return None, quantize(ZERO, currency)
    amounts = [_promotion_amount(p, base=base, currency=currency) for p in pool]
    best = max(range(len(pool)), key=lambda index: amounts[index])  # first largest on ties
    return pool[best], amounts[best]


# --- the order ----------------------------------------------------------------------------------


def price_order(
    *,
    lines: Sequence[LineInput],
    discount: Amount = ZERO,
    discount_type: str = FIXED,
    prices_include_tax: bool = False,
    shipping: Amount = ZERO,
    tax_shipping: bool = False,
    shipping_tax_rate: Amount = ZERO,
    currency: str | None = None,
    promotions: Sequence[PromotionInput] = (),
    custom_tax: Amount | None = None,
    order_tax: TaxInput | None = None,
) -> OrderResult:
    """Price an order so each line carries its share of every discount and its own tax.

    Order of calculation (money.md): line discounts, line promotions, the order promotion, the
    manual order discount (each order-level amount allocated over the lines), then tax per line.
    Every amount is in `currency`'s minor units (two places without one); with a currency, a money
    input with more decimals than it has is refused (`max_decimal_places`).
    `custom_tax` replaces the computed tax: allocated over the lines by what they are charged
    (shipping then carries none). `order_tax` is the order's tax for shipping (else `shipping_tax_rate`
    as a plain percent); a fixed tax is per unit and does not tax shipping.
    """
    if not lines:
        raise PricingError("An order needs at least one line.", attr="items", code="empty")
    zero = quantize(ZERO, currency)
    candidates = _checked_promotions(promotions)

    subtotals: list[Decimal] = []
    line_discounts: list[Decimal] = []
    quantities: list[int] = []
    taxes: list[TaxInput] = []
    inclusions: list[bool] = []
    for index, line in enumerate(lines):
        prefix = f"items.{index}"
        unit_price = _money_input(line.unit_price, attr=f"{prefix}.unit_price", currency=currency)
        quantity = _quantity(line.quantity, attr=f"{prefix}.quantity")
        subtotal = quantize(unit_price * quantity, currency)
        subtotals.append(subtotal)
        quantities.append(quantity)
        line_discounts.append(
            line_discount_amount(
                subtotal=subtotal,
                discount=line.discount,
                discount_type=line.discount_type,
                attr=f"{prefix}.discount",
                currency=currency,
            )
        )
        taxes.append(_line_tax(line, attr=prefix))
        inclusions.append(prices_include_tax if line.tax_included is None else bool(line.tax_included))

    shipping_amount = quantize(_money_input(shipping, attr="shipping_cost", currency=currency), currency)
    shipping_rate = _non_negative(shipping_tax_rate, attr="shipping_tax_rate")

    # Line promotions: per line the largest that matches it, a forced one (discount code) first.
    after_line_discount = [s - d for s, d in zip(subtotals, line_discounts, strict=True)]
    line_scope = [p for p in candidates if p.scope == "line"]
    line_promotions: list[Decimal] = []
    applied: dict[int, Decimal] = {}
    chosen: dict[int, PromotionInput] = {}
    for index, base in enumerate(after_line_discount):
        promotion, amount = _pick([p for p in line_scope if index in p.lines], base=base, currency=currency)
        line_promotions.append(amount)
        if promotion is not None:
            applied[promotion.id] = applied.get(promotion.id, zero) + amount
            chosen[promotion.id] = promotion

    # The order promotion, then the manual order discount, each shared over the lines by what is left of them.
    after_line_promotion = [b - p for b, p in zip(after_line_discount, line_promotions, strict=True)]
    order_promotion, order_promotion_amount = _pick(
        [p for p in candidates if p.scope == "order"], base=sum(after_line_promotion, zero), currency=currency
    )
    promotion_shares = allocate(amount=order_promotion_amount, weights=after_line_promotion, currency=currency)
    after_promotions = [b - s for b, s in zip(after_line_promotion, promotion_shares, strict=True)]
    order_discount = line_discount_amount(
        subtotal=sum(after_promotions, zero), discount=discount, discount_type=discount_type, attr="discount",
        currency=currency,
    )
    shares = allocate(amount=order_discount, weights=after_promotions, currency=currency)
    charged = [b - s for b, s in zip(after_promotions, shares, strict=True)]

    # Tax: computed per line, or the custom amount shared by what the lines are charged.
    if custom_tax is not None:
        custom = quantize(_money_input(custom_tax, attr="tax_amount", currency=currency), currency)
        if custom > sum(charged, zero):
            raise PricingError(
                f"The custom tax {custom} exceeds the amount it applies to ({sum(charged, zero)}).",
                attr="tax_amount", code="max_value",
            )
        line_taxes = allocate(amount=custom, weights=charged, currency=currency)
    else:
        line_taxes = [
            _tax_amount(tax, charged=amount, quantity=quantity, inclusive=inclusive, currency=currency)
            for tax, amount, quantity, inclusive in zip(taxes, charged, quantities, inclusions, strict=True)
        ]

    results: list[LineResult] = []
    for index, tax in enumerate(taxes):
        amount, tax_amount, inclusive = charged[index], line_taxes[index], inclusions[index]
        net, total = (amount - tax_amount, amount) if inclusive else (amount, amount + tax_amount)
        results.append(
            LineResult(
                subtotal=subtotals[index],
                line_discount=line_discounts[index],
                order_discount=shares[index],
                discount_total=subtotals[index] - amount,
                net=net,
                tax=tax_amount,
                total=total,
                promotion=line_promotions[index],
                order_promotion=promotion_shares[index],
                tax_included=inclusive,
                tax_rate=tax.rate,
                tax_lines=() if custom_tax is not None else _split_tax(tax, tax_amount, currency),
            )
        )

    shipping_tax = zero
    shipping_lines: tuple[TaxLine, ...] = ()
    if tax_shipping and custom_tax is None:
        if order_tax is not None:
            checked = _checked_tax(order_tax, attr="shipping")
            if checked.kind == PERCENT:
                shipping_tax = _tax_in(amount=shipping_amount, rate=checked.rate, inclusive=prices_include_tax,
                                       currency=currency)
                shipping_lines = _split_tax(checked, shipping_tax, currency)
        else:
            shipping_tax = _tax_in(amount=shipping_amount, rate=shipping_rate, inclusive=prices_include_tax,
                                   currency=currency)
            shipping_lines = (TaxLine(code="", name="", jurisdiction="", rate=shipping_rate, amount=shipping_tax),)

    subtotal_sum = sum((line.subtotal for line in results), zero)
    discount_total = sum((line.discount_total for line in results), zero)
    tax_total = sum((line.tax for line in results), zero) + shipping_tax
    grand_total = sum((line.total for line in results), zero) + shipping_amount
    if not prices_include_tax:
        grand_total += shipping_tax
    if custom_tax is not None:
        net_sum = sum((line.net for line in results), zero)
        rate = (tax_total * HUNDRED / net_sum).quantize(CENT) if net_sum else ZERO
        tax_lines = _merge_tax_lines(
            [[TaxLine(code=CUSTOM_TAX_CODE, name=CUSTOM_TAX_NAME, jurisdiction="", rate=rate, amount=tax_total)]],
            currency,
        )
    else:
        tax_lines = _merge_tax_lines([*(line.tax_lines for line in results), shipping_lines], currency)
    _check_fits(results, shipping=shipping_amount + shipping_tax, totals=(subtotal_sum, tax_total, grand_total))

    promotion_list = [p for p in line_scope if p.id in chosen]
    if order_promotion is not None:
        promotion_list.append(order_promotion)
    applied_promotions = tuple(
        AppliedPromotion(
            id=p.id, scope=p.scope, amount=applied[p.id] if p.scope == "line" else order_promotion_amount
        )
        for p in dict.fromkeys(promotion_list)
        if p.forced or (applied[p.id] if p.scope == "line" else order_promotion_amount) > 0
    )
    return OrderResult(
        lines=tuple(results),
        subtotal=subtotal_sum,
        line_discount_total=sum(line_discounts, zero),
        order_discount=order_discount,
        discount_total=discount_total,
        shipping=shipping_amount,
        shipping_tax=shipping_tax,
        tax_total=tax_total,
        grand_total=grand_total,
        promotion_total=sum(line_promotions, zero) + order_promotion_amount,
        promotions=applied_promotions,
        tax_lines=tax_lines,
    )
