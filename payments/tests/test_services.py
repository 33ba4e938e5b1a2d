"""Payment services: record payments and refunds on a sale, and match unassigned transactions to sales."""

from decimal import Decimal

import pytest

from inventory.tests.factories import stocked_variant
from payments.errors import AlreadyAssigned
from payments.models import Payment
from payments.services import payment_record
from sales.models import Sale, SaleEvent
from sales.services import sale_assign_payment, sale_record_payment
from sales.tests.factories import SaleFactory
from salesproject.errors import DuplicateReference, ValidationError

pytestmark = pytest.mark.django_db

D = Decimal



@pytest.fixture(autouse=True)
def seller_may_refund(seller):
    """These tests give money back as `seller`: every way of doing so needs `sales.refund_sale`."""
    from django.contrib.auth.models import Permission

    seller.user_permissions.add(Permission.objects.get(codename="refund_sale", content_type__app_label="sales"))

@pytest.fixture
def sale(seller, warehouse):
    """A confirmed sale of one unit at 100.00, nothing paid yet."""
    from sales.services import ItemData

    return SaleFactory(
        seller=seller, status="confirmed", items=[ItemData(variant=stocked_variant(5, price=D("100.00")), quantity=1)]
    )


def reload(sale: Sale) -> Sale:
    return Sale.objects.get(pk=sale.pk)


def last_event(sale: Sale) -> SaleEvent:
    return SaleEvent.objects.filter(sale=sale).latest("pk")


# --- record ---


def test_recording_a_payment_refreshes_paid_total_and_status(sale, seller):
    sale_record_payment(sale=sale, amount=D("40.00"), method="card", user=seller)

    sale = reload(sale)
    assert sale.paid_total == D("40.00")
    assert sale.payment_status == "partially_paid"
    assert sale.balance_due == D("60.00")


def test_recording_the_full_amount_marks_the_sale_paid(sale, seller):
    sale_record_payment(sale=sale, amount=D("60.00"), user=seller)
    sale_record_payment(sale=sale, amount=D("40.00"), user=seller)

    assert reload(sale).payment_status == "paid"


def test_recording_more_than_due_marks_the_sale_overpaid(sale, seller):
    sale_record_payment(sale=sale, amount=D("100.01"), user=seller)

    assert reload(sale).payment_status == "overpaid"


def test_recording_a_payment_writes_payment_recorded(sale, seller):
    payment = sale_record_payment(sale=sale, amount=D("40.00"), method="card", reference="CARD-1", user=seller)

    event = last_event(sale)
    assert event.type == "payment_recorded"
    assert event.user == seller
    assert (event.data["payment"], event.data["amount"], event.data["method"]) == (payment.pk, "40.00", "card")


def test_recording_a_refund_lowers_paid_total(sale, seller):
    sale_record_payment(sale=sale, amount=D("100.00"), user=seller)

    sale_record_payment(sale=sale, amount=D("30.00"), kind="refund", user=seller)

    sale = reload(sale)
    assert sale.paid_total == D("70.00")
    assert sale.payment_status == "partially_refunded"


def test_refunding_everything_marks_the_sale_refunded(sale, seller):
    sale_record_payment(sale=sale, amount=D("100.00"), user=seller)

    sale_record_payment(sale=sale, amount=D("100.00"), kind="refund", user=seller)

    sale = reload(sale)
    assert (sale.paid_total, sale.payment_status) == (D("0.00"), "refunded")


def test_recording_a_refund_writes_refund_recorded(sale, seller):
    sale_record_payment(sale=sale, amount=D("100.00"), user=seller)

    sale_record_payment(sale=sale, amount=D("30.00"), kind="refund", user=seller)

    event = last_event(sale)
    assert (event.type, event.data["kind"], event.data["amount"]) == ("refund_recorded", "refund", "30.00")


def test_duplicate_provider_reference_raises_duplicate_reference(sale, seller):
    sale_record_payment(sale=sale, amount=D("10.00"), reference="TX-9", user=seller)
    events = SaleEvent.objects.count()

    with pytest.raises(DuplicateReference) as info:
        sale_record_payment(sale=sale, amount=D("20.00"), reference="TX-9", user=seller)

    assert (info.value.code, info.value.attr) == ("duplicate_reference", "reference")
    assert Payment.objects.count() == 1
    assert SaleEvent.objects.count() == events
    assert reload(sale).paid_total == D("10.00")


def test_payments_without_reference_do_not_collide(sale, seller):
    sale_record_payment(sale=sale, amount=D("10.00"), user=seller)
    sale_record_payment(sale=sale, amount=D("10.00"), reference="", user=seller)

    assert Payment.objects.filter(reference__isnull=True).count() == 2


@pytest.mark.parametrize("amount", [D("0"), D("0.00"), D("-5.00"), "-0.01"])
def test_amount_not_above_zero_is_rejected(amount, sale, seller):
    with pytest.raises(ValidationError) as info:
        sale_record_payment(sale=sale, amount=amount, user=seller)

    assert info.value.attr == "amount"
    assert not Payment.objects.exists()


@pytest.mark.parametrize("amount", [D("10.005"), "0.001"])
def test_amount_with_three_decimals_is_rejected(amount, sale, seller):
    with pytest.raises(ValidationError) as info:
        sale_record_payment(sale=sale, amount=amount, user=seller)

    assert info.value.attr == "amount"
    assert not Payment.objects.exists()


@pytest.mark.parametrize("amount", [10.5, "ten", D("NaN")])
def test_amount_that_is_not_a_decimal_is_rejected(amount, sale, seller):
    with pytest.raises(ValidationError) as info:
        sale_record_payment(sale=sale, amount=amount, user=seller)

    assert info.value.attr == "amount"


