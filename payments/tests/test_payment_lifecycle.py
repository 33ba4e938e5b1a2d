"""`POST /payments/{id}/status/`: a pending transaction becomes successful or failed, its sales following at once."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.tests.factories import stocked_variant
from payments import services as payment_services
from payments.models import Payment
from sales import services
from sales.models import Sale, SaleEvent
from sales.services import ItemData, sale_record_payment
from sales.services.payments import sale_payment_set_status, sale_record_allocated_payment
from sales.tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
PAYMENTS = "/api/v1/payments/"


def make_sale(seller, price: str = "100.00") -> Sale:
    return services.sale_create(
        seller=seller,
        data=services.NewSale(items=[ItemData(variant=stocked_variant(100, price=D(price)), quantity=1)]),
    )


def pending(sale, amount: str = "100.00", **fields) -> Payment:
    return sale_record_payment(sale=sale, amount=D(amount), status="pending", user=None, **fields)


def move(client, payment, status: str, **extra):
    return client.post(f"{PAYMENTS}{payment.pk}/status/", {"status": status, **extra}, format="json")


def reload(sale: Sale) -> Sale:
    return Sale.objects.get(pk=sale.pk)


def error(response, status: int) -> dict:
    body = response.json()
    assert response.status_code == status, body
    return body["errors"][0]


def refunder(user):
    user.user_permissions.add(Permission.objects.get(codename="refund_sale"))
    return type(user).objects.get(pk=user.pk)  # permissions are cached per instance


def test_a_pending_payment_that_succeeds_pays_its_sale(api_client, seller, warehouse):
    sale = make_sale(seller)
    payment = pending(sale)

    response = move(api_client(seller), payment, "successful")

    body = response.json()
    assert response.status_code == 200, body
    assert (body["id"], body["status"], body["sale"]) == (payment.pk, "successful", sale.pk)
    assert (reload(sale).paid_total, reload(sale).payment_status) == (D("100.00"), "paid")
    assert api_client(seller).get(f"/api/v1/sales/{sale.pk}/").json()["balance_due"] == "0.00"


def test_a_pending_payment_that_fails_counts_for_nothing(api_client, seller, warehouse):
    sale = make_sale(seller)
    payment = pending(sale)

    response = move(api_client(seller), payment, "failed", note="card declined")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["note"]) == ("failed", "card declined")
    assert (reload(sale).paid_total, reload(sale).payment_status) == (D("0.00"), "unpaid")


def test_the_note_is_added_to_the_payments_note(api_client, staff, seller, warehouse):
    payment = pending(make_sale(seller), note="waiting for the bank")

    body = move(api_client(staff), payment, "successful", note="cleared").json()

    assert body["note"] == "waiting for the bank\ncleared"


def test_the_move_is_logged_on_the_sale(api_client, seller, warehouse):
    sale = make_sale(seller)
    payment = pending(sale)

    move(api_client(seller), payment, "successful")

    event = SaleEvent.objects.filter(sale=sale).order_by("-pk").first()
    assert (event.type, event.user, event.data["payment"], event.data["status"], event.data["status_from"]) == (
        "payment_recorded", seller, payment.pk, "successful", "pending")


@pytest.mark.parametrize(("start", "target"), [("successful", "failed"), ("failed", "successful"),
                                               ("successful", "successful"), ("failed", "failed")])
def test_only_a_pending_transaction_moves(start, target, api_client, staff, seller, warehouse):
    sale = make_sale(seller)
    payment = sale_record_payment(sale=sale, amount=D("10.00"), status=start, user=None)
    before = reload(sale).paid_total

    response = move(api_client(staff), payment, target)

    assert error(response, 409)["code"] == "invalid_transition"
    assert Payment.objects.get(pk=payment.pk).status == start
    assert reload(sale).paid_total == before


@pytest.mark.parametrize("body", [{"status": "pending"}, {"status": "refunded"}, {}, {"status": "successful",
                                                                                    "amount": "1.00"}])
def test_a_bad_body_is_400(body, api_client, staff, seller, warehouse):
    payment = pending(make_sale(seller))

    response = api_client(staff).post(f"{PAYMENTS}{payment.pk}/status/", body, format="json")

    assert error(response, 400)["attr"] in {"status", "amount"}
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_another_seller_gets_404(api_client, seller, warehouse):
    payment = pending(make_sale(UserFactory()))

    assert error(move(api_client(seller), payment, "successful"), 404)["code"] == "not_found"
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_an_unassigned_transaction_is_moved_by_staff_only(api_client, staff, seller, db):
    payment = payment_services.payment_record(amount=D("5.00"), status="pending", reference="BANK-1")

    assert error(move(api_client(seller), payment, "successful"), 404)["code"] == "not_found"
    assert move(api_client(staff), payment, "successful").json()["status"] == "successful"


def test_a_seller_of_only_some_of_its_sales_gets_403(api_client, staff, seller, warehouse):
    mine, theirs = make_sale(seller), make_sale(UserFactory())
    payment = sale_record_allocated_payment(
        allocations=[payment_services.AllocationData(sale=mine, amount=D("5.00")),
                     payment_services.AllocationData(sale=theirs, amount=D("5.00"))],
        user=staff, amount=D("10.00"), status="pending",
    )

    response = move(api_client(seller), payment, "successful")

    assert error(response, 403)["code"] == "permission_denied"
    assert move(api_client(staff), payment, "successful").status_code == 200
    assert (reload(mine).paid_total, reload(theirs).paid_total) == (D("5.00"), D("5.00"))


def test_a_pending_refund_that_succeeds_takes_money_back(api_client, seller, warehouse):
    sale = make_sale(seller)
    sale_record_payment(sale=sale, amount=D("100.00"), user=None)
    refund = pending(sale, "30.00", kind="refund")
    assert reload(sale).paid_total == D("100.00")

    response = move(api_client(refunder(seller)), refund, "successful")

    assert response.status_code == 200, response.json()
    assert (reload(sale).paid_total, reload(sale).payment_status) == (D("70.00"), "partially_refunded")


def test_a_refund_that_succeeds_above_what_the_sale_holds_is_409(api_client, staff, seller, warehouse):
    sale = make_sale(seller)
    sale_record_payment(sale=sale, amount=D("50.00"), user=None)
    refund = pending(sale, "40.00", kind="refund")
    sale_record_payment(sale=sale, amount=D("20.00"), kind="refund", user=None)  # holds 30.00 now

    response = move(api_client(refunder(staff)), refund, "successful")

    assert error(response, 409)["code"] == "refund_exceeds_paid"
    assert Payment.objects.get(pk=refund.pk).status == "pending"
    assert reload(sale).paid_total == D("30.00")


def test_a_refund_that_fails_needs_no_refund_permission_but_one_that_succeeds_does(api_client, seller, warehouse):
    sale = make_sale(seller)
    sale_record_payment(sale=sale, amount=D("100.00"), user=None)
    first, second = pending(sale, "10.00", kind="refund"), pending(sale, "10.00", kind="refund")
    client = api_client(seller)

    assert error(move(client, first, "successful"), 403)["code"] == "permission_denied"
    assert move(client, second, "failed").status_code == 200
    assert reload(sale).paid_total == D("100.00")


def test_a_sale_locked_for_review_refuses_the_move(api_client, staff, seller, warehouse):
    sale = make_sale(seller)
    payment = pending(sale)
    services.sale_lock_for_review(sale=sale, user=staff, reason="audit")

    response = move(api_client(staff), payment, "successful")

    assert error(response, 409)["code"] == "sale_locked"
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_the_summary_follows_the_move(api_client, staff, seller, warehouse):
    sale = make_sale(seller)
    services.sale_confirm(sale=sale, user=seller)
    payment = pending(sale, "60.00")
    client = api_client(staff)
    assert D(client.get("/api/v1/sales/summary/").json()["total_paid"]) == D("0")

    move(client, payment, "successful")

    assert D(client.get("/api/v1/sales/summary/").json()["total_paid"]) == D("60.00")


def test_the_service_moves_a_payment_given_by_id(staff, seller, warehouse):
    sale = make_sale(seller)
    payment = pending(sale)

    moved = sale_payment_set_status(payment=payment.pk, status="successful", user=staff)

    assert moved.status == "successful"
    assert reload(sale).paid_total == D("100.00")


@pytest.mark.postgres
def test_the_sales_are_locked_by_id_before_the_payment(staff, warehouse):
    seller = UserFactory()
    first, second = make_sale(seller), make_sale(seller)
    payment = sale_record_allocated_payment(
        allocations=[payment_services.AllocationData(sale=second, amount=D("5.00")),
                     payment_services.AllocationData(sale=first, amount=D("5.00"))],
        user=staff, amount=D("10.00"), status="pending",
    )

    with CaptureQueriesContext(connection) as queries:
        sale_payment_set_status(payment=payment, status="successful", user=staff)

    locks = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    tables = ["sales_sale" if 'FROM "sales_sale"' in sql else "payments_payment" for sql in locks]
    assert tables[:3] == ["sales_sale", "sales_sale", "payments_payment"]
    ids = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"] and 'FROM "sales_sale"' in q["sql"]]
    assert f'= {first.pk}' in ids[0] and f'= {second.pk}' in ids[1]


def test_a_staff_users_move_on_behalf_of_nobody_keeps_the_payments_user(api_client, staff, seller, warehouse):
    sale = make_sale(seller)
    payment = sale_record_payment(sale=sale, amount=D("1.00"), status="pending", user=seller)

    body = move(api_client(StaffFactory()), payment, "successful").json()

    assert body["user"]["id"] == seller.pk


# --- the admin's status buttons and allocations -------------------------------------------------------------------

ADMIN = "/admin/payments/payment"


def test_the_admin_shows_status_buttons_for_a_pending_payment_only(boss_client, seller, warehouse):
    sale = make_sale(seller)
    waiting, done = pending(sale), sale_record_payment(sale=sale, amount=D("1.00"), user=None)

    page = boss_client.get(f"{ADMIN}/{waiting.pk}/change/").content.decode()
    other = boss_client.get(f"{ADMIN}/{done.pk}/change/").content.decode()

    assert "Mark successful" in page and "Mark failed" in page
    assert f"{ADMIN}/{waiting.pk}/status/" in page
    assert "Mark successful" not in other
    assert "allocations (the sales this transaction pays for)" in page.lower()


def test_the_admin_button_moves_the_payment_through_the_service(boss_client, seller, warehouse):
    sale = make_sale(seller)
    payment = pending(sale)

    response = boss_client.post(f"{ADMIN}/{payment.pk}/status/", {"status": "successful", "status_note": "ok"})

    assert response.status_code == 302
    assert Payment.objects.get(pk=payment.pk).status == "successful"
    assert (reload(sale).paid_total, reload(sale).payment_status) == (D("100.00"), "paid")
    assert SaleEvent.objects.filter(sale=sale, data__status_from="pending").exists()


def test_the_admin_button_on_a_moved_payment_says_why_not(boss_client, seller, warehouse):
    payment = sale_record_payment(sale=make_sale(seller), amount=D("1.00"), user=None)

    response = boss_client.post(f"{ADMIN}/{payment.pk}/status/", {"status": "failed"}, follow=True)

    assert any("invalid_transition" in str(m) for m in response.context["messages"])
    assert Payment.objects.get(pk=payment.pk).status == "successful"


def test_the_admin_status_page_needs_the_change_permission(client, warehouse):
    viewer = StaffFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_payment"))
    client.force_login(viewer)
    payment = pending(make_sale(UserFactory()))

    page = client.get(f"{ADMIN}/{payment.pk}/change/")
    response = client.post(f"{ADMIN}/{payment.pk}/status/", {"status": "successful"})

    assert page.status_code == 200 and "Mark successful" not in page.content.decode()
    assert response.status_code == 403
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_the_admin_shows_a_payments_allocations_read_only(boss_client, staff, seller, warehouse):
    first, second = make_sale(seller), make_sale(seller)
    payment = sale_record_allocated_payment(
        allocations=[payment_services.AllocationData(sale=first, amount=D("4.00")),
                     payment_services.AllocationData(sale=second, amount=D("6.00"))],
        user=staff, amount=D("10.00"),
    )

    page = boss_client.get(f"{ADMIN}/{payment.pk}/change/").content.decode()

    assert first.reference in page and second.reference in page
    assert 'name="allocations-0-amount"' not in page  # read only
