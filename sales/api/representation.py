"""The sale's and the sale item's one field table each, and the small shapes nested in them.

From these come `SaleListSerializer`, `SaleSerializer` and `SaleItemSerializer`
(so the OpenAPI schema), the fast list and detail renderers (`list_rows`,
`detail_rows`) and the CSV export's values (`sales.csv_io`). Adding a read-only
field to the sale is the model's column (and its migration) plus one entry in
`SALE`; see `salesproject.api.representation` for what an entry says.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.models import Customer
from payments.api.representation import PAYMENT
from sales.api import exchange_rates as rates
from sales.models import CancelReason, CloneReason, Sale, SaleItem, SalePromotion, SaleStatus, TaxRate
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
    CurrencyMoneyField,
    Field,
    Table,
    money,
)
from salesproject.api.serializers import StrictSerializer
from salesproject.metadata import MetadataField, metadata_output

COUNTRY = {"max_length": 2, "min_length": 2, "required": False, "allow_blank": True}


class SaleAddressSerializer(StrictSerializer):
    """The copy of an address a sale keeps."""

    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    line1 = serializers.CharField(max_length=255, required=False, allow_blank=True)
    line2 = serializers.CharField(max_length=255, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    state = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", **COUNTRY)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)

    def validate_country(self, value: str) -> str:
        return value.upper()


@extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=SaleStatus.choices)))
class TransitionsField(serializers.Field):
    """The transitions the reader may run on the sale now (the fast renderer is given them by its caller)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, sale: Sale) -> list[str]:
        request = self.context.get("request")
        return sale.available_transitions_for(request.user) if request else []


USER_SUMMARY = Table("UserSummary", [Field("id", INT), Field("username", STR)])

CUSTOMER_SUMMARY = Table(
    "CustomerSummary",
    [
        Field("id", INT),
        Field("name", STR),
        # May be blank, so not documented as format: email.
        Field("email", STR, drf=lambda: serializers.CharField(read_only=True)),
    ],
    model=Customer,
)

TAX_SUMMARY = Table("TaxSummary", [Field("code", STR), Field("name", STR), Field("rate", RATE)], model=TaxRate)


class TaxLineSerializer(serializers.Serializer):
    """One tax or tax component charged on the sale."""

    code = serializers.CharField(read_only=True, help_text="The tax's code (`custom` for a custom tax).")
    name = serializers.CharField(read_only=True, help_text="The tax's name, or its component's.")
    jurisdiction = serializers.CharField(
        read_only=True, help_text='The component\'s: "state", "county", "city", "district", "other"; "" for a tax '
        "without components.",
    )
    rate = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, coerce_to_string=True)
    amount = serializers.CharField(read_only=True, help_text="In the sale's currency.")


class NullableMoneyField(CurrencyMoneyField):
    """A money amount in the sale's currency, or null."""

    def to_representation(self, value):
        amount, currency = value
        return None if amount is None else money(amount, currency)


def tax_lines_of(row: dict) -> list[dict]:
    """The sale's `tax_lines` as the API shows them: amounts in the currency's decimals, rates with two."""
    currency = row["currency"]
    return [
        {
            "code": entry.get("code", ""),
            "name": entry.get("name", ""),
            "jurisdiction": entry.get("jurisdiction", ""),
            "rate": money(entry.get("rate") or 0),
            "amount": money(entry.get("amount") or 0, currency),
        }
        for entry in row["tax_lines"] or ()
    ]


