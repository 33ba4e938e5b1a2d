"""The payments API: record transactions (on a sale or unassigned), list them in scope, assign them to sales."""

from datetime import datetime
from decimal import Decimal

import pytest

from inventory.tests.factories import stocked_variant
from payments import services as payment_services
from payments.models import Payment
from sales import services
from sales.models import Sale, SaleEvent
from sales.services import ItemData, sale_record_payment
from sales.tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
PAYMENTS = "/api/v1/payments/"
ASSIGN = "/api/v1/payments/assign/"
PAYMENT_FIELDS = {"id", "sale", "amount", "currency", "method", "kind", "status", "reference", "received_at", "user",
                  "note", "created_at", "allocations", "metadata"}  # round 2: money.md, records.md


def make_sale(seller, price: str = "100.00", quantity: int = 1, **kwargs) -> Sale:
    variant = stocked_variant(100, price=D(price))
    return services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=variant, quantity=quantity)],
            **kwargs,
        ),
    )


def record(sale=None, amount: str = "10.00", **kwargs) -> Payment:
    if sale is None:
        return payment_services.payment_record(amount=D(amount), **kwargs)
    return sale_record_payment(sale=sale, amount=D(amount), **kwargs)


def error(response, status: int) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"type", "errors", "request_id"}, body
    assert {"code", "detail", "attr"} <= set(body["errors"][0]), body
    return body["errors"][0]


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return sorted(row["id"] for row in response.json()["results"])


# --- record on a sale -------------------------------------------------------------------------------------------


def test_sale_payment_is_recorded_successful_and_answers_201(api_client, seller, warehouse):
    sale = make_sale(seller)

    response = api_client(seller).post(f"/api/v1/sales/{sale.pk}/payments/",
                                       {"amount": 25, "method": "card", "reference": "CARD-1"}, format="json")

    body = response.json()
    assert response.status_code == 201, body
    assert set(body) == PAYMENT_FIELDS
    assert (body["sale"], body["amount"], body["currency"], body["method"], body["kind"], body["status"]) == (
        sale.pk, "25.00", "USD", "card", "payment", "successful")
    assert body["user"] == {"id": seller.pk, "username": seller.username}
    assert datetime.fromisoformat(body["received_at"]).tzinfo is not None
    assert SaleEvent.objects.filter(sale=sale, type="payment_recorded").count() == 1


def test_sale_payments_refresh_the_payment_status_step_by_step(api_client, seller, warehouse):
    sale = make_sale(seller, price="100.00")
    client = api_client(seller)
    path = f"/api/v1/sales/{sale.pk}/"
    seen = [client.get(path).json()["payment_status"]]

    for amount in ("40.00", "60.00", "0.01"):
        assert client.post(f"{path}payments/", {"amount": amount}, format="json").status_code == 201
        seen.append(client.get(path).json()["payment_status"])

    assert seen == ["unpaid", "partially_paid", "paid", "overpaid"]
    assert client.get(path).json()["paid_total"] == "100.01"
    assert client.get(path).json()["balance_due"] == "-0.01"


def test_pending_or_failed_payments_do_not_count(api_client, seller, warehouse):
    sale = make_sale(seller, price="100.00")
    client = api_client(seller)

    client.post(f"/api/v1/sales/{sale.pk}/payments/", {"amount": "100.00", "status": "pending"}, format="json")
    client.post(f"/api/v1/sales/{sale.pk}/payments/", {"amount": "100.00", "status": "failed"}, format="json")

    detail = client.get(f"/api/v1/sales/{sale.pk}/").json()
    assert (detail["payment_status"], detail["paid_total"]) == ("unpaid", "0.00")


def test_sale_payments_list_is_a_bare_array_in_order(api_client, seller, warehouse):
    sale = make_sale(seller)
    first, second = record(sale, "10.00", user=seller), record(sale, "5.00", method="card", user=seller)
    record(make_sale(seller), "7.00")  # another sale's

    response = api_client(seller).get(f"/api/v1/sales/{sale.pk}/payments/")

    assert response.status_code == 200
    assert isinstance(response.json(), list)
    assert [(p["id"], p["amount"]) for p in response.json()] == [(first.pk, "10.00"), (second.pk, "5.00")]


