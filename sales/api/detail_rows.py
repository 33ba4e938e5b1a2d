"""One sale's detail built from the loaded instance: the JSON of `SaleSerializer`, at a fraction of the Python.

`SaleSerializer(sale).data` builds its fields anew for every request (a
ModelSerializer's field mapping, deep copies of the declared fields, the nested
items and payments serializers) before it reads a single value: about 20 ms of
CPU for a sale with a few lines. Here the sale as `sales.selectors.sale_with_related`
loads it (or as `sales.services.sale_create` hands it back, its items and payments
kept on the instance) is turned into the same dictionary directly: the instance
becomes a list row and goes through the list's `list_rows.sale_dict` (payments
added), so money, times and every field read exactly as in the list; nothing is
read beyond what the serializer itself reads, so no query is added.
`sales/tests/test_detail_rows.py` compares both on varied sales.
"""

from django.utils import timezone

from sales.api.list_rows import _item, _money, _when, sale_dict
from sales.models import Sale

TIMES = ("sold_at", "created_at", "updated_at", "confirmed_at", "shipped_at", "completed_at", "cancelled_at")


def _choice(value):
    """What a ChoiceField answers for a stored choice: the plain string (an enum member set in memory included)."""
    if value.__class__ is str or not isinstance(value, str):
        return value
    return str(value)


def _item_row(item) -> dict:
    """A loaded item as the list's item row (`list_rows.ITEM_VALUES`), for `list_rows._item`."""
    carrier, group = item.carrier, item.product_group
    return {
        "id": item.id,
        "product_id": item.product_id,
        "variant_id": item.variant_id,
        "sku": item.sku,
        "name": item.name,
        "quantity": item.quantity,
        "unit_price": item.unit_price,
        "discount": item.discount,
        "discount_type": _choice(item.discount_type),
        "subtotal": item.subtotal,
        "discount_total": item.discount_total,
        "tax_total": item.tax_total,
        "total": item.total,
        "quantity_returned": item.quantity_returned,
        "warehouse__code": item.warehouse.code,
        "carrier__code": None if carrier is None else carrier.code,
        "tracking_code": item.tracking_code,
        "tracking_url": item.tracking_url,
        "product_group__code": None if group is None else group.code,
    }


def _payment(payment) -> dict:
    """The JSON of `payments.api.serializers.PaymentSerializer` (it builds nothing from the request)."""
    user = payment.user
    return {
        "id": payment.id,
        "sale": payment.sale_id,
        "amount": _money(payment.amount),
        "currency": payment.currency,
        "method": _choice(payment.method),
        "kind": _choice(payment.kind),
        "status": _choice(payment.status),
        "reference": payment.reference,
        "received_at": _when(payment.received_at),
        "user": None if user is None else {"id": user.id, "username": user.username},
        "note": payment.note,
        "created_at": _when(payment.created_at),
    }


def _sale_row(sale: Sale) -> dict:
    """A loaded sale as the list's sale row (`list_rows.SALE_VALUES`), for `list_rows.sale_dict`."""
    seller, customer, channel, tax = sale.seller, sale.customer, sale.channel, sale.tax
    return {
        "id": sale.id,
        "number": sale.number,
        "reference": sale.reference,
        "external_id": sale.external_id,
        "status": _choice(sale.status),
        "payment_status": _choice(sale.payment_status),
        "fulfillment_status": _choice(sale.fulfillment_status),
        "return_status": _choice(sale.return_status),
        "seller_id": seller.id,
        "seller__username": seller.username,
        "customer_id": None if customer is None else customer.id,
        "customer__name": None if customer is None else customer.name,
        "customer__email": None if customer is None else customer.email,
        "channel__code": None if channel is None else channel.code,
        "warehouse__code": sale.warehouse.code,
        "currency": sale.currency,
        "discount": sale.discount,
        "discount_type": _choice(sale.discount_type),
        "subtotal": sale.subtotal,
        "discount_total": sale.discount_total,
        "tax_total": sale.tax_total,
        "shipping_cost": sale.shipping_cost,
        "tax_shipping": sale.tax_shipping,
        "grand_total": sale.grand_total,
        "paid_total": sale.paid_total,
        "returned_total": sale.returned_total,
        "tax_id": None if tax is None else tax.id,
        "tax__code": None if tax is None else tax.code,
        "tax__name": None if tax is None else tax.name,
        "tax__rate": None if tax is None else tax.rate,
        "prices_include_tax": sale.prices_include_tax,
        "billing_address": sale.billing_address,
        "shipping_address": sale.shipping_address,
        "note": sale.note,
        "staff_note": sale.staff_note,
        "tags": sale.tags,
        "cancel_reason": _choice(sale.cancel_reason),
        **{name: getattr(sale, name) for name in TIMES},
    }


def render_sale(sale: Sale, *, user) -> dict:
    """`SaleSerializer(sale, context={"request": request}).data` for `request.user == user`, key for key.

    The sale must come with its seller, customer, channel, warehouse and tax, and
    its items (with their warehouse, carrier and product group) and payments (with
    their user) loaded, as `sale_with_related(..., payments=True)` or
    `sale_create` leave it; anything not loaded is read the way the serializer
    would read it. The sale becomes a list row and goes through the list's own
    `sale_dict`, so the list and the detail cannot say a field differently.
    """
    return sale_dict(
        _sale_row(sale),
        items=[_item(_item_row(item)) for item in sale.items.all()],
        transitions=sale.available_transitions_for(user),
        zone=timezone.get_current_timezone(),
        payments=[_payment(payment) for payment in sale.payments.all()],
    )
