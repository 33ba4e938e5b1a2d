"""A seeded random walk over stock and sale operations that checks the ledger invariants after every step.

Invariants (domain spec, "Catalogue and stock"): every stock level equals the
sum of its ledger rows; what is reserved is exactly what pending sales hold in
that warehouse; on_hand >= 0 and 0 <= reserved <= on_hand.
"""

import random
from collections import Counter

import pytest
from django.db.models import Sum

from inventory.models import StockLevel, StockMovement
from inventory.services import InsufficientStock, stock_adjust, stock_receive
from inventory.tests.factories import WarehouseFactory, default_warehouse, stocked_variant
from sales.errors import InvalidTransition, SaleLocked
from sales.models import CancelReason, Sale, SaleItem, SaleStatus
from sales.services import (
    ItemData,
    NewSale,
    ReturnLine,
    sale_cancel,
    sale_complete,
    sale_confirm,
    sale_create,
    sale_delete,
    sale_refund,
    sale_reject,
    sale_return,
    sale_ship,
    sale_submit,
    sale_update,
    sale_update_item,
)
from sales.tests.factories import StaffFactory
from salesproject.errors import ValidationError

pytestmark = pytest.mark.django_db

STEPS = 300
EXPECTED = (InsufficientStock, InvalidTransition, SaleLocked, ValidationError)
COMMITTED = (SaleStatus.CONFIRMED, SaleStatus.IN_DELIVERY, SaleStatus.COMPLETED)


def assert_invariants() -> None:
    ledger = {
        (row["variant"], row["warehouse"]): (row["on_hand"], row["reserved"])
        for row in StockMovement.objects.order_by()
        .values("variant", "warehouse")
        .annotate(on_hand=Sum("on_hand_change"), reserved=Sum("reserved_change"))
    }
    pending = {
        (row["variant"], row["warehouse"]): row["quantity"]
        for row in SaleItem.objects.filter(sale__status=SaleStatus.PENDING)
        .order_by()
        .values("variant", "warehouse")
        .annotate(quantity=Sum("quantity"))
    }
    levels = {(level.variant_id, level.warehouse_id): level for level in StockLevel.objects.all()}
    assert set(ledger) <= set(levels), "ledger rows for a stock level that does not exist"
    assert set(pending) <= set(levels), "pending sale lines in a warehouse without a stock level"
    for key, level in levels.items():
        assert (level.on_hand, level.reserved) == ledger.get(key, (0, 0)), f"{key}: level differs from its ledger"
        assert level.reserved == pending.get(key, 0), f"{key}: reserved differs from what pending sales hold"
        assert level.on_hand >= 0
        assert 0 <= level.reserved <= level.on_hand


