"""A seeded random walk over the sale services, old and new (fulfilment.md), checking invariants after every step.

Each seed runs ~150 steps on a few variants with little stock: sales are created in draft, pending,
confirmed (or completed), submitted, confirmed, shipped, completed, cancelled, rejected, returned and
refunded with restock, paid, and - the round-2 services - fulfilled in parts, tracked, cancelled in
parts, split, cloned, locked and unlocked. A `DomainError` is a legitimate refusal, which must leave
the sale (and stock, and every ledger) as it was. After every step:

- stock levels agree with their ledger and with what pending sales hold (`inventory_drift`), and
  none is negative or reserves more than it has;
- each line: cancelled + returned ≤ sold, fulfilled ≤ active, fulfilled = units in its live
  fulfilments (not failed/returned);
- each sale: `fulfillment_status` by units, `delivery_status` from its fulfilments, numbers
  `<reference>-F1..Fn` without gaps, an in-delivery sale whose units all arrived has completed, its
  stored totals are what `sale_totals_drift` recomputes and its payment figures what
  `payment_drift` recomputes.
"""

import random
from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import Sum

from inventory import services as stock
from inventory.models import StockLevel, StockMovement
from inventory.services.audit import inventory_drift
from inventory.tests.factories import stocked_variant
from payments.models import Payment
from sales import services
from sales.models import (
    DeliveryStatus,
    Fulfillment,
    FulfillmentStatus,
    Sale,
    SaleEvent,
    SaleStatus,
    TrackingEvent,
)
from sales.services import ItemData, ItemQuantity, NewSale, ReturnLine
from sales.services.maintenance import payment_drift, sale_totals_drift
from salesproject.errors import DomainError

pytestmark = pytest.mark.django_db

D = Decimal
STEPS = 150
SEEDS = [11, 2024, 77777]
NEW_OPERATIONS = ("fulfil", "track", "cancel_items", "split", "clone", "lock", "unlock")
DEAD = {"failed", "returned"}
ARRIVED = {"delivered", "picked_up"}
PROGRESS = ["ready_for_pickup", "shipped", "in_transit", "out_for_delivery", "delivered", "picked_up"]
TRACKING = ["in_transit", "out_for_delivery", "delivered", "failed", "returned", "picked_up", "shipped"]


# --- the invariants ------------------------------------------------------------------


def expected_delivery_status(statuses: list[str]) -> str:
    if not statuses:
        return DeliveryStatus.NONE
    live = [s for s in statuses if s not in DEAD]
    moving = [s for s in live if s not in ARRIVED]
    if not moving and ("failed" in statuses or not live):
        return DeliveryStatus.FAILED
    return min(live, key=PROGRESS.index)


def check_invariants() -> None:
    assert inventory_drift() == []
    for on_hand, reserved in StockLevel.objects.values_list("on_hand", "reserved"):
        assert on_hand >= 0 and reserved >= 0 and reserved <= on_hand, (on_hand, reserved)
    assert list(payment_drift()) == []

    for sale in Sale.objects.prefetch_related("items", "fulfillments__lines").order_by("pk"):
        items = list(sale.items.all())
        fulfilments = sorted(sale.fulfillments.all(), key=lambda f: f.sequence)
        live_units = Counter()
        for fulfilment in fulfilments:
            if fulfilment.status not in DEAD:
                for line in fulfilment.lines.all():
                    live_units[line.item_id] += line.quantity
        for item in items:
            where = f"{sale.reference} line {item.pk}"
            assert item.quantity_cancelled + item.quantity_returned <= item.quantity, where
            assert 0 <= item.quantity_fulfilled <= item.quantity_active, where
            assert item.quantity_fulfilled == live_units[item.pk], (where, item.quantity_fulfilled, live_units)

        sold = sum(item.quantity_active for item in items)
        fulfilled = sum(item.quantity_fulfilled for item in items)
        expected = (
            FulfillmentStatus.UNFULFILLED if fulfilled == 0
            else FulfillmentStatus.FULFILLED if fulfilled >= sold
            else FulfillmentStatus.PARTIALLY_FULFILLED
        )
        assert sale.fulfillment_status == expected, (sale.reference, sale.status, sale.fulfillment_status, expected)
        statuses = [f.status for f in fulfilments]
        assert sale.delivery_status == expected_delivery_status(statuses), (sale.reference, statuses)
        assert [f.number for f in fulfilments] == [f"{sale.reference}-F{n}" for n in range(1, len(fulfilments) + 1)]
        assert [f.sequence for f in fulfilments] == list(range(1, len(fulfilments) + 1))
        if sale.status == SaleStatus.IN_DELIVERY:
            live = [s for s in statuses if s not in DEAD]
            assert not (fulfilled == sold and live and all(s in ARRIVED for s in live)), (
                f"{sale.reference} arrived everywhere but is still in delivery"
            )
        if sale.status == SaleStatus.COMPLETED:
            assert sale.fulfillment_status == FulfillmentStatus.FULFILLED or any(s in DEAD for s in statuses)
        assert sale_totals_drift(sale=sale) is None, str(sale_totals_drift(sale=sale))


