"""Real concurrent refunds on PostgreSQL: what a sale holds is given back once, never twice.

Each way of giving money back locks the sale row before it reads `paid_total`, so of several
refunds of everything the sale holds, racing from their own connections, exactly one succeeds and
the others are refused with `refund_exceeds_paid`; `paid_total` never goes below zero.
"""

from decimal import Decimal

import pytest

from inventory.tests.factories import stocked_variant
from inventory.tests.test_concurrency import errors_of, run_together
from payments.errors import RefundExceedsPaid
from payments.models import Payment
from sales import services
from sales.models import Sale
from sales.services import ItemData, ReturnLine, sale_record_payment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

D = Decimal
WORKERS = 6


def paid_sale(seller) -> Sale:
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            status="completed",
            items=[ItemData(variant=stocked_variant(100), quantity=6)],
            payments=[services.NewPayment(amount=D("60.00"))],
        ),
    )
    return Sale.objects.get(pk=sale.pk)


def test_racing_refunds_of_everything_give_it_back_once(seller, warehouse):
    sale = paid_sale(seller)

    outcomes = run_together(
        *[lambda: sale_record_payment(sale=sale, amount=D("60.00"), kind="refund", user=None)] * WORKERS
    )

    errors = errors_of(outcomes)
    assert len(errors) == WORKERS - 1 and all(isinstance(e, RefundExceedsPaid) for e in errors), errors
    sale.refresh_from_db()
    assert (sale.paid_total, sale.payment_status) == (D("0.00"), "refunded")
    assert Payment.objects.filter(sale=sale, kind="refund").count() == 1


def test_racing_refunded_returns_and_a_refund_never_take_paid_total_below_zero(seller, warehouse):
    sale = paid_sale(seller)  # 6 units of 10.00
    item = sale.items.get()

    def give_back_one():
        return services.sale_return(sale=sale, user=None, lines=[ReturnLine(item=item.pk, quantity=1)], refund=True)

    outcomes = run_together(
        *[give_back_one] * 4,
        lambda: sale_record_payment(sale=sale, amount=D("35.00"), kind="refund", user=None),
    )

    sale.refresh_from_db()
    refunds = Payment.objects.filter(sale=sale, kind="refund")
    assert sale.paid_total >= 0
    assert sale.paid_total == D("60.00") - sum(p.amount for p in refunds)
    assert all(isinstance(e, RefundExceedsPaid) for e in errors_of(outcomes)), errors_of(outcomes)
    item.refresh_from_db()
    assert sale.returned_total == D("10.00") * item.quantity_returned
