"""The OpenAPI shapes of the Vendloop dialect: its sale object, envelopes and request bodies (schema only)."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from compat.vendloop.render import CREATE_STATUS, PAYMENT_STATUS, SALE_STATUS, TAX_METHOD

AMOUNT = {"help_text": "A decimal string with 4 places, e.g. \"1302.0000\"."}


def words(values, **kwargs) -> serializers.CharField:
    """A field holding one of `values`, listed in its description: a string, not an enum (spectacular names enums
    by field name, and `status`, `type`… would collide with the product's)."""
    text = "One of: " + ", ".join(f"`{value}`" for value in values) + "."
    help_text = kwargs.pop("help_text", "")
    return serializers.CharField(help_text=f"{help_text} {text}".strip(), **kwargs)


def _id(**kwargs) -> serializers.CharField:
    return serializers.CharField(**kwargs)



class VendloopTax(serializers.Serializer):
    id = _id()
    name = serializers.CharField()
    code = serializers.CharField()
    rate = serializers.CharField(**AMOUNT)
    type = words(["percent", "fixed"])


class VendloopSaleItem(serializers.Serializer):
    item_discount = serializers.CharField(**AMOUNT)
    item_id = _id(help_text="The product's id.")
    item_name = serializers.CharField()
    item_price = serializers.CharField(**AMOUNT)
    item_tax = serializers.CharField(help_text="The line's own tax; 0 when the sale's tax applies.")
    item_type = serializers.CharField()
    item_variant_id = _id(allow_null=True, help_text="null on a line of a product without variants.")
    item_variant_name = serializers.CharField(allow_null=True)
    quantity = serializers.CharField(**AMOUNT)
    sku = serializers.CharField()
    tax = VendloopTax(allow_null=True)
    tax_method = words(sorted(TAX_METHOD.values()))
    unit_code = serializers.CharField(allow_null=True)
    unit_id = _id(allow_null=True)


class VendloopPayment(serializers.Serializer):
    id = _id()
    date = serializers.CharField(help_text="Y-m-d H:i:s, server time zone.")
    user_id = _id(allow_null=True)
    reference_no = serializers.CharField(allow_blank=True)
    paid_by = serializers.CharField()
    amount = serializers.CharField(**AMOUNT)


class VendloopSale(serializers.Serializer):
    id = _id()
    date = serializers.CharField(help_text="The sale date, Y-m-d H:i:s in the server's time zone.")
    due_date = serializers.DateField(allow_null=True)
    business_id = _id()
    store_id = _id(allow_null=True)
    customer_id = _id(allow_null=True)
    user_id = _id()
    reference_no = serializers.CharField()
    note = serializers.CharField(allow_blank=True)
    order_tax = serializers.CharField(help_text="The sale's tax (total tax minus the lines' own taxes).")
    paid = serializers.CharField(**AMOUNT)
    payment_status = words(sorted(set(PAYMENT_STATUS.values())))
    sale_status = words(sorted(set(SALE_STATUS.values())))
    shipping = serializers.CharField(**AMOUNT)
    staff_note = serializers.CharField(allow_blank=True)
    sub_total = serializers.CharField(**AMOUNT)
    grand_total = serializers.CharField(**AMOUNT)
    total_discount = serializers.CharField(**AMOUNT)
    total_tax = serializers.CharField(**AMOUNT)
    updated_at = serializers.CharField(allow_null=True)
    updated_by = _id(allow_null=True)
    device_id = serializers.CharField(allow_null=True)
    items = VendloopSaleItem(many=True)
    payments = VendloopPayment(many=True)
    tax = VendloopTax(allow_null=True)


class VendloopCreatedSale(VendloopSale):
    reference = serializers.CharField(help_text="The same as reference_no.")


class VendloopListMetadata(serializers.Serializer):
    limit = serializers.IntegerField()
    start = serializers.IntegerField()
    total = serializers.IntegerField()


class VendloopListAnswer(serializers.Serializer):
    status = serializers.BooleanField()
    message = serializers.CharField()
    data = VendloopSale(many=True)
    metadata = VendloopListMetadata()


class VendloopDetailAnswer(serializers.Serializer):
    status = serializers.BooleanField()
    message = serializers.CharField()
    data = VendloopSale()


class VendloopCreateAnswer(serializers.Serializer):
    status = serializers.BooleanField()
    message = serializers.CharField()
    data = VendloopCreatedSale()


class VendloopDeleteAnswer(serializers.Serializer):
    status = serializers.BooleanField()
    message = serializers.CharField()


class VendloopError(serializers.Serializer):
    status = serializers.BooleanField(help_text="Always false.")
    message = serializers.CharField()


def errors(*codes: int) -> dict:
    """The error statuses of an operation, every one in the document's `{status: false, message}` envelope."""
    common = (401, 405, 406, 413, 415, 429, 500, 503)
    return {code: VendloopError for code in sorted({*codes, *common})}


# --- requests ----------------------------------------------------------------------------------


class VendloopItemInput(serializers.Serializer):
    product_id = _id(required=False)
    variant_id = _id(required=False)
    price = serializers.CharField(required=False)
    discount = serializers.CharField(required=False)
    discount_type = words(["percent", "fixed"], required=False)
    quantity = serializers.CharField()
    tax_id = _id(required=False, help_text="A tax's id or code: the line's own tax.")
    tax_method = words(sorted(TAX_METHOD.values()), required=False, help_text="The method of the line's own tax.")


class VendloopPaymentInput(serializers.Serializer):
    user_id = _id(required=False)
    reference = serializers.CharField(required=False)
    amount = serializers.CharField()
    paid_by = serializers.CharField(required=False)
    date = serializers.CharField(required=False)
    note = serializers.CharField(required=False, allow_blank=True)


class VendloopCreateInput(serializers.Serializer):
    user_id = _id(required=False, help_text="The seller: you, or anyone when you are staff.")
    customer_id = _id(required=False)
    status = words(sorted(CREATE_STATUS))
    items = serializers.CharField(help_text="JSON encoded list of lines (or the list itself, or items[0][…] keys).")
    payments = serializers.CharField(required=False, help_text="JSON encoded list of payments (or the list).")
    reference = serializers.CharField(required=False)
    date = serializers.CharField(required=False, help_text="Y-m-d H:i:s; default: now.")
    discount = serializers.CharField(required=False)
    discount_type = words(["percent", "fixed"], required=False)
    tax_id = _id(required=False, help_text="The sale's tax, by id or code.")
    note = serializers.CharField(required=False, allow_blank=True)


class VendloopCreateJSONInput(VendloopCreateInput):
    items = VendloopItemInput(many=True)
    payments = VendloopPaymentInput(many=True, required=False)


class VendloopDeleteInput(serializers.Serializer):
    id = _id(help_text="The sale's id.")


CREATE_REQUEST = {
    "application/json": VendloopCreateJSONInput,
    "application/x-www-form-urlencoded": VendloopCreateInput,
    "multipart/form-data": VendloopCreateInput,
}
DELETE_REQUEST = {
    "application/json": VendloopDeleteInput,
    "application/x-www-form-urlencoded": VendloopDeleteInput,
    "multipart/form-data": VendloopDeleteInput,
}
LIST_PARAMETERS = [
    OpenApiParameter(name, int, description=text)
    for name, text in (
        ("customer_id", "Sales of this customer."),
        ("product_id", "Sales with this product."),
        ("variant_id", "Sales with this variant."),
        ("user_id", "Sales made by this user."),
        ("limit", "Records per page (default 50, at most 500)."),
        ("start", "Position of the first record, from 1 (default 1)."),
    )
] + [
    OpenApiParameter("start_date", str, description="From this sale date (Y-m-d or Y-m-d H:i:s)."),
    OpenApiParameter("end_date", str, description="Up to this sale date (Y-m-d or Y-m-d H:i:s)."),
    OpenApiParameter("reference", str, description="The sale with this reference."),
]
LIST = {
    "summary": "List all sales",
    "parameters": LIST_PARAMETERS,
    "responses": {200: VendloopListAnswer, **errors(400, 404)},
}
CREATE = {
    "summary": "Create a sale",
    "request": CREATE_REQUEST,
    "responses": {201: VendloopCreateAnswer, **errors(400, 403, 409)},
}