def test_sale_payment_with_a_taken_reference_is_409_duplicate_reference(api_client, seller, warehouse):
    record(None, reference="BANK-1")
    sale = make_sale(seller)

    response = api_client(seller).post(f"/api/v1/sales/{sale.pk}/payments/",
                                       {"amount": "1.00", "reference": "BANK-1"}, format="json")

    entry = error(response, 409)
    assert (entry["code"], entry["attr"]) == ("duplicate_reference", "reference")
    assert not sale.payments.exists()


# --- GET/POST /payments/ ----------------------------------------------------------------------------------------


def test_post_payments_records_on_a_sale_of_the_seller(api_client, seller, warehouse):
    sale = make_sale(seller)

    response = api_client(seller).post(PAYMENTS, {"sale": sale.pk, "amount": "100.00", "method": "cash"},
                                       format="json")

    assert response.status_code == 201, response.json()
    assert Sale.objects.get(pk=sale.pk).payment_status == "paid"


def test_staff_records_an_unassigned_bank_transfer(api_client, staff, warehouse):
    response = api_client(staff).post(
        PAYMENTS, {"amount": "250.00", "method": "bank_transfer", "reference": "IBAN-7788",
                   "received_at": "2024-07-18T04:37:29Z"}, format="json")

    body = response.json()
    assert response.status_code == 201, body
    assert (body["sale"], body["method"], body["reference"], body["status"]) == (
        None, "bank_transfer", "IBAN-7788", "successful")
    assert Payment.objects.get().sale is None


def test_a_seller_may_not_record_an_unassigned_transaction(api_client, seller, warehouse):
    response = api_client(seller).post(PAYMENTS, {"amount": "250.00", "method": "bank_transfer"}, format="json")

    assert error(response, 403)["code"] == "permission_denied"
    assert not Payment.objects.exists()


def test_a_seller_may_not_record_on_another_sellers_sale(api_client, seller, warehouse):
    sale = make_sale(UserFactory())

    response = api_client(seller).post(PAYMENTS, {"sale": sale.pk, "amount": "1.00"}, format="json")

    assert error(response, 400)["attr"] == "sale"
    assert not Payment.objects.exists()


def test_post_payments_with_a_taken_reference_is_409_duplicate_reference(api_client, staff, warehouse):
    record(None, reference="BANK-1")

    response = api_client(staff).post(PAYMENTS, {"amount": "3.00", "reference": "BANK-1"}, format="json")

    assert error(response, 409)["code"] == "duplicate_reference"
    assert Payment.objects.count() == 1


def test_a_seller_lists_only_payments_of_own_sales_never_unassigned_ones(api_client, seller, warehouse):
    mine = record(make_sale(seller), user=seller)
    record(make_sale(UserFactory()))
    record(None, method="bank_transfer")

    response = api_client(seller).get(PAYMENTS)

    assert ids(response) == [mine.pk]
    assert set(response.json()["results"][0]) == PAYMENT_FIELDS


def test_a_seller_filtering_by_another_sellers_sale_gets_an_empty_list(api_client, seller, warehouse):
    theirs = make_sale(UserFactory())
    record(theirs)

    assert ids(api_client(seller).get(PAYMENTS, {"sale": theirs.pk})) == []


def test_a_seller_may_not_read_another_sellers_or_an_unassigned_payment(api_client, seller, warehouse):
    mine, theirs, unassigned = record(make_sale(seller)), record(make_sale(UserFactory())), record(None)
    client = api_client(seller)

    assert client.get(f"{PAYMENTS}{mine.pk}/").status_code == 200
    assert error(client.get(f"{PAYMENTS}{theirs.pk}/"), 404)["code"] == "not_found"
    assert error(client.get(f"{PAYMENTS}{unassigned.pk}/"), 404)["code"] == "not_found"


def test_staff_list_every_payment_assigned_or_not(api_client, staff, seller, warehouse):
    payments = [record(make_sale(seller)), record(make_sale(UserFactory())), record(None)]

    assert ids(api_client(staff).get(PAYMENTS)) == sorted(p.pk for p in payments)


