"""A stateful property test of a sale's money: any mix of operations keeps its figures true.

Hypothesis drives sales through payments and refunds of every status (recorded on the sale,
recorded unassigned and assigned later), returns with and without refund, the refund
transition, cancels and deletes — through the services and through the API — by a seller
who may refund and by one who may not. After every step, for every sale still there:

- `paid_total >= 0` and equals its successful payments minus its successful refunds;
- `returned_total` is what its returned units were charged (the whole grand total once refunded),
  `net_total = grand_total - returned_total`, `balance_due = net_total - paid_total`;
- `payment_status` is what `money.md` defines, computed here independently of the services;
- a sale with any payment or invoice is never deleted, and no payment is left pointing nowhere;
- the stock ledger adds up to the levels, and reservations to the pending sales.

Refusals are part of the model: a refund above what the sale holds must be refused (and one
within it accepted), a refund by the seller without `sales.refund_sale` must be refused, and a
refused operation must leave every figure as it was. No request may answer 500.
"""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, precondition, rule
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inventory.services.audit import inventory_drift
from inventory.tests.factories import default_warehouse, stocked_variant
from payments import services as payment_services
from payments.errors import AlreadyAssigned, RefundExceedsPaid
from payments.models import Payment
from sales import services
from sales.errors import InvalidTransition, SaleHasHistory, SaleLocked
from sales.models import Invoice, Sale
from sales.services import ItemData, ReturnLine, charged_for_units, sale_assign_payment, sale_record_payment
from sales.tests.factories import UserFactory
from salesproject.errors import DomainError, PermissionDenied, ValidationError

D = Decimal
ZERO = D("0.00")
PDF = b"%PDF-1.4\n%%EOF\n"

amounts = st.decimals(min_value=D("0.01"), max_value=D("150.00"), places=2)
statuses = st.sampled_from(["successful", "successful", "pending", "failed"])


def expected_payment_status(*, net: Decimal, paid: Decimal, refunded: Decimal) -> str:
    """`money.md`, "What a sale is worth", written out independently of the services."""
    held = paid - refunded
    if refunded > 0:
        return "refunded" if held == 0 else "partially_refunded"
    if held == net:
        return "paid"
    if held == 0:
        return "unpaid"
    return "partially_paid" if held < net else "overpaid"


def money_of(sale: Sale) -> tuple:
    sale = Sale.objects.get(pk=sale.pk)
    payments = list(Payment.objects.filter(sale=sale).order_by("pk").values_list("kind", "status", "amount"))
    return sale.status, sale.paid_total, sale.returned_total, sale.payment_status, payments


