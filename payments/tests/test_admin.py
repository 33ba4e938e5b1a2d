"""The payment admin, driven with the Django test client as a logged-in staff user."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client

from inventory.tests.factories import stocked_variant
from payments.models import Payment, PaymentKind, PaymentMethod, PaymentState
from payments.services import payment_record
from sales.models import PaymentStatus, Sale, SaleEvent, SaleEventType
from sales.services import ItemData, sale_record_payment
from sales.tests.factories import SaleFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

ADMIN = "/admin/payments/payment"
D = Decimal


@pytest.fixture
def client(boss_client):
    return boss_client  # signed in as `boss`, a superuser (conftest.py)


@pytest.fixture
def sale(seller, warehouse) -> Sale:
    """A confirmed sale of one unit at 100.00, nothing paid yet."""
    variant = stocked_variant(5, price=D("100.00"))
    return SaleFactory(seller=seller, status="confirmed", items=[ItemData(variant=variant, quantity=1)])


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def add_form(**fields) -> dict[str, str]:
    return {
        "sale": "",
        "amount": "40.00",
        "currency": "",
        "method": "bank_transfer",
        "kind": "payment",
        "status": "successful",
        "reference": "TX-1",
        "received_at_0": "2026-03-01",
        "received_at_1": "10:00:00",
        "note": "",
        **fields,
    }


def assign(client, payments, **form):
    data = {"action": "assign_to_sale", "_selected_action": [str(p.pk) for p in payments], **form}
    return client.post(f"{ADMIN}/", data)


def reload(sale: Sale) -> Sale:
    return Sale.objects.get(pk=sale.pk)


# --- pages ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?q=TX-9",
        "?assigned=no",
        "?assigned=yes",
        "?kind__exact=refund",
        "?status__exact=pending",
        "?method__exact=cash",
        "?currency__exact=USD",
        "?received_at__year=2026",
    ],
)
def test_list_search_and_filters_answer_200(client, sale, query):
    payment_record(amount="10.00", reference="TX-9", method=PaymentMethod.BANK_TRANSFER)
    sale_record_payment(sale=sale, amount="5.00", method=PaymentMethod.CASH)

    response = client.get(f"{ADMIN}/{query}")

    assert response.status_code == 200


def test_search_finds_by_transaction_and_sale_reference(client, sale):
    payment_record(amount="10.00", reference="TX-9")
    sale_record_payment(sale=sale, amount="5.00", reference="TX-10")

    def shown(query):
        return sorted(p.reference for p in client.get(f"{ADMIN}/?{query}").context["cl"].result_list)

    assert shown("q=TX-9") == ["TX-9"]
    assert shown(f"q={sale.reference}") == ["TX-10"]
    assert shown("assigned=no") == ["TX-9"]


def test_add_and_view_pages_answer_200(client, sale):
    payment = sale_record_payment(sale=sale, amount="5.00")

    assert client.get(f"{ADMIN}/add/").status_code == 200
    assert client.get(f"{ADMIN}/{payment.pk}/change/").status_code == 200


def test_a_non_staff_user_is_sent_to_the_login_page(db):
    client = Client()
    client.force_login(UserFactory())

    response = client.get(f"{ADMIN}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- adding goes through payment_record --------------------------------------------------------------------


def test_adding_an_unassigned_transaction_records_it_with_the_staff_user(client, boss):
    response = client.post(f"{ADMIN}/add/", add_form())

    assert response.status_code == 302
    payment = Payment.objects.get(reference="TX-1")
    assert (payment.sale, payment.amount, payment.currency, payment.user) == (None, D("40.00"), "USD", boss)


def test_adding_a_payment_to_a_sale_refreshes_the_sale(client, sale):
    response = client.post(f"{ADMIN}/add/", add_form(sale=str(sale.pk), amount="100.00"))

    assert response.status_code == 302
    sale = reload(sale)
    assert (sale.paid_total, sale.payment_status) == (D("100.00"), PaymentStatus.PAID)
    assert SaleEvent.objects.filter(sale=sale, type=SaleEventType.PAYMENT_RECORDED).exists()


def test_a_refund_above_what_was_paid_is_refused_with_a_message(client, sale):
    response = client.post(f"{ADMIN}/add/", add_form(sale=str(sale.pk), kind="refund", amount="10.00"))

    assert response.status_code == 302
    assert not Payment.objects.exists()
    assert any("Nothing was saved" in text and "exceeds what the sale holds" in text for text in texts(response))


def test_a_non_positive_amount_is_a_form_error(client):
    response = client.post(f"{ADMIN}/add/", add_form(amount="0"))

    assert response.status_code == 200
    assert not Payment.objects.exists()


# --- recorded payments are never edited or deleted by hand ----------------------------------------------------


def test_a_recorded_payment_cannot_be_changed_or_deleted(client, sale):
    payment = sale_record_payment(sale=sale, amount="5.00")

    assert client.post(f"{ADMIN}/{payment.pk}/change/", add_form(amount="500.00")).status_code == 403
    assert client.post(f"{ADMIN}/{payment.pk}/delete/", {"post": "yes"}).status_code == 403
    page = client.get(f"{ADMIN}/{payment.pk}/change/").content.decode()
    # A view-only page: Close, no Save, Save and continue editing, Save and add another or Delete.
    assert not any(f'name="{name}"' in page for name in ("_save", "_continue", "_addanother"))
    assert 'class="deletelink"' not in page and 'class="closelink"' in page
    payment.refresh_from_db()
    assert payment.amount == D("5.00")
    assert reload(sale).paid_total == D("5.00")


# --- assign to sale goes through payment_assign ------------------------------------------------------------------


def test_assign_asks_for_the_sale_first(client):
    payment = payment_record(amount="40.00", reference="TX-1")

    response = assign(client, [payment])

    assert response.status_code == 200
    assert response.templates[0].name == "admin/action_form.html"
    assert 'name="sale_reference"' in response.content.decode()


def test_assign_to_an_unknown_sale_is_a_form_error(client):
    payment = payment_record(amount="40.00", reference="TX-1")

    response = assign(client, [payment], apply="yes", sale_reference="NO-SUCH-SALE")

    assert response.status_code == 200
    assert "No sale has this reference" in response.content.decode()
    payment.refresh_from_db()
    assert payment.sale is None


def test_assign_matches_the_transaction_and_refreshes_the_sale(client, boss, sale):
    payment = payment_record(amount="40.00", reference="TX-1")

    response = assign(client, [payment], apply="yes", sale_reference=sale.reference)

    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.sale == sale
    sale = reload(sale)
    assert (sale.paid_total, sale.payment_status) == (D("40.00"), PaymentStatus.PARTIALLY_PAID)
    event = SaleEvent.objects.get(sale=sale, type=SaleEventType.PAYMENT_ASSIGNED)
    assert event.user == boss
    assert texts(response) == [f"Assigned to sale {sale.reference}: 1 done."]


def test_assign_reports_transactions_it_cannot_match(client, sale, warehouse):
    other = SaleFactory(status="confirmed", items=[ItemData(variant=stocked_variant(2), quantity=1)])
    taken = sale_record_payment(sale=other, amount="5.00", reference="TX-TAKEN")
    anonymous = payment_record(amount="7.00")  # no provider reference to match it by
    good = payment_record(amount="3.00", reference="TX-GOOD", kind=PaymentKind.PAYMENT, status=PaymentState.SUCCESSFUL)

    response = assign(client, [taken, anonymous, good], apply="yes", sale_reference=sale.reference)

    [message] = texts(response)
    assert "1 done, 2 failed" in message
    assert "TX-TAKEN" in message and "already_assigned" in message and "no reference" in message
    taken.refresh_from_db()
    assert taken.sale == other
    assert reload(sale).paid_total == D("3.00")


def test_staff_without_the_change_permission_cannot_assign(sale):
    payment = payment_record(amount="40.00", reference="TX-1")
    clerk = StaffFactory()
    clerk.user_permissions.add(Permission.objects.get(codename="view_payment"))
    client = Client()
    client.force_login(clerk)

    page = client.get(f"{ADMIN}/")
    assign(client, [payment], apply="yes", sale_reference=sale.reference)

    assert page.status_code == 200
    assert "assign_to_sale" not in page.content.decode()
    payment.refresh_from_db()
    assert payment.sale is None
