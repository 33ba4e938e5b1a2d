"""The admin of `payments.Payment`: `payments.admin.PaymentAdmin` plus what needs the sale services.

Recording a payment on a sale (`sale_record_payment`) and the "Assign to sale" action
(`sale_assign_payment`) are sale operations, so this admin is registered by the sales app
(`payments` imports nothing of `sales`; see the import-linter contracts in pyproject.toml).
"""

from django import forms
from django.contrib import admin

from payments.admin import PaymentAdmin
from payments.models import Payment
from sales import services
from sales.models import Sale
from salesproject.admin_views import action_form_page, describe, report
from salesproject.errors import DomainError


class AssignToSaleForm(forms.Form):
    sale_reference = forms.CharField(max_length=100, label="Sale reference", help_text="The reference of the sale.")

    def clean_sale_reference(self):
        reference = self.cleaned_data["sale_reference"].strip()
        self.sale = Sale.objects.filter(reference=reference).first()
        if self.sale is None:
            raise forms.ValidationError("No sale has this reference.")
        return reference


@admin.register(Payment)
class SalePaymentAdmin(PaymentAdmin):
    actions = ("assign_to_sale",)

    def record(self, request, data: dict):
        if data.get("sale") is None:
            return super().record(request, data)
        return services.sale_record_payment(**data, user=request.user)

    def has_assign_permission(self, request) -> bool:
        return request.user.has_perm("payments.change_payment")

    @admin.action(description="Assign the selected transactions to a sale…", permissions=["assign"])
    def assign_to_sale(self, request, queryset):
        """Ask for the sale, then call `sale_assign_payment` once per selected transaction."""
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
                # sale_assign_payment finds a transaction by its provider reference.
                failed.append(f"payment {payment.pk}: it has no reference to match it by")
                continue
            try:
                services.sale_assign_payment(sale=form.sale, transaction_reference=payment.reference, user=request.user)
            except DomainError as error:
                failed.append(f"{payment.reference}: {describe(error)}")
            else:
                done += 1
        report(request, f"Assigned to sale {form.sale.reference}", done, failed)
        return None
