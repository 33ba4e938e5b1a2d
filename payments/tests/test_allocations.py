"""One transaction over several sales (money.md "Payments"): `allocations` on POST /payments/ and /payments/assign/.

A sale's money counts only its own allocations of successful transactions; `sale` is the sale of a
single allocation, else null; staff may record for another `user`.
"""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps

from inventory.tests.factories import stocked_variant
from payments import services as payment_services
from payments.models import Payment, PaymentAllocation
from sales import services
from sales.models import Sale, SaleEvent
from sales.services import ItemData, sale_record_payment
from sales.tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
PAYMENTS = "/api/v1/payments/"
ASSIGN = "/api/v1/payments/assign/"


def make_sale(seller, price: str = "100.00", currency: str | None = None) -> Sale:
    """A pending sale of one unit at `price` (in `currency`, default the base one)."""
    extra = {}
    if currency:
        extra = {"currency": currency, "exchange_rate": D("1.10")}
    return services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(100, price=D(price)), quantity=1, unit_price=D(price))],
            **extra,
        ),
    )


def reload(sale: Sale) -> Sale:
    return Sale.objects.get(pk=sale.pk)


def error(response, status: int) -> dict:
    body = response.json()
    assert response.status_code == status, body
    return body["errors"][0]


def split(first: Sale, second: Sale, a: str, b: str) -> list[dict]:
    return [{"sale": first.pk, "amount": a}, {"sale": second.pk, "amount": b}]


# --- POST /payments/ with allocations ------------------------------------------------------------------------


def test_a_payment_over_two_sales_counts_each_sales_own_part(api_client, seller, warehouse):
    first, second = make_sale(seller, "100.00"), make_sale(seller, "50.00")

    response = api_client(seller).post(
        PAYMENTS, {"amount": "120.00", "method": "card", "allocations": split(first, second, "100.00", "20.00")},
        format="json")

    body = response.json()
    assert response.status_code == 201, body
    assert body["sale"] is None
    assert body["allocations"] == [{"sale": first.pk, "amount": "100.00"}, {"sale": second.pk, "amount": "20.00"}]
    assert (reload(first).paid_total, reload(first).payment_status) == (D("100.00"), "paid")
    assert (reload(second).paid_total, reload(second).payment_status) == (D("20.00"), "partially_paid")
    assert Payment.objects.get().sale_id is None
    assert SaleEvent.objects.filter(type="payment_recorded", sale__in=[first, second]).count() == 2


def test_a_single_allocation_is_the_payments_sale(api_client, seller, warehouse):
    sale = make_sale(seller)

    response = api_client(seller).post(PAYMENTS, {"amount": "30.00", "allocations": [
        {"sale": sale.pk, "amount": "30.00"}]}, format="json")

    body = response.json()
    assert response.status_code == 201, body
    assert (body["sale"], body["allocations"]) == (sale.pk, [{"sale": sale.pk, "amount": "30.00"}])
    assert reload(sale).paid_total == D("30.00")


def test_a_payment_recorded_the_old_way_is_one_allocation_of_its_whole_amount(api_client, seller, warehouse):
    sale = make_sale(seller)

    body = api_client(seller).post(PAYMENTS, {"sale": sale.pk, "amount": "25.00"}, format="json").json()

    assert (body["sale"], body["allocations"]) == (sale.pk, [{"sale": sale.pk, "amount": "25.00"}])
    assert list(PaymentAllocation.objects.values_list("sale_id", "amount")) == [(sale.pk, D("25.00"))]


