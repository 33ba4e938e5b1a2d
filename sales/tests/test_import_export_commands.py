"""`export_sales` and `import_sales`: round trip, idempotency, rejections, dry run, bad arguments."""

import csv
import io
import os
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.utils import timezone

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from inventory.models import StockLevel, StockMovement
from inventory.tests.factories import WarehouseFactory, default_warehouse, stocked_variant
from sales import services
from sales.csv_io import EXPORT_COLUMNS
from sales.models import ExchangeRate, Fulfillment, Sale, SaleEvent, SaleItem, SaleStatus
from sales.services import ItemData
from sales.tests.factories import CarrierFactory, ChannelFactory, SaleFactory, TaxRateFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal

SALE_FIELDS = (
    "reference",
    "status",
    "seller_id",
    "customer_id",
    "channel_id",
    "warehouse_id",
    "currency",
    "external_id",
    "discount",
    "discount_type",
    "tax_id",
    "tax_rate",
    "prices_include_tax",
    "shipping_cost",
    "tax_shipping",
    "subtotal",
    "discount_total",
    "shipping_tax",
    "tax_total",
    "grand_total",
    "paid_total",
    "payment_status",
    "fulfillment_status",
    "sold_at",
    "cancel_reason",
)
# Not `stock_warehouse`: a sale cancelled after confirm remembers where its units came from, while its import
# is cancelled as a draft that never took any; both end up holding no stock.
ITEM_FIELDS = (
    "sku",
    "variant_id",
    "quantity",
    "unit_price",
    "cost_price",
    "discount",
    "discount_type",
    "tax_rate",
    "subtotal",
    "discount_total",
    "tax_total",
    "net_total",
    "total",
    "warehouse_id",
    "carrier_id",
    "tracking_code",
    "tracking_url",
)


# --- helpers ---


