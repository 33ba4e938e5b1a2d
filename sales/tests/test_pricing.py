"""Pricing rules from the domain spec: discounts, their allocation, tax and shipping, in exact cents."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sales.pricing import (
    FIXED,
    PERCENT,
    LineInput,
    PricingError,
    allocate,
    line_discount_amount,
    price_order,
)
from salesproject.money import CENT, ZERO, quantize

D = Decimal
RATES = [D("0"), D("5"), D("7.5"), D("10"), D("20"), D("21")]


def line(price: str, quantity: int = 1, **kwargs: object) -> LineInput:
    return LineInput(unit_price=D(price), quantity=quantity, **kwargs)


def pos_lines() -> list[LineInput]:
    return [
        line("80.00", 2, tax_rate=D("5")),
        line("90.00", 2, tax_rate=D("5")),
        line("100.00", 10, tax_rate=D("5")),
    ]


def rejected(**kwargs: object) -> PricingError:
    with pytest.raises(PricingError) as info:
        price_order(**kwargs)
    return info.value


# --- worked examples -------------------------------------------------------


def test_pos_example_totals():
    result = price_order(lines=pos_lines(), discount=D("100.00"), discount_type=FIXED)

    assert result.subtotal == D("1340.00")
    assert result.order_discount == D("100.00")
    assert result.discount_total == D("100.00")
    assert result.tax_total == D("62.00")
    assert result.grand_total == D("1302.00")


def test_pos_example_order_discount_shares_follow_line_amounts():
    result = price_order(lines=pos_lines(), discount=D("100.00"))

    assert [ln.order_discount for ln in result.lines] == [D("11.94"), D("13.43"), D("74.63")]
    assert [ln.tax for ln in result.lines] == [D("7.40"), D("8.33"), D("46.27")]
    assert [ln.net for ln in result.lines] == [D("148.06"), D("166.57"), D("925.37")]


def test_inclusive_price_contains_its_tax():
    result = price_order(lines=[line("105.00", tax_rate=D("5"))], prices_include_tax=True)

    (only,) = result.lines
    assert only.tax == D("5.00")
    assert only.net == D("100.00")
    assert only.total == D("105.00")
    assert result.tax_total == D("5.00")
    assert result.grand_total == D("105.00")


# --- lines -----------------------------------------------------------------


def test_line_subtotal_is_price_times_quantity_rounded_half_up():
    result = price_order(lines=[line("0.125", 3)])

    assert result.lines[0].subtotal == D("0.38")


def test_percent_line_discount_is_share_of_line_subtotal():
    result = price_order(lines=[line("50.00", 4, discount=D("12.5"), discount_type=PERCENT)])

    assert result.lines[0].line_discount == D("25.00")
    assert result.lines[0].net == D("175.00")
    assert result.grand_total == D("175.00")


def test_percent_line_discount_rounds_half_up():
    assert line_discount_amount(subtotal=D("10.10"), discount=D("5"), discount_type=PERCENT, attr="discount") == D(
        "0.51"
    )


def test_fixed_line_discount_is_taken_off_the_line():
    result = price_order(lines=[line("30.00", 2, discount=D("7.50")), line("10.00")])

    assert [ln.line_discount for ln in result.lines] == [D("7.50"), D("0.00")]
    assert result.line_discount_total == D("7.50")
    assert result.grand_total == D("62.50")


def test_full_percent_line_discount_makes_the_line_free():
    result = price_order(lines=[line("19.99", 3, discount=D("100"), discount_type=PERCENT, tax_rate=D("20"))])

    assert result.lines[0].total == ZERO
    assert result.grand_total == ZERO


def test_fixed_line_discount_equal_to_subtotal_is_allowed():
    result = price_order(lines=[line("5.00", 2, discount=D("10.00"))])

    assert result.lines[0].net == ZERO


# --- order discount --------------------------------------------------------


def test_percent_order_discount_applies_after_line_discounts():
    result = price_order(
        lines=[line("100.00", discount=D("20.00")), line("50.00")],
        discount=D("10"),
        discount_type=PERCENT,
    )

    assert result.order_discount == D("13.00")  # 10 % of (80 + 50), not of 150
    assert [ln.order_discount for ln in result.lines] == [D("8.00"), D("5.00")]
    assert result.discount_total == D("33.00")
    assert result.grand_total == D("117.00")


def test_order_discount_remainder_goes_to_largest_line():
    result = price_order(lines=[line("10.00"), line("10.00"), line("20.00")], discount=D("0.10"))

    # Rounded shares 0.03 + 0.03 + 0.05 overshoot by a cent; the largest line gives it back.
    assert [ln.order_discount for ln in result.lines] == [D("0.03"), D("0.03"), D("0.04")]


def test_order_discount_is_shared_by_amount_after_line_discounts():
    result = price_order(
        lines=[line("100.00", discount=D("75.00")), line("25.00")],
        discount=D("10.00"),
    )

    assert [ln.order_discount for ln in result.lines] == [D("5.00"), D("5.00")]


def test_order_discount_lowers_the_taxed_amount():
    result = price_order(lines=[line("100.00", tax_rate=D("10"))], discount=D("20.00"))

    assert result.lines[0].tax == D("8.00")
    assert result.grand_total == D("88.00")


def test_fixed_order_discount_equal_to_discounted_subtotal_is_allowed():
    result = price_order(lines=[line("10.00", discount=D("4.00")), line("1.00")], discount=D("7.00"))

    assert result.grand_total == ZERO
    assert all(ln.total == ZERO for ln in result.lines)


def test_inclusive_order_discount_reduces_gross_before_extracting_tax():
    result = price_order(
        lines=[line("126.00", tax_rate=D("5"))],
        discount=D("21.00"),
        prices_include_tax=True,
    )

    assert result.lines[0].tax == D("5.00")
    assert result.lines[0].net == D("100.00")
    assert result.grand_total == D("105.00")


# --- tax -------------------------------------------------------------------


def test_tax_is_rounded_per_line_then_summed():
    result = price_order(lines=[line("0.10", tax_rate=D("5")), line("0.10", tax_rate=D("5"))])

    # 0.005 rounds up on each line; taxing the 0.20 sum once would give 0.01.
    assert result.tax_total == D("0.02")
    assert result.grand_total == D("0.22")


def test_each_line_uses_its_own_tax_rate():
    result = price_order(lines=[line("100.00", tax_rate=D("20")), line("100.00", tax_rate=D("7.5"))])

    assert [ln.tax for ln in result.lines] == [D("20.00"), D("7.50")]
    assert result.grand_total == D("227.50")


def test_inclusive_grand_total_does_not_add_tax_on_top():
    result = price_order(lines=[line("120.00", 2, tax_rate=D("20"))], prices_include_tax=True)

    assert result.tax_total == D("40.00")
    assert result.lines[0].net == D("200.00")
    assert result.grand_total == D("240.00")


# --- shipping --------------------------------------------------------------


def test_shipping_is_untaxed_by_default():
    result = price_order(lines=[line("10.00", tax_rate=D("20"))], shipping=D("5.00"), shipping_tax_rate=D("20"))

    assert result.shipping == D("5.00")
    assert result.shipping_tax == ZERO
    assert result.tax_total == D("2.00")
    assert result.grand_total == D("17.00")


def test_taxable_shipping_exclusive_adds_tax_on_top():
    result = price_order(
        lines=[line("10.00", tax_rate=D("20"))],
        shipping=D("5.00"),
        tax_shipping=True,
        shipping_tax_rate=D("20"),
    )

    assert result.shipping_tax == D("1.00")
    assert result.tax_total == D("3.00")
    assert result.grand_total == D("18.00")


def test_taxable_shipping_inclusive_extracts_tax_from_shipping():
    result = price_order(
        lines=[line("12.00", tax_rate=D("20"))],
        shipping=D("6.00"),
        tax_shipping=True,
        shipping_tax_rate=D("20"),
        prices_include_tax=True,
    )

    assert result.shipping_tax == D("1.00")
    assert result.tax_total == D("3.00")
    assert result.grand_total == D("18.00")


def test_shipping_is_not_discounted():
    result = price_order(lines=[line("10.00")], discount=D("10.00"), shipping=D("4.00"))

    assert result.grand_total == D("4.00")


# --- input coercion --------------------------------------------------------


def test_string_and_int_inputs_are_coerced_to_decimal():
    result = price_order(
        lines=[LineInput(unit_price="19.99", quantity="2", discount="1", discount_type=FIXED, tax_rate=5)],
        discount="10",
        discount_type=PERCENT,
        shipping=3,
    )

    assert result.lines[0].subtotal == D("39.98")
    assert result.order_discount == D("3.90")
    assert result.grand_total == D("39.98") - D("1.00") - D("3.90") + D("1.75") + D("3.00")
    assert all(isinstance(value, Decimal) for value in (result.subtotal, result.shipping, result.grand_total))


def test_float_money_is_refused():
    error = rejected(lines=[LineInput(unit_price=9.99, quantity=1)])

    assert error.attr == "items.0.unit_price"


def test_non_numeric_amount_is_refused():
    assert rejected(lines=[line("1.00")], shipping="free").attr == "shipping_cost"


def test_pricing_error_is_a_value_error_carrying_detail_attr_and_code():
    error = PricingError("Bad.", attr="items.0.discount", code="max_value")

    assert isinstance(error, ValueError)
    assert (error.detail, error.attr, error.code) == ("Bad.", "items.0.discount", "max_value")
    assert PricingError("Bad.", attr="discount").code == "invalid"


# --- rejected input --------------------------------------------------------


def test_order_without_lines_is_rejected():
    assert rejected(lines=[]).attr == "items"


def test_fixed_line_discount_above_subtotal_is_rejected_not_clamped():
    error = rejected(lines=[line("5.00", 2, discount=D("10.01"))])

    assert error.attr == "items.0.discount"


def test_percent_line_discount_above_100_is_rejected():
    error = rejected(lines=[line("1.00"), line("5.00", discount=D("100.01"), discount_type=PERCENT)])

    assert error.attr == "items.1.discount"


def test_negative_line_discount_is_rejected():
    assert rejected(lines=[line("5.00", discount=D("-1"))]).attr == "items.0.discount"


def test_unknown_line_discount_type_is_rejected():
    error = rejected(lines=[line("1.00"), line("5.00", discount=D("1"), discount_type="bogus")])

    assert error.attr == "items.1.discount_type"


def test_negative_unit_price_is_rejected():
    assert rejected(lines=[line("1.00"), line("-0.01")]).attr == "items.1.unit_price"


def test_quantity_below_one_is_rejected():
    assert rejected(lines=[line("1.00"), line("1.00"), line("1.00", 0)]).attr == "items.2.quantity"


def test_fractional_quantity_is_rejected():
    assert rejected(lines=[LineInput(unit_price=D("1.00"), quantity=D("1.5"))]).attr == "items.0.quantity"


def test_negative_tax_rate_is_rejected():
    assert rejected(lines=[line("1.00", tax_rate=D("-5"))]).attr == "items.0.tax_rate"


def test_percent_order_discount_above_100_is_rejected():
    assert rejected(lines=[line("1.00")], discount=D("101"), discount_type=PERCENT).attr == "discount"


def test_negative_order_discount_is_rejected():
    assert rejected(lines=[line("1.00")], discount=D("-0.01")).attr == "discount"


def test_fixed_order_discount_above_discounted_subtotal_is_rejected():
    error = rejected(lines=[line("10.00", discount=D("4.00")), line("1.00")], discount=D("7.01"))

    assert error.attr == "discount"


def test_unknown_order_discount_type_is_rejected():
    assert rejected(lines=[line("1.00")], discount=D("1"), discount_type="coupon").attr == "discount_type"


def test_negative_shipping_is_rejected():
    assert rejected(lines=[line("1.00")], shipping=D("-1.00")).attr == "shipping_cost"


def test_negative_shipping_tax_rate_is_rejected():
    assert rejected(lines=[line("1.00")], shipping=D("1.00"), tax_shipping=True, shipping_tax_rate=-1).attr == (
        "shipping_tax_rate"
    )


# --- allocate --------------------------------------------------------------


def test_allocate_splits_in_proportion():
    assert allocate(amount=D("10.00"), weights=[D("1"), D("3")]) == [D("2.50"), D("7.50")]


def test_allocate_remainder_goes_to_first_largest_on_ties():
    assert allocate(amount=D("0.10"), weights=[D("2"), D("3"), D("3")]) == [D("0.03"), D("0.03"), D("0.04")]
    assert allocate(amount=D("1.00"), weights=[D("1"), D("1"), D("1")]) == [D("0.34"), D("0.33"), D("0.33")]


def test_allocate_negative_remainder_is_taken_from_largest():
    assert allocate(amount=D("0.10"), weights=[D("1"), D("1"), D("2")]) == [D("0.03"), D("0.03"), D("0.04")]


def test_allocate_zero_weight_gets_nothing():
    assert allocate(amount=D("5.00"), weights=[D("0"), D("3"), D("0")]) == [ZERO, D("5.00"), ZERO]


def test_allocate_all_zero_weights_with_zero_amount_gives_zeros():
    assert allocate(amount=ZERO, weights=[ZERO, ZERO]) == [ZERO, ZERO]


def test_allocate_all_zero_weights_with_an_amount_is_rejected():
    with pytest.raises(PricingError) as info:
        allocate(amount=D("0.01"), weights=[ZERO, ZERO])

    assert info.value.attr == "discount"


def test_allocate_never_pushes_the_remainder_line_below_zero():
    # Each exact share is half a cent and rounds up: 4 cents for 2. The largest line alone
    # cannot give back 2 cents, so the cents go to the largest fractions instead.
    shares = allocate(amount=D("0.02"), weights=[D("0.01")] * 4)

    assert shares == [D("0.01"), D("0.01"), ZERO, ZERO]


def test_allocate_never_gives_the_remainder_line_more_than_its_weight():
    # The six one-cent lines round down to nothing; the two-cent line cannot take all three cents.
    shares = allocate(amount=D("0.03"), weights=[D("0.01")] * 6 + [D("0.02")])

    assert shares == [D("0.01"), D("0.01"), ZERO, ZERO, ZERO, ZERO, D("0.01")]


def test_allocate_negative_amount_mirrors_positive():
    assert allocate(amount=D("-1.00"), weights=[D("1"), D("1"), D("1")]) == [D("-0.34"), D("-0.33"), D("-0.33")]


# --- properties ------------------------------------------------------------


def cents(max_cents: int) -> st.SearchStrategy[Decimal]:
    return st.one_of(st.integers(0, 10), st.integers(0, max_cents)).map(lambda n: Decimal(n) / 100)


@st.composite
def line_inputs(draw: st.DrawFn) -> LineInput:
    unit_price = draw(cents(1_000_000))
    quantity = draw(st.integers(1, 1000))
    discount_type = draw(st.sampled_from([PERCENT, FIXED]))
    if discount_type == PERCENT:
        discount = Decimal(draw(st.integers(0, 10_000))) / 100
    else:
        subtotal_cents = int(quantize(unit_price * quantity) / CENT)
        discount = Decimal(draw(st.integers(0, subtotal_cents))) / 100
    return LineInput(
        unit_price=unit_price,
        quantity=quantity,
        discount=discount,
        discount_type=discount_type,
        tax_rate=draw(st.sampled_from(RATES)),
    )


@st.composite
def orders(draw: st.DrawFn) -> dict:
    lines = draw(st.lists(line_inputs(), min_size=1, max_size=6))
    discount_type = draw(st.sampled_from([PERCENT, FIXED]))
    if discount_type == PERCENT:
        discount = Decimal(draw(st.integers(0, 10_000))) / 100
    else:
        undiscounted = price_order(lines=lines)
        base_cents = int((undiscounted.subtotal - undiscounted.line_discount_total) / CENT)
        discount = Decimal(draw(st.integers(0, base_cents))) / 100
    return {
        "lines": lines,
        "discount": discount,
        "discount_type": discount_type,
        "prices_include_tax": draw(st.booleans()),
        "shipping": draw(cents(100_000)),
        "tax_shipping": draw(st.booleans()),
        "shipping_tax_rate": draw(st.sampled_from(RATES)),
    }


@settings(max_examples=200, deadline=None)
@given(order=orders())
def test_lines_always_add_up_to_the_totals(order):
    result = price_order(**order)
    lines = result.lines

    assert sum(ln.subtotal for ln in lines) == result.subtotal
    assert sum(ln.line_discount for ln in lines) == result.line_discount_total
    assert sum(ln.order_discount for ln in lines) == result.order_discount
    assert sum(ln.discount_total for ln in lines) == result.discount_total
    assert sum(ln.tax for ln in lines) + result.shipping_tax == result.tax_total
    on_top = ZERO if order["prices_include_tax"] else result.shipping_tax
    assert sum(ln.total for ln in lines) + result.shipping + on_top == result.grand_total
    for ln in lines:
        assert ln.discount_total == ln.line_discount + ln.order_discount
        assert ln.net + ln.tax == ln.subtotal - ln.discount_total + (ZERO if order["prices_include_tax"] else ln.tax)
        assert ln.total == (ln.net + ln.tax)


@settings(max_examples=200, deadline=None)
@given(order=orders())
def test_totals_are_never_negative(order):
    result = price_order(**order)

    for ln in result.lines:
        for field in ("subtotal", "line_discount", "order_discount", "discount_total", "net", "tax", "total"):
            assert getattr(ln, field) >= 0, field
        assert ln.discount_total <= ln.subtotal
    assert result.shipping_tax >= 0
    assert result.grand_total >= 0


@settings(max_examples=200, deadline=None)
@given(gross=cents(10_000_000), rate=st.sampled_from(RATES))
def test_inclusive_and_exclusive_agree_on_the_net(gross, rate):
    inclusive = price_order(lines=[LineInput(unit_price=gross, quantity=1, tax_rate=rate)], prices_include_tax=True)
    net, tax = inclusive.lines[0].net, inclusive.lines[0].tax
    assert net + tax == gross
    assert inclusive.grand_total == gross

    exclusive = price_order(lines=[LineInput(unit_price=net, quantity=1, tax_rate=rate)])
    assert abs(exclusive.grand_total - gross) <= CENT


@st.composite
def allocations(draw: st.DrawFn) -> tuple[Decimal, list[Decimal]]:
    # Tiny weights (a few cents each) are where rounding every share overshoots the most.
    largest_weight = draw(st.sampled_from([3, 1_000_000]))
    weights = draw(st.lists(st.integers(0, largest_weight).map(lambda n: Decimal(n) / 100), min_size=1, max_size=12))
    total_cents = int(sum(weights) / CENT)
    amount_cents = draw(st.integers(-2 * total_cents, 2 * total_cents))
    return Decimal(amount_cents) / 100, weights


@settings(max_examples=200, deadline=None)
@given(case=allocations())
def test_allocate_shares_sum_exactly_and_stay_near_proportional(case):
    amount, weights = case
    shares = allocate(amount=amount, weights=weights)
    total = sum(weights)

    assert len(shares) == len(weights)
    assert sum(shares) == amount
    assert all(share == quantize(share) for share in shares)
    largest = weights.index(max(weights))
    for index, (share, weight) in enumerate(zip(shares, weights, strict=True)):
        exact = amount * weight / total if total else ZERO
        if index == largest:
            assert abs(share - exact) <= CENT * len(weights)
        else:
            assert abs(share - exact) < CENT
        assert share * amount >= 0  # never of the opposite sign
        if abs(amount) <= total:
            assert abs(share) <= weight
