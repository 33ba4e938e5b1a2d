"""Forms of the sales back office: the sale and item forms, and the questions some transitions ask first.

The transition forms' field names are the keyword arguments of the service
each one feeds (`sale_cancel(reason=, note=)`, `sale_refund(restock=, reason=)` …),
so the admin passes `cleaned_data` straight through.
"""

import json
from typing import Any

from django import forms
from django.conf import settings

from sales.models import CancelReason, Carrier, Sale, SaleItem

# The sale's own fields staff may type; `sale_update` decides which of them a sale's status still allows.
SALE_OPEN_FIELDS = (
    "customer",
    "channel",
    "warehouse",
    "currency",
    "external_id",
    "sold_at",
    "discount",
    "discount_type",
    "tax",
    "prices_include_tax",
    "shipping_cost",
    "tax_shipping",
    "billing_address",
    "shipping_address",
)
SALE_ALWAYS_EDITABLE_FIELDS = ("note", "staff_note", "tags")
ITEM_INPUT_FIELDS = (
    "variant",
    "quantity",
    "unit_price",
    "discount",
    "discount_type",
    "warehouse",
    "carrier",
    "tracking_code",
)


class TagsField(forms.CharField):
    """Tags typed as words separated by commas (`vip, gift`), shown the same way; a JSON list is accepted too."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("["):
            try:
                value = json.loads(value)
            except ValueError:
                return value
        if isinstance(value, list | tuple):
            return ", ".join(str(tag) for tag in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        text = (super().to_python(value) or "").strip()
        if text.startswith("["):
            try:
                tags = json.loads(text)
            except ValueError as error:
                raise forms.ValidationError("Enter tags separated by commas, e.g. vip, gift.") from error
            if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
                raise forms.ValidationError("Enter tags separated by commas, e.g. vip, gift.")
            return [tag.strip() for tag in tags if tag.strip()]
        return [tag.strip() for tag in text.split(",") if tag.strip()]


class SaleAdminForm(forms.ModelForm):
    """The sale's own fields; saving goes through `sale_create` / `sale_update`, never `form.save()`."""

    tags = TagsField(required=False, help_text="Words separated by commas, e.g. vip, gift.",
                     widget=forms.TextInput(attrs={"size": 40}))

    class Meta:
        model = Sale
        fields = ("seller", *SALE_OPEN_FIELDS, *SALE_ALWAYS_EDITABLE_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            # On the add page the service fills these in: the staff user sells, the default warehouse ships.
            for name, help_text in (
                ("seller", "Leave empty to record the sale as yours."),
                ("warehouse", "Leave empty for the default warehouse."),
            ):
                if name in self.fields:
                    self.fields[name].required = False
                    self.fields[name].help_text = help_text
            if "currency" in self.fields:
                self.fields["currency"].initial = settings.SALES_DEFAULT_CURRENCY

    def clean_tags(self) -> list[str]:
        tags = self.cleaned_data.get("tags")
        if tags in (None, ""):
            return []
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise forms.ValidationError('Enter a JSON list of strings, e.g. ["vip", "gift"].')
        return tags

    def _clean_address(self, name: str) -> dict:
        address = self.cleaned_data.get(name)
        if address in (None, ""):
            return {}
        if not isinstance(address, dict):
            raise forms.ValidationError('Enter a JSON object, e.g. {"city": "Rome", "country": "IT"}.')
        return address

    def clean_billing_address(self) -> dict:
        return self._clean_address("billing_address")

    def clean_shipping_address(self) -> dict:
        return self._clean_address("shipping_address")


class SaleItemAdminForm(forms.ModelForm):
    """One line as staff type it: a variant, a quantity and optionally a price and a discount."""

    class Meta:
        model = SaleItem
        fields = ITEM_INPUT_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "unit_price" in self.fields:
            self.fields["unit_price"].required = False
            self.fields["unit_price"].help_text = "Empty: the catalogue price."
        if "warehouse" in self.fields:
            self.fields["warehouse"].required = False
            self.fields["warehouse"].help_text = "Empty: the sale's warehouse."


class SaleCancelForm(forms.Form):
    reason = forms.ChoiceField(choices=CancelReason.choices)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class SaleRejectForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class SaleRefundForm(forms.Form):
    restock = forms.BooleanField(
        required=False, label="Put the goods back in stock", help_text="Leave unticked if the customer keeps them."
    )
    reason = forms.CharField(required=False, max_length=500)


class SaleShipForm(forms.Form):
    carrier = forms.ModelChoiceField(queryset=Carrier.objects.all(), required=False)
    tracking_code = forms.CharField(required=False, max_length=100)
