"""The sale lifecycle of the domain's state table, run through `sales.services`.

Every transition is tried from every state: the allowed ones must move the sale
and its stock exactly as the domain's stock table says; every other one must
raise `InvalidTransition` and leave stock, money and the activity log untouched.
"""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from inventory.models import StockLevel, StockMovement
from inventory.services import InsufficientStock, stock_adjust
from inventory.tests.factories import stocked_variant
from payments.models import Payment, PaymentKind
from sales import services
from sales.errors import InvalidTransition
from sales.models import Sale, SaleEvent, SaleItem
from sales.tests.factories import CarrierFactory, UserFactory
from salesproject.errors import PermissionDenied, ValidationError

pytestmark = pytest.mark.django_db

D = Decimal
STATES = ["draft", "pending", "confirmed", "in_delivery", "completed", "cancelled", "rejected", "refunded"]

# The domain's state table, written out independently of the model: transition -> (sources, target).
TABLE = {
    "submit": ({"draft"}, "pending"),
    "confirm": ({"pending"}, "confirmed"),
    "ship": ({"confirmed"}, "in_delivery"),
    "complete": ({"confirmed", "in_delivery"}, "completed"),
    "cancel": ({"draft", "pending", "confirmed"}, "cancelled"),
    "reject": ({"pending"}, "rejected"),
    "refund": ({"confirmed", "in_delivery", "completed"}, "refunded"),
}

# The domain's stock table: per unit of each line, (on_hand change, reserved change).
STOCK_EFFECT = {
    ("submit", "draft"): (0, +1),
    ("confirm", "pending"): (-1, -1),
    ("ship", "confirmed"): (0, 0),
    ("complete", "confirmed"): (0, 0),
    ("complete", "in_delivery"): (0, 0),
    ("cancel", "draft"): (0, 0),
    ("cancel", "pending"): (0, -1),
    ("cancel", "confirmed"): (+1, 0),
    ("reject", "pending"): (0, -1),
    ("refund", "confirmed"): (0, 0),  # without restock the goods stay with the customer
    ("refund", "in_delivery"): (0, 0),
    ("refund", "completed"): (0, 0),
}

ALLOWED = sorted(STOCK_EFFECT)
REFUSED = [(name, state) for name in TABLE for state in STATES if state not in TABLE[name][0]]

# How a sale reaches each state through the services: the status it is created
# with, then the transition run after creation (if any).
CREATE_AS = {
    "draft": ("draft", None),
    "pending": ("pending", None),
    "confirmed": ("confirmed", None),
    "completed": ("completed", None),
    "in_delivery": ("confirmed", "ship"),
    "cancelled": ("pending", "cancel"),
    "rejected": ("pending", "reject"),
    "refunded": ("completed", "refund"),
}

LINE_QUANTITIES = (2, 3)
PAID = D("5.00")


@pytest.fixture
def refunder(db):
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="refund_sale", content_type__app_label="sales"))
    return get_user_model().objects.get(pk=user.pk)  # fresh object: no stale permission cache


def call(name: str, sale: Sale, user, **options):
    """Run transition `name` through its service with harmless default arguments."""
    functions = {
        "submit": services.sale_submit,
        "confirm": services.sale_confirm,
        "ship": services.sale_ship,
        "complete": services.sale_complete,
        "cancel": services.sale_cancel,
        "reject": services.sale_reject,
        "refund": services.sale_refund,
    }
    defaults = {"cancel": {"reason": "customer"}, "reject": {"reason": "out of area"}}
    return functions[name](sale=sale, user=user, **{**defaults.get(name, {}), **options})


def make_sale(state: str, *, seller, refunder) -> Sale:
    """A two-line sale (2 + 3 units, 10.00 each, 5.00 paid) brought to `state` through the services."""
    items = [services.ItemData(variant=stocked_variant(10), quantity=quantity) for quantity in LINE_QUANTITIES]
    status, then = CREATE_AS[state]
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=items,
            status=status,
            payments=[services.NewPayment(amount=PAID)],
        ),
    )
    if then:
        call(then, sale, refunder)
    sale = Sale.objects.get(pk=sale.pk)
    assert sale.status == state
    return sale


def levels_of(sale: Sale) -> list[tuple[int, int]]:
    """(on_hand, reserved) of each line's stock row, in line order."""
    return [
        tuple(
            StockLevel.objects.filter(variant_id=item.variant_id, warehouse_id=item.warehouse_id)
            .values_list("on_hand", "reserved")
            .get()
        )
        for item in sale.items.order_by("pk")
    ]