@extend_schema_field(TaxLineSerializer(many=True))
class TaxLinesField(serializers.Field):
    """`tax_lines_of` for the serializer (so the schema, and the same JSON as the fast renderers)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, sale: Sale) -> list[dict]:
        return tax_lines_of({"currency": sale.currency, "tax_lines": sale.tax_lines})


def tax_lines_field() -> TaxLinesField:
    return TaxLinesField(help_text="One entry per tax or tax component charged; they add up to tax_total.")


def _item_cost_total(row: dict):
    return row["cost_price"] * (row["quantity"] - row["quantity_cancelled"])


def _item_profit(row: dict):
    return row["total"] - row["tax_total"] - _item_cost_total(row)


ITEM = Table(
    "SaleItem",
    [
        Field("id", INT),
        Field("product", INT, source="product_id"),
        Field("variant", INT, source="variant_id"),
        Field("sku", STR, csv="item_sku"),
        Field("name", STR, csv="item_name"),
        Field("item_type", STR, help="The product's kind at sale time: `standard` (stocked) or `service` (no stock)."),
        Field("unit", STR, help="The product's unit code at sale time."),
        Field("variant_name", STR, help="The variant's name at sale time."),
        Field("image_url", STR, help="The variant's image at sale time, else the product's; blank: none."),
        Field("weight", INT, nullable=True, help="Grams per unit at sale time; null: the variant had none."),
        Field("quantity", INT, csv="item_quantity"),
        Field("unit_price", MONEY, csv="item_unit_price"),
        Field("discount", MONEY, csv="item_discount"),
        Field("discount_type", CHOICE, csv="item_discount_type"),
        Field("subtotal", MONEY, csv="item_subtotal"),
        Field("discount_total", MONEY, csv="item_discount_total"),
        Field("tax_total", MONEY, csv="item_tax_total"),
        Field("total", MONEY, csv="item_total"),
        Field("cost_price", MONEY, staff_only=True, help="Cost of one unit, snapshotted at sale time (staff only)."),
        Field(
            "cost_total", MONEY, staff_only=True, compute=_item_cost_total,
            help="cost_price × units sold minus cancelled (staff only).", csv="item_cost_total",
        ),
        Field(
            "profit", MONEY, staff_only=True, compute=_item_profit,
            help="The line's net without tax (total - tax_total) minus cost_total (staff only).", csv="item_profit",
        ),
        Field("quantity_cancelled", INT, csv="item_quantity_cancelled"),
        Field(
            "quantity_fulfilled", INT, help="Units in fulfilments that did not fail or come back.",
            csv="item_quantity_fulfilled",
        ),
        Field("quantity_returned", INT, csv="item_quantity_returned"),
        Field("warehouse", STR, source="warehouse__code", csv="item_warehouse"),
        Field("carrier", STR, source="carrier__code", nullable=True, csv="item_carrier"),
        Field("tracking_code", STR, csv="item_tracking_code"),
        Field("tracking_url", STR),
        Field("product_group", STR, source="product_group__code", nullable=True),
        Field("tax", STR, source="tax__code", nullable=True, help="The line's own tax (code); null: the sale's."),
        Field(
            "tax_rate", RATE, csv="item_tax_rate",
            help="The rate in force on the line (its tax's, else the sale's): a percent, or per unit for a fixed tax.",
        ),
        Field("tax_included", BOOL, help="Whether the line's price includes its tax."),
    ],
    model=SaleItem,
    currency="sale__currency",
)


APPLIED_PROMOTION = Table(
    "AppliedPromotion",
    [
        Field("id", INT, source="promotion_id", help="The promotion's id."),
        Field("name", STR, source="promotion__name"),
        Field("code", STR, source="promotion__code", nullable=True),
        Field(
            "scope", CHOICE,
            drf=lambda: serializers.ChoiceField(choices=[("line", "line"), ("order", "order")], read_only=True),
        ),
        Field("amount", MONEY, help="What it took off the sale."),
    ],
    model=SalePromotion,
    currency="sale__currency",
)


def _due_date(row: dict):
    return None if row["due_date"] is None else row["due_date"].isoformat()


def _metadata(row: dict):
    return metadata_output(row["metadata"])


def _net_total(row: dict):
    return row["grand_total"] - row["returned_total"]


def _balance_due(row: dict):
    return row["grand_total"] - row["returned_total"] - row["paid_total"]


SALE = Table(
    "Sale",
    [
        Field("id", INT),
        Field("number", INT, nullable=True, csv="number"),
        Field("reference", STR, csv="reference"),
        Field("external_id", STR, csv="external_id"),
        Field("status", CHOICE, csv="status"),
        Field("payment_status", CHOICE, csv="payment_status"),
        Field("fulfillment_status", CHOICE, csv="fulfillment_status"),
        Field("delivery_status", CHOICE, csv="delivery_status"),
        Field("return_status", CHOICE),
        Field("cancellation_status", CHOICE, csv="cancellation_status"),
        Field("invoice_status", CHOICE),
        Field("seller", OBJECT, of=USER_SUMMARY, csv={"username": "seller"}),
        Field(
            "customer",
            OBJECT,
            of=CUSTOMER_SUMMARY,
            nullable=True,
            csv={"email": "customer_email", "name": "customer_name"},
        ),
        Field("channel", STR, source="channel__code", nullable=True, csv="channel"),
        Field("warehouse", STR, source="warehouse__code", csv="warehouse"),
        Field("store", STR, source="store__code", nullable=True, help="The store's code; null: none."),
        Field("device", STR, help="The POS terminal id (\"\": none)."),
        Field("currency", STR, csv="currency"),
        Field("exchange_rate", STR, compute=rates.rate_text, reads=("exchange_rate",)),
        Field("base_currency", STR, compute=rates.base_currency_of, drf=rates.base_currency_field),
        Field("items", LIST, of=ITEM, context=True),
        Field("discount", MONEY, csv="discount"),
        Field("discount_type", CHOICE, csv="discount_type"),
        Field("subtotal", MONEY, csv="subtotal"),
        Field("discount_total", MONEY, csv="discount_total"),
        Field("tax_total", MONEY, csv="tax_total"),
        Field("shipping_cost", MONEY, csv="shipping_cost"),
        Field("tax_shipping", BOOL, csv="tax_shipping"),
        Field("grand_total", MONEY, csv="grand_total"),
        Field("grand_total_base", STR, compute=rates.grand_total_base, drf=rates.grand_total_base_field),
        Field("paid_total", MONEY, csv="paid_total"),
        Field("returned_total", MONEY, csv="returned_total"),
        Field("net_total", MONEY, compute=_net_total, help="grand_total - returned_total.", csv="net_total"),
        Field(
            "balance_due",
            MONEY,
            compute=_balance_due,
            help="net_total - paid_total; negative when the customer is owed money.",
            csv="balance_due",
        ),
        Field(
            "cost_total", MONEY, context=True, staff_only=True, help="The lines' cost_total added up (staff only).",
            csv="cost_total",
        ),
        Field(
            "profit", MONEY, context=True, staff_only=True,
            help="The lines' profit added up: net without tax minus cost; shipping not included (staff only).",
            csv="profit",
        ),
        Field(
            "margin", RATE, context=True, staff_only=True, nullable=True,
            help="profit as a percent of the lines' net without tax; null when that is 0 (staff only).",
            csv="margin",
            drf=lambda: serializers.DecimalField(
                max_digits=12, decimal_places=2, read_only=True, allow_null=True,
                help_text="profit as a percent of the lines' net without tax; null when that is 0 (staff only).",
            ),
        ),
        Field("tax", OBJECT, of=TAX_SUMMARY, nullable=True, csv={"code": "tax"}),
        Field("prices_include_tax", BOOL, csv="prices_include_tax"),
        Field("tax_calculation", CHOICE, help="`custom`: tax_total is tax_amount, shared over the lines by net."),
        Field(
            "tax_amount", MONEY, nullable=True, help="The custom tax (tax_calculation `custom`).",
            drf=lambda: NullableMoneyField(
                currency="currency", allow_null=True, help_text="The custom tax (tax_calculation `custom`)."
            ),
        ),
        # Not the JSON column as stored: its amounts in the sale's currency decimals, rates with two.
        Field("tax_lines", STR, source="*", compute=tax_lines_of, reads=("tax_lines",), drf=tax_lines_field),
        Field("price_list", STR, source="price_list__code", nullable=True),
        Field("discount_code", STR),
        Field(
            "promotions", LIST, of=APPLIED_PROMOTION, context=True,
            drf=lambda: APPLIED_PROMOTION.serializer()(many=True, read_only=True, source="applied_promotions"),
        ),
        Field("billing_address", JSON_OBJECT, of=SaleAddressSerializer),
        Field("shipping_address", JSON_OBJECT, of=SaleAddressSerializer),
        Field("delivery_mode", CHOICE, csv="delivery_mode"),
        Field("payment_mode", CHOICE, nullable=True, csv="payment_mode"),
        Field("delivery_note", STR, csv="delivery_note"),
        Field(
            "total_quantity", INT, context=True, help="Units sold minus units cancelled.",
            drf=lambda: serializers.IntegerField(read_only=True, help_text="Units sold minus units cancelled."),
        ),
        Field(
            "total_weight", INT, context=True, help="Grams: the lines' weight × units sold minus cancelled (0: none).",
            drf=lambda: serializers.IntegerField(
                read_only=True, help_text="Grams: the lines' weight × units sold minus cancelled (0: none)."
            ),
        ),
        Field(
            "quantity_remaining", INT, context=True, help="Of total_quantity, the units not fulfilled yet.",
            drf=lambda: serializers.IntegerField(
                read_only=True, help_text="Of total_quantity, the units not fulfilled yet."
            ),
        ),
        Field("parent", INT, source="parent_id", nullable=True, help="The sale this one was split from."),
        Field(
            "children", LIST, context=True,
            drf=lambda: serializers.ListField(
                child=serializers.IntegerField(), source="children_ids", read_only=True,
                help_text="The sales split off this one.",
            ),
        ),
        Field(
            "is_partial", BOOL, context=True,
            drf=lambda: serializers.BooleanField(read_only=True, help_text="Split off another sale or split itself."),
        ),
        Field("cloned_from", INT, source="cloned_from_id", nullable=True),
        Field(
            "clone_reason", CHOICE,
            drf=lambda: serializers.ChoiceField(choices=CloneReason.choices, allow_blank=True, read_only=True),
        ),
        Field("locked", BOOL),
        Field("locked_reason", STR),
        Field("locked_by", OBJECT, of=USER_SUMMARY, nullable=True),
        Field("locked_at", DATETIME, nullable=True),
        Field("payments", LIST, of=PAYMENT, context=True, detail_only=True),
        Field("note", STR),
        Field("staff_note", STR),
        Field("admin_note", STR, staff_only=True, help="Staff only: null for everybody else."),
        Field("tags", LIST, of=STR),
        Field("customer_reference", STR, help="The buyer's own reference (PO number)."),
        Field(
            "due_date", STR, compute=_due_date, reads=("due_date",),
            drf=lambda: serializers.DateField(read_only=True, allow_null=True),
        ),
        Field(
            "metadata", STR, compute=_metadata, reads=("metadata",),
            drf=lambda: MetadataField(read_only=True),
        ),
        Field("updated_by", OBJECT, of=USER_SUMMARY, nullable=True, help="The last user who changed the sale."),
        Field(
            "cancel_reason",
            CHOICE,
            csv="cancel_reason",
            drf=lambda: serializers.ChoiceField(choices=CancelReason.choices, allow_blank=True, read_only=True),
        ),
        Field("available_transitions", LIST, of=CHOICE, context=True, drf=TransitionsField),
        Field("sold_at", DATETIME, csv="sold_at"),
        Field("created_at", DATETIME, csv="created_at"),
        Field("updated_at", DATETIME),
        Field("confirmed_at", DATETIME, nullable=True),
        Field("shipped_at", DATETIME, nullable=True),
        Field("completed_at", DATETIME, nullable=True),
        Field("cancelled_at", DATETIME, nullable=True),
        # In the CSV only.
        Field("tax_rate", RATE, api=False, csv="tax_rate"),
        Field("shipping_tax", MONEY, api=False, csv="shipping_tax"),
    ],
    model=Sale,
    currency="currency",
)
