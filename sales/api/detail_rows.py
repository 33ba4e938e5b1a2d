"""One sale's detail built from the loaded instance: the JSON of `SaleSerializer`, at a fraction of the Python.

`SaleSerializer(sale).data` builds its fields anew for every request (a
ModelSerializer's field mapping, deep copies of the declared fields, the nested
items and payments serializers) before it reads a single value: about 20 ms of
CPU for a sale with a few lines. Here the sale as `sales.selectors.sale_with_related`
loads it (or as `sales.services.sale_create` hands it back, its items and payments
kept on the instance) is turned into the same dictionary directly. Money and
times go through `list_rows`' converters, which reuse DRF's own fields; nothing
is read beyond what the serializer itself reads, so no query is added.
`sales/tests/test_detail_rows.py` compares both on varied sales.
"""

from sales.api.list_rows import _address, _money, _when
from sales.models import Sale


def _choice(value):
    """What a ChoiceField answers for a stored choice: the plain string (an enum member set in memory included)."""
    if value.__class__ is str or not isinstance(value, str):
        return value
    return str(value)


def _item(item) -> dict:
    carrier, group = item.carrier, item.product_group
    return {
        "id": item.id,
        "product": item.product_id,
        "variant": item.variant_id,
        "sku": item.sku,
        "name": item.name,
        "quantity": item.quantity,
        "unit_price": _money(item.unit_price),
        "discount": _money(item.discount),
        "discount_type": _choice(item.discount_type),
        "subtotal": _money(item.subtotal),
        "discount_total": _money(item.discount_total),
        "tax_total": _money(item.tax_total),
        "total": _money(item.total),
        "quantity_returned": item.quantity_returned,
        "warehouse": item.warehouse.code,
        "carrier": None if carrier is None else carrier.code,
        "tracking_code": item.tracking_code,
        "tracking_url": item.tracking_url,
        "product_group": None if group is None else group.code,
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


def render_sale(sale: Sale, *, user) -> dict:
    """`SaleSerializer(sale, context={"request": request}).data` for `request.user == user`, key for key.

    The sale must come with its seller, customer, channel, warehouse and tax, and
    its items (with their warehouse, carrier and product group) and payments (with
    their user) loaded, as `sale_with_related(..., payments=True)` or
    `sale_create` leave it; anything not loaded is read the way the serializer
    would read it.
    """
    seller, customer, channel, tax = sale.seller, sale.customer, sale.channel, sale.tax
    grand_total, paid_total, tags = sale.grand_total, sale.paid_total, sale.tags
    return {
        "id": sale.id,
        "number": sale.number,
        "reference": sale.reference,
        "external_id": sale.external_id,
        "status": _choice(sale.status),
        "payment_status": _choice(sale.payment_status),
        "fulfillment_status": _choice(sale.fulfillment_status),
        "return_status": _choice(sale.return_status),
        "seller": {"id": seller.id, "username": seller.username},
        "customer": None if customer is None else {"id": customer.id, "name": customer.name, "email": customer.email},
        "channel": None if channel is None else channel.code,
        "warehouse": sale.warehouse.code,
        "currency": sale.currency,
        "items": [_item(item) for item in sale.items.all()],
        "discount": _money(sale.discount),
        "discount_type": _choice(sale.discount_type),
        "subtotal": _money(sale.subtotal),
        "discount_total": _money(sale.discount_total),
        "tax_total": _money(sale.tax_total),
        "shipping_cost": _money(sale.shipping_cost),
        "tax_shipping": sale.tax_shipping,
        "grand_total": _money(grand_total),
        "paid_total": _money(paid_total),
        "balance_due": _money(grand_total - paid_total),
        "tax": None if tax is None else {"code": tax.code, "name": tax.name, "rate": _money(tax.rate)},
        "prices_include_tax": sale.prices_include_tax,
        "billing_address": _address(sale.billing_address),
        "shipping_address": _address(sale.shipping_address),
        "payments": [_payment(payment) for payment in sale.payments.all()],
        "note": sale.note,
        "staff_note": sale.staff_note,
        "tags": None if tags is None else [None if tag is None else str(tag) for tag in tags],
        "cancel_reason": _choice(sale.cancel_reason),
        "available_transitions": sale.available_transitions_for(user),
        "sold_at": _when(sale.sold_at),
        "created_at": _when(sale.created_at),
        "updated_at": _when(sale.updated_at),
        "confirmed_at": _when(sale.confirmed_at),
        "shipped_at": _when(sale.shipped_at),
        "completed_at": _when(sale.completed_at),
        "cancelled_at": _when(sale.cancelled_at),
    }
