"""One sale's detail built from the loaded instance: the JSON of `SaleSerializer`, at a fraction of the Python.

`SaleSerializer(sale).data` builds its fields anew for every request (a
ModelSerializer's field mapping, deep copies of the declared fields, the nested
items and payments serializers) before it reads a single value: about 20 ms of
CPU for a sale with a few lines. Here the sale as `sales.selectors.sale_with_related`
loads it (or as `sales.services.sale_create` hands it back, its items and payments
kept on the instance) is turned into the same dictionary directly: each instance
becomes a row of its table's columns (`Table.instance_reader`) and goes through
the same generated renderer as the list (`Table.row_renderer`, payments added),
so money, times and every field read exactly as in the list; nothing is read
beyond what the serializer itself reads, so no query is added.
`sales/tests/test_detail_rows.py` compares both on varied sales.
"""

from django.utils import timezone

from payments.api.representation import PAYMENT, render_allocations
from sales.api.list_rows import sale_dict
from sales.api.representation import APPLIED_PROMOTION, ITEM, SALE
from sales.models import Sale


def render_sale(sale: Sale, *, user) -> dict:
    """`SaleSerializer(sale, context={"request": request}).data` for `request.user == user`, key for key.

    The sale must come with its seller, customer, channel, warehouse and tax, and
    its items (with their warehouse, carrier and product group) and payments (with
    their user) loaded, as `sale_with_related(..., payments=True)` or
    `sale_create` leave it; anything not loaded is read the way the serializer
    would read it.
    """
    zone, staff = timezone.get_current_timezone(), user.is_staff
    read_item, render_item = ITEM.instance_reader(), ITEM.row_renderer()
    read_payment, render_payment = PAYMENT.instance_reader(), PAYMENT.row_renderer()
    read_promotion, render_promotion = APPLIED_PROMOTION.instance_reader(), APPLIED_PROMOTION.row_renderer()
    return sale_dict(
        SALE.instance_reader()(sale),
        items=[render_item(read_item(item), None, zone, staff) for item in sale.items.all()],
        transitions=sale.available_transitions_for(user),
        children=sale.children_ids,
        payments=[
            render_payment(read_payment(payment), {"allocations": render_allocations(payment)}, zone, staff)
            for payment in sale.payments.all()
        ],
        promotions=[
            render_promotion(read_promotion(applied), None, zone, staff) for applied in sale.applied_promotions.all()
        ],
        zone=zone,
        staff=staff,
    )
