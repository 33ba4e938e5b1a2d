"""Maintenance commands: seed_demo, cancel_stale_sales, recalculate_totals, reconcile_payments."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.utils import timezone

from inventory.models import MovementKind, Product, StockLevel, StockMovement
from inventory.services.audit import inventory_drift
from inventory.tests.factories import stocked_variant
from payments.models import Payment
from sales.management.commands.cancel_stale_sales import parse_duration
from sales.models import (
    CancelReason,
    PaymentStatus,
    Sale,
    SaleEvent,
    SaleEventType,
    SaleItem,
    SalePromotion,
    SaleStatus,
)
from sales.services import ItemData, sale_confirm, sale_record_payment, sale_submit
from sales.services.maintenance import (
    STALE_CANCEL_REASON,
    payment_drift,
    sale_cancel_stale,
    sale_totals_drift,
)
from sales.tests.factories import SaleFactory, TaxRateFactory

pytestmark = pytest.mark.django_db

SALES_COMMANDS = ["seed_demo", "cancel_stale_sales", "recalculate_totals", "reconcile_payments"]
REQUIRED_ARGS = {"cancel_stale_sales": ["--older-than", "1h"]}


def run(name: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(name: str, *args: str) -> tuple[str, str, CommandError]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), caught.value


def reserved(variant) -> int:
    return StockLevel.objects.get(variant=variant).reserved


def age(sale: Sale, hours: int) -> None:
    """Make the sale look submitted `hours` ago (timestamps are auto_now_add, so rewrite them raw)."""
    then = timezone.now() - timedelta(hours=hours)
    Sale.objects.filter(pk=sale.pk).update(created_at=then)
    SaleEvent.objects.filter(sale=sale).update(created_at=then)


@pytest.mark.parametrize("name", SALES_COMMANDS)
def test_help_lists_the_dry_run_option(name):
    text = load_command_class("sales", name).create_parser("manage.py", name).format_help()
    assert "--dry-run" in text


@pytest.mark.parametrize("name", SALES_COMMANDS)
def test_unknown_option_is_a_command_error(name):
    with pytest.raises(CommandError, match="unrecognized arguments"):
        call_command(name, *REQUIRED_ARGS.get(name, []), "--bogus")


# --- seed_demo -------------------------------------------------------------------------


def test_seed_demo_builds_consistent_data_through_the_services():
    out, _ = run("seed_demo", "--sales", "40")  # enough for every status, currency and promotion

    assert "Demo data ready" in out
    assert Sale.objects.count() >= 30  # a few may be refused for stock, never most
    assert len({s for s in Sale.objects.values_list("status", flat=True)}) >= 4
    assert inventory_drift() == []
    assert all(sale_totals_drift(sale=sale) is None for sale in Sale.objects.prefetch_related("items"))
    assert list(payment_drift()) == []
    assert all(sale.events.filter(type=SaleEventType.CREATED).exists() for sale in Sale.objects.all())
    # money: several currencies at their rates, promotions, a tax charged by its components
    assert set(Sale.objects.values_list("currency", flat=True)) >= {"USD", "EUR", "GBP"}
    assert not Sale.objects.exclude(currency="USD").filter(exchange_rate=1).exists()
    assert Sale.objects.filter(currency="EUR", price_list__code="eu-web-eur").exists()
    assert SalePromotion.objects.exists()
    assert any(
        {line["jurisdiction"] for line in sale.tax_lines} >= {"state", "county", "city"}
        for sale in Sale.objects.filter(tax__components__isnull=False).distinct()
    )


def test_seed_demo_if_empty_leaves_a_database_with_sales_alone():
    run("seed_demo", "--sales", "3")
    count = Sale.objects.count()
    out, _ = run("seed_demo", "--sales", "3", "--if-empty")
    assert "nothing to do" in out
    assert Sale.objects.count() == count


def test_seed_demo_dry_run_saves_nothing():
    out, _ = run("seed_demo", "--sales", "5", "--dry-run")
    assert "Dry run, nothing saved" in out
    assert "10 products" in out
    assert (Sale.objects.count(), Product.objects.count(), StockMovement.objects.count()) == (0, 0, 0)


def test_seed_demo_refuses_a_negative_number_of_sales():
    with pytest.raises(CommandError, match="--sales must be zero or more"):
        call_command("seed_demo", "--sales", "-1")


# --- cancel_stale_sales ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("48h", timedelta(hours=48)),
        ("30m", timedelta(minutes=30)),
        ("2d", timedelta(days=2)),
        ("90s", timedelta(seconds=90)),
    ],
)
def test_duration_forms_accepted(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["48", "h", "2w", "1.5h", "-1h", "48 hours", "", "0h", "99999999999d"])
def test_bad_durations_are_command_errors(text):
    with pytest.raises(CommandError, match="--older-than"):
        call_command("cancel_stale_sales", "--older-than", text)


def test_older_than_is_required():
    with pytest.raises(CommandError, match="--older-than"):
        call_command("cancel_stale_sales")


@pytest.fixture
def stale(warehouse):
    """A pending sale submitted 50 hours ago holding 2 units, and the variant it holds them of."""
    variant = stocked_variant(10)
    sale = SaleFactory(items=[ItemData(variant=variant, quantity=2)])
    age(sale, 50)
    return sale, variant


def test_cancel_stale_dry_run_changes_nothing(stale):
    sale, variant = stale
    events, movements = SaleEvent.objects.count(), StockMovement.objects.count()

    out, _ = run("cancel_stale_sales", "--older-than", "48h", "--dry-run")

    assert f"would cancel {sale.reference}" in out
    assert "Found 1 stale pending sale(s)" in out
    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    assert reserved(variant) == 2
    assert (SaleEvent.objects.count(), StockMovement.objects.count()) == (events, movements)


def test_cancel_stale_cancels_through_the_service_and_releases_stock(stale):
    sale, variant = stale

    out, _ = run("cancel_stale_sales", "--older-than", "48h")

    assert "cancelled 1, skipped 0 (changed meanwhile), failed 0" in out
    sale.refresh_from_db()
    assert sale.status == SaleStatus.CANCELLED
    assert sale.cancel_reason == STALE_CANCEL_REASON == CancelReason.OTHER
    assert reserved(variant) == 0
    release = StockMovement.objects.filter(sale=sale, kind=MovementKind.RELEASE).get()
    assert (release.on_hand_change, release.reserved_change) == (0, -2)
    event = sale.events.filter(type=SaleEventType.STATUS_CHANGED, to_status=SaleStatus.CANCELLED).get()
    assert event.data["reason"] == CancelReason.OTHER
    assert event.data["note"].startswith("stale: pending since")
    assert inventory_drift() == []


def test_cancel_stale_leaves_recent_confirmed_and_draft_sales_alone(stale, warehouse):
    sale, variant = stale
    fresh = SaleFactory(items=[ItemData(variant=variant, quantity=1)])
    confirmed = SaleFactory(items=[ItemData(variant=variant, quantity=1)], status="confirmed")
    draft = SaleFactory(items=[ItemData(variant=variant, quantity=1)], status="draft")
    age(confirmed, 100)
    age(draft, 100)

    run("cancel_stale_sales", "--older-than", "48h")

    statuses = dict(Sale.objects.values_list("pk", "status"))
    assert statuses == {
        sale.pk: SaleStatus.CANCELLED,
        fresh.pk: SaleStatus.PENDING,
        confirmed.pk: SaleStatus.CONFIRMED,
        draft.pk: SaleStatus.DRAFT,
    }


def test_cancel_stale_counts_age_from_the_submit_not_the_creation(warehouse):
    variant = stocked_variant(5)
    sale = SaleFactory(items=[ItemData(variant=variant, quantity=1)], status="draft")
    age(sale, 100)  # drafted long ago ...
    sale_submit(sale=sale, user=None)  # ... submitted just now

    out, _ = run("cancel_stale_sales", "--older-than", "48h")

    assert "Found 0 stale pending sale(s)" in out
    assert Sale.objects.get(pk=sale.pk).status == SaleStatus.PENDING


def test_stale_sale_confirmed_after_it_was_listed_is_not_cancelled(stale):
    sale, variant = stale
    sale_confirm(sale=sale, user=None)

    assert sale_cancel_stale(sale=sale, older_than=timedelta(hours=48)) is None
    sale.refresh_from_db()
    assert sale.status == SaleStatus.CONFIRMED
    assert StockLevel.objects.get(variant=variant).on_hand == 8  # not restocked


def test_one_failed_cancel_does_not_undo_the_others(stale, warehouse):
    sale, variant = stale
    other_variant = stocked_variant(4)
    broken = SaleFactory(items=[ItemData(variant=other_variant, quantity=3)])
    age(broken, 60)
    StockLevel.objects.filter(variant=other_variant).update(reserved=0)  # releasing 3 would go negative

    out, err, error = run_failing("cancel_stale_sales", "--older-than", "2d")

    assert f"FAILED {broken.reference}" in err
    assert "cancelled 1, skipped 0 (changed meanwhile), failed 1" in out
    assert "1 sale(s) could not be cancelled" in str(error)
    assert Sale.objects.get(pk=sale.pk).status == SaleStatus.CANCELLED
    assert Sale.objects.get(pk=broken.pk).status == SaleStatus.PENDING
    assert reserved(variant) == 0


# --- recalculate_totals ----------------------------------------------------------------


@pytest.fixture
def priced(warehouse):
    """A confirmed, fully paid sale: 2 × 25.00 and 1 × 10.00, 10 % order discount, VAT 22 %, shipping 5.00."""
    sale = SaleFactory(
        items=[
            ItemData(variant=stocked_variant(5, price=Decimal("25.00")), quantity=2),
            ItemData(variant=stocked_variant(5, price=Decimal("10.00")), quantity=1),
        ],
        status="confirmed",
        tax=TaxRateFactory(code="vat22", name="VAT 22%", rate=Decimal("22.00")),
        discount=Decimal("10"),
        discount_type="percent",
        shipping_cost=Decimal("5.00"),
    )
    sale_record_payment(sale=sale, amount=sale.grand_total)
    sale.refresh_from_db()
    assert (sale.grand_total, sale.payment_status) == (Decimal("70.88"), PaymentStatus.PAID)
    return sale


def test_recalculate_reports_a_raw_changed_total_and_exits_nonzero(priced):
    Sale.objects.filter(pk=priced.pk).update(grand_total=Decimal("80.00"))

    out, _, error = run_failing("recalculate_totals")

    assert f"DRIFT {priced.reference}: grand_total 80.00 → 70.88" in out
    assert "Checked 1 sale(s), drift 1, fixed 0." in out
    assert "--fix" in str(error)
    assert Sale.objects.get(pk=priced.pk).grand_total == Decimal("80.00")


def test_recalculate_fix_dry_run_writes_nothing(priced):
    Sale.objects.filter(pk=priced.pk).update(grand_total=Decimal("80.00"))
    events = SaleEvent.objects.count()

    out, _, _ = run_failing("recalculate_totals", "--fix", "--dry-run")

    assert "dry run: nothing written" in out
    assert Sale.objects.get(pk=priced.pk).grand_total == Decimal("80.00")
    assert SaleEvent.objects.count() == events


def test_recalculate_fix_repairs_totals_and_logs_an_event(priced):
    Sale.objects.filter(pk=priced.pk).update(
        grand_total=Decimal("80.00"), tax_total=Decimal("1.00"), payment_status=PaymentStatus.PARTIALLY_PAID
    )
    SaleItem.objects.filter(sale=priced).update(total=Decimal("0.01"))

    out, _ = run("recalculate_totals", "--fix")

    assert "drift 1, fixed 1." in out
    sale = Sale.objects.get(pk=priced.pk)
    assert (sale.grand_total, sale.tax_total, sale.payment_status) == (
        Decimal("70.88"),
        priced.tax_total,
        PaymentStatus.PAID,
    )
    assert sum(item.total for item in sale.items.all()) + sale.shipping_cost + sale.shipping_tax == Decimal("70.88")
    event = sale.events.filter(type=SaleEventType.EDITED).get()
    assert event.data["reason"] == "totals recalculated"
    assert event.data["before"]["grand_total"] == "80.00" and event.data["after"]["grand_total"] == "70.88"
    assert event.data["after"]["payment_status"] == PaymentStatus.PAID
    assert event.data["lines"] == 2
    out, _ = run("recalculate_totals")
    assert "drift 0" in out


def test_recalculate_detects_a_drifted_line_alone(priced):
    item = priced.items.order_by("pk").first()
    SaleItem.objects.filter(pk=item.pk).update(net_total=item.net_total + 1)

    out, _, _ = run_failing("recalculate_totals")

    assert "1 line(s) with other amounts" in out


def test_recalculate_sale_option_limits_the_run_to_one_sale(priced, warehouse):
    other = SaleFactory()
    Sale.objects.filter(pk__in=[priced.pk, other.pk]).update(subtotal=Decimal("999.00"))

    out, _ = run("recalculate_totals", "--sale", priced.reference, "--fix")

    assert "Checked 1 sale(s), drift 1, fixed 1." in out
    assert Sale.objects.get(pk=priced.pk).subtotal == Decimal("60.00")
    assert Sale.objects.get(pk=other.pk).subtotal == Decimal("999.00")


def test_recalculate_unknown_sale_is_a_command_error(priced):
    with pytest.raises(CommandError, match="no sale with reference 'NOPE'"):
        call_command("recalculate_totals", "--sale", "NOPE")


# --- reconcile_payments ----------------------------------------------------------------


def test_reconcile_dry_run_reports_and_writes_nothing(priced):
    Sale.objects.filter(pk=priced.pk).update(payment_status=PaymentStatus.UNPAID, paid_total=Decimal("0.00"))
    events = SaleEvent.objects.count()

    out, _, error = run_failing("reconcile_payments", "--dry-run")

    assert f"WOULD FIX {priced.reference}: paid_total 0.00 → 70.88, payment_status unpaid → paid" in out
    assert "1 sale(s)" in str(error)
    sale = Sale.objects.get(pk=priced.pk)
    assert (sale.payment_status, sale.paid_total) == (PaymentStatus.UNPAID, Decimal("0.00"))
    assert SaleEvent.objects.count() == events


def test_reconcile_repairs_a_raw_changed_payment_status(priced, warehouse):
    untouched = SaleFactory()
    Sale.objects.filter(pk=priced.pk).update(payment_status=PaymentStatus.OVERPAID)

    out, _ = run("reconcile_payments")

    assert "Checked 2 sale(s), drift 1, fixed 1." in out
    assert Sale.objects.get(pk=priced.pk).payment_status == PaymentStatus.PAID
    event = priced.events.filter(type=SaleEventType.EDITED).get()
    assert event.data == {
        "reason": "payments reconciled",
        "fields": ["payment_status"],
        "before": {"paid_total": "70.88", "payment_status": "overpaid"},
        "after": {"paid_total": "70.88", "payment_status": "paid"},
    }
    assert not untouched.events.filter(type=SaleEventType.EDITED).exists()
    out, _ = run("reconcile_payments", "--dry-run")
    assert "drift 0" in out


def test_reconcile_counts_only_successful_payments_net_of_refunds(priced):
    sale_record_payment(sale=priced, amount=Decimal("20.88"), kind="refund")
    sale_record_payment(sale=priced, amount=Decimal("5.00"), status="failed")
    Sale.objects.filter(pk=priced.pk).update(paid_total=Decimal("70.88"), payment_status=PaymentStatus.PAID)
    assert Payment.objects.filter(sale=priced).count() == 3

    run("reconcile_payments")

    sale = Sale.objects.get(pk=priced.pk)
    assert (sale.paid_total, sale.payment_status) == (Decimal("50.00"), PaymentStatus.PARTIALLY_REFUNDED)


def test_reconcile_unknown_sale_is_a_command_error(priced):
    with pytest.raises(CommandError, match="no sale with reference"):
        call_command("reconcile_payments", "--sale", "NOPE")