def world(sale: Sale) -> dict:
    """Everything a refused transition must leave alone: stock, ledger, money, log and the sale itself."""
    return {
        "stock": list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "reserved")),
        "movements": StockMovement.objects.count(),
        "payments": list(Payment.objects.order_by("pk").values_list("pk", "sale_id", "amount", "kind", "status")),
        "events": SaleEvent.objects.count(),
        "sale": Sale.objects.filter(pk=sale.pk).values().get(),
        "items": list(SaleItem.objects.filter(sale=sale).order_by("pk").values()),
    }


def allowed_targets(state: str) -> set[str]:
    return {target for sources, target in TABLE.values() if state in sources}


# --- the state table ---


def test_stock_table_lists_exactly_the_allowed_transitions():
    assert set(STOCK_EFFECT) == {(name, state) for name, (sources, _) in TABLE.items() for state in sources}


@pytest.mark.parametrize(("name", "state"), ALLOWED)
def test_allowed_transition_reaches_its_target_status(name, state, seller, refunder, warehouse):
    sale = make_sale(state, seller=seller, refunder=refunder)

    call(name, sale, refunder)

    assert Sale.objects.get(pk=sale.pk).status == TABLE[name][1]


@pytest.mark.parametrize(("name", "state"), ALLOWED)
def test_allowed_transition_writes_one_status_changed_event(name, state, seller, refunder, warehouse):
    sale = make_sale(state, seller=seller, refunder=refunder)
    before = set(SaleEvent.objects.filter(sale=sale).values_list("pk", flat=True))

    call(name, sale, refunder)

    new = list(SaleEvent.objects.filter(sale=sale).exclude(pk__in=before).filter(type="status_changed"))
    assert [(e.from_status, e.to_status) for e in new] == [(state, TABLE[name][1])]
    assert new[0].user == refunder


@pytest.mark.parametrize(("name", "state"), ALLOWED)
def test_allowed_transition_moves_stock_as_the_stock_table_says(name, state, seller, refunder, warehouse):
    sale = make_sale(state, seller=seller, refunder=refunder)
    before = levels_of(sale)
    on_hand_sign, reserved_sign = STOCK_EFFECT[(name, state)]

    call(name, sale, refunder)

    expected = [
        (on_hand + on_hand_sign * quantity, reserved + reserved_sign * quantity)
        for (on_hand, reserved), quantity in zip(before, LINE_QUANTITIES, strict=True)
    ]
    assert levels_of(sale) == expected


@pytest.mark.parametrize(("name", "state"), ALLOWED)
def test_allowed_transition_keeps_stock_equal_to_its_ledger(name, state, seller, refunder, warehouse):
    sale = make_sale(state, seller=seller, refunder=refunder)

    call(name, sale, refunder)

    for level in StockLevel.objects.all():
        movements = StockMovement.objects.filter(variant_id=level.variant_id, warehouse_id=level.warehouse_id)
        assert level.on_hand == sum(m.on_hand_change for m in movements)
        assert level.reserved == sum(m.reserved_change for m in movements)


@pytest.mark.parametrize(("name", "state"), REFUSED)
def test_refused_transition_raises_invalid_transition_naming_allowed_statuses(name, state, seller, refunder, warehouse):
    sale = make_sale(state, seller=seller, refunder=refunder)

    with pytest.raises(InvalidTransition) as info:
        call(name, sale, refunder)

    error, allowed = info.value, allowed_targets(state)
    assert (error.code, error.status_code) == ("invalid_transition", 409)
    assert error.current_status == state
    assert {str(s) for s in error.allowed} == allowed
    message = str(error)
    assert f"that is {state}" in message
    assert all(target in message for target in allowed)
    assert allowed or "none" in message


@pytest.mark.parametrize(("name", "state"), REFUSED)
def test_refused_transition_changes_no_stock_money_or_log(name, state, seller, refunder, warehouse):
    sale = make_sale(state, seller=seller, refunder=refunder)
    before = world(sale)
    # Options that would leave a visible trace if the service acted before refusing.
    options = {"ship": {"carrier": CarrierFactory(), "tracking_code": "TRK1"}, "refund": {"restock": True}}

    with pytest.raises(InvalidTransition):
        call(name, sale, refunder, **options.get(name, {}))

    assert world(sale) == before


# --- side effects of each transition ---


