"""The list built from rows says exactly what SaleListSerializer says about the same sales."""

import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.contrib.auth.models import Permission
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIRequestFactory

from customers.tests.factories import CustomerFactory
from inventory.tests.factories import ProductGroupFactory, stocked_variant
from sales import selectors, services
from sales.api import list_rows
from sales.api.serializers import SaleListSerializer
from sales.models import Sale
from sales.services import ItemData, NewPayment
from sales.tests.factories import CarrierFactory, ChannelFactory, TaxRateFactory, UserFactory
from salesproject.api import representation


def as_json(data) -> list:
    return json.loads(JSONRenderer().render(data))


@pytest.fixture
def varied_sales(staff):
    group = ProductGroupFactory()
    carrier = CarrierFactory()
    customer = CustomerFactory()
    plain = stocked_variant(50)
    grouped = stocked_variant(50, product_group=group)
    services.sale_create(
        seller=staff,
        data=services.NewSale(
            items=[ItemData(variant=plain, quantity=1)],
            status="draft",
        ),
    )
    services.sale_create(
        seller=staff,
        data=services.NewSale(
            customer=customer,
            channel=ChannelFactory(code="web"),
            tax=TaxRateFactory(),
            items=[
                ItemData(
                    variant=plain,
                    quantity=2,
                    unit_price=Decimal("19.9"),
                    discount=Decimal("5"),
                    discount_type="percent",
                ),
                ItemData(variant=grouped, quantity=1, carrier=carrier, tracking_code="TRK-1"),
            ],
            discount=Decimal("1.5"),
            shipping_cost=Decimal("4"),
            tax_shipping=True,
            prices_include_tax=True,
            billing_address={"name": "Ada", "line1": "1 Road", "country": "IT", "extra": "dropped"},
            shipping_address={"city": "Rome", "country": "IT", "phone": None},
            tags=["walk-in", "vip"],
            note="n",
            staff_note="s",
            external_id="EXT-1",
            reference="REF-1",
            payments=[NewPayment(amount=Decimal("3.00"))],
            status="completed",
        ),
    )
    cancelled = services.sale_create(
        seller=UserFactory(),
        data=services.NewSale(
            items=[ItemData(variant=plain, quantity=1)],
        ),
    )
    services.sale_cancel(sale=cancelled, user=staff, reason="fraud")
    services.sale_create(
        seller=staff,
        data=services.NewSale(
            items=[ItemData(variant=grouped, quantity=3)],
            status="confirmed",
        ),
    )


@pytest.mark.parametrize("refunder", [True, False], ids=["may-refund", "may-not-refund"])
def test_rows_render_the_same_json_as_the_serializer(staff, varied_sales, refunder):
    if refunder:
        staff.user_permissions.add(Permission.objects.get(codename="refund_sale"))
        staff = type(staff).objects.get(pk=staff.pk)  # a fresh permission cache
    request = APIRequestFactory().get("/api/v1/sales/")
    request.user = staff
    queryset = selectors.sale_scope(user=staff)
    instances = selectors.sale_with_related(queryset)

    expected = as_json(SaleListSerializer(instances, many=True, context={"request": request}).data)
    rendered = as_json(list_rows.render_sales(list(list_rows.sale_rows(queryset)), user=staff, using="default"))

    assert len(rendered) == Sale.objects.count() == 4
    assert rendered == expected
    assert any(sale["available_transitions"] == (["refunded"] if refunder else []) for sale in rendered)


def test_no_rows_render_an_empty_list(staff):
    assert list_rows.render_sales([], user=staff, using="default") == []


MONEY_CASES = [Decimal("0.00"), Decimal("-0.00"), Decimal("12.30"), Decimal("5"), Decimal("1.5"), Decimal("2.345"),
               Decimal("99999999999.99"), Decimal("-7.10"), Decimal("1E+2"), 3, "4.5"]


@pytest.mark.parametrize("value", MONEY_CASES, ids=str)
def test_fast_money_says_what_drf_says(value):
    drf = serializers.DecimalField(max_digits=15, decimal_places=2, rounding=ROUND_HALF_UP)  # money rounds half-up
    assert representation.money(value) == drf.to_representation(value)


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [
        (Decimal("1500.000"), "JPY", "1500"),
        (Decimal("1499.5"), "JPY", "1500"),
        (Decimal("1.5"), "KWD", "1.500"),
        (Decimal("15"), "USD", "15.00"),
        (Decimal("10.005"), "EUR", "10.01"),
        (Decimal("2.345"), "XYZ", "2.35"),  # a code ISO does not know: two decimals
    ],
)
def test_money_is_written_in_its_currencys_minor_units(value, currency, text):
    assert representation.money(value, currency) == text


@pytest.mark.parametrize("zone", ["UTC", "Europe/Rome", "America/St_Johns"])
def test_fast_times_say_what_drf_says(zone):
    from datetime import UTC, datetime, timedelta
    from datetime import timezone as dt_timezone

    from django.utils import timezone

    values = [
        datetime(2026, 11, 23, 14, 5, 6, 123456, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # a DST change in Rome
        datetime(2024, 2, 29, 23, 59, 59, tzinfo=dt_timezone(timedelta(hours=-3, minutes=-30))),
        datetime(2026, 1, 1, 0, 0),  # naive: DRF's own path
        "2026-01-01T00:00:00Z",
    ]
    with timezone.override(zone):
        for value in values:
            drf = serializers.DateTimeField().to_representation(value)
            assert representation.time(value) == drf
            assert representation.time(value, timezone.get_current_timezone()) == drf