def run(command: str, *args, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def run_failing(command: str, *args, **options) -> tuple[str, str, str]:
    """Run a command that must fail: (error message, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(command, *args, stdout=out, stderr=err, **options)
    return str(caught.value), out.getvalue(), err.getvalue()


def snapshot() -> dict[str, tuple]:
    """Every sale by reference, with its lines, in the fields a round trip must keep."""
    items: dict[int, list] = {}
    for item in SaleItem.objects.order_by("pk").values("sale_id", *ITEM_FIELDS):
        items.setdefault(item.pop("sale_id"), []).append(item)
    return {
        sale["reference"]: (sale, items.get(sale.pop("id"), []))
        for sale in Sale.objects.order_by("reference").values("id", *SALE_FIELDS)
    }


def counts() -> dict[str, int]:
    return {
        "sales": Sale.objects.count(),
        "items": SaleItem.objects.count(),
        "events": SaleEvent.objects.count(),
        "movements": StockMovement.objects.count(),
        "customers": Customer.objects.count(),
    }


def stock_of(variant) -> list[tuple[int, int]]:
    return list(StockLevel.objects.filter(variant=variant).order_by("pk").values_list("on_hand", "reserved"))


def read_csv(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def write_csv(path, rows: list[dict[str, str]], columns=EXPORT_COLUMNS) -> str:
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def row(reference: str, sku: str, **values) -> dict[str, str]:
    """A hand-written import row: blank totals are not checked, blank seller falls back to --user."""
    base = {
        "reference": reference,
        "status": "confirmed",
        "item_sku": sku,
        "item_quantity": "1",
        "item_unit_price": "10.00",
    }
    return {**base, **values}


def delete_sales() -> None:
    """Empty the sales tables (stock levels keep what the original sales took) to import into a fresh state."""
    SaleEvent.objects.all().delete()
    Fulfillment.objects.all().delete()  # protects its sale (history); its lines and tracking go with it
    Sale.objects.all().delete()


@pytest.fixture
def catalogue(db):
    """Three stocked variants in the default warehouse, a second warehouse, and reference data."""
    default_warehouse()
    # The EUR sale (and its re-import) takes this rate to the base currency.
    ExchangeRate.objects.create(currency="EUR", rate=D("1.08000000"), valid_from=timezone.now() - timedelta(days=400))
    return {
        "a": stocked_variant(100, sku="A-1", price=D("80.00")),
        "b": stocked_variant(100, sku="B-1", price=D("90.00")),
        "c": stocked_variant(100, sku="C-1", price=D("100.00")),
        "north": WarehouseFactory(code="NORTH"),
        "channel": ChannelFactory(code="shop"),
        "tax": TaxRateFactory(),
        "carrier": CarrierFactory(code="ups"),
    }


@pytest.fixture
def every_status(catalogue, seller):
    """One sale in each importable status, with customers, discounts, taxes, shipping and a second warehouse."""
    cat = catalogue
    customer = CustomerFactory(email="ada@example.com", name="Ada")
    north_variant = stocked_variant(10, sku="N-1", warehouse=cat["north"])
    common = {"channel": cat["channel"], "tax": cat["tax"]}
    services.sale_create(
        seller=seller,
        data=services.NewSale(
            **common,
            status=SaleStatus.COMPLETED,
            reference="R-COMPLETED",
            customer=customer,
            discount=D("100.00"),
            sold_at=timezone.now() - timedelta(days=3),
            items=[
                ItemData(variant=cat["a"], quantity=2),
                ItemData(variant=cat["b"], quantity=2),
                ItemData(variant=cat["c"], quantity=10),
            ],
        ),
    )
    services.sale_create(
        seller=seller,
        data=services.NewSale(
            **common,
            status=SaleStatus.CONFIRMED,
            reference="R-CONFIRMED",
            prices_include_tax=True,
            shipping_cost=D("7.50"),
            tax_shipping=True,
            discount=D("10"),
            discount_type="percent",
            items=[
                ItemData(variant=cat["a"], quantity=1, unit_price=D("33.33"), discount=D("5"), discount_type="percent"),
                ItemData(variant=north_variant, quantity=3, warehouse=cat["north"]),
            ],
        ),
    )
    services.sale_create(
        seller=seller,
        data=services.NewSale(
            status=SaleStatus.PENDING,
            reference="R-PENDING",
            customer=customer,
            items=[ItemData(variant=cat["b"], quantity=4, discount=D("3.00"))],
        ),
    )
    services.sale_create(
        seller=seller,
        data=services.NewSale(
            status=SaleStatus.DRAFT,
            reference="R-DRAFT",
            currency="EUR",
            external_id="ext-9",
            # Outside the base currency a line states its price (or takes it from a price list in EUR).
            items=[ItemData(variant=cat["c"], quantity=1, unit_price=D("9.50"))],
        ),
    )
    shipped = services.sale_create(
        seller=seller,
        data=services.NewSale(
            status=SaleStatus.CONFIRMED,
            reference="R-SHIPPED",
            items=[ItemData(variant=cat["a"], quantity=1)],
        ),
    )
    services.sale_ship(sale=shipped, user=seller, carrier=cat["carrier"], tracking_code="1Z999")
    cancelled = services.sale_create(
        seller=seller,
        data=services.NewSale(
            status=SaleStatus.CONFIRMED,
            reference="R-CANCELLED",
            items=[ItemData(variant=cat["b"], quantity=2)],
        ),
    )
    services.sale_cancel(sale=cancelled, user=seller, reason="fraud")
    rejected = services.sale_create(
        seller=seller,
        data=services.NewSale(
            status=SaleStatus.PENDING,
            reference="R-REJECTED",
            items=[ItemData(variant=cat["c"], quantity=1)],
        ),
    )
    services.sale_reject(sale=rejected, user=seller, reason="out of area")


# --- export_sales ---


def test_export_writes_every_sale_one_row_per_item(tmp_path, every_status):
    path = tmp_path / "sales.csv"

    out, _ = run("export_sales", str(path))

    rows = read_csv(path)
    assert len(rows) == SaleItem.objects.count() == 10
    assert {r["reference"] for r in rows} == set(Sale.objects.values_list("reference", flat=True))
    assert "Exported 7 sale(s)" in out
    completed = [r for r in rows if r["reference"] == "R-COMPLETED"]
    assert [r["grand_total"] for r in completed] == ["1302.00"] * 3


def test_export_to_standard_output_keeps_the_summary_off_it(every_status):
    out, err = run("export_sales", "-")

    assert out.splitlines()[0] == ",".join(EXPORT_COLUMNS)
    assert len(list(csv.DictReader(io.StringIO(out)))) == 10
    assert "Exported 7 sale(s) to standard output" in err


def test_export_filters_by_status_and_channel(every_status):
    out, _ = run("export_sales", "-", status=["pending", "draft"])
    assert {r["reference"] for r in csv.DictReader(io.StringIO(out))} == {"R-PENDING", "R-DRAFT"}

    out, _ = run("export_sales", "-", "--channel", "shop")
    assert {r["reference"] for r in csv.DictReader(io.StringIO(out))} == {"R-COMPLETED", "R-CONFIRMED"}


def test_export_filters_by_creation_date_including_the_until_day(db):
    old, mid, new = SaleFactory(reference="OLD"), SaleFactory(reference="MID"), SaleFactory(reference="NEW")
    for sale, day in ((old, "2025-01-01"), (mid, "2025-02-15"), (new, "2025-03-31")):
        Sale.objects.filter(pk=sale.pk).update(created_at=f"{day}T12:00:00+00:00")

    out, _ = run("export_sales", "-", "--since", "2025-02-01", "--until", "2025-03-31")

    assert [r["reference"] for r in csv.DictReader(io.StringIO(out))] == ["MID", "NEW"]


def test_export_dry_run_writes_no_file(tmp_path, every_status):
    path = tmp_path / "sales.csv"

    out, _ = run("export_sales", str(path), "--dry-run")

    assert not path.exists()
    assert "would export 7 sale(s), 10 item row(s)" in out


def test_export_replaces_an_existing_file_whole(tmp_path, every_status):
    path = tmp_path / "sales.csv"
    path.write_text("old content that is longer than nothing\n" * 1000)

    run("export_sales", str(path), status=["draft"])

    assert [r["reference"] for r in read_csv(path)] == ["R-DRAFT"]
    assert [p.name for p in tmp_path.iterdir()] == ["sales.csv"]  # no temporary file left behind


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "--since"),
        (["--until", "2025-13-01"], "--until"),
        (["--channel", "nope"], "--channel"),
    ],
)
def test_export_bad_filters_are_command_errors(db, args, message):
    error, _, _ = run_failing("export_sales", "-", *args)

    assert message in error


def test_export_to_a_directory_or_a_missing_directory_is_a_command_error(tmp_path, db):
    assert "is a directory" in run_failing("export_sales", str(tmp_path))[0]
    assert "does not exist" in run_failing("export_sales", str(tmp_path / "missing" / "sales.csv"))[0]


def test_export_refuses_an_unknown_status_at_parse_time(db):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("export_sales", "-", "--status", "lost", stdout=io.StringIO())


# --- import_sales: round trip and idempotency ---


def test_round_trip_recreates_the_same_sales_lines_and_totals(tmp_path, every_status):
    path = tmp_path / "sales.csv"
    run("export_sales", str(path))
    before = snapshot()
    delete_sales()

    out, err = run("import_sales", str(path))

    assert snapshot() == before
    assert "rows read 10, sales created 7, skipped (already imported) 0, rejected 0" in out
    assert err == ""


def test_round_trip_exports_the_same_file_again(tmp_path, every_status):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    run("export_sales", str(first))
    delete_sales()
    run("import_sales", str(first))

    run("export_sales", str(second))

    def comparable(path):
        rows = read_csv(path)
        for r in rows:
            del r["number"], r["created_at"]
        return sorted(rows, key=lambda r: (r["reference"], r["item_sku"]))

    assert comparable(second) == comparable(first)


def test_round_trip_moves_stock_like_the_original_sales(tmp_path, every_status, catalogue):
    path = tmp_path / "sales.csv"
    run("export_sales", str(path))
    taken = {key: catalogue[key] for key in ("a", "b", "c")}
    levels_before = {key: stock_of(v) for key, v in taken.items()}
    originals = dict(Sale.objects.values_list("reference", "pk"))
    # What the original sales did to stock, per variant: (on_hand, reserved) deltas.
    effect = {}
    for key, variant in taken.items():
        moves = StockMovement.objects.filter(variant=variant, sale_id__in=originals.values())
        effect[key] = (sum(m.on_hand_change for m in moves), sum(m.reserved_change for m in moves))
    delete_sales()

    run("import_sales", str(path))

    for key, variant in taken.items():
        ((on_hand, reserved),) = levels_before[key]
        assert stock_of(variant) == [(on_hand + effect[key][0], reserved + effect[key][1])]


def test_second_import_of_the_same_file_creates_nothing(tmp_path, every_status):
    path = tmp_path / "sales.csv"
    run("export_sales", str(path))
    delete_sales()
    run("import_sales", str(path))
    after_first = counts()
    levels = list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved"))

    out, err = run("import_sales", str(path))

    assert counts() == after_first
    assert list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved")) == levels
    assert "rows read 10, sales created 0, skipped (already imported) 7, rejected 0" in out
    assert err == ""


def test_import_into_the_same_database_skips_every_sale(tmp_path, every_status):
    path = tmp_path / "sales.csv"
    run("export_sales", str(path))
    before = counts()

    out, _ = run("import_sales", str(path))

    assert counts() == before
    assert "sales created 0, skipped (already imported) 7" in out


# --- import_sales: delivery, payment mode, fulfilments and cancelled units (round 2) ---

NEW_COLUMNS = (
    "delivery_mode", "payment_mode", "delivery_note", "fulfillment_status", "delivery_status", "cancellation_status",
    "item_quantity_cancelled", "item_quantity_fulfilled",
)


@pytest.fixture
def delivered_in_two_parcels(catalogue, seller):
    """A pick-up sale paid in store, handed over in two parts, and a dispatch sale cancelled line by line."""
    pickup = services.sale_create(
        seller=seller,
        data=services.NewSale(
            status=SaleStatus.CONFIRMED,
            reference="R-PICKUP",
            delivery_mode="pickup",
            payment_mode="in_store",
            delivery_note="Ask for Marta, back door",
            items=[ItemData(variant=catalogue["a"], quantity=3), ItemData(variant=catalogue["b"], quantity=1)],
        ),
    )
    a, _ = pickup.items.order_by("pk")
    services.sale_fulfil(sale=pickup, user=seller, lines=[services.ItemQuantity(a, 2)])
    services.sale_fulfil(sale=pickup, user=seller)
    called_off = services.sale_create(
        seller=seller,
        data=services.NewSale(
            status=SaleStatus.CONFIRMED,
            reference="R-CALLED-OFF",
            payment_mode="prepaid",
            items=[ItemData(variant=catalogue["c"], quantity=2)],
        ),
    )
    services.sale_cancel_items(
        sale=called_off, user=seller, lines=[services.ItemQuantity(called_off.items.get(), 2)], reason="customer"
    )


def test_export_carries_delivery_payment_mode_statuses_and_unit_counts(tmp_path, delivered_in_two_parcels):
    path = tmp_path / "sales.csv"
    run("export_sales", str(path))

    rows = {(r["reference"], r["item_sku"]): r for r in read_csv(path)}

    pickup = rows[("R-PICKUP", "A-1")]
    assert {name: pickup[name] for name in NEW_COLUMNS} == {
        "delivery_mode": "pickup",
        "payment_mode": "in_store",
        "delivery_note": "Ask for Marta, back door",
        "fulfillment_status": "fulfilled",
        "delivery_status": "ready_for_pickup",
        "cancellation_status": "none",
        "item_quantity_cancelled": "0",
        "item_quantity_fulfilled": "3",
    }
    called_off = rows[("R-CALLED-OFF", "C-1")]
    assert (called_off["status"], called_off["payment_mode"], called_off["cancellation_status"]) == (
        "cancelled", "prepaid", "full"
    )
    # Cancelled whole: its line stays as sold (cancellation_status says it all).
    assert (called_off["item_quantity_cancelled"], called_off["item_quantity_fulfilled"]) == ("0", "0")


def test_round_trip_keeps_delivery_and_payment_mode_and_the_note(tmp_path, delivered_in_two_parcels):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    run("export_sales", str(first))
    delete_sales()

    out, err = run("import_sales", str(first))

    assert "sales created 2, skipped (already imported) 0, rejected 0" in out, err
    pickup = Sale.objects.get(reference="R-PICKUP")
    assert (pickup.delivery_mode, pickup.payment_mode, pickup.delivery_note) == (
        "pickup", "in_store", "Ask for Marta, back door"
    )
    # Two parcels come back as one (the import ships everything at once): the per-line counts agree.
    assert [f.status for f in pickup.fulfillments.all()] == ["ready_for_pickup"]
    run("export_sales", str(second))

    def comparable(path):
        return sorted(
            ({k: v for k, v in r.items() if k not in ("number", "created_at")} for r in read_csv(path)),
            key=lambda r: (r["reference"], r["item_sku"]),
        )

    assert comparable(second) == comparable(first)


def test_a_file_from_before_the_delivery_columns_still_imports(tmp_path, catalogue, seller):
    old_columns = tuple(c for c in EXPORT_COLUMNS if c not in NEW_COLUMNS)
    path = write_csv(tmp_path / "old.csv", [row("OLD", "A-1", status="in_delivery")], columns=old_columns)

    out, err = run("import_sales", path, "--user", seller.username)

    assert "sales created 1" in out and err == ""
    sale = Sale.objects.get(reference="OLD")
    assert (sale.delivery_mode, sale.payment_mode, sale.delivery_note) == ("dispatch", None, "")
    assert (sale.status, sale.fulfillment_status, sale.delivery_status) == ("in_delivery", "fulfilled", "shipped")


def test_status_columns_are_informational_and_modes_are_checked(tmp_path, catalogue, seller):
    path = write_csv(
        tmp_path / "in.csv",
        [
            row(
                "INFO", "A-1", fulfillment_status="fulfilled", delivery_status="delivered", item_quantity_fulfilled="1"
            ),
            row("BADMODE", "A-1", delivery_mode="drone", payment_mode="barter"),
        ],
    )

    _, _, err = run_failing("import_sales", path, "--user", seller.username)

    info = Sale.objects.get(reference="INFO")
    assert (info.status, info.fulfillment_status, info.delivery_status) == ("confirmed", "unfulfilled", "none")
    assert "line 3 (BADMODE): delivery_mode: 'drone' is not one of dispatch, pickup." in err
    assert "line 3 (BADMODE): payment_mode: 'barter' is not one of prepaid, on_delivery, in_store." in err


def test_import_rejects_a_sale_with_part_of_its_units_cancelled(tmp_path, catalogue, seller):
    path = write_csv(
        tmp_path / "in.csv",
        [row("PART", "A-1", item_quantity="3", item_quantity_cancelled="1"), row("OK", "B-1")],
    )

    _, _, err = run_failing("import_sales", path, "--user", seller.username)

    assert "line 2 (PART): item_quantity_cancelled: sales with part of their units cancelled are not imported" in err
    assert list(Sale.objects.values_list("reference", flat=True)) == ["OK"]


# --- import_sales: statuses ---


def test_import_recreates_shipped_cancelled_and_rejected_sales_through_their_transitions(tmp_path, catalogue, seller):
    path = write_csv(
        tmp_path / "in.csv",
        [
            row("SHIP", "A-1", status="in_delivery", item_carrier="ups", item_tracking_code="1Z1"),
            row("CANC", "B-1", status="cancelled", cancel_reason="customer"),
            row("REJ", "C-1", status="rejected"),
        ],
    )
    levels = {key: stock_of(catalogue[key]) for key in ("b", "c")}

    run("import_sales", path, "--user", seller.username)

    shipped = Sale.objects.get(reference="SHIP")
    assert (shipped.status, shipped.fulfillment_status) == ("in_delivery", "fulfilled")
    assert shipped.shipped_at is not None
    assert shipped.items.get().tracking_url == "https://track.example.com/1Z1"
    cancelled = Sale.objects.get(reference="CANC")
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "customer")
    assert Sale.objects.get(reference="REJ").status == "rejected"
    # A cancelled or rejected sale ends up holding no stock, as the original did.
    assert {key: stock_of(catalogue[key]) for key in ("b", "c")} == levels


def test_import_rejects_refunded_sales_and_sales_with_returns(tmp_path, catalogue, seller):
    path = write_csv(
        tmp_path / "in.csv",
        [
            row("REF", "A-1", status="refunded"),
            row("RET", "A-1", status="completed", item_quantity="2", item_quantity_returned="1"),
            row("OK", "A-1"),
        ],
    )

    _, out, err = run_failing("import_sales", path, "--user", seller.username)

    assert "line 2 (REF): status: refunded sales are not imported" in err
    assert "line 3 (RET): item_quantity_returned: sales with returned units are not imported" in err
    assert list(Sale.objects.values_list("reference", flat=True)) == ["OK"]
    assert "sales created 1, skipped (already imported) 0, rejected 2" in out


# --- import_sales: rejections ---


def test_a_bad_row_rejects_exactly_its_sale_with_the_line_number(tmp_path, catalogue, seller):
    path = write_csv(
        tmp_path / "in.csv",
        [
            row("GOOD", "A-1", item_quantity="2"),
            row("GOOD", "B-1"),
            row("SKU", "A-1"),
            row("SKU", "NOPE"),
            row("QTY", "A-1", item_quantity="two"),
            row("MONEY", "B-1", item_unit_price="1,2"),
            row("MONEY", "C-1", item_discount="abc"),
            row("ALSO-GOOD", "C-1", status="completed"),
        ],
    )
    before = counts()

    error, out, err = run_failing("import_sales", path, "--user", seller.username)

    assert sorted(Sale.objects.values_list("reference", flat=True)) == ["ALSO-GOOD", "GOOD"]
    assert Sale.objects.get(reference="GOOD").items.count() == 2
    assert counts()["sales"] == before["sales"] + 2
    lines = err.splitlines()
    assert "line 4 (SKU): rejected with its sale (see line 5)." in lines
    assert "line 5 (SKU): item_sku: no variant with sku 'NOPE'." in lines
    assert "line 6 (QTY): item_quantity: 'two' is not a whole number of at least 1." in lines
    assert "line 7 (MONEY): item_unit_price: '1,2' is not an amount like 12.50." in lines
    assert "line 8 (MONEY): item_discount: 'abc' is not an amount like 12.50." in lines
    assert not any(line.startswith(("line 2 ", "line 3 ", "line 9 ")) for line in lines)
    assert "rows read 8, sales created 2, skipped (already imported) 0, rejected 3" in out
    assert "5 row(s) rejected (3 sale(s))" in error
    assert len(lines) == 5


def test_insufficient_stock_rejects_that_sale_and_moves_no_stock(tmp_path, catalogue, seller):
    scarce = stocked_variant(1, sku="SCARCE")
    path = write_csv(
        tmp_path / "in.csv",
        [
            row("SHORT", "A-1"),
            row("SHORT", "SCARCE", item_quantity="5"),
            row("FINE", "SCARCE"),
        ],
    )
    movements = set(StockMovement.objects.values_list("pk", flat=True))

    _, _, err = run_failing("import_sales", path, "--user", seller.username)

    assert "line 3 (SHORT): insufficient stock: SCARCE: requested 5, available 1." in err
    assert "line 2 (SHORT): rejected with its sale (see line 3)." in err
    assert list(Sale.objects.values_list("reference", flat=True)) == ["FINE"]
    new_movements = StockMovement.objects.exclude(pk__in=movements)
    assert set(new_movements.values_list("sale__reference", flat=True)) == {"FINE"}
    assert stock_of(scarce) == [(0, 0)]


def test_totals_that_differ_from_pricing_reject_the_sale(tmp_path, catalogue, seller):
    path = write_csv(
        tmp_path / "in.csv",
        [
            row("TOTAL", "A-1", item_quantity="2", grand_total="25.00", item_total="20.00"),
            row("LINE", "A-1", item_total="11.00"),
            row("RIGHT", "A-1", item_quantity="3", subtotal="30.00", grand_total="30.00", item_total="30.00"),
        ],
    )

    _, _, err = run_failing("import_sales", path, "--user", seller.username)

    assert "line 2 (TOTAL): grand_total: the file says 25.00, pricing computes 20.00." in err
    assert "line 3 (LINE): item_total: the file says 11.00, pricing computes 10.00." in err
    assert list(Sale.objects.values_list("reference", flat=True)) == ["RIGHT"]


def test_rows_of_one_sale_that_disagree_on_sale_columns_reject_it(tmp_path, catalogue, seller):
    path = write_csv(
        tmp_path / "in.csv",
        [
            row("MIXED", "A-1", status="confirmed"),
            row("MIXED", "B-1", status="completed", grand_total="5.00"),
        ],
    )

    _, _, err = run_failing("import_sales", path, "--user", seller.username)

    assert "line 3 (MIXED): sale column(s) status, grand_total differ from line 2, the first row of this sale." in err
    assert "line 2 (MIXED): rejected with its sale (see line 3)." in err
    assert not Sale.objects.exists()


def test_a_row_without_reference_is_rejected_alone(tmp_path, catalogue, seller):
    path = write_csv(tmp_path / "in.csv", [row("", "A-1"), row("OK", "A-1")])

    _, out, err = run_failing("import_sales", path, "--user", seller.username)

    assert "line 2: reference: required" in err
    assert list(Sale.objects.values_list("reference", flat=True)) == ["OK"]
    assert "rejected 0 (and 1 row(s) without a reference)" in out


def test_unknown_codes_are_reported_by_column(tmp_path, catalogue, seller):
    path = write_csv(
        tmp_path / "in.csv",
        [
            row(
                "CODES", "A-1", channel="tv", warehouse="SOUTH", tax="vat99", item_warehouse="EAST", item_carrier="dhl"
            ),
        ],
    )

    _, _, err = run_failing("import_sales", path, "--user", seller.username)

    for expected in (
        "channel: no channel with code 'tv'",
        "warehouse: no warehouse with code 'SOUTH'",
        "tax: no tax rate with code 'vat99'",
        "item_warehouse: no warehouse with code 'EAST'",
        "item_carrier: no carrier with code 'dhl'",
    ):
        assert expected in err


# --- import_sales: sellers and customers ---


def test_seller_is_found_by_username_and_falls_back_to_the_operator(tmp_path, catalogue):
    alice, operator = UserFactory(username="alice"), UserFactory(username="operator")
    path = write_csv(
        tmp_path / "in.csv", [row("MINE", "A-1", seller="alice"), row("GONE", "A-1", seller="zed"), row("BLANK", "A-1")]
    )

    run("import_sales", path, "--user", "operator")

    assert dict(Sale.objects.values_list("reference", "seller")) == {
        "MINE": alice.pk,
        "GONE": operator.pk,
        "BLANK": operator.pk,
    }
    assert SaleEvent.objects.filter(sale__reference="MINE", type="created").get().user == operator


def test_without_an_operator_a_row_with_an_unknown_seller_is_rejected(tmp_path, catalogue):
    path = write_csv(tmp_path / "in.csv", [row("GONE", "A-1", seller="zed")])

    _, _, err = run_failing("import_sales", path)

    assert "line 2 (GONE): seller: no user 'zed' here, and no --user to fall back on." in err


def test_a_customer_is_found_by_email_or_created_with_the_file_name(tmp_path, catalogue, seller):
    known = CustomerFactory(email="known@example.com")
    path = write_csv(
        tmp_path / "in.csv",
        [
            row("KNOWN", "A-1", customer_email="KNOWN@example.com", customer_name="Other name"),
            row("NEW", "A-1", customer_email="new@example.com", customer_name="Grace Hopper"),
            row("BAD", "A-1", customer_email="not-an-email"),
        ],
    )

    _, _, err = run_failing("import_sales", path, "--user", seller.username)

    assert Sale.objects.get(reference="KNOWN").customer == known
    created = Sale.objects.get(reference="NEW").customer
    assert (created.name, created.email) == ("Grace Hopper", "new@example.com")
    assert "line 4 (BAD): customer_email: 'not-an-email' is not an email address." in err


def test_a_rejected_sale_leaves_no_customer_behind(tmp_path, catalogue, seller):
    path = write_csv(tmp_path / "in.csv", [row("X", "A-1", customer_email="new@example.com", grand_total="1.00")])

    run_failing("import_sales", path, "--user", seller.username)

    assert not Customer.objects.filter(email="new@example.com").exists()


# --- import_sales: dry run ---


def test_dry_run_validates_everything_and_saves_nothing(tmp_path, every_status):
    path = tmp_path / "sales.csv"
    run("export_sales", str(path))
    delete_sales()
    Customer.objects.all().delete()
    before = counts()
    levels = list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved"))

    out, err = run("import_sales", str(path), "--dry-run")

    assert counts() == before
    assert list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved")) == levels
    assert "sales created 7" in out
    assert "dry run: nothing was saved" in out
    assert err == ""


def test_dry_run_reports_rejections_with_an_error_status(tmp_path, catalogue, seller):
    path = write_csv(tmp_path / "in.csv", [row("OK", "A-1"), row("BAD", "NOPE")])

    error, _, err = run_failing("import_sales", path, "--dry-run", "--user", seller.username)

    assert "line 3 (BAD): item_sku" in err
    assert "Nothing was saved (dry run)" in error
    assert not Sale.objects.exists()


def test_dry_run_sees_the_stock_taken_by_earlier_sales_of_the_file(tmp_path, db, seller):
    stocked_variant(3, sku="FEW")
    path = write_csv(tmp_path / "in.csv", [row("ONE", "FEW", item_quantity="2"), row("TWO", "FEW", item_quantity="2")])

    _, _, err = run_failing("import_sales", path, "--dry-run", "--user", seller.username)

    assert "line 3 (TWO): insufficient stock: FEW: requested 2, available 1." in err


# --- import_sales: bad arguments and files ---


def test_import_of_a_missing_file_is_a_command_error(tmp_path, db):
    assert "no such file" in run_failing("import_sales", str(tmp_path / "missing.csv"))[0]


def test_import_of_a_directory_is_a_command_error(tmp_path, db):
    assert "is a directory" in run_failing("import_sales", str(tmp_path))[0]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_import_of_an_unreadable_file_is_a_command_error(tmp_path, db):
    path = tmp_path / "secret.csv"
    path.write_text(",".join(EXPORT_COLUMNS) + "\n")
    path.chmod(0)

    assert "permission denied" in run_failing("import_sales", str(path))[0]


def test_import_of_a_file_missing_columns_is_a_command_error_naming_them(tmp_path, db):
    columns = [c for c in EXPORT_COLUMNS if c != "item_unit_price"]
    path = write_csv(tmp_path / "in.csv", [], columns=columns)

    assert "Missing column(s): item_unit_price." in run_failing("import_sales", path)[0]


def test_import_of_an_empty_file_is_a_command_error(tmp_path, db):
    path = tmp_path / "empty.csv"
    path.write_text("")

    assert "empty" in run_failing("import_sales", str(path))[0]


def test_import_of_a_file_in_another_encoding_is_a_command_error(tmp_path, catalogue):
    path = tmp_path / "latin.csv"
    path.write_bytes((",".join(EXPORT_COLUMNS) + "\nX,caf\xe9\n").encode("latin-1"))

    assert "not utf-8-sig text" in run_failing("import_sales", str(path))[0]
    run_failing("import_sales", str(path), "--encoding", "latin-1")  # readable now; the row itself is bad
    assert "unknown encoding" in run_failing("import_sales", str(path), "--encoding", "klingon")[0]


def test_import_with_an_unknown_operator_is_a_command_error(tmp_path, catalogue):
    path = write_csv(tmp_path / "in.csv", [row("OK", "A-1")])

    assert "--user: no user named 'ghost'" in run_failing("import_sales", path, "--user", "ghost")[0]
    assert not Sale.objects.exists()


@pytest.mark.parametrize(
    ("command", "options"),
    [("import_sales", ("--dry-run", "--user")), ("export_sales", ("--dry-run", "--status", "--since", "--until"))],
)
def test_commands_document_their_options_in_help(command, options):
    text = load_command_class("sales", command).create_parser("manage.py", command).format_help()

    for option in options:
        assert option in text


def test_import_of_a_path_through_a_file_is_a_command_error(tmp_path, db):
    path = tmp_path / "file.csv"
    path.write_text("")

    assert "cannot read it" in run_failing("import_sales", str(path / "inner.csv"))[0]


def test_a_row_with_more_values_than_columns_rejects_its_sale(tmp_path, catalogue, seller):
    path = tmp_path / "in.csv"
    good = write_csv(tmp_path / "good.csv", [row("LONG", "A-1")])
    with open(good, encoding="utf-8") as stream:
        header, line = stream.read().splitlines()
    path.write_text(f"{header}\n{line},surplus\n", encoding="utf-8")

    _, _, err = run_failing("import_sales", str(path), "--user", seller.username)

    assert "line 2 (LONG): the row has more values than the header has columns." in err
    assert not Sale.objects.exists()


def test_import_reads_standard_input_given_a_dash(tmp_path, catalogue, seller, monkeypatch):
    path = write_csv(tmp_path / "in.csv", [row("STDIN", "A-1")])
    with open(path, encoding="utf-8") as stream:
        monkeypatch.setattr("sys.stdin", io.StringIO(stream.read()))

    out, _ = run("import_sales", "-", "--user", seller.username)

    assert "sales created 1" in out
    assert Sale.objects.filter(reference="STDIN").exists()