def test_submit_reserves_every_line(seller, refunder, warehouse):
    sale = make_sale("draft", seller=seller, refunder=refunder)

    services.sale_submit(sale=sale, user=seller)

    assert levels_of(sale) == [(10, 2), (10, 3)]


def test_submit_short_of_stock_is_refused_and_stays_draft(seller, refunder, warehouse):
    sale = make_sale("draft", seller=seller, refunder=refunder)
    second = sale.items.order_by("pk").last()
    stock_adjust(variant=second.variant, warehouse=second.warehouse, quantity_change=-9, reason="stock count")
    before = world(sale)

    with pytest.raises(InsufficientStock) as info:
        services.sale_submit(sale=sale, user=seller)

    assert info.value.attr == "items.1.quantity"
    assert world(sale) == before


def test_confirm_commits_reserved_stock(seller, refunder, warehouse):
    sale = make_sale("pending", seller=seller, refunder=refunder)

    services.sale_confirm(sale=sale, user=seller)

    assert levels_of(sale) == [(8, 0), (7, 0)]


def test_confirm_sets_confirmed_at(seller, refunder, warehouse):
    sale = make_sale("pending", seller=seller, refunder=refunder)
    assert sale.confirmed_at is None

    services.sale_confirm(sale=sale, user=seller)

    assert Sale.objects.get(pk=sale.pk).confirmed_at is not None


def test_ship_sets_shipped_at_and_fulfils(seller, refunder, warehouse):
    sale = make_sale("confirmed", seller=seller, refunder=refunder)
    assert sale.shipped_at is None

    services.sale_ship(sale=sale, user=seller)

    sale = Sale.objects.get(pk=sale.pk)
    assert sale.shipped_at is not None
    assert sale.fulfillment_status == "fulfilled"


@pytest.mark.parametrize("state", ["confirmed", "in_delivery"])
def test_complete_sets_completed_at(state, seller, refunder, warehouse):
    sale = make_sale(state, seller=seller, refunder=refunder)
    assert sale.completed_at is None

    services.sale_complete(sale=sale, user=seller)

    assert Sale.objects.get(pk=sale.pk).completed_at is not None


@pytest.mark.parametrize("state", ["draft", "pending", "confirmed"])
def test_cancel_sets_cancelled_at_and_reason(state, seller, refunder, warehouse):
    sale = make_sale(state, seller=seller, refunder=refunder)
    assert sale.cancelled_at is None

    services.sale_cancel(sale=sale, user=seller, reason="fraud")

    sale = Sale.objects.get(pk=sale.pk)
    assert sale.cancelled_at is not None
    assert sale.cancel_reason == "fraud"


def test_cancel_while_pending_releases_reservation(seller, refunder, warehouse):
    sale = make_sale("pending", seller=seller, refunder=refunder)

    services.sale_cancel(sale=sale, user=seller, reason="customer")

    assert levels_of(sale) == [(10, 0), (10, 0)]


def test_cancel_after_confirm_restocks(seller, refunder, warehouse):
    sale = make_sale("confirmed", seller=seller, refunder=refunder)

    services.sale_cancel(sale=sale, user=seller, reason="inventory")

    assert levels_of(sale) == [(10, 0), (10, 0)]


def test_cancel_with_unknown_reason_is_rejected(seller, refunder, warehouse):
    sale = make_sale("pending", seller=seller, refunder=refunder)

    with pytest.raises(ValidationError) as info:
        services.sale_cancel(sale=sale, user=seller, reason="bored")

    assert info.value.attr == "reason"
    assert Sale.objects.get(pk=sale.pk).status == "pending"


def test_reject_releases_reservation_and_keeps_reason(seller, refunder, warehouse):
    sale = make_sale("pending", seller=seller, refunder=refunder)

    services.sale_reject(sale=sale, user=seller, reason="address unreachable")

    assert levels_of(sale) == [(10, 0), (10, 0)]
    assert Sale.objects.get(pk=sale.pk).reject_reason == "address unreachable"


@pytest.mark.parametrize("state", ["confirmed", "in_delivery", "completed"])
def test_refund_with_restock_puts_units_back_on_hand(state, seller, refunder, warehouse):
    sale = make_sale(state, seller=seller, refunder=refunder)
    assert levels_of(sale) == [(8, 0), (7, 0)]

    services.sale_refund(sale=sale, user=refunder, restock=True)

    assert levels_of(sale) == [(10, 0), (10, 0)]
    assert Sale.objects.get(pk=sale.pk).return_status == "full"


