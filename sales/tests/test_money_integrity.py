"""The money and history reproductions of the integrity issue, through the API as a client sends them.

Each test is one class of breakage found by an adversarial client: refunds above what a sale
holds, history destroyed by DELETE, totals too large for their columns, a currency changed after
payment, a balance due after a refunded return, and a deleted sale's ledger rows shown to others.
The classes are swept by `test_money_state_machine.py` and `test_money_permissions.py`; here each
one is pinned to the answer the contract gives (`api.md` "Changes in round 2", `money.md`).
"""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection

from inventory.tests.factories import stocked_variant
from payments import services as payment_services
from payments.models import Payment
from sales import services
from sales.models import Sale, SaleEvent
from sales.services import ItemData, sale_record_payment
from sales.tests.factories import TaxRateFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
SALES = "/api/v1/sales/"
PDF = b"%PDF-1.4\n%%EOF\n"
TOO_LARGE = "999999999999.99"  # fits a money column by itself, not once multiplied or taxed


def error(response, status: int) -> dict:
    assert response.status_code == status, response.json()
    return response.json()["errors"][0]


def may_refund(user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="refund_sale", content_type__app_label="sales"))


def sale_of(seller, *, status: str = "confirmed", quantity: int = 1, price: str = "100.00", **kwargs) -> Sale:
    return services.sale_create(
        seller=seller,
        data=services.NewSale(
            status=status,
            items=[ItemData(variant=stocked_variant(100), quantity=quantity, unit_price=D(price))],
            **kwargs,
        ),
    )


# --- refunds never take paid_total below zero ------------------------------------------------


def test_assigning_a_refund_above_what_the_sale_holds_is_409_and_changes_nothing(api_client, staff, warehouse):
    may_refund(staff)
    sale = sale_of(staff)  # 100.00, unpaid
    client = api_client(staff)
    assert (
        client.post(
            "/api/v1/payments/", {"amount": "500.00", "kind": "refund", "reference": "R-500"}, format="json"
        ).status_code
        == 201
    )

    response = client.post(
        "/api/v1/payments/assign/", {"sale": sale.pk, "transaction_reference": "R-500"}, format="json"
    )

    assert error(response, 409)["code"] == "refund_exceeds_paid"
    sale.refresh_from_db()
    assert (sale.paid_total, sale.payment_status) == (D("0.00"), "unpaid")
    assert Payment.objects.get(reference="R-500").sale_id is None


def test_a_failed_transaction_is_assigned_with_its_status_and_counts_for_nothing(api_client, staff, warehouse):
    sale = sale_of(staff)
    payment_services.payment_record(amount=D("100.00"), reference="F-1", status="failed", user=None)

    response = api_client(staff).post(
        "/api/v1/payments/assign/", {"sale": sale.pk, "transaction_reference": "F-1"}, format="json"
    )

    body = response.json()
    assert response.status_code == 200, body
    assert (body["paid_total"], body["payment_status"], body["balance_due"]) == ("0.00", "unpaid", "100.00")
    assert [p["status"] for p in body["payments"]] == ["failed"]


def test_a_refund_payment_above_paid_total_is_409_refund_exceeds_paid(api_client, seller, warehouse):
    may_refund(seller)
    sale = sale_of(seller)
    sale_record_payment(sale=sale, amount=D("60.00"), user=seller)

    response = api_client(seller).post(
        f"{SALES}{sale.pk}/payments/", {"amount": "60.01", "kind": "refund"}, format="json"
    )

    assert error(response, 409)["code"] == "refund_exceeds_paid"
    assert (
        api_client(seller)
        .post(f"{SALES}{sale.pk}/payments/", {"amount": "60.00", "kind": "refund"}, format="json")
        .status_code
        == 201
    )


def test_a_return_with_refund_on_an_unpaid_sale_is_409_and_returns_nothing(api_client, seller, warehouse):
    may_refund(seller)
    sale = sale_of(seller, quantity=2)
    item = sale.items.get()

    response = api_client(seller).post(
        f"{SALES}{sale.pk}/returns/", {"items": [{"item": item.pk, "quantity": 1}], "refund": True}, format="json"
    )

    assert error(response, 409)["code"] == "refund_exceeds_paid"
    item.refresh_from_db()
    assert item.quantity_returned == 0


# --- what a sale is worth after returns --------------------------------------------------------


