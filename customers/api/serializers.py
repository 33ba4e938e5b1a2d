"""Customer representation and input, addresses nested. Validation only: rules live in services."""

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from customers.models import Address, Customer
from customers.services import CUSTOMER_FIELDS
from salesproject.api.fields import CodeRelatedField
from salesproject.api.serializers import StrictModelSerializer
from salesproject.metadata import MetadataField

COUNTRY_PATTERN = r"^[A-Za-z]{2}$"


class AddressSerializer(StrictModelSerializer):
    country = serializers.RegexField(
        COUNTRY_PATTERN, required=False, allow_blank=True, help_text="ISO 3166 alpha-2, e.g. IT (stored upper-case)."
    )
    is_default = serializers.BooleanField(
        required=False, default=False, help_text="The first address of each kind is the default unless one says so."
    )

    class Meta:
        model = Address
        fields = ["id", "kind", "is_default", "name", "line1", "line2", "city", "state", "postal_code", "country",
                  "phone"]
        # One default per kind is settled by the service when it replaces the list.
        validators = []


class CustomerSerializer(StrictModelSerializer):
    notes = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    addresses = AddressSerializer(many=True, required=False, help_text="On write, replaces the list whole.")
    metadata = MetadataField()
    # The list lives with the sales, which customers may not import: its model comes from the relation.
    price_list = CodeRelatedField(
        queryset=Customer._meta.get_field("price_list").related_model.objects.all(), required=False,
        allow_null=True, help_text="The code of the price list this customer buys at; null: none.",
    )

    class Meta:
        model = Customer
        fields = ["id", *CUSTOMER_FIELDS, "price_list", "metadata", "addresses"]

    def validate_addresses(self, addresses: list[dict]) -> list[dict]:
        # Even in a PATCH the list replaces the old one whole, so each address must be complete.
        errors = [
            {} if "kind" in address else {"kind": [ErrorDetail("This field is required.", code="required")]}
            for address in addresses
        ]
        if any(errors):
            raise serializers.ValidationError(errors)
        return addresses
