"""The detail built from the loaded sale says exactly what SaleSerializer says about it: same bytes, no extra query."""

import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIRequestFactory

from customers.models import AddressKind
from customers.tests.factories import AddressFactory, CustomerFactory
from inventory.tests.factories import ProductGroupFactory, stocked_variant
from payments import services as payment_services
from sales import selectors, services
from sales.api.detail_rows import render_sale
from sales.api.serializers import SaleSerializer
from sales.models import Sale, SaleStatus
from sales.services import ItemData, NewPayment, ReturnLine, sale_assign_payment, sale_record_payment
from sales.tests.factories import CarrierFactory, ChannelFactory, StaffFactory, TaxRateFactory

D = Decimal
SALES = "/api/v1/sales/"
ROME = timezone(timedelta(hours=2))  # a non-UTC offset: both sides must bring it to UTC the same way


def loaded(sale: Sale) -> Sale:
    """The sale as the detail view loads it."""
    return selectors.sale_with_related(Sale.objects.filter(pk=sale.pk), payments=True).get()


def serializer_data(sale: Sale, user) -> dict:
    request = APIRequestFactory().get(f"{SALES}{sale.pk}/")
    request.user = user
    return SaleSerializer(sale, context={"request": request}).data


def typed(value):
    """The value with every leaf tagged by its exact type and every mapping as its ordered items."""
    if isinstance(value, Mapping):
        return ("dict", [(key, typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [typed(item) for item in value])
    return (type(value).__name__, value)


def assert_renders_like_the_serializer(sale: Sale, user) -> dict:
    """Render (no query allowed once the user's permissions are cached), then compare with the serializer."""
    user.get_all_permissions()  # the refund transition's permission check reads them once per user, either way
    with CaptureQueriesContext(connection) as queries:
        rendered = render_sale(sale, user=user)
    assert queries.captured_queries == []
    expected = serializer_data(sale, user)

    assert JSONRenderer().render(rendered) == JSONRenderer().render(expected)  # same bytes: keys, order, values
    assert json.loads(JSONRenderer().render(rendered)) == json.loads(JSONRenderer().render(expected))
    assert typed(rendered) == typed(expected)  # same Python types too (str, not a str enum member; int; None)
    return rendered


@pytest.fixture
def refunder(db):
    user = StaffFactory()
    user.user_permissions.add(Permission.objects.get(codename="refund_sale"))
    return type(user).objects.get(pk=user.pk)  # a fresh permission cache


def varied_sales(seller, staff) -> list[Sale]:
    """Every status; with and without customer, channel, tax, addresses, tags, notes; carriers, returns, payments."""
    group, carrier = ProductGroupFactory(), CarrierFactory()
    plain, grouped = stocked_variant(100), stocked_variant(100, product_group=group)
    customer = CustomerFactory()
    AddressFactory(customer=customer, kind=AddressKind.BILLING, line2="Floor 2", state="RM", phone="+39 06 1")
    AddressFactory(customer=customer, kind=AddressKind.SHIPPING)
    inclusive = TaxRateFactory(code="vat22", name="VAT 22%", rate=D("22.00"))
    exclusive = TaxRateFactory()
    channel = ChannelFactory(code="web")

    def make(status="pending", items=None, **kwargs) -> Sale:
        items = items or [ItemData(variant=plain, quantity=2)]
        return services.sale_create(seller=seller, data=services.NewSale(items=items, status=status, **kwargs))

    sales = [
        make("draft", billing_address={}, shipping_address={}),  # bare: nothing optional, empty addresses
        make(
            customer=customer,
            channel=channel,
            tax=exclusive,
            tags=["vip", "walk-in"],
            note="ring twice",
            staff_note="pays late",
            external_id="EXT-9",
            reference="REF-DETAIL-1",
        ),  # the customer's addresses
        make(
            "confirmed",
            tax=inclusive,
            prices_include_tax=True,
            shipping_cost=D("4.5"),
            tax_shipping=True,
            discount=D("10"),
            discount_type="percent",
            billing_address={"name": "Ada", "country": "it", "extra": "dropped"},
            shipping_address={"city": "Rome", "phone": None},
            sold_at=datetime(2024, 3, 1, 9, 30, 15, 123456, tzinfo=ROME),
            items=[
                ItemData(variant=plain, quantity=1, unit_price=D("19.9"), discount=D("5"), discount_type="percent"),
                ItemData(variant=grouped, quantity=3, carrier=carrier, tracking_code="TRK-1"),
            ],
        ),
        make(
            "completed",
            customer=customer,
            channel=channel,
            tags=[],
            payments=[
                NewPayment(
                    amount=D("3.00"),
                    method="card",
                    reference="CARD-1",
                    note="deposit",
                    received_at=datetime(2024, 3, 2, 23, 0, tzinfo=ROME),
                )
            ],
        ),
    ]
    shipped = make("confirmed", items=[ItemData(variant=grouped, quantity=1)])
    services.sale_ship(sale=shipped, user=staff, carrier=carrier, tracking_code="TRK-2")
    cancelled = make()
    services.sale_cancel(sale=cancelled, user=seller, reason="fraud", note="stolen card")
    rejected = make()
    services.sale_reject(sale=rejected, user=staff, reason="no stock")
    refunded = make("completed", payments=[NewPayment(amount=D("50"))])
    services.sale_refund(sale=refunded, user=None, reason="broken")  # a system refund
    returned = make("completed", items=[ItemData(variant=plain, quantity=3), ItemData(variant=grouped, quantity=1)])
    first_line = returned.items.order_by("pk").first()
    sale_record_payment(sale=returned, amount=returned.grand_total, user=staff)
    # Refunds by the system (no user): staff here lacks `sales.refund_sale`.
    services.sale_return(sale=returned, user=None, lines=[ReturnLine(item=first_line.pk, quantity=1)], refund=True)
    paid = make("confirmed", customer=customer)
    sale_record_payment(sale=paid, amount=5, user=None, status="pending")  # no user; pending
    payment_services.payment_record(amount=D("7.25"), reference="BANK-77", method="bank_transfer", user=staff)
    sale_assign_payment(sale=paid, transaction_reference="BANK-77", user=staff)  # unassigned, then matched
    sale_record_payment(sale=paid, amount=D("2.00"), kind="refund", user=None)
    sales += [shipped, cancelled, rejected, refunded, returned, paid]
    return [loaded(sale) for sale in sales]


@pytest.mark.parametrize("who", ["seller", "staff", "refunder"])
def test_a_loaded_sale_renders_the_same_json_as_the_serializer(seller, staff, refunder, who):
    reader = {"seller": seller, "staff": staff, "refunder": refunder}[who]
    sales = varied_sales(seller, staff)

    rendered = [assert_renders_like_the_serializer(sale, reader) for sale in sales]

    assert {sale["status"] for sale in rendered} == set(SaleStatus.values)  # every status covered
    assert any(sale["return_status"] != "none" for sale in rendered)
    assert any(item["carrier"] and item["product_group"] for sale in rendered for item in sale["items"])
    assert any(payment["user"] is None for sale in rendered for payment in sale["payments"])
    assert any(payment["kind"] == "refund" for sale in rendered for payment in sale["payments"])
    assert any(
        payment["reference"] == "BANK-77" and payment["sale"] for sale in rendered for payment in sale["payments"]
    )
    assert any(sale["billing_address"] == {} for sale in rendered)
    completed = [sale for sale in rendered if sale["status"] == "completed"]
    assert completed
    assert all(("refunded" in sale["available_transitions"]) == (who == "refunder") for sale in completed)


def test_transitions_follow_the_reader(seller, staff, refunder):
    """Readers of the same sale see different transitions (only who may refund sees `refunded`); kept as is."""
    sale = loaded(
        services.sale_create(
            seller=seller,
            data=services.NewSale(
                items=[ItemData(variant=stocked_variant(5), quantity=1)],
                status="completed",
            ),
        )
    )

    answers = {
        user.pk: assert_renders_like_the_serializer(sale, user)["available_transitions"]
        for user in (seller, staff, refunder)
    }

    assert answers[refunder.pk] == ["refunded"]
    assert answers[seller.pk] == answers[staff.pk] == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": "draft"},
        {"status": "pending", "tags": ["a", "b"], "note": "n", "shipping_address": {"country": "fr"}},
        {
            "status": "completed",
            "payments": [
                NewPayment(amount=D("1")),
                NewPayment(amount=D("2.5"), method="card", received_at=datetime(2024, 1, 5, 8, tzinfo=ROME)),
            ],
        },
        {"status": "confirmed", "sold_at": datetime(2024, 2, 29, 23, 59, 59, tzinfo=ROME), "discount": D("1.5")},
    ],
    ids=["draft", "pending-tags", "completed-paid", "confirmed-offset"],
)
def test_a_sale_fresh_from_create_renders_the_same_json_without_a_query(seller, staff, kwargs):
    """The instance sale_create hands back (items and payments kept on it, enums and offsets still in memory)."""
    customer = CustomerFactory()
    AddressFactory(customer=customer, kind=AddressKind.BILLING)
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            customer=customer,
            channel=ChannelFactory(code="shop"),
            tax=TaxRateFactory(),
            items=[
                ItemData(
                    variant=stocked_variant(10),
                    quantity=2,
                    discount=D("1"),
                    carrier=CarrierFactory(),
                    tracking_code="T-1",
                ),
                ItemData(variant=stocked_variant(10, product_group=ProductGroupFactory()), quantity=1),
            ],
            **kwargs,
        ),
        user=staff,
    )

    fresh = assert_renders_like_the_serializer(sale, seller)

    assert fresh == assert_renders_like_the_serializer(loaded(sale), seller)  # and the same as read back


