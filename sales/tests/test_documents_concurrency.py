"""Real concurrent issuing on PostgreSQL: 50 invoices at once get INV-<year>-000001…000050, no gap, no duplicate."""

from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from threading import Barrier, BrokenBarrierError

import pytest
from django.db import connection
from django.utils import timezone

from inventory.tests.factories import stocked_variant
from sales import services
from sales.models import DocumentCounter, SaleDocument
from sales.services import ItemData, NewSale
from sales.services.documents import sale_issue_invoice

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

INVOICES = 50
WORKERS = 8


def test_fifty_invoices_issued_at_once_are_numbered_one_to_fifty(seller, warehouse):
    variant = stocked_variant(INVOICES)
    sales = [
        services.sale_create(seller=seller, data=NewSale(items=[ItemData(variant=variant, quantity=1)],
                                                         status="confirmed"))
        for _ in range(INVOICES)
    ]
    barrier = Barrier(WORKERS)

    def issue(sale):
        try:
            connection.ensure_connection()
            with suppress(BrokenBarrierError):  # batches of 8 start together; the last 2 after a short wait
                barrier.wait(timeout=5)
            return sale_issue_invoice(sale=sale.pk, user=None).number
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        numbers = list(pool.map(issue, sales, timeout=120))

    year = timezone.now().year
    expected = [f"INV-{year}-{n:06d}" for n in range(1, INVOICES + 1)]
    assert sorted(numbers) == expected  # every one issued, each number once
    stored = list(SaleDocument.objects.order_by("sequence").values_list("sequence", flat=True))
    assert stored == list(range(1, INVOICES + 1))
    assert DocumentCounter.objects.get(kind="invoice", year=year).last == INVOICES
