from decimal import Decimal

from rest_framework import serializers

from payments.api.representation import PAYMENT, PAYMENT_USER
from payments.models import PaymentKind, PaymentMethod, PaymentState
from salesproject.api.fields import IdField, MoneyField
from salesproject.api.serializers import StrictSerializer

# Built from the payment's field table (the sale detail's fast renderer reads it too).
PaymentUserSerializer = PAYMENT_USER.serializer()
PaymentSerializer = PAYMENT.serializer()


class PaymentCreateSerializer(StrictSerializer):
    """Record a transaction: on a sale, or unassigned (staff) to be matched later."""

    sale = IdField(required=False, allow_null=True, help_text="The sale's id; left out or null: unassigned (staff).")
    amount = MoneyField(min_value=Decimal("0.01"))
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    method = serializers.ChoiceField(choices=PaymentMethod.choices, default=PaymentMethod.CASH)
    kind = serializers.ChoiceField(choices=PaymentKind.choices, default=PaymentKind.PAYMENT)
    status = serializers.ChoiceField(choices=PaymentState.choices, default=PaymentState.SUCCESSFUL)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, allow_null=True)
    received_at = serializers.DateTimeField(required=False, allow_null=True)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class SalePaymentCreateSerializer(PaymentCreateSerializer):
    sale = None


class PaymentAssignSerializer(StrictSerializer):
    sale = IdField(required=False, help_text="The sale's id (or give `reference`).")
    reference = serializers.CharField(max_length=100, required=False, help_text="The sale's reference.")
    transaction_reference = serializers.CharField(max_length=100)
    amount = MoneyField(min_value=Decimal("0.01"), required=False)
    method = serializers.ChoiceField(choices=PaymentMethod.choices, required=False)

    def validate(self, attrs):
        if not attrs.get("sale") and not attrs.get("reference"):
            raise serializers.ValidationError({"sale": ["Name the sale by `sale` (id) or `reference`."]},
                                              code="required")
        return attrs