@pytest.fixture
def ledger(seller):
    """Five transactions that differ in sale, method, status, assignment and dates."""
    sale, other = make_sale(seller), make_sale(seller)
    rows = {
        "cash": record(sale, method="cash", received_at=datetime.fromisoformat("2024-07-01T10:00:00Z")),
        "card": record(sale, method="card", received_at=datetime.fromisoformat("2024-07-05T10:00:00Z")),
        "failed": record(other, method="card", status="failed",
                         received_at=datetime.fromisoformat("2024-07-10T10:00:00Z")),
        "pending": record(other, method="wallet_transfer", status="pending",
                          received_at=datetime.fromisoformat("2024-07-15T10:00:00Z")),
        "bank": record(None, method="bank_transfer", reference="BANK-9",
                       received_at=datetime.fromisoformat("2024-07-20T10:00:00Z")),
    }
    Payment.objects.filter(pk=rows["bank"].pk).update(created_at=datetime.fromisoformat("2024-07-20T10:00:00Z"))
    return {"rows": rows, "sale": sale, "other": other}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(lambda ledger: {"sale": ledger["sale"].pk}, {"cash", "card"}, id="sale"),
        ({"method": "card"}, {"card", "failed"}),
        ({"method": ["cash", "bank_transfer"]}, {"cash", "bank"}),
        ({"status": "failed"}, {"failed"}),
        ({"status": ["pending", "failed"]}, {"failed", "pending"}),
        ({"assigned": "false"}, {"bank"}),
        ({"assigned": "true"}, {"cash", "card", "failed", "pending"}),
        ({"received_after": "2024-07-10"}, {"failed", "pending", "bank"}),
        ({"received_before": "2024-07-05"}, {"cash", "card"}),
        ({"received_after": "2024-07-05T10:00:01Z", "received_before": "2024-07-15T10:00:00Z"},
         {"failed", "pending"}),
        ({"created_before": "2024-07-21"}, {"bank"}),
        ({"reference": "BANK-9"}, {"bank"}),
        ({"sale": 999_999}, set()),
    ],
    ids=lambda value: "&".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else "",
)
def test_payments_filter(query, expected, ledger, api_client, staff):
    query = query(ledger) if callable(query) else query
    by_id = {payment.pk: name for name, payment in ledger["rows"].items()}

    response = api_client(staff).get(PAYMENTS, query)

    assert {by_id[pk] for pk in ids(response)} == expected


@pytest.mark.parametrize(
    "query",
    [{"method": "bitcoin"}, {"status": "maybe"}, {"sale": "abc"}, {"received_after": "yesterday"},
     {"created_before": "2024-02-30"}, {"assigned": "maybe"}],
    ids=lambda q: "&".join(f"{k}={v}" for k, v in q.items()),
)
def test_malformed_payments_filter_is_400(query, api_client, staff, db):
    response = api_client(staff).get(PAYMENTS, query)

    assert error(response, 400)["attr"] == next(iter(query))


# --- POST /payments/assign/ -------------------------------------------------------------------------------------


