"""The sales CSV format: what the writer puts in each row, how many queries it costs, and the strict parsers."""

import csv
import io
from decimal import Decimal

import pytest
from django.http import HttpResponse

from customers.tests.factories import CustomerFactory
from inventory.tests.factories import WarehouseFactory, default_warehouse, stocked_variant
from sales import services
from sales.csv_io import (
    EXPORT_COLUMNS,
    INFORMATIONAL_COLUMNS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    CsvFormatError,
    CsvValueError,
    parse_bool,
    parse_money,
    parse_percent,
    parse_quantity,
    parse_when,
    read_sales_csv,
    write_sales_csv,
)
from sales.models import Sale, SaleItem, SaleStatus
from sales.services import ItemData
from sales.tests.factories import CarrierFactory, ChannelFactory, SaleFactory, TaxRateFactory

D = Decimal


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def export(sales) -> str:
    buffer = io.StringIO()
    write_sales_csv(sales, buffer)
    return buffer.getvalue()


@pytest.fixture
def pos_sale(db, seller):
    """The seed example of the design: 1340.00 subtotal, 100.00 off, VAT 5 % exclusive → 1302.00."""
    variants = [stocked_variant(20, price=price) for price in (D("80.00"), D("90.00"), D("100.00"))]
    return services.sale_create(
        seller=seller,
        data=services.NewSale(
            status=SaleStatus.COMPLETED,
            reference="POS-1",
            customer=CustomerFactory(email="ada@example.com", name="Ada Lovelace"),
            channel=ChannelFactory(code="shop"),
            tax=TaxRateFactory(),
            discount=D("100.00"),
            items=[
                ItemData(variant=variants[0], quantity=2),
                ItemData(variant=variants[1], quantity=2),
                ItemData(variant=variants[2], quantity=10),
            ],
        ),
    )


# --- writing ---


def test_export_header_is_the_export_columns(db):
    text = export(Sale.objects.all())

    assert text.splitlines() == [",".join(EXPORT_COLUMNS)]


def test_export_writes_one_row_per_item_each_with_the_sale_totals(pos_sale):
    rows = rows_of(export(Sale.objects.all()))

    items = SaleItem.objects.filter(sale=pos_sale).order_by("pk")
    assert [(r["item_sku"], r["item_quantity"], r["item_unit_price"]) for r in rows] == [
        (item.sku, str(item.quantity), str(item.unit_price)) for item in items
    ]
    for row in rows:
        assert row["reference"] == "POS-1"
        assert row["status"] == "completed"
        assert row["channel"] == "shop"
        assert row["customer_email"] == "ada@example.com"
        assert row["seller"] == pos_sale.seller.username
        assert row["tax"] == "vat5"
        assert (row["subtotal"], row["discount_total"], row["tax_total"], row["grand_total"]) == (
            "1340.00",
            "100.00",
            "62.00",
            "1302.00",
        )
    assert sum(D(r["item_total"]) for r in rows) == D("1302.00")


def test_export_item_columns_carry_line_discount_warehouse_and_carrier(db, seller):
    other = WarehouseFactory(code="NORTH")
    variant = stocked_variant(5, warehouse=other)
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            status=SaleStatus.DRAFT,
            items=[
                ItemData(
                    variant=variant,
                    quantity=2,
                    unit_price=D("10.00"),
                    discount=D("10"),
                    discount_type="percent",
                    warehouse=other,
                    carrier=CarrierFactory(code="ups"),
                    tracking_code="1Z9",
                )
            ],
        ),
    )

    (row,) = rows_of(export([sale]))

    assert row["item_discount_type"] == "percent"
    assert row["item_discount"] == "10.00"
    assert row["item_subtotal"] == "20.00"
    assert row["item_discount_total"] == "2.00"
    assert row["item_total"] == "18.00"
    assert (row["item_warehouse"], row["item_carrier"], row["item_tracking_code"]) == ("NORTH", "ups", "1Z9")


def test_export_writes_into_an_http_response(pos_sale):
    response = HttpResponse(content_type="text/csv")

    count = write_sales_csv(Sale.objects.all(), response)

    assert count == 1
    assert len(rows_of(response.content.decode())) == 3


