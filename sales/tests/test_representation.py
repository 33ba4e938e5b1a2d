"""The field tables drive every way a sale is shown: serializer (so the schema), list, detail and CSV."""

import csv
import io

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIRequestFactory

from inventory.tests.factories import stocked_variant
from payments.api.representation import PAYMENT
from payments.models import Payment
from sales import csv_io, selectors, services
from sales.api import detail_rows, list_rows
from sales.api.representation import ITEM, SALE
from sales.api.serializers import SaleListSerializer, SaleSerializer
from sales.models import Sale
from sales.services import ItemData
from salesproject.api.representation import (
    BOOL,
    CHOICE,
    DATETIME,
    INT,
    JSON_OBJECT,
    LIST,
    MONEY,
    OBJECT,
    RATE,
    STR,
    Field,
    money,
)


def with_field(monkeypatch, table, field, *, before: str | None = None):
    """The table with one more field (before `before`, else last among its API fields); undone after the test."""
    fields = list(table.fields)
    at = next(i for i, f in enumerate(fields) if f.name == before) if before else len(fields)
    fields.insert(at, field)
    monkeypatch.setattr(table, "fields", tuple(fields))


@pytest.fixture
def sale(seller):
    made = services.sale_create(
        seller=seller, data=services.NewSale(items=[ItemData(variant=stocked_variant(5), quantity=1)])
    )
    Sale.objects.filter(pk=made.pk).update(reject_reason="late")
    return made


def request_for(user):
    request = APIRequestFactory().get("/api/v1/sales/")
    request.user = user
    return request


def list_json(user) -> list[dict]:
    queryset = selectors.sale_scope(user=user)
    return list_rows.render_sales(list(list_rows.sale_rows(queryset)), user=user, using="default")


def detail_json(sale: Sale, user) -> dict:
    loaded = selectors.sale_with_related(Sale.objects.filter(pk=sale.pk), payments=True).get()
    return detail_rows.render_sale(loaded, user=user)


def schema_properties(component: str) -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"][component]["properties"]