def test_a_sale_without_customer_channel_or_tax(seller):
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(5), quantity=1)],
        ),
    )

    rendered = assert_renders_like_the_serializer(loaded(sale), seller)

    assert (rendered["customer"], rendered["channel"], rendered["tax"]) == (None, None, None)
    assert rendered["payments"] == []


# --- the API answers --------------------------------------------------------------------


def read_back(sale_id: int, user) -> bytes:
    """What SaleSerializer says about the sale as stored now: the body the endpoints answered before."""
    return JSONRenderer().render(serializer_data(loaded(Sale.objects.get(pk=sale_id)), user))


@pytest.mark.parametrize("who", ["seller", "staff"])
def test_get_detail_answers_the_serializer_body(api_client, seller, staff, who):
    user = {"seller": seller, "staff": staff}[who]
    sale = varied_sales(seller, staff)[-1]  # payments, refund, customer with addresses

    response = api_client(user).get(f"{SALES}{sale.pk}/")

    assert response.status_code == 200
    assert response.content == read_back(sale.pk, user)
    assert len(response.json()["payments"]) == 3


def test_post_create_answers_the_serializer_body(api_client, seller):
    ChannelFactory(code="web")
    TaxRateFactory()
    customer = CustomerFactory()
    AddressFactory(customer=customer)
    body = {
        "status": "completed",
        "customer": customer.pk,
        "channel": "web",
        "tax": "vat5",
        "prices_include_tax": True,
        "sold_at": "2024-05-01T10:00:00+02:00",
        "tags": ["x"],
        "note": "hello",
        "items": [
            {
                "variant": stocked_variant(10).pk,
                "quantity": 2,
                "unit_price": "9.99",
                "discount": "5",
                "discount_type": "percent",
            },
            {"variant": stocked_variant(10).pk, "quantity": 1},
        ],
        "payments": [{"amount": "5", "method": "card", "received_at": "2024-05-01T11:00:00-05:00"}],
    }

    response = api_client(seller).post(SALES, body, format="json")

    assert response.status_code == 201
    assert response.content == read_back(response.json()["id"], seller)
    assert response.json()["sold_at"] == "2024-05-01T08:00:00Z"


def test_transition_patch_and_return_answer_the_serializer_body(api_client, seller, staff):
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(10), quantity=3)],
        ),
    )
    client = api_client(staff)

    patched = client.patch(f"{SALES}{sale.pk}/", {"tags": ["edited"], "note": "changed"}, format="json")
    assert patched.status_code == 200
    assert patched.content == read_back(sale.pk, staff)

    confirmed = client.post(f"{SALES}{sale.pk}/confirm/")
    assert confirmed.status_code == 200
    assert confirmed.content == read_back(sale.pk, staff)
    assert confirmed.json()["status"] == "confirmed"

    item = sale.items.get()
    returned = client.post(f"{SALES}{sale.pk}/returns/", {"items": [{"item": item.pk, "quantity": 1}]}, format="json")
    assert returned.status_code == 201
    assert returned.content == read_back(sale.pk, staff)
    assert returned.json()["items"][0]["quantity_returned"] == 1