def test_sale_and_allocations_together_must_agree(api_client, seller, warehouse):
    first, second, third = make_sale(seller), make_sale(seller), make_sale(seller)
    client = api_client(seller)

    agreed = client.post(PAYMENTS, {"sale": first.pk, "amount": "20.00",
                                    "allocations": split(first, second, "10.00", "10.00")}, format="json")
    refused = client.post(PAYMENTS, {"sale": third.pk, "amount": "20.00",
                                     "allocations": split(first, second, "10.00", "10.00")}, format="json")

    assert agreed.status_code == 201, agreed.json()
    assert error(refused, 400)["attr"] == "sale"
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    ("allocations", "attr", "code"),
    [
        pytest.param(lambda a, b: split(a, b, "60.00", "30.00"), "allocations", "allocations_mismatch", id="sum-low"),
        pytest.param(lambda a, b: split(a, b, "60.00", "60.00"), "allocations", "allocations_mismatch",
                     id="sum-high"),
        pytest.param(lambda a, b: [], "allocations", None, id="empty"),
        pytest.param(lambda a, b: [{"sale": a.pk, "amount": "50.00"}, {"sale": a.pk, "amount": "50.00"}],
                     "allocations.1.sale", "unique", id="same-sale-twice"),
        pytest.param(lambda a, b: [{"sale": a.pk, "amount": "100.00"}, {"sale": 999_999, "amount": "0.00"}],
                     "allocations.1.amount", None, id="zero-amount"),
        pytest.param(lambda a, b: [{"sale": a.pk, "amount": "50.00"}, {"sale": 999_999, "amount": "50.00"}],
                     "allocations.1.sale", "does_not_exist", id="unknown-sale"),
        pytest.param(lambda a, b: [{"sale": a.pk}], "allocations.0.amount", "required", id="no-amount"),
        pytest.param(lambda a, b: [{"amount": "100.00"}], "allocations.0.sale", "required", id="no-sale"),
        pytest.param(lambda a, b: [{"sale": a.pk, "amount": "50.005"}, {"sale": b.pk, "amount": "49.995"}],
                     "allocations.0.amount", "max_decimal_places", id="more-decimals-than-usd"),
        pytest.param(lambda a, b: [{"sale": a.pk, "amount": "100.00", "note": "x"}], "allocations.0.note",
                     "unknown_field", id="unknown-field"),
        pytest.param(lambda a, b: {"sale": a.pk, "amount": "100.00"}, "allocations", None, id="not-a-list"),
    ],
)
def test_bad_allocations_are_400_and_record_nothing(allocations, attr, code, api_client, seller, warehouse):
    first, second = make_sale(seller), make_sale(seller)

    response = api_client(seller).post(PAYMENTS, {"amount": "100.00", "allocations": allocations(first, second)},
                                       format="json")

    entry = error(response, 400)
    assert entry["attr"] == attr
    if code:
        assert entry["code"] == code
    assert not Payment.objects.exists()
    assert (reload(first).paid_total, reload(second).paid_total) == (D("0.00"), D("0.00"))


def test_an_allocation_on_another_sellers_sale_is_400_as_if_unknown(api_client, seller, warehouse):
    mine, theirs = make_sale(seller), make_sale(UserFactory())

    response = api_client(seller).post(PAYMENTS, {"amount": "20.00", "allocations": split(mine, theirs, "10.00",
                                                                                          "10.00")}, format="json")

    assert (error(response, 400)["attr"], error(response, 400)["code"]) == ("allocations.1.sale", "does_not_exist")
    assert not Payment.objects.exists()


def test_an_allocation_on_a_sale_in_another_currency_is_400(api_client, staff, seller, warehouse):
    usd, eur = make_sale(seller), make_sale(seller, currency="EUR")

    response = api_client(staff).post(PAYMENTS, {"amount": "20.00", "allocations": split(usd, eur, "10.00",
                                                                                         "10.00")}, format="json")

    assert error(response, 400)["attr"] == "allocations.1.sale"
    assert not Payment.objects.exists()