def test_a_refunded_return_leaves_nothing_due_and_the_sale_partially_refunded(api_client, seller, warehouse):
    may_refund(seller)
    sale = sale_of(seller, quantity=4, price="80.00", tax=TaxRateFactory(rate=D("5.00")))  # 4 × 84.00 = 336.00
    sale_record_payment(sale=sale, amount=D("336.00"), user=seller)

    response = api_client(seller).post(
        f"{SALES}{sale.pk}/returns/",
        {"items": [{"item": sale.items.get().pk, "quantity": 1}], "restock": True, "refund": True},
        format="json",
    )

    body = response.json()
    assert response.status_code == 201, body
    assert (body["grand_total"], body["returned_total"], body["net_total"]) == ("336.00", "84.00", "252.00")
    assert (body["paid_total"], body["balance_due"], body["payment_status"]) == ("252.00", "0.00", "partially_refunded")


def test_a_return_without_refund_leaves_the_shop_owing_the_customer(api_client, seller, warehouse):
    sale = sale_of(seller, quantity=2)
    sale_record_payment(sale=sale, amount=D("200.00"), user=seller)

    body = (
        api_client(seller)
        .post(f"{SALES}{sale.pk}/returns/", {"items": [{"item": sale.items.get().pk, "quantity": 1}]}, format="json")
        .json()
    )

    assert (body["net_total"], body["paid_total"], body["balance_due"]) == ("100.00", "200.00", "-100.00")
    assert body["payment_status"] == "overpaid"


def test_revenue_in_the_summary_is_net_of_returns(api_client, seller, warehouse):
    sale = sale_of(seller, quantity=2)
    sale_of(seller, status="pending")
    services.sale_return(sale=sale, user=None, lines=[services.ReturnLine(item=sale.items.get(), quantity=1)])

    body = api_client(seller).get(f"{SALES}summary/").json()

    assert body["total_revenue"] == "100.00"
    assert body["by_status"]["confirmed"] == {"count": 1, "total": "100.00"}
    assert body["by_status"]["pending"] == {"count": 1, "total": "100.00"}


# --- history is never destroyed ----------------------------------------------------------------


def test_deleting_a_sale_with_payments_or_an_invoice_is_409_and_keeps_everything(api_client, seller, warehouse):
    may_refund(seller)
    sale = sale_of(seller)
    sale_record_payment(sale=sale, amount=D("100.00"), user=seller)
    sale_record_payment(sale=sale, amount=D("30.00"), kind="refund", user=seller)
    services.sale_attach_invoice(sale=sale, user=seller, content=PDF, filename="a.pdf")
    services.sale_cancel(sale=sale, user=seller)
    events = SaleEvent.objects.filter(sale=sale).count()

    response = api_client(seller).delete(f"{SALES}{sale.pk}/")

    assert error(response, 409)["code"] == "sale_has_history"
    assert Sale.objects.filter(pk=sale.pk).exists()
    assert Payment.objects.filter(sale=sale).count() == 2
    assert sale.invoices.count() == 1 and SaleEvent.objects.filter(sale=sale).count() == events


@pytest.mark.parametrize("status", ["pending", "failed"])
def test_even_a_pending_or_failed_payment_keeps_the_sale(api_client, seller, warehouse, status):
    sale = sale_of(seller, status="pending")
    sale_record_payment(sale=sale, amount=D("10.00"), status=status, user=seller)

    assert error(api_client(seller).delete(f"{SALES}{sale.pk}/"), 409)["code"] == "sale_has_history"


def test_a_sale_without_history_is_still_deleted(api_client, seller, warehouse):
    sale = sale_of(seller, status="pending")

    assert api_client(seller).delete(f"{SALES}{sale.pk}/").status_code == 204
    assert not Sale.objects.filter(pk=sale.pk).exists()


# --- amounts too large to store ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "extra"),
    [
        ({"quantity": 1, "unit_price": TOO_LARGE}, {"tax": "big-vat"}),  # × 1.05
        ({"quantity": 2, "unit_price": TOO_LARGE}, {}),  # × 2
        ({"quantity": 1_000_000, "unit_price": "1000000.00"}, {}),
    ],
)
def test_a_line_whose_total_does_not_fit_is_400_amount_too_large(api_client, seller, warehouse, item, extra):
    TaxRateFactory(code="big-vat", rate=D("5.00"))
    variant = stocked_variant(2_000_000)

    response = api_client(seller).post(
        SALES, {"items": [{"variant": variant.pk, **item}], "status": "draft", **extra}, format="json"
    )

    found = error(response, 400)
    assert (found["code"], found["attr"]) == ("amount_too_large", "items.0.unit_price")
    assert not Sale.objects.exists()