def test_export_returns_the_number_of_sales_not_rows(pos_sale):
    SaleFactory()

    assert write_sales_csv(Sale.objects.all(), io.StringIO()) == 2


def test_export_keeps_the_queryset_order_and_filter(db):
    first, second, third = SaleFactory(reference="A"), SaleFactory(reference="B"), SaleFactory(reference="C")

    rows = rows_of(export(Sale.objects.exclude(pk=second.pk).order_by("reference")))

    assert [r["reference"] for r in rows] == [first.reference, third.reference]


def test_export_quotes_commas_quotes_and_newlines_so_they_read_back(db, seller):
    customer = CustomerFactory(name='Smith, "Bob"\nJr', email="bob@example.com")
    SaleFactory(seller=seller, customer=customer)

    (row,) = rows_of(export(Sale.objects.all()))

    assert row["customer_name"] == 'Smith, "Bob"\nJr'


def _sales_with_items(count: int, seller) -> None:
    default_warehouse()
    channel, tax, carrier = ChannelFactory(), TaxRateFactory(), CarrierFactory()
    customer = CustomerFactory()
    for _ in range(count):
        services.sale_create(
            seller=seller,
            data=services.NewSale(
                status=SaleStatus.DRAFT,
                channel=channel,
                tax=tax,
                customer=customer,
                items=[ItemData(variant=stocked_variant(0), quantity=1, carrier=carrier) for _ in range(2)],
            ),
        )


@pytest.mark.parametrize("sales", [1, 12])
def test_export_query_count_does_not_grow_with_the_number_of_sales(db, seller, sales, django_assert_num_queries):
    _sales_with_items(sales, seller)

    # One query for the sales with channel, warehouse, customer, seller and tax joined; one for their items
    # with warehouse and carrier joined (per chunk of EXPORT_CHUNK_SIZE sales).
    with django_assert_num_queries(2):
        assert write_sales_csv(Sale.objects.all(), io.StringIO()) == sales


def test_export_of_a_list_prefetches_instead_of_querying_per_sale(db, seller, django_assert_max_num_queries):
    _sales_with_items(8, seller)
    sales = list(Sale.objects.all())

    # items + one query per distinct related table (channel, warehouse, customer, seller, tax, carrier ...).
    with django_assert_max_num_queries(9):
        assert write_sales_csv(sales, io.StringIO()) == 8


# --- reading ---


def test_read_gives_each_row_its_file_line_number_across_quoted_newlines_and_blank_lines():
    header = ",".join(EXPORT_COLUMNS)
    text = f'{header}\nA\n\n"B","multi\nline"\nC\n'

    rows = list(read_sales_csv(io.StringIO(text)))

    assert [(r.line, r.reference) for r in rows] == [(2, "A"), (4, "B"), (6, "C")]


def test_read_strips_values_and_a_byte_order_mark():
    text = "\ufeff" + ",".join(EXPORT_COLUMNS) + "\n  A  ,7\n"

    (row,) = read_sales_csv(io.StringIO(text))

    assert row.reference == "A"
    assert row["number"] == "7"
    assert row["item_sku"] == ""


def test_read_marks_a_row_with_more_values_than_columns():
    text = ",".join(EXPORT_COLUMNS) + "\n" + ",".join(["x"] * (len(EXPORT_COLUMNS) + 1)) + "\n"

    (row,) = read_sales_csv(io.StringIO(text))

    assert row.too_long


def test_read_refuses_a_file_missing_columns_naming_them():
    columns = [c for c in EXPORT_COLUMNS if c not in ("item_sku", "grand_total")]

    with pytest.raises(CsvFormatError, match=r"Missing column.*grand_total.*item_sku"):
        list(read_sales_csv(io.StringIO(",".join(columns) + "\n")))


def test_read_accepts_a_file_without_the_informational_columns():
    text = ",".join(REQUIRED_COLUMNS) + "\nA\n"

    assert [r.reference for r in read_sales_csv(io.StringIO(text))] == ["A"]