def test_the_payments_currency_defaults_to_the_first_sales_and_must_be_every_sales(api_client, staff, seller,
                                                                                   warehouse):
    first, second = make_sale(seller, currency="EUR"), make_sale(seller, currency="EUR")
    client = api_client(staff)

    wrong = client.post(PAYMENTS, {"amount": "2.00", "currency": "USD",
                                   "allocations": split(first, second, "1.00", "1.00")}, format="json")
    right = client.post(PAYMENTS, {"amount": "2.00", "allocations": split(first, second, "1.00", "1.00")},
                        format="json")

    assert error(wrong, 400)["attr"] == "allocations.0.sale"
    assert right.status_code == 201, right.json()
    assert right.json()["currency"] == "EUR"


@pytest.mark.parametrize(
    ("currency", "amount", "ok"),
    [("USD", "10.005", False), ("USD", "10.01", True), ("JPY", "10.5", False), ("JPY", "10", True),
     ("KWD", "1.005", True), ("KWD", "1.0005", False)],
)
def test_an_amount_with_more_decimals_than_its_currency_has_is_400_on_amount(currency, amount, ok, api_client, staff,
                                                                              seller, warehouse):
    sale = make_sale(seller, price="100", currency=None if currency == "USD" else currency)

    response = api_client(staff).post(PAYMENTS, {"sale": sale.pk, "amount": amount}, format="json")

    if ok:
        assert response.status_code == 201, response.json()
    else:
        assert (error(response, 400)["attr"], error(response, 400)["code"]) == ("amount", "max_decimal_places")


def test_an_unassigned_transaction_with_more_decimals_than_its_currency_is_400(api_client, staff, db):
    response = api_client(staff).post(PAYMENTS, {"amount": "5.5", "currency": "JPY"}, format="json")

    assert error(response, 400)["attr"] == "amount"


def test_a_refund_over_sales_never_takes_one_below_zero(api_client, staff, seller, warehouse):
    first, second = make_sale(seller), make_sale(seller)
    sale_record_payment(sale=first, amount=D("100.00"), user=None)
    sale_record_payment(sale=second, amount=D("10.00"), user=None)
    client = api_client(StaffFactory(is_superuser=True))

    too_much = client.post(PAYMENTS, {"amount": "40.00", "kind": "refund",
                                      "allocations": split(first, second, "20.00", "20.00")}, format="json")
    fine = client.post(PAYMENTS, {"amount": "30.00", "kind": "refund",
                                  "allocations": split(first, second, "20.00", "10.00")}, format="json")

    entry = error(too_much, 409)
    assert (entry["code"], entry["attr"]) == ("refund_exceeds_paid", "allocations.1.amount")
    assert fine.status_code == 201, fine.json()
    assert (reload(first).paid_total, reload(first).payment_status) == (D("80.00"), "partially_refunded")
    assert (reload(second).paid_total, reload(second).payment_status) == (D("0.00"), "refunded")


def test_a_refund_over_sales_needs_the_refund_permission(api_client, seller, warehouse):
    first, second = make_sale(seller), make_sale(seller)
    for sale in (first, second):
        sale_record_payment(sale=sale, amount=D("100.00"), user=None)

    response = api_client(seller).post(PAYMENTS, {"amount": "2.00", "kind": "refund",
                                                  "allocations": split(first, second, "1.00", "1.00")}, format="json")

    assert error(response, 403)["code"] == "permission_denied"


def test_a_pending_payment_over_sales_counts_once_it_succeeds(api_client, staff, seller, warehouse):
    first, second = make_sale(seller), make_sale(seller)
    client = api_client(staff)
    payment = client.post(PAYMENTS, {"amount": "150.00", "status": "pending",
                                     "allocations": split(first, second, "100.00", "50.00")}, format="json").json()
    assert (reload(first).paid_total, reload(second).paid_total) == (D("0.00"), D("0.00"))

    response = client.post(f"{PAYMENTS}{payment['id']}/status/", {"status": "successful"}, format="json")

    assert response.status_code == 200, response.json()
    assert (reload(first).paid_total, reload(first).payment_status) == (D("100.00"), "paid")
    assert (reload(second).paid_total, reload(second).payment_status) == (D("50.00"), "partially_paid")