SALE_FIELDS = (
    "status", "subtotal", "discount_total", "tax_total", "grand_total", "returned_total", "paid_total",
    "payment_status", "fulfillment_status", "delivery_status", "cancellation_status", "return_status",
    "locked", "locked_reason",
)
ITEM_FIELDS = ("quantity", "quantity_cancelled", "quantity_fulfilled", "quantity_returned", "total")


def snapshot(sale_id: int | None) -> tuple:
    """Everything a refused operation must leave as it was: the sale, its lines and fulfilments, and the
    global counts of what the services write (sales, fulfilments, tracking, payments, events, ledger, levels)."""
    counts = tuple(model.objects.count() for model in (Sale, Fulfillment, TrackingEvent, Payment, SaleEvent,
                                                       StockMovement))
    levels = tuple(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved"))
    if sale_id is None:
        return counts, levels
    sale = Sale.objects.values(*SALE_FIELDS).get(pk=sale_id)
    items = tuple(Sale.objects.get(pk=sale_id).items.order_by("pk").values_list(*ITEM_FIELDS))
    fulfilments = tuple(Fulfillment.objects.filter(sale_id=sale_id).order_by("pk").values_list("number", "status"))
    return counts, levels, sale, items, fulfilments


# --- the walk ------------------------------------------------------------------------


class Walk:
    def __init__(self, rng: random.Random, variants, staff, warehouse):
        self.rng = rng
        self.warehouse = warehouse
        self.variants = variants
        self.staff = staff
        self.seller = staff
        self.ok: Counter = Counter()
        self.refused: Counter = Counter()
        self.refusal_codes: Counter = Counter()

    # picking -------------------------------------------------------------------------

    def sales(self, statuses=None, *, locked=None) -> list[int]:
        qs = Sale.objects.order_by("pk")
        if statuses is not None:
            qs = qs.filter(status__in=statuses)
        if locked is not None:
            qs = qs.filter(locked=locked)
        return list(qs.values_list("pk", flat=True))

    def pick(self, statuses=None, *, likely: float = 0.8, locked=False) -> int | None:
        """A sale, most of the time one in `statuses` (and unlocked) so the operation may succeed."""
        preferred = self.sales(statuses, locked=locked) if statuses is not None or locked is not None else []
        if preferred and self.rng.random() < likely:
            return self.rng.choice(preferred)
        every = self.sales()
        return self.rng.choice(every) if every else None

    def some_units(self, sale_id: int, available) -> list[ItemQuantity]:
        """Some units of some lines of the sale, within `available(item)` mostly, sometimes beyond it."""
        items = list(Sale.objects.get(pk=sale_id).items.order_by("pk"))
        lines = []
        for item in self.rng.sample(items, k=self.rng.randint(1, len(items))):
            most = available(item)
            if self.rng.random() < 0.1:
                most += 1  # over what is left: must be refused with 400 and change nothing
            if most > 0:
                lines.append(ItemQuantity(item=item.pk, quantity=self.rng.randint(1, most)))
        return lines

    # operations ----------------------------------------------------------------------

    def op_create(self):
        lines = [
            ItemData(variant=variant, quantity=self.rng.randint(1, 3))
            for variant in self.rng.sample(self.variants, k=self.rng.randint(1, 3))
        ]
        status = self.rng.choice(["draft", "pending", "pending", "confirmed", "confirmed", "completed"])
        fields = {}
        if self.rng.random() < 0.2:
            fields["payment_mode"] = "prepaid"
        if self.rng.random() < 0.2:
            fields["delivery_mode"] = "pickup"
        if self.rng.random() < 0.25:
            fields.update(discount=D("10"), discount_type="percent")
        elif self.rng.random() < 0.15:
            fields.update(discount=D("3.00"), discount_type="fixed")
        if self.rng.random() < 0.2:
            fields["shipping_cost"] = D("4.50")
        return None, lambda: services.sale_create(seller=self.seller, data=NewSale(items=lines, status=status,
                                                                                  **fields))

    def op_submit(self):
        pk = self.pick(["draft"])
        return pk, lambda: services.sale_submit(sale=pk, user=None)

    def op_confirm(self):
        pk = self.pick(["pending"])
        return pk, lambda: services.sale_confirm(sale=pk, user=None)

    def op_ship(self):
        pk = self.pick(["confirmed"])
        return pk, lambda: services.sale_ship(sale=pk, user=None)

    def op_complete(self):
        pk = self.pick(["confirmed", "in_delivery"], likely=0.5)
        return pk, lambda: services.sale_complete(sale=pk, user=None)

    def op_cancel(self):
        pk = self.pick(["draft", "pending", "confirmed"], likely=0.6)
        return pk, lambda: services.sale_cancel(sale=pk, user=None)

    def op_reject(self):
        pk = self.pick(["pending"], likely=0.6)
        return pk, lambda: services.sale_reject(sale=pk, user=None, reason="walk")

    def op_return(self):
        pk = self.pick(["confirmed", "in_delivery", "completed"])
        lines = [ReturnLine(item=q.item, quantity=q.quantity)
                 for q in self.some_units(pk, lambda i: i.quantity_active - i.quantity_returned)]
        return pk, lambda: services.sale_return(sale=pk, user=None, lines=lines, restock=True,
                                                refund=self.rng.random() < 0.5)

    def op_refund(self):
        pk = self.pick(["confirmed", "in_delivery", "completed"], likely=0.6)
        return pk, lambda: services.sale_refund(sale=pk, user=None, restock=True, reason="walk")

    def op_payment(self):
        pk = self.pick(["pending", "confirmed", "in_delivery", "completed"])
        sale = Sale.objects.get(pk=pk)
        if self.rng.random() < 0.75:
            due = max(sale.balance_due, D("1.00"))
            amount = due if self.rng.random() < 0.6 else D(self.rng.randint(1, 3000)) / 100
            return pk, lambda: services.sale_record_payment(sale=pk, user=None, amount=amount, kind="payment")
        amount = D(self.rng.randint(1, 4000)) / 100
        return pk, lambda: services.sale_record_payment(sale=pk, user=None, amount=amount, kind="refund")

    def op_fulfil(self):
        pk = self.pick(["confirmed", "in_delivery"])
        lines = None if self.rng.random() < 0.3 else self.some_units(pk, lambda i: i.quantity_unfulfilled)
        return pk, lambda: services.sale_fulfil(sale=pk, user=None, lines=lines or None, tracking_code="T1")

    def op_track(self):
        open_fulfilments = list(
            Fulfillment.objects.exclude(status__in=["delivered", "picked_up", "returned"]).values_list("pk", "sale_id")
        )
        every = list(Fulfillment.objects.values_list("pk", "sale_id"))
        pool = open_fulfilments if open_fulfilments and self.rng.random() < 0.9 else every
        if not pool:
            return self.op_fulfil()
        fid, pk = self.rng.choice(pool)
        status = self.rng.choice(TRACKING)
        return pk, lambda: services.fulfillment_track(fulfillment=fid, user=None, status=status)

    def op_cancel_items(self):
        pk = self.pick(["draft", "pending", "confirmed"])
        lines = self.some_units(pk, lambda i: i.quantity_active - i.quantity_fulfilled - i.quantity_returned)
        return pk, lambda: services.sale_cancel_items(sale=pk, user=None, lines=lines)

    def op_split(self):
        pk = self.pick(["draft", "pending"])
        lines = self.some_units(pk, lambda i: i.quantity_active)
        return pk, lambda: services.sale_split(sale=pk, user=None, lines=lines)

    def op_clone(self):
        pk = self.pick(None)
        reason = self.rng.choice(["exchange", "new_sale"])
        status = self.rng.choice(["draft", "pending"])
        lines = None if self.rng.random() < 0.5 else self.some_units(pk, lambda i: i.quantity)
        return pk, lambda: services.sale_clone(sale=pk, user=None, reason=reason, lines=lines or None, status=status)

    def op_lock(self):
        pk = self.pick(None, locked=None)
        return pk, lambda: services.sale_lock_for_review(sale=pk, user=self.staff, reason="walk review")

    def op_unlock(self):
        pk = self.pick(None, locked=True, likely=0.95)
        return pk, lambda: services.sale_unlock(sale=pk, user=self.staff)

    def op_receive(self):
        variant = self.rng.choice(self.variants)
        units, where = self.rng.randint(1, 4), self.warehouse
        return None, lambda: stock.stock_receive(variant=variant, warehouse=where, quantity=units, reason="walk")

    WEIGHTS = {
        "create": 12, "submit": 5, "confirm": 6, "ship": 3, "complete": 3, "cancel": 2, "reject": 2,
        "return": 4, "refund": 2, "payment": 6, "fulfil": 10, "track": 12, "cancel_items": 7, "split": 6,
        "clone": 4, "lock": 4, "unlock": 3, "receive": 2,
    }

    def step(self):
        names = list(self.WEIGHTS)
        name = "create" if not Sale.objects.exists() else self.rng.choices(names, [self.WEIGHTS[n] for n in names])[0]
        pk, call = getattr(self, f"op_{name}")()
        before = snapshot(pk)
        try:
            call()
        except DomainError as exc:
            self.refused[name] += 1
            self.refusal_codes[f"{name}:{exc.code}"] += 1
            assert snapshot(pk) == before, f"refused {name} on sale {pk} ({exc.code}: {exc}) changed something"
        else:
            self.ok[name] += 1
        check_invariants()


@pytest.mark.parametrize("seed", SEEDS)
def test_random_walk_keeps_every_invariant(seed, warehouse, staff, capsys):
    rng = random.Random(seed)
    variants = [stocked_variant(rng.randint(5, 10), price=D(price)) for price in ("10.00", "7.35", "19.99", "3.10")]
    walk = Walk(rng, variants, staff, warehouse)
    for _ in range(STEPS):
        walk.step()

    with capsys.disabled():
        print(f"\nseed {seed}:")
        for name in Walk.WEIGHTS:
            print(f"  {name:13} ok {walk.ok[name]:3}  refused {walk.refused[name]:3}")
        print("  refusals:", dict(sorted(walk.refusal_codes.items())))
        print("  sales:", dict(Counter(Sale.objects.values_list("status", flat=True))),
              "fulfilments:", Fulfillment.objects.count(),
              "units fulfilled:", Sale.objects.aggregate(n=Sum("items__quantity_fulfilled"))["n"])
    for name in NEW_OPERATIONS:
        assert walk.ok[name] >= 1, f"{name} never succeeded with seed {seed}"
