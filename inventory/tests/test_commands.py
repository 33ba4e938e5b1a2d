"""check_inventory and the audit service behind it: drift is found, reported, and repaired through the ledger."""

from io import StringIO

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.db.models import Sum

from inventory.models import MovementKind, StockLevel, StockMovement
from inventory.services.audit import DriftNotRepairable, inventory_drift, stock_level_repair
from inventory.tests.factories import stocked_variant
from sales.services import ItemData
from sales.tests.factories import SaleFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("check_inventory", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*args: str) -> tuple[str, str, CommandError]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("check_inventory", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), caught.value


def level_of(variant, warehouse) -> StockLevel:
    return StockLevel.objects.get(variant=variant, warehouse=warehouse)


def ledger_of(variant, warehouse) -> tuple[int, int]:
    sums = StockMovement.objects.filter(variant=variant, warehouse=warehouse).aggregate(
        on_hand=Sum("on_hand_change"), reserved=Sum("reserved_change")
    )
    return sums["on_hand"], sums["reserved"]


@pytest.fixture
def shop(warehouse):
    """A variant with 10 received, 3 reserved by a pending sale, 2 sold by a confirmed one: level 8 / 3."""
    variant = stocked_variant(10)
    pending = SaleFactory(items=[ItemData(variant=variant, quantity=3)])
    SaleFactory(items=[ItemData(variant=variant, quantity=2)], status="confirmed")
    level = level_of(variant, warehouse)
    assert (level.on_hand, level.reserved) == (8, 3)
    return variant, pending


def test_help_describes_the_options():
    help_text = load_command_class("inventory", "check_inventory").create_parser("manage.py", "check_inventory")
    text = help_text.format_help()
    assert "--fix" in text and "--dry-run" in text and "ledger" in text


def test_unknown_option_is_a_command_error():
    with pytest.raises(CommandError, match="unrecognized arguments"):
        call_command("check_inventory", "--repair")


def test_consistent_stock_reports_no_drift_and_returns_normally(shop):
    out, _ = run()
    assert "no drift" in out
    assert "Checked 1 stock level(s)" in out
    assert inventory_drift() == []


def test_raw_changed_on_hand_is_reported_with_a_nonzero_exit(shop, warehouse):
    variant, _ = shop
    StockLevel.objects.filter(variant=variant).update(on_hand=13)
    movements = StockMovement.objects.count()

    out, _, error = run_failing()

    assert f"DRIFT {variant.sku} @ {warehouse.code}: on_hand 13 but ledger sums to 8" in out
    assert "drift 1, fixed 0" in out
    assert "--fix" in str(error)
    assert level_of(variant, warehouse).on_hand == 13  # report mode changes nothing
    assert StockMovement.objects.count() == movements


def test_inventory_drift_returns_the_figures_of_each_drifted_level(shop, warehouse):
    variant, _ = shop
    StockLevel.objects.filter(variant=variant).update(on_hand=13, reserved=1)

    [drift] = inventory_drift()

    assert (drift.variant_id, drift.warehouse_id, drift.sku) == (variant.pk, warehouse.pk, variant.sku)
    assert (drift.on_hand, drift.reserved) == (13, 1)
    assert (drift.ledger_on_hand, drift.ledger_reserved, drift.pending_reserved) == (8, 3, 3)
    assert (drift.target_on_hand, drift.target_reserved, drift.reserved_correction) == (8, 3, 0)
    assert drift.repairable


def test_fix_dry_run_writes_nothing(shop, warehouse):
    variant, _ = shop
    StockLevel.objects.filter(variant=variant).update(on_hand=13)
    movements = StockMovement.objects.count()

    out, _, _ = run_failing("--fix", "--dry-run")

    assert "would append a correction row" in out
    assert "set the level to 8 on hand / 3 reserved" in out
    assert level_of(variant, warehouse).on_hand == 13
    assert StockMovement.objects.count() == movements