def test_staff_assign_a_transaction_by_sale_id(api_client, staff, seller, warehouse):
    sale = make_sale(seller, price="250.00")
    transfer = record(None, "250.00", method="bank_transfer", reference="IBAN-1")

    response = api_client(staff).post(ASSIGN, {"sale": sale.pk, "transaction_reference": "IBAN-1"}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert body["id"] == sale.pk
    assert (body["payment_status"], body["paid_total"]) == ("paid", "250.00")
    assert [p["id"] for p in body["payments"]] == [transfer.pk]
    assert Payment.objects.get(pk=transfer.pk).sale_id == sale.pk
    assert SaleEvent.objects.filter(sale=sale, type="payment_assigned").count() == 1


def test_staff_assign_a_transaction_by_sale_reference(api_client, staff, seller, warehouse):
    sale = make_sale(seller, reference="WEB-77")
    record(None, "40.00", reference="IBAN-2")

    response = api_client(staff).post(ASSIGN, {"reference": "WEB-77", "transaction_reference": "IBAN-2"},
                                      format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["payment_status"] == "partially_paid"
    assert Payment.objects.get(reference="IBAN-2").sale_id == sale.pk


def test_a_seller_may_not_assign(api_client, seller, warehouse):
    sale = make_sale(seller)
    record(None, reference="IBAN-3")

    response = api_client(seller).post(ASSIGN, {"sale": sale.pk, "transaction_reference": "IBAN-3"},
                                       format="json")

    assert error(response, 403)["code"] == "permission_denied"
    assert Payment.objects.get(reference="IBAN-3").sale is None


def test_assigning_an_assigned_transaction_is_409_already_assigned(api_client, staff, seller, warehouse):
    first, second = make_sale(seller), make_sale(seller)
    record(first, reference="IBAN-4")

    response = api_client(staff).post(ASSIGN, {"sale": second.pk, "transaction_reference": "IBAN-4"},
                                      format="json")

    assert error(response, 409)["code"] == "already_assigned"
    assert Payment.objects.get(reference="IBAN-4").sale_id == first.pk
    assert not second.payments.exists()


def test_assigning_an_unknown_transaction_with_amount_and_method_records_it(api_client, staff, seller, warehouse):
    sale = make_sale(seller, price="30.00")

    response = api_client(staff).post(
        ASSIGN, {"sale": sale.pk, "transaction_reference": "VPAY/509652487123", "amount": "30.00",
                 "method": "wallet_transfer"}, format="json")

    assert response.status_code == 200, response.json()
    payment = Payment.objects.get(reference="VPAY/509652487123")
    assert (payment.sale_id, payment.amount, payment.method) == (sale.pk, D("30.00"), "wallet_transfer")
    assert response.json()["payment_status"] == "paid"


@pytest.mark.parametrize(("extra", "attr"), [({}, "amount"), ({"amount": "5.00"}, "method")])
def test_assigning_an_unknown_transaction_without_amount_or_method_is_400(extra, attr, api_client, staff, seller,
                                                                          warehouse):
    sale = make_sale(seller)

    response = api_client(staff).post(ASSIGN, {"sale": sale.pk, "transaction_reference": "NEW-1", **extra},
                                      format="json")

    assert error(response, 400)["attr"] == attr
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("body", "attr"),
    [({"transaction_reference": "IBAN-5"}, "sale"), ({"sale": 999_999, "transaction_reference": "IBAN-5"}, "sale"),
     ({"reference": "NOPE", "transaction_reference": "IBAN-5"}, "reference"), ({"sale": 1}, "transaction_reference")],
)
def test_assign_naming_no_known_sale_or_transaction_is_400(body, attr, api_client, staff, db):
    record(None, reference="IBAN-5")

    response = api_client(staff).post(ASSIGN, body, format="json")

    assert error(response, 400)["attr"] == attr
    assert Payment.objects.get(reference="IBAN-5").sale is None


def test_assign_with_an_amount_that_differs_from_the_transaction_is_400(api_client, staff, seller, warehouse):
    sale = make_sale(seller)
    record(None, "40.00", reference="IBAN-6")

    response = api_client(staff).post(ASSIGN, {"sale": sale.pk, "transaction_reference": "IBAN-6",
                                               "amount": "41.00"}, format="json")

    assert error(response, 400)["attr"] == "amount"
    assert Payment.objects.get(reference="IBAN-6").sale is None


def test_assign_with_an_idempotency_key_assigns_once(api_client, staff, seller, warehouse):
    sale = make_sale(seller)
    record(None, reference="IBAN-8")
    client = api_client(staff)
    body = {"sale": sale.pk, "transaction_reference": "IBAN-8"}

    first = client.post(ASSIGN, body, format="json", HTTP_IDEMPOTENCY_KEY="assign-1")
    second = client.post(ASSIGN, body, format="json", HTTP_IDEMPOTENCY_KEY="assign-1")

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()


# --- queries --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [5, 30])
def test_payments_list_queries_do_not_grow_with_the_number_of_payments(count, api_client, seller, warehouse,
                                                                        django_assert_max_num_queries):
    for _ in range(count):
        record(make_sale(seller), user=StaffFactory())
    client = api_client(seller)

    # token + user, rate counter, count, payments joined with their users, their allocations (money.md round 2)
    with django_assert_max_num_queries(5):
        response = client.get(PAYMENTS)

    assert len(response.json()["results"]) == count