class SaleMoney(RuleBasedStateMachine):
    sales = Bundle("sales")
    transactions = Bundle("transactions")

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()  # every example starts from the same empty shop and is rolled back after
        default_warehouse()
        self.variant = stocked_variant(10_000)
        self.refunder = UserFactory()
        self.refunder.user_permissions.add(Permission.objects.get(codename="refund_sale"))
        self.clerk = UserFactory()  # a seller who may not give money back
        self.api = APIClient()
        self.api.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.create(user=self.refunder).key}")
        self.clerk_api = APIClient()
        self.clerk_api.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.create(user=self.clerk).key}")
        self.deleted: set[int] = set()
        self.references = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def fresh(self, sale: Sale) -> Sale | None:
        return Sale.objects.filter(pk=sale.pk).first()

    # --- sales ---------------------------------------------------------------------------

    @rule(
        target=sales,
        status=st.sampled_from(["draft", "pending", "confirmed", "completed"]),
        lines=st.lists(st.tuples(st.integers(1, 3), amounts), min_size=1, max_size=3),
        shipping=st.sampled_from([ZERO, D("4.99")]),
    )
    def create(self, status, lines, shipping):
        items = [ItemData(variant=self.variant, quantity=q, unit_price=price) for q, price in lines]
        seller = self.refunder if len(lines) % 2 else self.clerk
        return services.sale_create(
            seller=seller,
            data=services.NewSale(
                items=items,
                status=status,
                shipping_cost=shipping,
            ),
        )

    @rule(target=sales, quantity=st.integers(1, 3), price=amounts, status=st.sampled_from(["confirmed", "completed"]))
    def create_paid(self, quantity, price, status):
        """A sale paid in full on the spot (the usual POS sale): where returns and refunds have money to give."""
        sale = services.sale_create(
            seller=self.refunder,
            data=services.NewSale(
                items=[ItemData(variant=self.variant, quantity=quantity, unit_price=price)],
                status=status,
                payments=[services.NewPayment(amount=quantity * price)],
            ),
        )
        assert Sale.objects.get(pk=sale.pk).payment_status == "paid"
        return sale

    # --- money in --------------------------------------------------------------------------

    @rule(sale=sales, amount=amounts, status=statuses, by_api=st.booleans())
    def pay(self, sale, amount, status, by_api):
        if self.fresh(sale) is None:
            return
        if by_api:
            response = self.api.post(
                f"/api/v1/sales/{sale.pk}/payments/", {"amount": str(amount), "status": status}, format="json"
            )
            assert response.status_code in (201, 404), response.json()  # 404: not the refunder's sale
            return
        sale_record_payment(sale=sale, amount=amount, status=status, user=None)

    @rule(target=transactions, amount=amounts, kind=st.sampled_from(["payment", "refund"]), status=statuses)
    def record_unassigned(self, amount, kind, status):
        self.references += 1
        reference = f"TX-{self.references}"
        payment_services.payment_record(amount=amount, kind=kind, status=status, reference=reference, user=None)
        return reference

    @rule(sale=sales, reference=consumes(transactions))
    def assign(self, sale, reference):
        current = self.fresh(sale)
        if current is None:
            return
        transaction_ = Payment.objects.get(reference=reference)
        before = money_of(current)
        too_much = (
            transaction_.kind == "refund"
            and transaction_.status == "successful"
            and transaction_.amount > current.paid_total
        )
        try:
            sale_assign_payment(sale=current, transaction_reference=reference, user=None)
        except RefundExceedsPaid:
            assert too_much
            assert money_of(current) == before
            return
        assert not too_much
        assert Payment.objects.get(reference=reference).sale_id == current.pk

    # --- money out -------------------------------------------------------------------------

    @rule(sale=sales, amount=amounts, status=statuses, by_api=st.booleans())
    def refund_payment(self, sale, amount, status, by_api):
        current = self.fresh(sale)
        if current is None:
            return
        before = money_of(current)
        too_much = status == "successful" and amount > current.paid_total
        if by_api and current.seller_id == self.refunder.pk:
            response = self.api.post(
                f"/api/v1/sales/{sale.pk}/payments/",
                {"amount": str(amount), "kind": "refund", "status": status},
                format="json",
            )
            assert response.status_code == (409 if too_much else 201), response.json()
            if too_much:
                assert response.json()["errors"][0]["code"] == "refund_exceeds_paid"
                assert money_of(current) == before
            return
        try:
            sale_record_payment(sale=current, amount=amount, kind="refund", status=status, user=None)
        except RefundExceedsPaid:
            assert too_much and money_of(current) == before
            return
        assert not too_much

    @rule(sale=sales, share=st.sampled_from([D("0.25"), D("0.5"), D("1"), D("1.01")]))
    def refund_share(self, sale, share):
        """A refund of a share of what the sale holds: within it is accepted, above it refused."""
        current = self.fresh(sale)
        if current is None or current.paid_total <= 0:
            return
        amount = max(D("0.01"), (current.paid_total * share).quantize(D("0.01")))
        before = money_of(current)
        try:
            sale_record_payment(sale=current, amount=amount, kind="refund", user=self.refunder)
        except RefundExceedsPaid:
            assert amount > current.paid_total and money_of(current) == before
            return
        assert amount <= current.paid_total

    @rule(sale=sales, amount=amounts)
    def refund_without_permission(self, sale, amount):
        current = self.fresh(sale)
        if current is None:
            return
        before = money_of(current)
        with pytest.raises(PermissionDenied):
            sale_record_payment(sale=current, amount=amount, kind="refund", user=self.clerk)
        if current.seller_id == self.clerk.pk:  # through the API: 403 whatever the amount
            response = self.clerk_api.post(
                f"/api/v1/sales/{sale.pk}/payments/", {"amount": str(amount), "kind": "refund"}, format="json"
            )
            assert response.status_code == 403, response.json()
        assert money_of(current) == before

    @rule(sale=sales, quantity=st.integers(1, 3), refund=st.booleans(), restock=st.booleans(), by_api=st.booleans())
    def give_back(self, sale, quantity, refund, restock, by_api):
        current = self.fresh(sale)
        if current is None:
            return
        item = current.items.order_by("pk").first()
        before = money_of(current)
        charged = charged_for_units(item=item, already_returned=item.quantity_returned, quantity=quantity)
        returnable = current.status in ("confirmed", "in_delivery", "completed")
        fits = quantity <= item.quantity - item.quantity_returned
        too_much = refund and charged > current.paid_total
        if by_api and current.seller_id == self.refunder.pk:
            response = self.api.post(
                f"/api/v1/sales/{sale.pk}/returns/",
                {"items": [{"item": item.pk, "quantity": quantity}], "refund": refund, "restock": restock},
                format="json",
            )
            expected = 409 if not returnable else 400 if not fits else 409 if too_much else 201
            assert response.status_code == expected, response.json()
            if expected != 201:
                assert money_of(current) == before
            return
        try:
            services.sale_return(
                sale=current,
                user=None,
                lines=[ReturnLine(item=item, quantity=quantity)],
                refund=refund,
                restock=restock,
            )
        except (InvalidTransition, ValidationError, RefundExceedsPaid) as error:
            assert isinstance(error, InvalidTransition) == (not returnable)
            assert isinstance(error, RefundExceedsPaid) == (returnable and fits and too_much)
            assert money_of(current) == before
            return
        assert returnable and fits and not too_much

    @rule(sale=sales, restock=st.booleans())
    def refund_sale(self, sale, restock):
        current = self.fresh(sale)
        if current is None:
            return
        try:
            services.sale_refund(sale=current, user=self.refunder, restock=restock)
        except InvalidTransition:
            assert current.status not in ("confirmed", "in_delivery", "completed")
            return
        after = Sale.objects.get(pk=sale.pk)
        assert (after.status, after.paid_total, after.balance_due) == ("refunded", ZERO, ZERO)

    @rule(sale=sales)
    def cancel(self, sale):
        current = self.fresh(sale)
        if current is not None:
            try:
                services.sale_cancel(sale=current, user=None)
            except DomainError:
                assert current.status not in ("draft", "pending", "confirmed")

    @rule(sale=sales)
    def attach_invoice(self, sale):
        current = self.fresh(sale)
        if current is not None:
            services.sale_attach_invoice(sale=current, user=None, content=PDF, filename="i.pdf")

    @rule(sale=sales)
    def delete(self, sale):
        current = self.fresh(sale)
        if current is None:
            return
        history = Payment.objects.filter(sale=current).exists() or Invoice.objects.filter(sale=current).exists()
        before = money_of(current)
        try:
            services.sale_delete(sale=current, user=None)
        except SaleLocked:
            assert current.status not in ("draft", "pending", "cancelled", "rejected")
        except SaleHasHistory:
            assert history
        else:
            assert not history
            self.deleted.add(current.pk)
            return
        assert money_of(current) == before

    @precondition(lambda self: self.references)
    @rule(sale=sales)
    def assign_twice(self, sale):
        """A transaction already on a sale is never moved to another."""
        current = self.fresh(sale)
        taken = Payment.objects.filter(sale__isnull=False, reference__isnull=False).exclude(sale=sale).first()
        if current is None or taken is None:
            return
        with pytest.raises(AlreadyAssigned):
            sale_assign_payment(sale=current, transaction_reference=taken.reference, user=None)

    # --- what must always hold -------------------------------------------------------------

    @invariant()
    def every_sale_says_what_its_money_is(self):
        for sale in Sale.objects.prefetch_related("items", "payments"):
            ok = [p for p in sale.payments.all() if p.status == "successful"]
            paid = sum((p.amount for p in ok if p.kind == "payment"), ZERO)
            refunded = sum((p.amount for p in ok if p.kind == "refund"), ZERO)
            assert sale.paid_total == paid - refunded >= 0, sale
            items = list(sale.items.all())
            returned = (
                sale.grand_total
                if sale.status == "refunded"
                else sum(
                    (charged_for_units(item=i, already_returned=0, quantity=i.quantity_returned) for i in items), ZERO
                )
            )
            assert sale.returned_total == returned, sale
            assert sale.net_total == sale.grand_total - sale.returned_total
            assert sale.balance_due == sale.net_total - sale.paid_total
            assert sale.payment_status == expected_payment_status(net=sale.net_total, paid=paid, refunded=refunded), (
                sale,
                paid,
                refunded,
            )

    @invariant()
    def nothing_deleted_has_left_money_behind(self):
        assert not Payment.objects.filter(sale_id__in=self.deleted).exists()
        assert not Sale.objects.filter(pk__in=self.deleted).exists()

    @invariant()
    def the_ledger_adds_up(self):
        assert inventory_drift() == []


@pytest.mark.django_db
def test_any_mix_of_money_operations_keeps_every_sale_true(settings_=None):
    SaleMoney.TestCase.settings = settings(
        max_examples=30,
        stateful_step_count=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    SaleMoney.TestCase().runTest()
