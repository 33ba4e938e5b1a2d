"""Every way of giving money back needs `sales.refund_sale`: each route and admin screen × each role.

The ways: the refund transition (its own route and `POST …/status/`), a return with `refund: true`,
a refund payment recorded on a sale (under the sale and at `/payments/`), an unassigned refund
transaction recorded or assigned to a sale (API and admin), and the admin's payment form. Roles:
staff and sellers, each with and without the permission, and a superuser. (Store managers do not
exist yet; they join this matrix with the stores of `records.md`.)

Each denied case is checked against its control: the same role, the same sale, the same request
without the money going back succeeds, so the 403 is the permission's and nothing else's.
"""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from inventory.tests.factories import stocked_variant
from payments import services as payment_services
from payments.models import Payment
from sales import services
from sales.models import Sale
from sales.services import ItemData, sale_record_payment
from sales.tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
API = "/api/v1"
ROLES = ("staff", "staff_refunder", "seller", "seller_refunder", "superuser")
ALLOWED = {"staff_refunder", "seller_refunder", "superuser"}
STAFF_ROLES = {"staff", "staff_refunder", "superuser"}


def grant(user, *codenames: str) -> None:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


def make_user(role: str):
    if role == "superuser":
        return StaffFactory(is_superuser=True)
    user = StaffFactory() if role.startswith("staff") else UserFactory()
    if role.endswith("refunder"):
        grant(user, "refund_sale")
    return user


def paid_sale(seller) -> Sale:
    """A completed sale of 2 units, paid in full (by an operator), with nothing returned."""
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            status="completed",
            items=[ItemData(variant=stocked_variant(10), quantity=2)],
        ),
    )
    sale_record_payment(sale=sale, amount=sale.grand_total, user=None)
    return Sale.objects.get(pk=sale.pk)


def money(sale: Sale) -> tuple:
    """What giving money back would change: the sale's status, paid total, returns, and every payment row."""
    sale = Sale.objects.get(pk=sale.pk)
    payments = list(Payment.objects.order_by("pk").values_list("pk", "sale_id", "kind", "amount"))
    return sale.status, sale.paid_total, sale.returned_total, payments


@dataclass(frozen=True)
class Way:
    """One way of giving money back through the API: `body(sale)` gives it back, `control(sale)` does not."""

    path: str  # under /api/v1, `{sale}` replaced by the sale's id
    body: object
    control: object
    staff_only: bool = False  # the route itself is staff-only: sellers get 403 either way
    setup: object = None  # what must exist before (unassigned transactions)

    def url(self, sale: Sale) -> str:
        return API + self.path.format(sale=sale.pk)


def item_line(sale: Sale) -> list[dict]:
    return [{"item": sale.items.get().pk, "quantity": 1}]


def unassigned_refund(reference: str, kind: str = "refund") -> None:
    """A transaction that arrived before it was matched (an operator's import: no user)."""
    payment_services.payment_record(amount=D("1.00"), reference=reference, kind=kind, user=None)


WAYS = {
    "refund": Way("/sales/{sale}/refund/", lambda s: {"restock": True}, None),
    "status-refunded": Way("/sales/{sale}/status/", lambda s: {"status": "refunded"}, None),
    "return-with-refund": Way(
        "/sales/{sale}/returns/",
        lambda s: {"items": item_line(s), "restock": True, "refund": True},
        lambda s: {"items": item_line(s), "restock": True, "refund": False},
    ),
    "sale-refund-payment": Way(
        "/sales/{sale}/payments/",
        lambda s: {"amount": "1.00", "kind": "refund"},
        lambda s: {"amount": "1.00", "kind": "payment"},
    ),
    "refund-payment-on-sale": Way(
        "/payments/",
        lambda s: {"sale": s.pk, "amount": "1.00", "kind": "refund"},
        lambda s: {"sale": s.pk, "amount": "1.00", "kind": "payment"},
    ),
    "unassigned-refund": Way(
        "/payments/",
        lambda s: {"amount": "1.00", "kind": "refund", "reference": "REF-NEW"},
        lambda s: {"amount": "1.00", "kind": "payment", "reference": "PAY-NEW"},
        staff_only=True,
    ),
    "assign-refund": Way(
        "/payments/assign/",
        lambda s: {"sale": s.pk, "transaction_reference": "BANK-R"},
        lambda s: {"sale": s.pk, "transaction_reference": "BANK-P"},
        staff_only=True,
        setup=lambda: (unassigned_refund("BANK-R"), unassigned_refund("BANK-P", kind="payment")),
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("way", list(WAYS))
def test_giving_money_back_through_the_api_needs_the_refund_permission(way, role, api_client, warehouse):
    user = make_user(role)
    spec = WAYS[way]
    sale = paid_sale(seller=user if role.startswith("seller") else UserFactory())
    client = api_client(user)
    denied_by_route = spec.staff_only and role not in STAFF_ROLES
    if spec.setup is not None:
        spec.setup()

    before = money(sale)
    response = client.post(spec.url(sale), spec.body(sale), format="json")

    if role in ALLOWED and not denied_by_route:
        assert response.status_code in (200, 201), response.json()
        assert money(sale) != before
        return
    assert response.status_code == 403, response.json()
    assert response.json()["errors"][0]["code"] == "permission_denied"
    assert money(sale) == before
    if spec.control is not None and not denied_by_route:  # the same request without money going back works
        control = client.post(spec.url(sale), spec.control(sale), format="json")
        assert control.status_code in (200, 201), control.json()


# --- the admin ------------------------------------------------------------------------------


def admin_client(role: str):
    user = make_user(role)
    grant(user, "view_sale", "change_sale", "view_payment", "add_payment", "change_payment")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_the_admin_payment_form_records_a_refund_only_with_the_permission(role, warehouse):
    client = admin_client(role)
    sale = paid_sale(UserFactory())
    form = {
        "sale": str(sale.pk),
        "amount": "1.00",
        "currency": "",
        "method": "cash",
        "kind": "refund",
        "status": "successful",
        "reference": "",
        "received_at_0": "2026-03-01",
        "received_at_1": "10:00:00",
        "note": "",
    }

    before = money(sale)
    client.post(reverse("admin:payments_payment_add"), form)

    assert (money(sale) != before) == (role in ALLOWED)


@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_the_admin_assign_action_assigns_a_refund_only_with_the_permission(role, warehouse):
    client = admin_client(role)
    sale = paid_sale(UserFactory())
    unassigned_refund("BANK-R")
    refund = Payment.objects.get(reference="BANK-R")

    before = money(sale)
    client.post(
        reverse("admin:payments_payment_changelist"),
        {
            "action": "assign_to_sale",
            "_selected_action": [str(refund.pk)],
            "apply": "1",
            "sale_reference": sale.reference,
        },
    )

    assert (money(sale) != before) == (role in ALLOWED)


@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_the_admin_refund_button_refunds_only_with_the_permission(role, warehouse):
    client = admin_client(role)
    sale = paid_sale(UserFactory())

    before = money(sale)
    client.post(
        reverse("admin:sales_sale_transition", kwargs={"object_id": sale.pk, "transition_name": "refund"}),
        {"restock": "on"},
    )

    assert (money(sale) != before) == (role in ALLOWED)