def test_an_order_whose_lines_fit_but_whose_total_does_not_is_400_on_items(api_client, seller, warehouse):
    variant = stocked_variant(10)
    line = {"variant": variant.pk, "quantity": 1, "unit_price": "600000000000.00"}

    response = api_client(seller).post(SALES, {"items": [line, line], "status": "draft"}, format="json")

    assert (error(response, 400)["code"], error(response, 400)["attr"]) == ("amount_too_large", "items")


def test_a_payment_that_would_take_paid_total_past_the_column_is_400(api_client, seller, warehouse):
    sale = sale_of(seller, status="draft", price=TOO_LARGE)
    client = api_client(seller)
    assert client.post(f"{SALES}{sale.pk}/payments/", {"amount": TOO_LARGE}, format="json").status_code == 201

    response = client.post(f"{SALES}{sale.pk}/payments/", {"amount": "1.00"}, format="json")

    assert (error(response, 400)["code"], error(response, 400)["attr"]) == ("amount_too_large", "amount")


def test_the_summary_adds_up_any_number_of_the_largest_sales(api_client, seller, staff, warehouse):
    for _ in range(101):
        sale_of(seller, status="draft", price=TOO_LARGE)

    for user in (seller, staff):
        response = api_client(user).get(f"{SALES}summary/")
        assert response.status_code == 200, response.json()
        total = response.json()["by_status"]["draft"]["total"]
        if connection.vendor == "postgresql":  # SQLite adds decimals up as doubles
            assert total == str(D(TOO_LARGE) * 101)


# --- a sale's currency, once paid --------------------------------------------------------------


def test_the_currency_of_a_sale_with_a_payment_cannot_change(api_client, seller, warehouse):
    paid, unpaid = sale_of(seller, status="pending"), sale_of(seller, status="pending")
    sale_record_payment(sale=paid, amount=D("100.00"), user=seller)
    client = api_client(seller)

    response = client.patch(f"{SALES}{paid.pk}/", {"currency": "JPY"}, format="json")

    assert (error(response, 409)["code"], error(response, 409)["attr"]) == ("sale_locked", "currency")
    assert Sale.objects.get(pk=paid.pk).currency == "USD"
    changed = client.patch(f"{SALES}{unpaid.pk}/", {"currency": "EUR", "exchange_rate": "1.08"}, format="json").json()
    assert (changed["currency"], changed["exchange_rate"]) == ("EUR", "1.08000000")


# --- the ledger of a deleted sale stays its seller's -------------------------------------------


def test_a_deleted_sales_ledger_rows_are_not_shown_to_other_sellers(api_client, warehouse):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    sale = sale_of(alice, status="pending")
    reference = sale.reference
    assert api_client(alice).delete(f"{SALES}{sale.pk}/").status_code == 204

    seen_by = {
        user.username: [row["reason"] for row in api_client(user).get("/api/v1/stock/movements/").json()["results"]]
        for user in (alice, bob)
    }

    assert not any(reference in reason for reason in seen_by["bob"])
    assert any(reference in reason for reason in seen_by["alice"])
    assert sum("deleted" in reason for reason in seen_by["alice"]) == 1


# --- the batch commands audit the new figures --------------------------------------------------


def test_recalculate_totals_repairs_a_drifted_returned_total_and_its_payment_status(seller, warehouse):
    sale = sale_of(seller, quantity=2)
    sale_record_payment(sale=sale, amount=D("100.00"), user=seller)
    services.sale_return(sale=sale, user=None, lines=[services.ReturnLine(item=sale.items.get(), quantity=1)])
    assert Sale.objects.get(pk=sale.pk).payment_status == "paid"  # worth 100.00 now, 100.00 paid
    Sale.objects.filter(pk=sale.pk).update(returned_total=D("0.00"), payment_status="partially_paid")

    out = StringIO()
    call_command("recalculate_totals", "--fix", stdout=out)

    assert "drift 1, fixed 1." in out.getvalue()
    sale.refresh_from_db()
    assert (sale.returned_total, sale.net_total, sale.payment_status) == (D("100.00"), D("100.00"), "paid")


def test_reconcile_payments_derives_the_status_from_the_net_total(seller, warehouse):
    may_refund(seller)
    sale = sale_of(seller, quantity=2)
    sale_record_payment(sale=sale, amount=D("200.00"), user=seller)
    services.sale_return(
        sale=sale, user=seller, lines=[services.ReturnLine(item=sale.items.get(), quantity=1)], refund=True
    )
    Sale.objects.filter(pk=sale.pk).update(payment_status="partially_paid")

    call_command("reconcile_payments", stdout=StringIO())

    assert Sale.objects.get(pk=sale.pk).payment_status == "partially_refunded"
