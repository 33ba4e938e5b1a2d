"""The payment's one field table: `PaymentSerializer` (so the schema), the sale detail's fast renderer and /payments/.

Adding a read-only field to the payment is one entry here (and the model's
column); see `salesproject.api.representation`.
"""

from payments.models import Payment
from salesproject.api.fields import MoneyField
from salesproject.api.representation import CHOICE, DATETIME, INT, MONEY, OBJECT, STR, Field, Table

PAYMENT_USER = Table(
    "PaymentUser",
    [
        Field("id", INT),
        Field("username", STR),
    ],
)

PAYMENT = Table(
    "Payment",
    [
        Field("id", INT),
        Field("sale", INT, source="sale_id", nullable=True),
        Field("amount", MONEY, drf=lambda: MoneyField(read_only=True)),
        Field("currency", STR),
        Field("method", CHOICE),
        Field("kind", CHOICE),
        Field("status", CHOICE),
        Field("reference", STR, nullable=True),
        Field("received_at", DATETIME),
        Field("user", OBJECT, of=PAYMENT_USER, nullable=True),
        Field("note", STR),
        Field("created_at", DATETIME),
    ],
    model=Payment,
)
