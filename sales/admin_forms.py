"""Forms of the sales back office: the sale and item forms, and the questions some transitions ask first.

The transition forms' field names are the keyword arguments of the service
each one feeds (`sale_cancel(reason=, note=)`, `sale_refund(restock=, reason=)` …),
so the admin passes `cleaned_data` straight through.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django import forms
from django.conf import settings

from sales.models import (
    TRACKING_FLOW,
    TRACKING_STOPS,
    CancelReason,
    Carrier,
    CloneReason,
    DeliveryMode,
    Fulfillment,
    Sale,
    SaleItem,
    SaleStatus,
    TrackingStatus,
)
from sales.services import ItemQuantity

# The sale's own fields staff may type; `sale_update` decides which of them a sale's status still allows.
SALE_OPEN_FIELDS = (
    "customer",
    "channel",
    "warehouse",
    "currency",
    "external_id",
    "sold_at",
    "delivery_mode",
    "payment_mode",
    "delivery_note",
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


# --- fulfilment and structure pages (sales.admin_fulfilment) ----------------------------------

QUANTITY_PREFIX = "qty_"
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ItemQuantitiesForm(forms.Form):
    """One quantity box per line of the sale (`qty_<item id>`), then the fields of the subclass.

    The boxes only take whole numbers of zero or more: how many units a line can still give is the
    service's rule (a quantity above it comes back as its error message), not this form's.
    """

    def __init__(self, *args: Any, items: Iterable[SaleItem], initial_quantity: Callable[[SaleItem], int],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = list(items)
        boxes = {
            f"{QUANTITY_PREFIX}{item.pk}": forms.IntegerField(
                min_value=0, required=False, initial=max(initial_quantity(item), 0), label=item.sku,
                widget=forms.NumberInput(attrs={"style": "width: 5em"}),
            )
            for item in self.items
        }
        self.fields = {**boxes, **self.fields}  # the boxes first: they are what the page is about

    def quantity_boxes(self) -> Iterator[tuple[SaleItem, forms.BoundField]]:
        for item in self.items:
            yield item, self[f"{QUANTITY_PREFIX}{item.pk}"]

    def other_fields(self) -> list[forms.BoundField]:
        return [field for field in self if not field.name.startswith(QUANTITY_PREFIX)]

    def lines(self) -> list[ItemQuantity]:
        """The lines given a quantity above zero, as the services take them."""
        lines = []
        for item in self.items:
            quantity = self.cleaned_data.get(f"{QUANTITY_PREFIX}{item.pk}")
            if quantity:
                lines.append(ItemQuantity(item=item, quantity=quantity))
        return lines

    def options(self) -> dict[str, Any]:
        """The service's other keyword arguments: every field that is not a quantity box."""
        return {name: value for name, value in self.cleaned_data.items() if not name.startswith(QUANTITY_PREFIX)}


class FulfilForm(ItemQuantitiesForm):
    carrier = forms.ModelChoiceField(queryset=Carrier.objects.all(), required=False)
    tracking_code = forms.CharField(required=False, max_length=100)
    tracking_url = forms.CharField(
        required=False, max_length=500, help_text="Empty: made from the carrier's tracking link and the code."
    )
    expected_at = forms.DateTimeField(required=False, widget=DATETIME_INPUT, label="Expected at",
                                      help_text="When the parcel should arrive (or be ready); late after it.")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def options(self) -> dict[str, Any]:
        options = super().options()
        for name in ("tracking_code", "tracking_url", "note"):
            options[name] = options.get(name) or ""
        return options


class CancelItemsForm(ItemQuantitiesForm):
    reason = forms.ChoiceField(choices=CancelReason.choices, initial=CancelReason.CUSTOMER)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SplitForm(ItemQuantitiesForm):
    """Only the units to move to the new sale."""


class CloneForm(ItemQuantitiesForm):
    reason = forms.ChoiceField(
        choices=CloneReason.choices, help_text="An exchange keeps this sale's prices; a new sale takes today's."
    )
    status = forms.ChoiceField(
        choices=[(SaleStatus.DRAFT, "Draft"), (SaleStatus.PENDING, "Pending (reserves the stock)")],
        initial=SaleStatus.DRAFT,
    )


class TrackingForm(forms.Form):
    """A tracking event of one fulfilment; the statuses offered are those of its delivery mode."""

    status = forms.ChoiceField()
    location = forms.CharField(required=False, max_length=255)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    expected_at = forms.DateTimeField(required=False, widget=DATETIME_INPUT, label="New expected date",
                                      help_text="Only when the carrier gives a new one.")

    def __init__(self, *args: Any, fulfillment: Fulfillment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        mode = DeliveryMode(fulfillment.delivery_mode)
        statuses = TRACKING_FLOW[mode] + TRACKING_STOPS[mode]
        self.fields["status"].choices = [(status, TrackingStatus(status).label) for status in statuses]
        after = [status for status in TRACKING_FLOW[mode] if TRACKING_FLOW[mode].index(status) > (
            TRACKING_FLOW[mode].index(fulfillment.status) if fulfillment.status in TRACKING_FLOW[mode] else -1)]
        if after:
            self.fields["status"].initial = after[0]  # the next step is the usual answer

    def options(self) -> dict[str, Any]:
        return {
            "status": self.cleaned_data["status"],
            "location": self.cleaned_data.get("location") or "",
            "note": self.cleaned_data.get("note") or "",
            "expected_at": self.cleaned_data.get("expected_at"),
        }


class LockForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500, help_text="Why (a dispute, a fraud check); shown to "
                             "everyone who tries to change the sale.")


class UnlockForm(forms.Form):
    note = forms.CharField(required=False, max_length=500)