# --- who sees a payment over several sales ---------------------------------------------------------------------


@pytest.fixture
def shared(staff, seller):
    """A payment of 30.00 split between a sale of `seller` and a sale of someone else."""
    mine, theirs = make_sale(seller), make_sale(UserFactory())
    payment = services_record(staff, mine, theirs)
    return {"mine": mine, "theirs": theirs, "payment": payment}


def services_record(staff, first, second) -> Payment:
    from sales.services.payments import sale_record_allocated_payment

    return sale_record_allocated_payment(
        allocations=[payment_services.AllocationData(sale=first, amount=D("10.00")),
                     payment_services.AllocationData(sale=second, amount=D("20.00"))],
        user=staff, amount=D("30.00"), method="card",
    )


def test_a_seller_sees_a_payment_that_is_partly_on_their_sale(api_client, seller, warehouse, shared):
    client = api_client(seller)

    listed = client.get(PAYMENTS).json()["results"]
    detail = client.get(f"{PAYMENTS}{shared['payment'].pk}/")

    assert [row["id"] for row in listed] == [shared["payment"].pk]
    assert detail.status_code == 200
    assert detail.json()["allocations"] == [{"sale": shared["mine"].pk, "amount": "10.00"},
                                            {"sale": shared["theirs"].pk, "amount": "20.00"}]


def test_the_sale_filter_finds_a_payment_by_any_of_its_allocations(api_client, staff, warehouse, shared):
    client = api_client(staff)

    assert [r["id"] for r in client.get(PAYMENTS, {"sale": shared["theirs"].pk}).json()["results"]] == [
        shared["payment"].pk]
    assert [r["id"] for r in client.get(PAYMENTS, {"assigned": "true"}).json()["results"]] == [shared["payment"].pk]
    assert client.get(PAYMENTS, {"assigned": "false"}).json()["results"] == []


def test_each_sale_shows_the_payment_with_its_allocations(api_client, staff, warehouse, shared):
    client = api_client(staff)

    for sale in (shared["mine"], shared["theirs"]):
        detail = client.get(f"/api/v1/sales/{sale.pk}/").json()
        listed = client.get(f"/api/v1/sales/{sale.pk}/payments/").json()
        assert [p["id"] for p in detail["payments"]] == [p["id"] for p in listed] == [shared["payment"].pk]
        assert detail["payments"][0]["sale"] is None
        assert detail["payments"][0]["allocations"] == listed[0]["allocations"]
    assert (reload(shared["mine"]).paid_total, reload(shared["theirs"]).paid_total) == (D("10.00"), D("20.00"))


def test_a_sale_with_only_a_part_of_a_payment_cannot_be_deleted(api_client, staff, warehouse, shared):
    response = api_client(staff).delete(f"/api/v1/sales/{shared['theirs'].pk}/")

    assert error(response, 409)["code"] == "sale_has_history"


def test_the_summary_counts_each_sales_part(api_client, staff, warehouse, shared):
    body = api_client(staff).get("/api/v1/sales/summary/").json()

    assert D(body["total_paid"]) == D("30.00")


# --- POST /payments/assign/ with allocations -------------------------------------------------------------------