def test_refund_without_restock_leaves_stock(seller, refunder, warehouse):
    sale = make_sale("completed", seller=seller, refunder=refunder)
    movements = StockMovement.objects.count()

    services.sale_refund(sale=sale, user=refunder, restock=False)

    assert levels_of(sale) == [(8, 0), (7, 0)]
    assert StockMovement.objects.count() == movements


def test_refund_records_a_refund_payment_of_what_was_paid(seller, refunder, warehouse):
    sale = make_sale("completed", seller=seller, refunder=refunder)

    services.sale_refund(sale=sale, user=refunder)

    refunds = list(Payment.objects.filter(sale=sale, kind=PaymentKind.REFUND).values_list("amount", flat=True))
    assert refunds == [PAID]
    sale = Sale.objects.get(pk=sale.pk)
    assert sale.paid_total == D("0.00")
    assert sale.payment_status == "refunded"


def test_refund_without_permission_is_denied_and_changes_nothing(seller, refunder, warehouse):
    sale = make_sale("completed", seller=seller, refunder=refunder)
    before = world(sale)

    with pytest.raises(PermissionDenied) as info:
        services.sale_refund(sale=sale, user=seller, restock=True)

    assert info.value.code == "permission_denied"
    assert world(sale) == before


def test_confirming_a_stale_copy_of_a_confirmed_sale_is_refused_and_stock_moves_once(seller, refunder, warehouse):
    sale = make_sale("pending", seller=seller, refunder=refunder)
    stale = Sale.objects.get(pk=sale.pk)
    services.sale_confirm(sale=sale, user=seller)

    with pytest.raises(InvalidTransition) as info:
        services.sale_confirm(sale=stale, user=refunder)

    assert info.value.current_status == "confirmed"
    assert levels_of(sale) == [(8, 0), (7, 0)]


def test_rejecting_a_stale_copy_of_a_confirmed_sale_is_refused(seller, refunder, warehouse):
    sale = make_sale("pending", seller=seller, refunder=refunder)
    stale = Sale.objects.get(pk=sale.pk)
    services.sale_confirm(sale=sale, user=seller)

    with pytest.raises(InvalidTransition):
        services.sale_reject(sale=stale, user=refunder)

    assert Sale.objects.get(pk=sale.pk).status == "confirmed"
    assert levels_of(sale) == [(8, 0), (7, 0)]


# --- the status field and the transition queries ---


def test_status_field_cannot_be_assigned(seller, refunder, warehouse):
    sale = make_sale("pending", seller=seller, refunder=refunder)

    with pytest.raises(AttributeError):
        sale.status = "confirmed"

    assert Sale.objects.get(pk=sale.pk).status == "pending"


def test_available_transitions_of_a_pending_sale(seller, refunder, warehouse):
    sale = make_sale("pending", seller=seller, refunder=refunder)

    assert sale.available_transitions_for(seller) == ["confirmed", "cancelled", "rejected"]


def test_available_transitions_omit_refund_without_permission(seller, refunder, warehouse):
    sale = make_sale("confirmed", seller=seller, refunder=refunder)

    assert sale.available_transitions_for(seller) == ["in_delivery", "completed", "cancelled"]


def test_available_transitions_include_refund_with_permission(seller, refunder, warehouse):
    sale = make_sale("confirmed", seller=seller, refunder=refunder)

    assert sale.available_transitions_for(refunder) == ["in_delivery", "completed", "cancelled", "refunded"]


def test_transition_to_unknown_status_is_a_validation_error(seller, refunder, warehouse):
    sale = make_sale("pending", seller=seller, refunder=refunder)

    with pytest.raises(ValidationError) as info:
        services.sale_transition_to(sale=sale, user=seller, status="nope")

    assert info.value.attr == "status"
    assert Sale.objects.get(pk=sale.pk).status == "pending"


def test_transition_to_runs_the_matching_transition(seller, refunder, warehouse):
    sale = make_sale("pending", seller=seller, refunder=refunder)

    services.sale_transition_to(sale=sale, user=seller, status="confirmed")

    assert Sale.objects.get(pk=sale.pk).status == "confirmed"
    assert levels_of(sale) == [(8, 0), (7, 0)]


def test_transition_to_draft_is_refused(seller, refunder, warehouse):
    sale = make_sale("pending", seller=seller, refunder=refunder)

    with pytest.raises(InvalidTransition):
        services.sale_transition_to(sale=sale, user=seller, status="draft")
