"""The admin of `payments.Payment`: `payments.admin.PaymentAdmin` plus what needs the sale services.

Recording a payment on a sale (`sale_record_payment`), the "Assign to sale" action
(`sale_assign_payment`) and the status buttons of a pending transaction (`sale_payment_set_status`)
are sale operations, so this admin is registered by the sales app (`payments` imports nothing of
`sales`; see the import-linter contracts in pyproject.toml).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse

from payments.admin import PaymentAdmin
from payments.models import Payment, PaymentState
from sales import services
from sales.models import Sale
from sales.services.payments import sale_payment_set_status
from salesproject.admin_views import action_form_page, describe, report
from salesproject.errors import DomainError

# The status buttons of a pending transaction: (status, label).
STATUS_BUTTONS = ((PaymentState.SUCCESSFUL, "Mark successful"), (PaymentState.FAILED, "Mark failed"))


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

    # --- status buttons ---------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        urls = [path("<path:object_id>/status/", view(self.status_view), name="payments_payment_status")]
        return urls + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        payment = self.get_object(request, object_id)
        if payment is not None and payment.status == PaymentState.PENDING and self.has_assign_permission(request):
            extra_context = {
                **(extra_context or {}),
                "payment_status_buttons": STATUS_BUTTONS,
                "payment_status_url": reverse("admin:payments_payment_status", args=[payment.pk]),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def status_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Move a pending transaction to the status of the button pressed, through `sale_payment_set_status`."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        payment = self.get_object(request, object_id)
        if payment is None:
            raise Http404("No such payment.")
        if not self.has_assign_permission(request):
            raise PermissionDenied
        target = request.POST.get("status", "")
        try:
            sale_payment_set_status(payment=payment, status=target, user=request.user,
                                    note=request.POST.get("status_note", "").strip()[:2000])
        except DomainError as error:
            messages.error(request, f"The status of {payment} did not change: {describe(error)}")
        else:
            messages.success(request, f"{payment} is now {target}.")
        return HttpResponseRedirect(reverse("admin:payments_payment_change", args=[payment.pk]))

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