def test_fix_repairs_a_broken_level_and_a_second_check_is_clean(shop, warehouse):
    variant, _ = shop
    StockLevel.objects.filter(variant=variant).update(on_hand=13, reserved=0)
    before = list(StockMovement.objects.values_list("pk", "kind", "on_hand_change", "reserved_change"))

    out, _ = run("--fix")

    assert "drift 1, fixed 1." in out
    level = level_of(variant, warehouse)
    assert (level.on_hand, level.reserved) == (8, 3) == ledger_of(variant, warehouse)
    after = list(StockMovement.objects.values_list("pk", "kind", "on_hand_change", "reserved_change"))
    assert after[: len(before)] == before, "the ledger is append-only: earlier rows unchanged"
    [correction] = after[len(before) :]
    assert correction[1:] == (MovementKind.CORRECTION, 0, 0)
    assert "level was 13/0" in StockMovement.objects.get(pk=correction[0]).reason
    out, _ = run()
    assert "no drift" in out


def test_fix_brings_the_ledger_in_line_with_what_pending_sales_hold(shop, warehouse):
    """A reservation no pending sale holds (ledger and level agree with each other): pending sales win."""
    variant, _ = shop
    StockMovement.objects.create(
        variant=variant,
        warehouse=warehouse,
        kind=MovementKind.RESERVATION,
        reserved_change=4,
        reason="stray reservation",
    )
    StockLevel.objects.filter(variant=variant).update(reserved=7)
    [drift] = inventory_drift()
    assert "ledger reserves 7 but pending sales hold 3" in str(drift)

    run("--fix")

    correction = StockMovement.objects.filter(kind=MovementKind.CORRECTION).get()
    assert (correction.on_hand_change, correction.reserved_change) == (0, -4)
    assert (level_of(variant, warehouse).reserved, ledger_of(variant, warehouse)) == (3, (8, 3))
    assert inventory_drift() == []


def test_fix_recreates_a_missing_level_row(shop, warehouse):
    variant, _ = shop
    StockLevel.objects.filter(variant=variant).delete()
    [drift] = inventory_drift()
    assert drift.on_hand is None and "no stock level row" in str(drift)

    run("--fix")

    assert (level_of(variant, warehouse).on_hand, level_of(variant, warehouse).reserved) == (8, 3)
    assert inventory_drift() == []


def test_drift_it_cannot_repair_is_reported_and_exits_nonzero(shop, warehouse):
    """Pending sales hold 3 but the ledger has only 2 on hand: no level satisfies both; a person must decide."""
    variant, _ = shop
    StockMovement.objects.create(
        variant=variant, warehouse=warehouse, kind=MovementKind.ADJUSTMENT, on_hand_change=-6, reason="raw write"
    )
    movements = StockMovement.objects.count()

    out, err, error = run_failing("--fix")

    assert "NOT FIXED" in err and "pending sales hold 3" in err
    assert "could not fix 1" in out
    assert "1 stock level(s) drifted" in str(error)
    assert StockMovement.objects.count() == movements
    assert level_of(variant, warehouse).on_hand == 8
    with pytest.raises(DriftNotRepairable):
        stock_level_repair(key=(variant.pk, warehouse.pk))


def test_repair_of_a_consistent_level_writes_nothing(shop, warehouse):
    variant, _ = shop
    movements = StockMovement.objects.count()
    assert stock_level_repair(key=(variant.pk, warehouse.pk)) is None
    assert StockMovement.objects.count() == movements


def test_only_the_drifted_level_is_touched(shop, warehouse):
    variant, _ = shop
    other = stocked_variant(5)
    StockLevel.objects.filter(variant=other).update(on_hand=1)

    out, _ = run("--fix")

    assert "Checked 2 stock level(s), drift 1, fixed 1." in out
    assert StockMovement.objects.filter(kind=MovementKind.CORRECTION).get().variant_id == other.pk
    assert level_of(other, warehouse).on_hand == 5
    assert (level_of(variant, warehouse).on_hand, level_of(variant, warehouse).reserved) == (8, 3)
