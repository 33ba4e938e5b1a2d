"""Round 2 pricing (money.md): currencies' minor units, per-line taxes, components, custom tax, promotions."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sales.pricing import (
    FIXED,
    PERCENT,
    LineInput,
    PricingError,
    PromotionInput,
    TaxComponentInput,
    TaxInput,
    price_order,
)
from salesproject.money import minor_units, quantize, unit

D = Decimal
CURRENCIES = ["USD", "JPY", "KWD", "EUR"]
PERCENT_RATES = [D("0"), D("5"), D("7.5"), D("8.25"), D("10"), D("20"), D("21")]

COMBINED = TaxInput(
    code="ca-sf",
    name="San Francisco",
    rate=D("8.63"),
    components=(
        TaxComponentInput(name="California", jurisdiction="state", rate=D("6.00")),
        TaxComponentInput(name="San Francisco County", jurisdiction="county", rate=D("0.25")),
        TaxComponentInput(name="San Francisco", jurisdiction="city", rate=D("2.38")),
    ),
)
VAT = TaxInput(code="vat", name="VAT", rate=D("20"))
EXCISE = TaxInput(code="excise", name="Excise", kind=FIXED, rate=D("0.35"))


def rejected(**kwargs: object) -> PricingError:
    with pytest.raises(PricingError) as info:
        price_order(**kwargs)
    return info.value


# --- examples --------------------------------------------------------------


def test_pos_example_still_gives_1302_in_usd():
    lines = [
        LineInput(unit_price=D("80.00"), quantity=2, tax_rate=D("5")),
        LineInput(unit_price=D("90.00"), quantity=2, tax_rate=D("5")),
        LineInput(unit_price=D("100.00"), quantity=10, tax_rate=D("5")),
    ]
    result = price_order(lines=lines, discount=D("100.00"), currency="USD")

    assert (result.subtotal, result.tax_total, result.grand_total) == (D("1340.00"), D("62.00"), D("1302.00"))
    assert [(t.code, t.rate, t.amount) for t in result.tax_lines] == [("", D("5"), D("62.00"))]


@pytest.mark.parametrize(("currency", "attr", "kwargs"), [
    ("USD", "items.0.unit_price", {"lines": [LineInput(unit_price=D("1.005"), quantity=1)]}),
    ("JPY", "items.0.unit_price", {"lines": [LineInput(unit_price=D("10.5"), quantity=1)]}),
    ("KWD", "items.0.discount", {"lines": [LineInput(unit_price=D("10"), quantity=1, discount=D("0.0005"))]}),
    ("USD", "discount", {"lines": [LineInput(unit_price=D("10"), quantity=1)], "discount": D("0.001")}),
    ("JPY", "shipping_cost", {"lines": [LineInput(unit_price=D("10"), quantity=1)], "shipping": D("0.5")}),
    ("USD", "tax_amount", {"lines": [LineInput(unit_price=D("10"), quantity=1)], "custom_tax": D("0.001")}),
])
def test_more_decimals_than_the_currency_has_are_refused(currency, attr, kwargs):
    error = rejected(currency=currency, **kwargs)

    assert (error.attr, error.code) == (attr, "max_decimal_places")


def test_a_percent_discount_may_have_any_decimals():
    result = price_order(lines=[LineInput(unit_price=D("1000"), quantity=1, discount=D("12.5"),
                                          discount_type=PERCENT)], currency="JPY")

    assert result.grand_total == D("875")


def test_jpy_and_kwd_amounts_have_their_own_decimals():
    jpy = price_order(lines=[LineInput(unit_price=D("1500"), quantity=3, tax=VAT)], currency="JPY")
    kwd = price_order(lines=[LineInput(unit_price=D("1.500"), quantity=3, tax=VAT)], currency="KWD")

    assert [str(jpy.subtotal), str(jpy.tax_total), str(jpy.grand_total)] == ["4500", "900", "5400"]
    assert [str(kwd.subtotal), str(kwd.tax_total), str(kwd.grand_total)] == ["4.500", "0.900", "5.400"]


def test_a_line_tax_overrides_the_rate_and_inclusion_per_line():
    result = price_order(
        lines=[
            LineInput(unit_price=D("100.00"), quantity=1, tax=VAT),
            LineInput(unit_price=D("120.00"), quantity=1, tax=VAT, tax_included=True),
        ],
        currency="EUR",
    )

    assert [(ln.net, ln.tax, ln.total, ln.tax_included) for ln in result.lines] == [
        (D("100.00"), D("20.00"), D("120.00"), False),
        (D("100.00"), D("20.00"), D("120.00"), True),
    ]
    assert result.grand_total == D("240.00")
    assert [(t.code, t.amount) for t in result.tax_lines] == [("vat", D("40.00"))]


def test_a_fixed_excise_is_per_unit_added_or_contained():
    exclusive = price_order(lines=[LineInput(unit_price=D("2.00"), quantity=3, tax=EXCISE)], currency="USD")
    inclusive = price_order(lines=[LineInput(unit_price=D("2.35"), quantity=3, tax=EXCISE, tax_included=True)],
                            currency="USD")

    assert (exclusive.lines[0].tax, exclusive.grand_total) == (D("1.05"), D("7.05"))
    assert (inclusive.lines[0].net, inclusive.lines[0].tax, inclusive.grand_total) == (D("6.00"), D("1.05"),
                                                                                       D("7.05"))


def test_components_split_the_line_tax_and_add_up_to_it():
    result = price_order(lines=[LineInput(unit_price=D("19.99"), quantity=7, tax=COMBINED)], currency="USD")

    assert result.tax_total == D("12.08")  # 139.93 × 8.63 %
    assert [(t.jurisdiction, t.amount) for t in result.tax_lines] == [
        ("state", D("8.40")), ("county", D("0.35")), ("city", D("3.33")),
    ]
    assert sum(t.amount for t in result.tax_lines) == result.tax_total


def test_taxable_shipping_is_charged_with_the_order_tax_and_its_components():
    result = price_order(lines=[LineInput(unit_price=D("100.00"), quantity=1, tax=COMBINED)], shipping=D("10.00"),
                         tax_shipping=True, order_tax=COMBINED, currency="USD")

    assert result.shipping_tax == D("0.86")
    assert sum(t.amount for t in result.tax_lines) == result.tax_total == D("9.49")


def test_custom_tax_is_shared_by_net_and_replaces_the_computed_one():
    result = price_order(
        lines=[LineInput(unit_price=D("30.00"), quantity=1, tax=VAT),
               LineInput(unit_price=D("10.00"), quantity=1, tax=VAT, tax_included=True)],
        custom_tax=D("4.01"), currency="USD", shipping=D("5.00"), tax_shipping=True, order_tax=VAT,
    )

    assert [ln.tax for ln in result.lines] == [D("3.01"), D("1.00")]
    assert result.shipping_tax == D("0.00")
    assert result.tax_total == D("4.01")
    assert result.grand_total == D("30.00") + D("3.01") + D("10.00") + D("5.00")
    assert [(t.code, t.amount) for t in result.tax_lines] == [("custom", D("4.01"))]


def test_custom_tax_above_the_net_is_refused():
    error = rejected(lines=[LineInput(unit_price=D("3.00"), quantity=1)], custom_tax=D("3.01"), currency="USD")

    assert (error.attr, error.code) == ("tax_amount", "max_value")


def test_line_then_order_promotions_then_the_manual_discount():
    result = price_order(
        lines=[LineInput(unit_price=D("100.00"), quantity=1, discount=D("10.00")),
               LineInput(unit_price=D("50.00"), quantity=1)],
        promotions=[
            PromotionInput(id=1, kind=PERCENT, value=D("10"), scope="line", lines=frozenset({0})),
            PromotionInput(id=2, kind=FIXED, value=D("5.00"), scope="line", lines=frozenset({0})),
            PromotionInput(id=3, kind=PERCENT, value=D("10"), scope="order"),
        ],
        discount=D("10"), discount_type=PERCENT, currency="USD",
    )

    # line 0: 90 after its discount, 10 % promotion (9.00) beats 5.00; order promotion 10 % of 131 = 13.10;
    # then 10 % of the 117.90 left = 11.79.
    assert [ln.promotion for ln in result.lines] == [D("9.00"), D("0.00")]
    assert [(p.id, p.scope, p.amount) for p in result.promotions] == [(1, "line", D("9.00")), (3, "order", D("13.10"))]
    assert result.order_discount == D("11.79")
    assert result.discount_total == D("10.00") + D("9.00") + D("13.10") + D("11.79")
    assert result.grand_total == D("106.11")


def test_a_forced_promotion_takes_its_scope_even_when_smaller():
    result = price_order(
        lines=[LineInput(unit_price=D("100.00"), quantity=1)],
        promotions=[
            PromotionInput(id=1, kind=PERCENT, value=D("50"), scope="order"),
            PromotionInput(id=2, kind=FIXED, value=D("5.00"), scope="order", forced=True),
        ],
        currency="USD",
    )

    assert [(p.id, p.amount) for p in result.promotions] == [(2, D("5.00"))]
    assert result.grand_total == D("95.00")


def test_a_promotion_never_exceeds_what_it_discounts():
    result = price_order(
        lines=[LineInput(unit_price=D("3.00"), quantity=1)],
        promotions=[PromotionInput(id=1, kind=FIXED, value=D("5.00"), scope="line", lines=frozenset({0})),
                    PromotionInput(id=2, kind=FIXED, value=D("5.00"), scope="order")],
        currency="USD",
    )

    assert [(p.id, p.amount) for p in result.promotions] == [(1, D("3.00"))]  # nothing left for the order one
    assert result.grand_total == D("0.00")


# --- properties ------------------------------------------------------------


def money(currency: str, max_units: int) -> st.SearchStrategy[Decimal]:
    step = unit(currency)
    return st.one_of(st.integers(0, 10), st.integers(0, max_units)).map(lambda n: Decimal(n) * step)


def taxes(currency: str) -> st.SearchStrategy[TaxInput | None]:
    fixed_rates = st.integers(0, 500).map(lambda n: TaxInput(code="fx", name="Excise", kind=FIXED,
                                                              rate=Decimal(n) / 100))
    percent = st.sampled_from(PERCENT_RATES).map(lambda r: TaxInput(code=f"p{r}", name=f"Tax {r}", rate=r))
    return st.one_of(st.none(), percent, st.just(COMBINED), fixed_rates)


@st.composite
def line_inputs(draw: st.DrawFn, currency: str) -> LineInput:
    step = unit(currency)
    unit_price = draw(money(currency, 1_000_000))
    quantity = draw(st.integers(1, 100))
    discount_type = draw(st.sampled_from([PERCENT, FIXED]))
    if discount_type == PERCENT:
        discount = Decimal(draw(st.integers(0, 10_000))) / 100
    else:
        subtotal_units = int(quantize(unit_price * quantity, currency) / step)
        discount = Decimal(draw(st.integers(0, subtotal_units))) * step
    return LineInput(
        unit_price=unit_price,
        quantity=quantity,
        discount=discount,
        discount_type=discount_type,
        tax_rate=draw(st.sampled_from(PERCENT_RATES)),
        tax=draw(taxes(currency)),
        tax_included=draw(st.sampled_from([None, True, False])),
    )


@st.composite
def promotion_inputs(draw: st.DrawFn, size: int) -> list[PromotionInput]:
    promotions = []
    for index in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from([PERCENT, FIXED]))
        value = Decimal(draw(st.integers(0, 12_000))) / 100 if kind == PERCENT else Decimal(draw(st.integers(0, 10**6)))
        scope = draw(st.sampled_from(["line", "order"]))
        lines = frozenset(draw(st.sets(st.integers(0, size - 1)))) if scope == "line" else frozenset()
        promotions.append(PromotionInput(id=index + 1, kind=kind, value=value, scope=scope, lines=lines,
                                         forced=draw(st.booleans())))
    return promotions


@st.composite
def orders(draw: st.DrawFn) -> dict:
    currency = draw(st.sampled_from(CURRENCIES))
    lines = draw(st.lists(line_inputs(currency), min_size=1, max_size=5))
    promotions = draw(promotion_inputs(len(lines)))
    order = {"lines": lines, "currency": currency, "promotions": promotions,
             "prices_include_tax": draw(st.booleans()), "shipping": draw(money(currency, 100_000)),
             "tax_shipping": draw(st.booleans()), "shipping_tax_rate": draw(st.sampled_from(PERCENT_RATES)),
             "order_tax": draw(st.one_of(st.none(), st.just(COMBINED), st.just(VAT)))}
    # The manual discount comes after the promotions: keep a fixed one within what they leave.
    left = price_order(**order)
    remaining = left.subtotal - left.discount_total
    if draw(st.booleans()):
        order["discount_type"] = PERCENT
        order["discount"] = Decimal(draw(st.integers(0, 10_000))) / 100
    else:
        order["discount"] = Decimal(draw(st.integers(0, int(remaining / unit(currency))))) * unit(currency)
    if draw(st.integers(0, 3)) == 0:
        base = price_order(**order)
        charged = base.subtotal - base.discount_total
        order["custom_tax"] = Decimal(draw(st.integers(0, int(charged / unit(currency))))) * unit(currency)
    return order


LINE_AMOUNTS = ("subtotal", "line_discount", "promotion", "order_promotion", "order_discount", "discount_total",
                "net", "tax", "total")
ORDER_AMOUNTS = ("subtotal", "line_discount_total", "order_discount", "discount_total", "shipping", "shipping_tax",
                 "tax_total", "grand_total", "promotion_total")


@settings(max_examples=300, deadline=None)
@given(order=orders())
def test_lines_and_tax_lines_add_up_to_the_totals_to_the_minor_unit(order):
    result = price_order(**order)
    lines = result.lines

    assert sum(ln.subtotal for ln in lines) == result.subtotal
    assert sum(ln.line_discount for ln in lines) == result.line_discount_total
    assert sum(ln.order_discount for ln in lines) == result.order_discount
    assert sum(ln.promotion + ln.order_promotion for ln in lines) == result.promotion_total
    assert sum(ln.discount_total for ln in lines) == result.discount_total
    assert sum(ln.tax for ln in lines) + result.shipping_tax == result.tax_total
    on_top = 0 if order["prices_include_tax"] else result.shipping_tax
    assert sum(ln.total for ln in lines) + result.shipping + on_top == result.grand_total
    assert sum(t.amount for t in result.tax_lines) == result.tax_total
    assert sum(p.amount for p in result.promotions) == result.promotion_total
    for ln in lines:
        assert ln.discount_total == ln.line_discount + ln.promotion + ln.order_promotion + ln.order_discount
        assert ln.total == ln.net + ln.tax
        assert ln.total == ln.subtotal - ln.discount_total + (0 if ln.tax_included else ln.tax)
        if "custom_tax" not in order:
            assert sum(t.amount for t in ln.tax_lines) == ln.tax


@settings(max_examples=300, deadline=None)
@given(order=orders())
def test_every_amount_has_exactly_the_currency_decimals(order):
    result = price_order(**order)
    exponent = -minor_units(order["currency"])

    amounts = [getattr(result, name) for name in ORDER_AMOUNTS]
    amounts += [getattr(ln, name) for ln in result.lines for name in LINE_AMOUNTS]
    amounts += [t.amount for t in result.tax_lines] + [p.amount for p in result.promotions]
    assert all(amount.as_tuple().exponent == exponent for amount in amounts), amounts


@settings(max_examples=300, deadline=None)
@given(order=orders())
def test_no_amount_is_negative_and_promotions_stay_within_what_they_discount(order):
    result = price_order(**order)

    for ln in result.lines:
        assert all(getattr(ln, name) >= 0 for name in LINE_AMOUNTS)
        assert ln.promotion <= ln.subtotal - ln.line_discount
        assert ln.discount_total <= ln.subtotal
    assert all(getattr(result, name) >= 0 for name in ORDER_AMOUNTS)
    assert all(t.amount > 0 for t in result.tax_lines)
    after_line_promotions = sum(ln.subtotal - ln.line_discount - ln.promotion for ln in result.lines)
    order_promotions = [p.amount for p in result.promotions if p.scope == "order"]
    assert len(order_promotions) <= 1
    assert sum(order_promotions) <= after_line_promotions
    assert sum(ln.order_promotion for ln in result.lines) == sum(order_promotions)


@st.composite
def price_list_orders(draw: st.DrawFn) -> tuple[str, list[tuple[Decimal, int, TaxInput]]]:
    currency = draw(st.sampled_from(CURRENCIES))
    # A price list quotes whole minor units, so the excise per unit here is one too.
    excise = money(currency, 500).map(lambda rate: TaxInput(code="fx", name="Excise", kind=FIXED, rate=rate))
    rows = draw(st.lists(
        st.tuples(money(currency, 10_000_000), st.integers(1, 50),
                  st.one_of(st.sampled_from(PERCENT_RATES).map(lambda r: TaxInput(code="t", name="T", rate=r)),
                            st.just(COMBINED), excise)),
        min_size=1, max_size=5,
    ))
    return currency, rows


@settings(max_examples=300, deadline=None)
@given(data=price_list_orders())
def test_inclusive_and_exclusive_agree(data):
    """What is proved, for lines without discounts, in any of the four currencies:

    1. Line level: a line whose inclusive amount is G = N + tax(N) (its exclusive amount N plus the
       exclusive tax on it) has exactly the same net, tax and total inclusive as N has exclusive;
       so two orders built that way have exactly equal totals and tax lines.
    2. Unit level (a price list quoting each unit tax included, g = p + tax(p), rounded per unit):
       with quantity q the totals differ by at most ⌈(q + 1) / 2⌉ minor units per line (the
       per-unit rounding of q units plus the per-line rounding); q = 1 gives equal totals.
       A fixed (per-unit) tax gives equal totals at every quantity.
    """
    currency, rows = data
    step = unit(currency)

    exclusive = price_order(lines=[LineInput(unit_price=p, quantity=q, tax=t) for p, q, t in rows],
                            currency=currency)
    line_level = price_order(
        lines=[LineInput(unit_price=ln.total, quantity=1, tax=t, tax_included=True)
               if t.kind != FIXED else
               LineInput(unit_price=(ln.total / q), quantity=q, tax=t, tax_included=True)
               for ln, (_, q, t) in zip(exclusive.lines, rows, strict=True)],
        currency=currency,
    )
    for ex, inc, (_, _, tax) in zip(exclusive.lines, line_level.lines, rows, strict=True):
        if tax.kind == FIXED:
            continue  # covered below (the unit price of a fixed tax line divides evenly)
        assert (inc.net, inc.tax, inc.total) == (ex.net, ex.tax, ex.total)

    per_unit = [
        quantize(p * (1 + t.rate / 100), currency) if t.kind != FIXED else p + t.rate
        for p, _, t in rows
    ]
    unit_level = price_order(
        lines=[LineInput(unit_price=g, quantity=q, tax=t, tax_included=True)
               for g, (_, q, t) in zip(per_unit, rows, strict=True)],
        currency=currency,
    )
    for ex, inc, (_, q, tax) in zip(exclusive.lines, unit_level.lines, rows, strict=True):
        if tax.kind == FIXED:
            assert (inc.net, inc.tax, inc.total) == (ex.net, ex.tax, ex.total)
        else:
            assert abs(inc.total - ex.total) <= ((q + 2) // 2) * step
            if q == 1:
                assert inc.total == ex.total
