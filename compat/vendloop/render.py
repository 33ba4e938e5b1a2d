"""Vendloop POS (seed 001): the product's sales as the document's sale objects, and its words as ours.

Every id and amount is a string (`"50"`, `"1302.0000"`), dates are `Y-m-d H:i:s` in the server's time zone.
The translation tables are data; nothing here computes a total: the amounts are the sale's own.
"""

from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from payments.models import PaymentAllocation, PaymentKind, PaymentState
from sales.models import Sale, SaleItem, TaxRate
from sales.pricing import line_discount_amount

BUSINESS_ID = "1"  # one business per installation
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

# Our sale status → the document's `sale_status` (it knows `pending` and `completed`; the rest are ours).
SALE_STATUS = {
    "draft": "pending",
    "pending": "pending",
    "confirmed": "confirmed",
    "in_delivery": "in_delivery",
    "completed": "completed",
    "cancelled": "cancelled",
    "rejected": "rejected",
    "refunded": "refunded",
}
# The statuses a sale can be created in through this API: the document's words → ours.
CREATE_STATUS = {"completed": "completed", "pending": "pending"}
# Our payment status → the document's `payment_status` (`due`, `partial`, `paid`).
PAYMENT_STATUS = {
    "unpaid": "due",
    "partially_paid": "partial",
    "paid": "paid",
    "overpaid": "paid",
    "partially_refunded": "partial",
    "refunded": "due",
}
# A line's tax method: `subtraction` is a price that includes its tax, `addition` one that has it added.
TAX_METHOD = {True: "subtraction", False: "addition"}
TAX_INCLUDED = {word: included for included, word in TAX_METHOD.items()}
# The document's `paid_by` words → our payment methods (answers use our method's word, `cash`, `deposit`, …).
PAID_BY = {"cc": "card", "credit_card": "card", "gift_card": "other", "cheque": "other", "transfer": "bank_transfer"}


def amount(value) -> str:
    return f"{Decimal(value or 0):.4f}"


def ident(value) -> str | None:
    return None if value is None else str(value)


def stamp(value) -> str | None:
    return timezone.localtime(value).strftime(DATE_FORMAT) if value else None


def sales_for_answer(queryset: QuerySet[Sale]) -> QuerySet[Sale]:
    """What the answer shows, in a fixed number of queries: lines with their tax, the money taken."""
    items = SaleItem.objects.select_related("tax").order_by("pk")
    allocations = (
        PaymentAllocation.objects.filter(payment__status=PaymentState.SUCCESSFUL)
        .select_related("payment").order_by("payment_id")
    )
    return queryset.select_related("tax").prefetch_related(
        Prefetch("items", queryset=items), Prefetch("payment_allocations", queryset=allocations)
    )


def tax_object(tax: TaxRate | None) -> dict | None:
    if tax is None:
        return None
    return {"id": str(tax.pk), "name": tax.name, "code": tax.code, "rate": amount(tax.rate), "type": tax.kind}


def item_tax(item: SaleItem) -> Decimal:
    """The line's own tax (the document's product tax); a line taxed by the sale's tax has none of its own."""
    return item.tax_total if item.tax_id else Decimal(0)


def render_item(item: SaleItem, currency: str) -> dict:
    line = {
        "item_discount": amount(
            line_discount_amount(subtotal=item.subtotal, discount=item.discount, discount_type=item.discount_type,
                                 attr="discount", currency=currency)
        ),
        "item_id": str(item.product_id),
        "item_name": item.name,
        "item_price": amount(item.unit_price),
        "item_tax": amount(item_tax(item)),
        "item_type": item.item_type,
    }
    # Always present (compat.md lists them; empty values are never left out): a named variant's id and name, or
    # null on a line of a product without variants (its one default variant bears the product's name).
    named = bool(item.variant_name) and item.variant_name != item.name
    line["item_variant_id"] = str(item.variant_id) if named else None
    line["item_variant_name"] = item.variant_name if named else None
    line.update({
        "quantity": amount(item.quantity - item.quantity_cancelled),
        "sku": item.sku,
        "tax": tax_object(item.tax),
        "tax_method": TAX_METHOD[item.tax_included],
        "unit_code": item.unit or None,
        "unit_id": None,  # the product has no unit records
    })
    return line


def render_payment(allocation: PaymentAllocation) -> dict:
    payment = allocation.payment
    sign = -1 if payment.kind == PaymentKind.REFUND else 1
    return {
        "id": str(payment.pk),
        "date": stamp(payment.received_at),
        "user_id": ident(payment.user_id),
        "reference_no": payment.reference or "",
        "paid_by": payment.method,
        "amount": amount(sign * allocation.amount),
    }


def render_sale(sale: Sale, *, created: bool = False) -> dict:
    """The document's sale object (`sales_for_answer` loaded it); the create answer also carries `reference`."""
    items = list(sale.items.all())
    own_tax = sum((item_tax(item) for item in items), Decimal(0))
    data = {
        "id": str(sale.pk),
        "date": stamp(sale.sold_at),
        "due_date": sale.due_date.isoformat() if sale.due_date else None,
        "business_id": BUSINESS_ID,
        "store_id": ident(sale.store_id),
        "customer_id": ident(sale.customer_id),
        "user_id": str(sale.seller_id),
        "reference_no": sale.reference,
    }
    if created:
        data["reference"] = sale.reference
    data.update({
        "note": sale.note,
        "order_tax": amount(sale.tax_total - own_tax),
        "paid": amount(sale.paid_total),
        "payment_status": PAYMENT_STATUS[sale.payment_status],
        "sale_status": SALE_STATUS[sale.status],
        "shipping": amount(sale.shipping_cost),
        "staff_note": sale.staff_note,
        "sub_total": amount(sale.subtotal),
        "grand_total": amount(sale.grand_total),
        "total_discount": amount(sale.discount_total),
        "total_tax": amount(sale.tax_total),
        "updated_at": stamp(sale.updated_at),
        "updated_by": ident(sale.updated_by_id),
        "device_id": sale.device or None,
        "items": [render_item(item, sale.currency) for item in items],
        "payments": [render_payment(allocation) for allocation in sale.payment_allocations.all()],
        "tax": tax_object(sale.tax),
    })
    return data
