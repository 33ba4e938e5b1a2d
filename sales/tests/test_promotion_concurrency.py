"""Real concurrent confirms on PostgreSQL: a promotion's `usage_limit` holds.

Each confirm locks the sale, then its promotions by id (`SELECT … FOR UPDATE`), before it reads
`usage_count`: of N sales racing for the last use, exactly one is confirmed and the others are
refused with 409 `invalid_discount_code`, staying pending.
"""

import pytest

from inventory.tests.factories import stocked_variant
from inventory.tests.test_concurrency import errors_of, run_together
from sales import services
from sales.errors import InvalidDiscountCode
from sales.models import Promotion, Sale
from sales.services import ItemData

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 6


def pending_sales(seller, code: str, count: int) -> list[Sale]:
    variant = stocked_variant(100)
    return [
        services.sale_create(
            seller=seller,
            data=services.NewSale(discount_code=code, items=[ItemData(variant=variant, quantity=1)]),
        )
        for _ in range(count)
    ]


@pytest.mark.parametrize(("limit", "count"), [(1, 0), (3, 2)], ids=["only-use", "last-of-three"])
def test_racing_confirms_on_the_last_use_let_exactly_one_through(seller, warehouse, limit, count):
    Promotion.objects.create(name="Once", code="LAST", kind="percent", value=10, usage_limit=limit, usage_count=count)
    sales = pending_sales(seller, "LAST", WORKERS)

    outcomes = run_together(*[lambda sale=sale: services.sale_confirm(sale=sale, user=None) for sale in sales])

    errors = errors_of(outcomes)
    assert len(errors) == WORKERS - 1, errors
    assert all(isinstance(e, InvalidDiscountCode) and e.status_code == 409 for e in errors), errors
    assert Promotion.objects.get(code="LAST").usage_count == limit
    statuses = sorted(Sale.objects.filter(pk__in=[s.pk for s in sales]).values_list("status", flat=True))
    assert statuses == ["confirmed"] + ["pending"] * (WORKERS - 1)
    assert Sale.objects.filter(promotions_counted=True).count() == 1


def test_racing_confirm_and_cancel_keep_the_count_exact(seller, warehouse):
    Promotion.objects.create(name="Many", code="MANY", kind="percent", value=10, usage_limit=100)
    sales = pending_sales(seller, "MANY", WORKERS)
    for sale in sales[:3]:
        services.sale_confirm(sale=sale, user=None)

    outcomes = run_together(
        *[lambda sale=sale: services.sale_cancel(sale=sale, user=None) for sale in sales[:3]],
        *[lambda sale=sale: services.sale_confirm(sale=sale, user=None) for sale in sales[3:]],
    )

    assert not errors_of(outcomes), errors_of(outcomes)
    assert Promotion.objects.get(code="MANY").usage_count == 3