def csv_rows() -> list[dict]:
    out = io.StringIO()
    csv_io.write_sales_csv(Sale.objects.order_by("pk"), out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_one_table_entry_shows_a_new_field_everywhere(monkeypatch, sale, seller, staff):
    """A throwaway field (an existing column the API does not show): one entry, and every path has it."""
    with_field(
        monkeypatch, SALE, Field("reject_reason", STR, help="Why it was rejected.", csv="reject_reason"), before="note"
    )

    sale.refresh_from_db()
    assert SaleListSerializer(sale, context={"request": request_for(seller)}).data["reject_reason"] == "late"
    assert schema_properties("SaleList")["reject_reason"]["description"] == "Why it was rejected."
    assert "reject_reason" in schema_properties("Sale")

    listed = list_json(seller)[0]
    assert listed["reject_reason"] == "late"
    assert list(listed).index("reject_reason") == list(listed).index("note") - 1  # where the table puts it
    detail = detail_json(sale, seller)
    assert detail["reject_reason"] == "late"
    assert list(detail).index("reject_reason") == list(detail).index("note") - 1
    loaded = selectors.sale_with_related(Sale.objects.filter(pk=sale.pk), payments=True).get()
    assert detail == SaleSerializer(loaded, context={"request": request_for(seller)}).data  # still the serializer's

    assert csv_rows()[0]["reject_reason"] == "late"


def test_a_new_item_and_payment_field_reach_the_list_detail_and_csv(monkeypatch, sale, seller):
    with_field(monkeypatch, ITEM, Field("cost_price", MONEY, csv="item_cost_price"))
    with_field(monkeypatch, PAYMENT, Field("metadata_note", STR, source="note"))
    payment = Payment.objects.create(sale=sale, amount=1, currency=sale.currency, user=seller)  # only its rendering
    payment.allocations.create(sale=sale, amount=1)  # a sale's payments are those allocated to it (money.md round 2)

    cost = money(sale.items.get().cost_price, sale.currency)  # "6.00": the currency's decimals
    assert cost.count(".") == 1 and len(cost.split(".")[1]) == 2
    assert list_json(seller)[0]["items"][0]["cost_price"] == cost
    detail = detail_json(sale, seller)
    assert detail["items"][0]["cost_price"] == cost
    assert detail["payments"][0]["metadata_note"] == ""
    assert "cost_price" in schema_properties("SaleItem")
    assert "metadata_note" in schema_properties("Payment")
    assert csv_rows()[0]["item_cost_price"] == cost


def test_a_staff_only_field_is_null_for_everybody_else(monkeypatch, sale, seller, staff):
    with_field(monkeypatch, SALE, Field("reject_reason", STR, staff_only=True))
    loaded = selectors.sale_with_related(Sale.objects.filter(pk=sale.pk), payments=True).get()

    for user, expected in ((staff, "late"), (seller, None)):
        assert list_json(user)[0]["reject_reason"] == expected
        assert detail_json(sale, user)["reject_reason"] == expected
        assert SaleSerializer(loaded, context={"request": request_for(user)}).data["reject_reason"] == expected
    assert SaleSerializer(loaded).data["reject_reason"] is None  # no request: nobody in particular
    assert schema_properties("Sale")["reject_reason"]["nullable"] is True


# --- the tables agree with the models --------------------------------------------------------

MODEL_KINDS = {
    "AutoField": {INT},
    "BigAutoField": {INT},
    "BigIntegerField": {INT},
    "PositiveIntegerField": {INT},
    "MoneyField": {MONEY},  # in the row's currency
    "DecimalField": {RATE},  # percents
    "BooleanField": {BOOL},
    "DateTimeField": {DATETIME},
    "CharField": {STR, CHOICE},
    "FSMField": {CHOICE},
    "TextField": {STR},
    "EmailField": {STR},
    "URLField": {STR},
    "SlugField": {STR},
    "JSONField": {LIST, JSON_OBJECT},
    "ForeignKey": {INT, STR, OBJECT},
}


def tables():
    from sales.api.representation import CUSTOMER_SUMMARY, TAX_SUMMARY

    return [SALE, ITEM, PAYMENT, CUSTOMER_SUMMARY, TAX_SUMMARY]


@pytest.mark.parametrize("table", tables(), ids=repr)
def test_each_entry_says_what_its_model_field_is(table):
    for f in table.fields:
        if f.context:  # given by the caller (items, payments, transitions)
            continue
        column = f.source.split("__")[0]
        names = {field.name: field for field in table.model._meta.get_fields()} | {
            getattr(field, "attname", field.name): field for field in table.model._meta.get_fields()
        }
        model_field = names.get(column)
        if model_field is None:
            assert f.compute is not None or f.context, f"{table.name}.{f.name}: no column and nothing computes it"
            continue
        if f.compute is not None and f.kind == STR:  # the column written as text (exchange_rate: 8 decimals)
            continue
        kinds = MODEL_KINDS[type(model_field).__name__]
        assert f.kind in kinds, f"{table.name}.{f.name}: {f.kind} for a {type(model_field).__name__}"
        if f.kind == CHOICE:
            assert model_field.choices, f"{table.name}.{f.name}: a choice without choices"
        if "__" not in f.source:
            assert f.nullable == model_field.null, f"{table.name}.{f.name}: nullable says {f.nullable}"


def test_the_generated_renderers_read_like_code(staff):
    """What the renderer runs is plain Python made from the table, readable when debugging."""
    source = SALE.row_renderer(detail=False).__source__
    assert "'tax_shipping': row['tax_shipping']" in source
    assert "payments" not in source and "payments" in SALE.row_renderer(detail=True).__source__
    assert "_r0 = obj.seller" in SALE.instance_reader().__source__