def test_the_delivery_columns_are_optional_and_the_statuses_informational():
    assert {"delivery_mode", "payment_mode", "delivery_note", "item_quantity_cancelled"} == OPTIONAL_COLUMNS
    assert {"fulfillment_status", "delivery_status", "cancellation_status", "item_quantity_fulfilled"} <= (
        INFORMATIONAL_COLUMNS
    )
    assert not (OPTIONAL_COLUMNS | INFORMATIONAL_COLUMNS) & set(REQUIRED_COLUMNS)
    assert set(EXPORT_COLUMNS) >= (OPTIONAL_COLUMNS | INFORMATIONAL_COLUMNS)


def test_export_writes_delivery_mode_payment_mode_note_and_unit_counts(db):
    sale = services.sale_create(
        seller=SaleFactory().seller,
        data=services.NewSale(
            status=SaleStatus.CONFIRMED, delivery_mode="pickup", payment_mode="on_delivery",
            delivery_note="Gate 3", items=[ItemData(variant=stocked_variant(5), quantity=2)],
        ),
    )
    services.sale_fulfil(sale=sale, user=None, lines=[services.ItemQuantity(sale.items.get(), 1)])
    out = io.StringIO()
    write_sales_csv(Sale.objects.filter(pk=sale.pk), out)

    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))

    assert {k: row[k] for k in ("delivery_mode", "payment_mode", "delivery_note", "fulfillment_status",
                                "delivery_status", "cancellation_status")} == {
        "delivery_mode": "pickup", "payment_mode": "on_delivery", "delivery_note": "Gate 3",
        "fulfillment_status": "partially_fulfilled", "delivery_status": "ready_for_pickup",
        "cancellation_status": "none",
    }
    assert (row["item_quantity_cancelled"], row["item_quantity_fulfilled"]) == ("0", "1")


def test_read_refuses_an_empty_file():
    with pytest.raises(CsvFormatError, match="empty"):
        list(read_sales_csv(io.StringIO("")))


def test_read_refuses_duplicated_columns():
    with pytest.raises(CsvFormatError, match=r"Duplicated column.*status"):
        list(read_sales_csv(io.StringIO(",".join((*EXPORT_COLUMNS, "status")) + "\n")))


@pytest.mark.parametrize("value", ["1,2", "abc", "1e3", "-1", "1.234", " ", "1.2.3", "NaN", "12,000.00"])
def test_money_is_parsed_strictly(value):
    with pytest.raises(CsvValueError, match="item_unit_price"):
        parse_money(value, "item_unit_price")


@pytest.mark.parametrize(("value", "expected"), [("12", D("12.00")), ("12.5", D("12.50")), ("0.05", D("0.05"))])
def test_money_accepts_plain_amounts_with_up_to_two_decimals(value, expected):
    assert parse_money(value, "x") == expected


def test_blank_money_gives_the_default():
    assert parse_money("", "discount", blank=D("0.00")) == D("0.00")
    assert parse_money("", "grand_total") is None


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "two", ""])
def test_quantity_must_be_a_whole_number_of_at_least_one(value):
    with pytest.raises(CsvValueError):
        parse_quantity(value, "item_quantity")


def test_percent_above_a_hundred_is_refused():
    with pytest.raises(CsvValueError):
        parse_percent("100.01", "tax_rate")
    assert parse_percent("5", "tax_rate") == D("5.00")


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("FALSE", False), ("", False), ("1", True)])
def test_booleans(value, expected):
    assert parse_bool(value, "x") is expected


def test_a_word_that_is_not_a_boolean_is_refused():
    with pytest.raises(CsvValueError):
        parse_bool("maybe", "tax_shipping")


def test_dates_without_offset_are_read_in_the_project_time_zone_and_garbage_is_refused():
    assert parse_when("2025-01-31T14:30:00+00:00", "sold_at").isoformat() == "2025-01-31T14:30:00+00:00"
    assert parse_when("2025-01-31T14:30:00", "sold_at").tzinfo is not None
    with pytest.raises(CsvValueError, match="sold_at"):
        parse_when("31/01/2025", "sold_at")
    with pytest.raises(CsvValueError, match="sold_at"):
        parse_when("2025-02-30T10:00:00", "sold_at")
