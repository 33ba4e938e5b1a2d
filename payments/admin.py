"""Payments and refunds in the admin, written only through the services.

A recorded transaction is never edited here: its amount and its sale make up
the sale's paid total, so a new one is added through a service (which
refreshes the sale) and an unassigned one is matched to a sale with the
"Assign to sale" action. Deleting one is not offered, for the same reason.

`PaymentAdmin` is the list, the read-only view and the add form; recording on a
sale and assigning need the sale services, which sit above `payments`, so the
admin registered for `Payment` is `sales.admin_payments.SalePaymentAdmin`.
"""

from django import forms
from django.conf import settings
from django.contrib import admin

from payments import services
from payments.models import Payment, PaymentAllocation
from salesproject.admin_views import ServiceAdmin, adopt
from salesproject.errors import ValidationError


class AssignedFilter(admin.SimpleListFilter):
    title = "assigned to a sale"
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return (("yes", "Assigned"), ("no", "Not assigned yet"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(sale__isnull=False)
        if self.value() == "no":
            return queryset.filter(sale__isnull=True)
        return queryset


class PaymentAddForm(forms.ModelForm):
    class Meta:
        model = Payment
        fields = ("sale", "amount", "currency", "method", "kind", "status", "reference", "received_at", "note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "currency" not in self.fields:
            return  # the read-only view of a recorded payment
        # Blank means the sale's currency (or the default one for an unassigned transaction).
        self.fields["currency"].required = False
        self.fields["currency"].initial = ""
        self.fields["currency"].help_text = "Leave blank for the sale's currency."
        self.fields["sale"].help_text = "Leave empty to record a transaction to be matched to a sale later."

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("currency"):
            sale = cleaned.get("sale")
            cleaned["currency"] = sale.currency if sale is not None else settings.SALES_DEFAULT_CURRENCY
        return cleaned

    def clean_currency(self):
        return (self.cleaned_data["currency"] or "").strip().upper()


class PaymentAllocationInline(admin.TabularInline):
    """Which sales a recorded transaction pays for, and how much of it each: read only (written by the services)."""

    model = PaymentAllocation
    fields = ("sale", "amount")
    readonly_fields = ("sale", "amount")
    extra = 0
    can_delete = False
    verbose_name_plural = "allocations (the sales this transaction pays for)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or request.user.has_perm("payments.view_payment")


class PaymentAdmin(ServiceAdmin):
    form = PaymentAddForm
    inlines = (PaymentAllocationInline,)
    change_form_template = "admin/payments/payment/change_form.html"
    list_display = (
        "__str__",
        "sale",
        "reference",
        "amount",
        "currency",
        "method",
        "kind",
        "status",
        "received_at",
        "user",
    )
    list_display_links = ("__str__",)
    list_filter = (AssignedFilter, "kind", "status", "method", "currency")
    list_select_related = ("sale", "user")
    search_fields = ("reference", "sale__reference", "note")
    date_hierarchy = "received_at"
    raw_id_fields = ("sale",)

    def get_inlines(self, request, obj=None):
        return self.inlines if obj is not None else ()  # the add form records the transaction, allocations follow

    def get_fields(self, request, obj=None):
        if obj is None:
            return PaymentAddForm.Meta.fields
        return (*PaymentAddForm.Meta.fields, "user", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj is not None else ()

    # A recorded transaction makes up its sale's paid total: it is never edited or deleted by hand.
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in PaymentAddForm.Meta.fields}
        adopt(obj, self.record(request, data))

    def record(self, request, data: dict):
        """Record the added transaction, unassigned; `sales.admin_payments.SalePaymentAdmin` records on a sale."""
        if data.pop("sale", None) is not None:
            raise ValidationError("Recording on a sale needs the sales app's admin.", attr="sale")
        return services.payment_record(**data, user=request.user)
