"""The payment's one field table: `PaymentSerializer` (so the schema), the sale detail's fast renderer and /payments/.

Adding a read-only field to the payment is one entry here (and the model's
column); see `salesproject.api.representation`.
"""

from payments.models import Payment, PaymentAllocation
from salesproject.api.representation import CHOICE, DATETIME, INT, LIST, MONEY, OBJECT, STR, Field, Table, money
from salesproject.metadata import MetadataField, metadata_output

PAYMENT_USER = Table(
    "PaymentUser",
    [
        Field("id", INT),
        Field("username", STR),
    ],
)

PAYMENT_ALLOCATION = Table(
    "PaymentAllocation",
    [
        Field("sale", INT, source="sale_id", help="The sale's id."),
        Field("amount", MONEY, help="The part of the transaction that is this sale's money."),
    ],
    model=PaymentAllocation,
    currency="payment__currency",
)


def _metadata(row: dict) -> dict:
    return metadata_output(row["metadata"])


def _allocations_field():
    return PAYMENT_ALLOCATION.serializer()(many=True, read_only=True, source="allocation_rows")


def render_allocations(payment: Payment) -> list[dict]:
    """The `allocations` of a loaded payment as the serializer writes them (the fast renderers' context)."""
    return [
        {"sale": allocation.sale_id, "amount": money(allocation.amount, payment.currency)}
        for allocation in payment.allocation_rows
    ]


PAYMENT = Table(
    "Payment",
    [
        Field("id", INT),
        Field("sale", INT, source="sale_id", nullable=True,
              help="The sale when the transaction has exactly one allocation; else null."),
        Field("amount", MONEY),
        Field("currency", STR),
        Field("method", CHOICE),
        Field("kind", CHOICE),
        Field("status", CHOICE),
        Field("reference", STR, nullable=True),
        Field("received_at", DATETIME),
        Field("user", OBJECT, of=PAYMENT_USER, nullable=True),
        Field("note", STR),
        Field("metadata", STR, compute=_metadata, reads=("metadata",), drf=lambda: MetadataField(read_only=True)),
        Field("created_at", DATETIME),
        # Given by the fast renderer's caller (`render_allocations`); the serializer reads `allocation_rows`.
        Field("allocations", LIST, of=PAYMENT_ALLOCATION, context=True, drf=_allocations_field),
    ],
    model=Payment,
    currency="currency",
)
