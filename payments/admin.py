"""Payments and refunds in the admin, written only through `payments.services`.

A recorded transaction is never edited here: its amount and its sale make up
the sale's paid total, so a new one is added with `payment_record` (which
refreshes the sale) and an unassigned one is matched to a sale with the
"Assign to sale" action (`payment_assign`). Deleting one is not offered, for
the same reason.
"""

from django import forms
from django.conf import settings
from django.contrib import admin

from payments import services
from payments.models import Payment
from sales.models import Sale
from salesproject.admin_views import ServiceAdmin, action_form_page, adopt, describe, report
from salesproject.errors import DomainError


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


class AssignToSaleForm(forms.Form):
    sale_reference = forms.CharField(max_length=100, label="Sale reference", help_text="The reference of the sale.")

    def clean_sale_reference(self):
        reference = self.cleaned_data["sale_reference"].strip()
        self.sale = Sale.objects.filter(reference=reference).first()
        if self.sale is None:
            raise forms.ValidationError("No sale has this reference.")
        return reference


@admin.register(Payment)
class PaymentAdmin(ServiceAdmin):
    form = PaymentAddForm
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
    actions = ("assign_to_sale",)

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

    def has_assign_permission(self, request) -> bool:
        return request.user.has_perm("payments.change_payment")

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in PaymentAddForm.Meta.fields}
        adopt(obj, services.payment_record(**data, user=request.user))

    @admin.action(description="Assign the selected transactions to a sale…", permissions=["assign"])
    def assign_to_sale(self, request, queryset):
        """Ask for the sale, then call `payment_assign` once per selected transaction."""
        payments = list(queryset.select_related("sale").order_by("pk"))
        form = AssignToSaleForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return action_form_page(
                modeladmin=self,
                request=request,
                action="assign_to_sale",
                title="Assign to a sale",
                form=form,
                objects=payments,
                submit_label="Assign",
                columns=[
                    ("reference", "Reference"),
                    ("amount", "Amount"),
                    ("currency", "Currency"),
                    ("method", "Method"),
                    ("sale", "Sale now"),
                ],
            )
        done, failed = 0, []
        for payment in payments:
            if not payment.reference:
                # payment_assign finds a transaction by its provider reference.
                failed.append(f"payment {payment.pk}: it has no reference to match it by")
                continue
            try:
                services.payment_assign(sale=form.sale, transaction_reference=payment.reference, user=request.user)
            except DomainError as error:
                failed.append(f"{payment.reference}: {describe(error)}")
            else:
                done += 1
        report(request, f"Assigned to sale {form.sale.reference}", done, failed)
        return None