def test_staff_spread_an_unassigned_transaction_over_sales(api_client, staff, seller, warehouse):
    first, second = make_sale(seller, "60.00"), make_sale(seller, "40.00")
    transfer = payment_services.payment_record(amount=D("100.00"), method="bank_transfer", reference="IBAN-1")

    response = api_client(staff).post(ASSIGN, {"transaction_reference": "IBAN-1",
                                               "allocations": split(first, second, "60.00", "40.00")},
                                      format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert body["id"] == first.pk  # the first allocation's sale (no `sale` named)
    assert body["payments"][0]["allocations"] == [{"sale": first.pk, "amount": "60.00"},
                                                  {"sale": second.pk, "amount": "40.00"}]
    assert (reload(first).payment_status, reload(second).payment_status) == ("paid", "paid")
    assert Payment.objects.get(pk=transfer.pk).sale_id is None
    assert SaleEvent.objects.filter(type="payment_assigned").count() == 2


def test_assign_answers_the_sale_it_names_among_the_allocations(api_client, staff, seller, warehouse):
    first, second = make_sale(seller), make_sale(seller)
    payment_services.payment_record(amount=D("20.00"), reference="IBAN-2")

    response = api_client(staff).post(ASSIGN, {"sale": second.pk, "transaction_reference": "IBAN-2",
                                               "allocations": split(first, second, "10.00", "10.00")},
                                      format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["id"] == second.pk


@pytest.mark.parametrize(
    ("body", "attr", "status"),
    [
        pytest.param(lambda a, b, c: {"allocations": split(a, b, "10.00", "5.00")}, "allocations", 400, id="sum"),
        pytest.param(lambda a, b, c: {"sale": c.pk, "allocations": split(a, b, "10.00", "10.00")}, "sale", 400,
                     id="named-sale-not-allocated"),
        pytest.param(lambda a, b, c: {"allocations": [{"sale": a.pk, "amount": "10.00"},
                                                      {"sale": 999_999, "amount": "10.00"}]},
                     "allocations.1.sale", 400, id="unknown-sale"),
        pytest.param(lambda a, b, c: {"allocations": split(a, b, "10.001", "9.999")}, "allocations.0.amount", 400,
                     id="decimals"),
    ],
)
def test_bad_assign_allocations_leave_the_transaction_unassigned(body, attr, status, api_client, staff, seller,
                                                                 warehouse):
    first, second, third = make_sale(seller), make_sale(seller), make_sale(seller)
    payment_services.payment_record(amount=D("20.00"), reference="IBAN-3")

    response = api_client(staff).post(ASSIGN, {"transaction_reference": "IBAN-3", **body(first, second, third)},
                                      format="json")

    assert error(response, status)["attr"] == attr
    assert not PaymentAllocation.objects.exists()


def test_assign_with_allocations_in_another_currency_is_400(api_client, staff, seller, warehouse):
    usd, eur = make_sale(seller), make_sale(seller, currency="EUR")
    payment_services.payment_record(amount=D("20.00"), reference="IBAN-4")

    response = api_client(staff).post(ASSIGN, {"transaction_reference": "IBAN-4",
                                               "allocations": split(usd, eur, "10.00", "10.00")}, format="json")

    assert error(response, 400)["attr"] == "allocations.1.sale"
    assert not PaymentAllocation.objects.exists()


def test_assigning_an_unknown_transaction_over_sales_records_it(api_client, staff, seller, warehouse):
    first, second = make_sale(seller), make_sale(seller)

    response = api_client(staff).post(ASSIGN, {"transaction_reference": "VPAY-1", "amount": "30.00",
                                               "method": "wallet_transfer",
                                               "allocations": split(first, second, "10.00", "20.00")},
                                      format="json")

    assert response.status_code == 200, response.json()
    payment = Payment.objects.get(reference="VPAY-1")
    assert sorted(payment.allocations.values_list("sale_id", "amount")) == [(first.pk, D("10.00")),
                                                                             (second.pk, D("20.00"))]


def test_an_assigned_refund_over_sales_never_takes_one_below_zero(api_client, staff, seller, warehouse):
    first, second = make_sale(seller), make_sale(seller)
    sale_record_payment(sale=first, amount=D("50.00"), user=None)
    payment_services.payment_record(amount=D("20.00"), kind="refund", reference="RF-1", user=None)

    response = api_client(StaffFactory(is_superuser=True)).post(
        ASSIGN, {"transaction_reference": "RF-1", "allocations": split(first, second, "10.00", "10.00")},
        format="json")

    assert (error(response, 409)["code"], error(response, 409)["attr"]) == ("refund_exceeds_paid",
                                                                             "allocations.1.amount")
    assert reload(first).paid_total == D("50.00")


def test_a_pending_transaction_is_assigned_with_its_status_and_counts_for_nothing_yet(api_client, staff, seller,
                                                                                       warehouse):
    first, second = make_sale(seller), make_sale(seller)
    payment_services.payment_record(amount=D("20.00"), status="pending", reference="IBAN-5")

    response = api_client(staff).post(ASSIGN, {"transaction_reference": "IBAN-5",
                                               "allocations": split(first, second, "10.00", "10.00")}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["payments"][0]["status"] == "pending"
    assert (reload(first).paid_total, reload(second).paid_total) == (D("0.00"), D("0.00"))


# --- recording for another user ----------------------------------------------------------------------------------


def test_staff_record_a_payment_for_another_user(api_client, staff, seller, warehouse):
    sale = make_sale(seller)

    response = api_client(staff).post(PAYMENTS, {"sale": sale.pk, "amount": "5.00", "user": seller.pk},
                                      format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["user"] == {"id": seller.pk, "username": seller.username}


def test_staff_record_an_unassigned_transaction_for_another_user(api_client, staff, seller, db):
    response = api_client(staff).post(PAYMENTS, {"amount": "5.00", "user": seller.pk}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["user"]["id"] == seller.pk


def test_staff_assign_a_new_transaction_for_another_user(api_client, staff, seller, warehouse):
    sale = make_sale(seller)

    response = api_client(staff).post(ASSIGN, {"sale": sale.pk, "transaction_reference": "NEW-9", "amount": "5.00",
                                               "method": "card", "user": seller.pk}, format="json")

    assert response.status_code == 200, response.json()
    assert Payment.objects.get(reference="NEW-9").user == seller


def test_the_user_defaults_to_the_requester(api_client, seller, warehouse):
    sale = make_sale(seller)

    response = api_client(seller).post(PAYMENTS, {"sale": sale.pk, "amount": "5.00"}, format="json")

    assert response.json()["user"]["id"] == seller.pk


def test_a_seller_may_name_themselves_but_nobody_else(api_client, seller, warehouse):
    sale = make_sale(seller)
    client = api_client(seller)

    themselves = client.post(PAYMENTS, {"sale": sale.pk, "amount": "5.00", "user": seller.pk}, format="json")
    another = client.post(PAYMENTS, {"sale": sale.pk, "amount": "5.00", "user": UserFactory().pk}, format="json")

    assert themselves.status_code == 201, themselves.json()
    assert (error(another, 400)["attr"], error(another, 400)["code"]) == ("user", "permission")
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("user", [999_999, "abc", 1.5, None])
def test_an_unknown_or_malformed_user_is_400(user, api_client, staff, seller, warehouse):
    sale = make_sale(seller)

    response = api_client(staff).post(PAYMENTS, {"sale": sale.pk, "amount": "5.00", "user": user}, format="json")

    assert error(response, 400)["attr"] == "user"
    assert not Payment.objects.exists()


# --- the data migration ---------------------------------------------------------------------------------------------


def test_the_migration_gives_each_payment_on_a_sale_one_allocation_of_its_whole_amount(seller, warehouse):
    sale = make_sale(seller)
    on_sale = Payment.objects.create(sale=sale, amount=D("12.50"), currency="USD")  # as before allocations
    unassigned = Payment.objects.create(amount=D("3.00"), currency="USD")
    migration = importlib.import_module("payments.migrations.0004_payment_allocations")

    migration.allocate_existing_payments(django_apps, None)

    assert list(PaymentAllocation.objects.values_list("payment_id", "sale_id", "amount")) == [
        (on_sale.pk, sale.pk, D("12.50"))]
    assert not unassigned.allocations.exists()