class Walk:
    """Random operations on 4 variants in 2 warehouses; counts what happened so the test can't pass vacuously."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.user = StaffFactory(is_superuser=True)
        self.warehouses = [default_warehouse(), WarehouseFactory()]
        self.variants = [stocked_variant(0) for _ in range(4)]
        self.seen: Counter = Counter()
        for variant in self.variants:
            for warehouse in self.warehouses:
                stock_receive(variant=variant, warehouse=warehouse, quantity=self.rng.randint(2, 8))

    # --- picking ------------------------------------------------------------------------

    def pick_sale(self, *statuses: str, stray: float = 0.15) -> Sale | None:
        """A sale in one of these statuses; now and then any sale, to meet the refusals too."""
        sales = Sale.objects.order_by("pk")
        if statuses and self.rng.random() >= stray:
            sales = sales.filter(status__in=statuses)
        sales = list(sales)
        return self.rng.choice(sales) if sales else None

    def items(self) -> list[ItemData]:
        return [
            ItemData(
                variant=self.rng.choice(self.variants),
                quantity=self.rng.randint(1, 3),
                warehouse=self.rng.choice([None, *self.warehouses]),
            )
            for _ in range(self.rng.randint(1, 3))
        ]

    # --- operations ---------------------------------------------------------------------

    def receive(self) -> None:
        self.seen["received"] += 1
        stock_receive(
            variant=self.rng.choice(self.variants),
            warehouse=self.rng.choice(self.warehouses),
            quantity=self.rng.randint(1, 6),
            user=self.user,
            reason="delivery",
        )

    def adjust(self) -> None:
        change = self.rng.choice([-4, -3, -2, -1, 1, 2, 3])
        stock_adjust(
            variant=self.rng.choice(self.variants),
            warehouse=self.rng.choice(self.warehouses),
            quantity_change=change,
            user=self.user,
            reason="count",
        )
        self.seen[f"adjusted {'down' if change < 0 else 'up'}"] += 1

    def create(self) -> None:
        status = self.rng.choice(["draft", "pending", "pending", "confirmed", "completed"])
        sale_create(
            seller=self.user,
            data=NewSale(
                items=self.items(),
                status=status,
                warehouse=self.rng.choice(self.warehouses),
            ),
        )
        self.seen[f"created {status}"] += 1
        if status in ("confirmed", "completed"):
            self.seen["confirmed"] += 1

    def submit(self) -> None:
        if sale := self.pick_sale(SaleStatus.DRAFT):
            sale_submit(sale=sale, user=self.user)
            self.seen["submitted"] += 1

    def confirm(self) -> None:
        if sale := self.pick_sale(SaleStatus.PENDING):
            sale_confirm(sale=sale, user=self.user)
            self.seen["confirmed"] += 1

    def ship(self) -> None:
        if sale := self.pick_sale(SaleStatus.CONFIRMED):
            sale_ship(sale=sale, user=self.user, tracking_code="TRK")
            self.seen["shipped"] += 1

    def complete(self) -> None:
        if sale := self.pick_sale(SaleStatus.CONFIRMED, SaleStatus.IN_DELIVERY):
            sale_complete(sale=sale, user=self.user)
            self.seen["completed"] += 1

    def cancel(self) -> None:
        if sale := self.pick_sale(SaleStatus.DRAFT, SaleStatus.PENDING, SaleStatus.CONFIRMED):
            sale_cancel(sale=sale, user=self.user, reason=self.rng.choice(CancelReason.values))
            self.seen[f"cancelled from {sale.status}"] += 1

    def reject(self) -> None:
        if sale := self.pick_sale(SaleStatus.PENDING):
            sale_reject(sale=sale, user=self.user, reason="no")
            self.seen["rejected"] += 1

    def refund(self) -> None:
        if sale := self.pick_sale(*COMMITTED):
            restock = self.rng.random() < 0.5
            sale_refund(sale=sale, user=self.user, restock=restock)
            self.seen[f"refunded, restock={restock}"] += 1

    def return_items(self) -> None:
        sale = self.pick_sale(*COMMITTED, stray=0.05)
        if sale is None:
            return
        open_items = [item for item in sale.items.order_by("pk") if item.quantity > item.quantity_returned]
        if not open_items:
            return
        item = self.rng.choice(open_items)
        restock = self.rng.random() < 0.5
        sale_return(
            sale=sale,
            user=self.user,
            restock=restock,
            lines=[ReturnLine(item=item, quantity=self.rng.randint(1, item.quantity - item.quantity_returned))],
        )
        self.seen[f"returned, restock={restock}"] += 1

    def edit(self) -> None:
        if sale := self.pick_sale(SaleStatus.PENDING, SaleStatus.DRAFT):
            data = {"items": self.items()}
            if self.rng.random() < 0.3:
                data["warehouse"] = self.rng.choice(self.warehouses)
            sale_update(sale=sale, user=self.user, data=data)
            self.seen[f"edited {sale.status}"] += 1

    def move_item(self) -> None:
        sale = self.pick_sale(SaleStatus.PENDING, SaleStatus.PENDING, SaleStatus.CONFIRMED, stray=0.1)
        if sale is None:
            return
        item = self.rng.choice(list(sale.items.order_by("pk")))
        other = next(w for w in self.warehouses if w.pk != item.warehouse_id)
        sale_update_item(item=item, user=self.user, data={"warehouse": other})
        self.seen[f"moved item of {sale.status}"] += 1

    def delete(self) -> None:
        deletable = (SaleStatus.DRAFT, SaleStatus.PENDING, SaleStatus.CANCELLED, SaleStatus.REJECTED)
        if sale := self.pick_sale(*deletable):
            sale_delete(sale=sale, user=self.user)
            self.seen[f"deleted {sale.status}"] += 1

    OPERATIONS = {
        receive: 3,
        adjust: 3,
        create: 8,
        submit: 2,
        confirm: 3,
        ship: 2,
        complete: 2,
        cancel: 3,
        reject: 1,
        refund: 2,
        return_items: 3,
        edit: 4,
        move_item: 3,
        delete: 2,
    }

    def step(self) -> None:
        operation = self.rng.choices(list(self.OPERATIONS), weights=list(self.OPERATIONS.values()))[0]
        try:
            operation(self)
        except EXPECTED as exc:
            self.seen[type(exc).__name__] += 1


@pytest.mark.parametrize("seed", [7, 2024, 31337])
def test_random_walk_keeps_stock_equal_to_ledger_and_pending_sales(seed):
    walk = Walk(seed)
    assert_invariants()

    for _ in range(STEPS):
        walk.step()
        assert_invariants()

    seen = walk.seen
    assert seen["confirmed"] >= 5, seen
    assert seen["cancelled from confirmed"] >= 1, seen
    assert seen["cancelled from pending"] >= 1, seen
    assert seen["InsufficientStock"] >= 3, seen
    assert seen["InvalidTransition"] >= 1, seen
    assert seen["returned, restock=True"] + seen["refunded, restock=True"] >= 1, seen
    assert seen["edited pending"] >= 1, seen
    assert seen["moved item of pending"] >= 1, seen
    assert seen["deleted pending"] + seen["deleted cancelled"] + seen["deleted draft"] >= 1, seen
