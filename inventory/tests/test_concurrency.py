"""Real concurrent transactions on PostgreSQL: row locks keep stock exact and transitions single.

Every worker is a thread with its own database connection, opened before the
threads are released together, and closed when the worker ends.
"""

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from inventory.models import MovementKind, StockLevel, StockMovement
from inventory.services import InsufficientStock
from inventory.tests.factories import stocked_variant
from sales.errors import InvalidTransition
from sales.models import Sale, SaleItem, SaleStatus
from sales.services import ItemData, NewSale, sale_cancel, sale_confirm, sale_create, sale_reject, sale_submit
from salesproject.errors import DuplicateReference

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

JOIN_TIMEOUT = 30


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_together(*calls: Callable[[], Any]) -> list[Outcome]:
    """Run each call in its own thread, all released at once; return what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    outcomes = [Outcome() for _ in calls]

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=JOIN_TIMEOUT)
            outcomes[index].value = call()
        except BaseException as exc:  # reported to the test, which decides what was expected
            outcomes[index].error = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a worker hung (lock wait or deadlock)"
    return outcomes


def errors_of(outcomes: list[Outcome]) -> list[BaseException]:
    return [o.error for o in outcomes if not o.ok]


def levels_of(variant) -> tuple[int, int]:
    level = StockLevel.objects.get(variant=variant)
    return level.on_hand, level.reserved


def assert_nothing_negative() -> None:
    assert not StockLevel.objects.filter(on_hand__lt=0).exists()
    assert not StockLevel.objects.filter(reserved__lt=0).exists()
    assert all(level.reserved <= level.on_hand for level in StockLevel.objects.all())


def kinds_for(sale) -> Counter:
    return Counter(StockMovement.objects.filter(sale=sale).values_list("kind", flat=True))


def one_unit(variant) -> list[ItemData]:
    return [ItemData(variant=variant, quantity=1)]


# --- no overselling --------------------------------------------------------------------------


def test_concurrent_submissions_never_oversell(seller, warehouse):
    variant = stocked_variant(5)

    outcomes = run_together(
        *[lambda: sale_create(
            seller=seller,
            data=NewSale(
                items=one_unit(variant),
                status="pending",
            ),
        ) for _ in range(20)]
    )

    errors = errors_of(outcomes)
    assert sum(o.ok for o in outcomes) == 5
    assert len(errors) == 15
    assert all(isinstance(e, InsufficientStock) for e in errors), errors
    assert levels_of(variant) == (5, 5)
    assert_nothing_negative()
    assert Sale.objects.count() == 5
    assert set(Sale.objects.values_list("status", flat=True)) == {SaleStatus.PENDING}
    assert StockMovement.objects.filter(variant=variant, kind=MovementKind.RESERVATION).count() == 5


def test_concurrent_submits_of_drafts_never_oversell(seller, warehouse):
    variant = stocked_variant(5)
    drafts = [sale_create(seller=seller, data=NewSale(items=one_unit(variant), status="draft")) for _ in range(20)]

    outcomes = run_together(*[lambda sale=sale: sale_submit(sale=sale, user=seller) for sale in drafts])

    errors = errors_of(outcomes)
    assert sum(o.ok for o in outcomes) == 5
    assert len(errors) == 15
    assert all(isinstance(e, InsufficientStock) for e in errors), errors
    assert levels_of(variant) == (5, 5)
    assert_nothing_negative()
    assert Counter(Sale.objects.values_list("status", flat=True)) == {SaleStatus.PENDING: 5, SaleStatus.DRAFT: 15}
    submitted = {o.value.pk for o in outcomes if o.ok}
    assert set(Sale.objects.filter(status=SaleStatus.PENDING).values_list("pk", flat=True)) == submitted


def test_concurrent_sales_over_the_same_variants_in_different_orders_do_not_deadlock(seller, warehouse):
    a, b, c = stocked_variant(100), stocked_variant(100), stocked_variant(100)
    orders = [[a, b, c], [c, b, a], [b, a, c], [c, a, b], [a, c], [c, a], [b, c], [c, b]]

    def sell(variants, quantity):
        return sale_create(
            seller=seller,
            data=NewSale(
                items=[ItemData(variant=v, quantity=quantity) for v in variants],
                status="pending",
            ),
        )

    outcomes = run_together(*[lambda v=v, q=1 + i % 3: sell(v, q) for i, v in enumerate(orders * 3)])

    assert errors_of(outcomes) == []
    assert Sale.objects.filter(status=SaleStatus.PENDING).count() == 24
    for variant in (a, b, c):
        pending = SaleItem.objects.filter(variant=variant, sale__status=SaleStatus.PENDING).aggregate(
            total=Sum("quantity")
        )["total"]
        assert levels_of(variant) == (100, pending)
    assert_nothing_negative()


def test_concurrent_sales_in_different_orders_with_short_stock_stay_exact(seller, warehouse):
    """With too little stock the losers must fail as short, never as a deadlock, and leave nothing reserved."""
    a, b, c = stocked_variant(6), stocked_variant(6), stocked_variant(6)
    orders = [[a, b, c], [c, b, a], [b, a, c], [c, a, b]]

    outcomes = run_together(
        *[
            lambda v=v: sale_create(seller=seller, data=NewSale(items=[ItemData(variant=x, quantity=2) for x in v]))
            for v in orders * 3
        ]
    )

    errors = errors_of(outcomes)
    assert all(isinstance(e, InsufficientStock) for e in errors), errors
    assert sum(o.ok for o in outcomes) == 3
    for variant in (a, b, c):
        assert levels_of(variant) == (6, 6)
    assert_nothing_negative()


# --- one transition wins ------------------------------------------------------------------------


def test_concurrent_confirm_and_cancel_move_stock_once(seller, staff, warehouse):
    """Cancel is allowed from pending and from confirmed, so the two serialise one of two ways.

    Cancel first: confirm is refused and the reservation is released. Confirm
    first: cancel still succeeds, putting the shipped units back. Either way the
    reservation is never both released and committed, and stock ends where it began.
    """
    a, b = stocked_variant(30), stocked_variant(30)
    seen = Counter()
    for _ in range(10):
        sale = sale_create(
            seller=seller,
            data=NewSale(
                items=[ItemData(variant=a, quantity=2), ItemData(variant=b, quantity=1)],
                status="pending",
            ),
        )

        confirmed, cancelled = run_together(
            lambda sale=sale: sale_confirm(sale=sale, user=staff),
            lambda sale=sale: sale_cancel(sale=sale, user=staff, reason="customer"),
        )

        assert cancelled.ok, cancelled.error
        kinds = kinds_for(sale)
        assert not (kinds[MovementKind.SHIPMENT] and kinds[MovementKind.RELEASE]), kinds
        if confirmed.ok:
            seen["confirm first"] += 1
            assert kinds == {MovementKind.RESERVATION: 2, MovementKind.SHIPMENT: 2, MovementKind.RETURN: 2}
        else:
            seen["cancel first"] += 1
            assert isinstance(confirmed.error, InvalidTransition), confirmed.error
            assert confirmed.error.code == "invalid_transition"
            assert kinds == {MovementKind.RESERVATION: 2, MovementKind.RELEASE: 2}
        assert Sale.objects.get(pk=sale.pk).status == SaleStatus.CANCELLED
        assert levels_of(a) == (30, 0)
        assert levels_of(b) == (30, 0)
    assert sum(seen.values()) == 10


def test_concurrent_confirm_and_reject_one_wins(seller, staff, warehouse):
    a, b = stocked_variant(30), stocked_variant(30)
    winners = Counter()
    for _ in range(10):
        sale = sale_create(
            seller=seller,
            data=NewSale(
                items=[ItemData(variant=a, quantity=2), ItemData(variant=b, quantity=1)],
                status="pending",
            ),
        )
        before = levels_of(a), levels_of(b)

        confirmed, rejected = run_together(
            lambda sale=sale: sale_confirm(sale=sale, user=staff),
            lambda sale=sale: sale_reject(sale=sale, user=staff, reason="out of area"),
        )

        assert confirmed.ok != rejected.ok, (confirmed.error, rejected.error)
        loser = rejected if confirmed.ok else confirmed
        assert isinstance(loser.error, InvalidTransition), loser.error
        assert loser.error.code == "invalid_transition"
        kinds = kinds_for(sale)
        status = Sale.objects.get(pk=sale.pk).status
        if confirmed.ok:
            winners["confirm"] += 1
            assert status == SaleStatus.CONFIRMED
            assert kinds == {MovementKind.RESERVATION: 2, MovementKind.SHIPMENT: 2}
            assert (levels_of(a), levels_of(b)) == ((before[0][0] - 2, 0), (before[1][0] - 1, 0))
        else:
            winners["reject"] += 1
            assert status == SaleStatus.REJECTED
            assert kinds == {MovementKind.RESERVATION: 2, MovementKind.RELEASE: 2}
            assert (levels_of(a), levels_of(b)) == ((before[0][0], 0), (before[1][0], 0))
    assert sum(winners.values()) == 10


def test_concurrent_confirms_commit_stock_once(seller, staff, warehouse):
    a, b = stocked_variant(10), stocked_variant(10)
    sale = sale_create(
        seller=seller,
        data=NewSale(
            items=[ItemData(variant=a, quantity=3), ItemData(variant=b, quantity=1)],
            status="pending",
        ),
    )

    outcomes = run_together(
        lambda: sale_confirm(sale=sale, user=staff),
        lambda: sale_confirm(sale=sale, user=seller),
    )

    assert sum(o.ok for o in outcomes) == 1
    [error] = errors_of(outcomes)
    assert isinstance(error, InvalidTransition), error
    assert error.code == "invalid_transition"
    assert Sale.objects.get(pk=sale.pk).status == SaleStatus.CONFIRMED
    assert kinds_for(sale) == {MovementKind.RESERVATION: 2, MovementKind.SHIPMENT: 2}
    assert levels_of(a) == (7, 0)
    assert levels_of(b) == (9, 0)


# --- unique references ---------------------------------------------------------------------------


def test_concurrent_creates_with_the_same_reference_make_one_sale(seller, warehouse):
    variant = stocked_variant(10)

    outcomes = run_together(
        *[lambda: sale_create(
            seller=seller,
            data=NewSale(
                items=one_unit(variant),
                reference="WEB-1001",
            ),
        ) for _ in range(2)]
    )

    assert sum(o.ok for o in outcomes) == 1
    [error] = errors_of(outcomes)
    assert isinstance(error, DuplicateReference), error
    assert (error.code, error.attr) == ("duplicate_reference", "reference")
    assert Sale.objects.filter(reference="WEB-1001").count() == 1
    assert Sale.objects.count() == 1
    assert levels_of(variant) == (10, 1)
