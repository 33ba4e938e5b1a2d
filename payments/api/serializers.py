from decimal import Decimal

from rest_framework import serializers

from payments.api.representation import PAYMENT, PAYMENT_USER
from payments.models import PaymentKind, PaymentMethod, PaymentState
from salesproject.api.fields import AmountField, IdField
from salesproject.api.serializers import StrictSerializer
from salesproject.metadata import MetadataField

# Built from the payment's field table (the sale detail's fast renderer reads it too).
PaymentUserSerializer = PAYMENT_USER.serializer()
PaymentSerializer = PAYMENT.serializer()


class AllocationInputSerializer(StrictSerializer):
    """One sale's part of a transaction."""

    sale = IdField(help_text="The sale's id (in the transaction's currency).")
    amount = AmountField(min_value=Decimal("0.001"), help_text="This sale's part; the parts add up to `amount`.")


class PaymentCreateSerializer(StrictSerializer):
    """Record a transaction: on a sale, spread over several (`allocations`), or unassigned (staff)."""

    sale = IdField(required=False, allow_null=True,
                   help_text="The sale's id; left out or null (and no `allocations`): unassigned (staff).")
    allocations = serializers.ListField(
        child=AllocationInputSerializer(), required=False, min_length=1, max_length=100,
        help_text="The transaction spread over several sales: each sale's part; they add up to `amount`.",
    )
    user = IdField(required=False,
                   help_text="Who the transaction is for (a user's id); default: you. Staff only for another user.")
    amount = AmountField(min_value=Decimal("0.001"))
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    method = serializers.ChoiceField(choices=PaymentMethod.choices, default=PaymentMethod.CASH)
    kind = serializers.ChoiceField(choices=PaymentKind.choices, default=PaymentKind.PAYMENT)
    status = serializers.ChoiceField(choices=PaymentState.choices, default=PaymentState.SUCCESSFUL)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, allow_null=True)
    received_at = serializers.DateTimeField(required=False, allow_null=True)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    metadata = MetadataField()


class SalePaymentCreateSerializer(PaymentCreateSerializer):
    sale = None
    allocations = None
    user = None


class PaymentAssignSerializer(StrictSerializer):
    sale = IdField(required=False, help_text="The sale's id (or give `reference`, or `allocations`).")
    reference = serializers.CharField(max_length=100, required=False, help_text="The sale's reference.")
    allocations = serializers.ListField(
        child=AllocationInputSerializer(), required=False, min_length=1, max_length=100,
        help_text="Spread the transaction over several sales: each sale's part; they add up to its amount.",
    )
    transaction_reference = serializers.CharField(max_length=100)
    amount = AmountField(min_value=Decimal("0.001"), required=False)
    method = serializers.ChoiceField(choices=PaymentMethod.choices, required=False)
    user = IdField(required=False, help_text="Who the transaction is for (a user's id). Staff only, like assigning.")

    def validate(self, attrs):
        if not attrs.get("sale") and not attrs.get("reference") and not attrs.get("allocations"):
            raise serializers.ValidationError(
                {"sale": ["Name the sale by `sale` (id) or `reference`, or give `allocations`."]}, code="required"
            )
        return attrs


class PaymentStatusSerializer(StrictSerializer):
    """Move a pending transaction to `successful` or `failed`."""

    status = serializers.ChoiceField(choices=[PaymentState.SUCCESSFUL, PaymentState.FAILED])
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
