"""`report_delayed_fulfilments` and the selector under it: which fulfilments are late, how they are listed."""

import csv
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from inventory.tests.factories import stocked_variant
from sales import services
from sales.models import Sale, SaleStatus
from sales.selectors import delayed_fulfillments
from sales.services import ItemData, ItemQuantity
from sales.tests.factories import CarrierFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("report_delayed_fulfilments", *args, stdout=out)
    return out.getvalue()


def fulfilled(*, expected_in: timedelta | None, status: str | None = None, **fulfil):
    sale = services.sale_create(
        seller=UserFactory(),
        data=services.NewSale(items=[ItemData(variant=stocked_variant(5), quantity=2)], status=SaleStatus.CONFIRMED),
    )
    sale = Sale.objects.get(pk=sale.pk)
    expected = timezone.now() + expected_in if expected_in is not None else None
    fulfillment = services.sale_fulfil(
        sale=sale, user=None, lines=[ItemQuantity(sale.items.get(), 1)], expected_at=expected, **fulfil
    )
    if status:
        fulfillment = services.fulfillment_track(fulfillment=fulfillment, user=None, status=status)
    return fulfillment


@pytest.fixture
def mix(db):
    dhl = CarrierFactory(code="dhl", tracking_url_template="https://dhl.example/{tracking_code}")
    return {
        "very_late": fulfilled(expected_in=-timedelta(days=3, hours=2), carrier=dhl, tracking_code="JD1"),
        "a_bit_late": fulfilled(expected_in=-timedelta(hours=5), status="in_transit"),
        "failed_late": fulfilled(expected_in=-timedelta(hours=1), status="failed"),
        "on_time": fulfilled(expected_in=timedelta(days=1)),
        "no_date": fulfilled(expected_in=None),
        "delivered_late": fulfilled(expected_in=-timedelta(days=1), status="delivered"),
        "returned_late": fulfilled(expected_in=-timedelta(days=1), status="returned"),
    }


def test_the_selector_lists_open_overdue_fulfilments_most_overdue_first(mix):
    assert list(delayed_fulfillments()) == [mix["very_late"], mix["a_bit_late"], mix["failed_late"]]
    assert list(delayed_fulfillments(older_than=timedelta(days=2))) == [mix["very_late"]]


def test_the_text_report_lists_each_late_fulfilment(mix):
    out = run()

    lines = out.splitlines()
    assert lines[0].split() == ["Fulfilment", "Sale", "Carrier", "Tracking", "code", "Expected", "Late", "by",
                                "Status"]
    very_late = mix["very_late"]
    assert lines[1].startswith(very_late.number)
    assert very_late.sale.reference in lines[1] and "dhl" in lines[1] and "JD1" in lines[1]
    assert "3d 2h" in lines[1] and lines[1].endswith("shipped")
    assert "in transit" in lines[2] and "delivery failed" in lines[3]
    assert lines[-1] == "3 delayed fulfilments."


def test_older_than_leaves_out_the_recently_late(mix):
    out = run("--older-than", "2d")

    assert mix["very_late"].number in out and mix["a_bit_late"].number not in out
    assert out.splitlines()[-1] == "1 delayed fulfilment."


def test_the_csv_report_has_a_header_and_one_row_each(mix):
    rows = list(csv.DictReader(StringIO(run("--format", "csv"))))

    assert [row["number"] for row in rows] == [mix[k].number for k in ("very_late", "a_bit_late", "failed_late")]
    first = rows[0]
    assert (first["sale_reference"], first["carrier"], first["tracking_code"], first["status"]) == (
        mix["very_late"].sale.reference, "dhl", "JD1", "shipped",
    )
    assert first["late_by"] == "3d 2h" and float(first["late_hours"]) == pytest.approx(74, abs=0.2)
    assert first["expected_at"] == mix["very_late"].expected_at.isoformat()


def test_nothing_late_says_so_and_exits_zero(db):
    fulfilled(expected_in=timedelta(hours=2))

    assert run() == "No delayed fulfilments.\n"
    assert run("--format", "csv").splitlines() == [
        "number,sale_reference,carrier,tracking_code,expected_at,late_by,late_hours,status"
    ]


@pytest.mark.parametrize("value", ["2", "two days", "-1d", "1w"])
def test_a_bad_duration_is_a_command_error(db, value):
    with pytest.raises(CommandError, match="--older-than"):
        run("--older-than", value)


def test_the_demo_data_shows_parcels_pickups_a_late_parcel_and_a_locked_sale(db):
    out = StringIO()
    call_command("seed_demo", "--sales", "1", stdout=out)

    assert "and 6 showcase sales" in out.getvalue()
    showcase = Sale.objects.filter(pk__in=[sale.pk for sale in Sale.objects.all() if "showcase" in sale.tags])
    assert sorted(showcase.values_list("status", flat=True)) == sorted(
        ["in_delivery", "completed", "in_delivery", "completed", "in_delivery", "confirmed"]
    )
    assert sum(sale.fulfillments.count() == 2 for sale in showcase) == 2
    assert showcase.filter(delivery_mode="pickup").count() == 2
    assert showcase.filter(locked=True).count() == 1
    [late] = delayed_fulfillments()
    assert late.sale.tags == ["demo", "showcase"] and late.status == "in_transit"
    assert "1 delayed fulfilment." in run()