def test_unknown_method_is_rejected(sale, seller):
    with pytest.raises(ValidationError) as info:
        sale_record_payment(sale=sale, amount=D("10.00"), method="bitcoin", user=seller)

    assert info.value.attr == "method"
    assert not Payment.objects.exists()


def test_payment_in_another_currency_than_the_sale_is_rejected(sale, seller):
    with pytest.raises(ValidationError) as info:
        sale_record_payment(sale=sale, amount=D("10.00"), currency="EUR", user=seller)

    assert info.value.attr == "currency"
    assert not Payment.objects.exists()


@pytest.mark.parametrize("status", ["failed", "pending"])
def test_unsuccessful_payments_do_not_count_towards_paid_total(status, sale, seller):
    sale_record_payment(sale=sale, amount=D("100.00"), status=status, user=seller)

    sale = reload(sale)
    assert (sale.paid_total, sale.payment_status) == (D("0.00"), "unpaid")


def test_failed_refund_does_not_lower_paid_total(sale, seller):
    sale_record_payment(sale=sale, amount=D("100.00"), user=seller)

    sale_record_payment(sale=sale, amount=D("100.00"), kind="refund", status="failed", user=seller)

    sale = reload(sale)
    assert (sale.paid_total, sale.payment_status) == (D("100.00"), "paid")


# --- unassigned transactions and assignment ---


def test_unassigned_transaction_belongs_to_no_sale(seller):
    payment = payment_record(amount=D("100.00"), method="bank_transfer", reference="BANK-1", user=seller)

    assert Payment.objects.get(pk=payment.pk).sale_id is None


def test_assigning_a_transaction_moves_it_onto_the_sale(sale, seller):
    payment = payment_record(amount=D("100.00"), method="bank_transfer", reference="BANK-1")

    sale_assign_payment(sale=sale, transaction_reference="BANK-1", user=seller)

    assert Payment.objects.get(pk=payment.pk).sale_id == sale.pk
    sale = reload(sale)
    assert (sale.paid_total, sale.payment_status) == (D("100.00"), "paid")


def test_assigning_a_transaction_writes_payment_assigned(sale, seller):
    payment = payment_record(amount=D("100.00"), method="bank_transfer", reference="BANK-1")

    sale_assign_payment(sale=sale, transaction_reference="BANK-1", user=seller)

    event = last_event(sale)
    assert (event.type, event.data["payment"], event.data["reference"]) == ("payment_assigned", payment.pk, "BANK-1")


def test_assigning_a_transaction_already_on_a_sale_raises_already_assigned(sale, seller):
    other = SaleFactory(seller=seller)
    sale_record_payment(sale=other, amount=D("11.00"), method="bank_transfer", reference="BANK-2")
    events = SaleEvent.objects.count()

    with pytest.raises(AlreadyAssigned) as info:
        sale_assign_payment(sale=sale, transaction_reference="BANK-2", user=seller)

    assert info.value.code == "already_assigned"
    assert Payment.objects.get(reference="BANK-2").sale_id == other.pk
    assert reload(sale).paid_total == D("0.00")
    assert SaleEvent.objects.count() == events


def test_assigning_with_a_different_amount_is_rejected(sale, seller):
    payment_record(amount=D("100.00"), method="bank_transfer", reference="BANK-3")

    with pytest.raises(ValidationError) as info:
        sale_assign_payment(sale=sale, transaction_reference="BANK-3", amount=D("90.00"), user=seller)

    assert info.value.attr == "amount"
    assert Payment.objects.get(reference="BANK-3").sale_id is None


def test_assigning_an_unknown_reference_with_amount_and_method_creates_it(sale, seller):
    payment = sale_assign_payment(
        sale=sale, transaction_reference="BANK-NEW", amount=D("25.00"), method="bank_transfer", user=seller
    )

    stored = Payment.objects.get(reference="BANK-NEW")
    assert stored.pk == payment.pk
    assert (stored.sale_id, stored.amount, stored.method) == (sale.pk, D("25.00"), "bank_transfer")
    assert reload(sale).paid_total == D("25.00")


def test_assigning_an_unknown_reference_without_amount_is_rejected(sale, seller):
    with pytest.raises(ValidationError) as info:
        sale_assign_payment(sale=sale, transaction_reference="BANK-NEW", method="bank_transfer", user=seller)

    assert info.value.attr == "amount"
    assert not Payment.objects.exists()


def test_assigning_an_unknown_reference_without_method_is_rejected(sale, seller):
    with pytest.raises(ValidationError) as info:
        sale_assign_payment(sale=sale, transaction_reference="BANK-NEW", amount=D("25.00"), user=seller)

    assert info.value.attr == "method"
    assert not Payment.objects.exists()


def test_assigning_without_a_reference_is_rejected(sale, seller):
    with pytest.raises(ValidationError) as info:
        sale_assign_payment(sale=sale, transaction_reference="", amount=D("25.00"), method="cash", user=seller)

    assert info.value.attr == "transaction_reference"


def test_assigning_a_failed_transaction_does_not_count(sale, seller):
    payment_record(amount=D("100.00"), method="bank_transfer", reference="BANK-4", status="failed")

    sale_assign_payment(sale=sale, transaction_reference="BANK-4", user=seller)

    sale = reload(sale)
    assert Payment.objects.get(reference="BANK-4").sale_id == sale.pk
    assert (sale.paid_total, sale.payment_status) == (D("0.00"), "unpaid")
