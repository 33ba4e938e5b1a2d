"""Customers with their addresses in the admin, written through `customers.services`.

Sales keep their own copy of an address, so editing or replacing a customer's
addresses here never rewrites a past sale. A customer named by a sale cannot
be deleted (the service refuses; the admin shows why).
"""

from django.contrib import admin

from customers import services
from customers.models import Address, Customer
from salesproject.admin_views import ServiceAdmin, adopt


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0
    fields = (
        ("kind", "is_default"),
        "name",
        "line1",
        "line2",
        ("city", "state", "postal_code"),
        ("country", "phone"),
    )

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0


@admin.register(Customer)
class CustomerAdmin(ServiceAdmin):
    list_display = ("name", "email", "phone", "company", "external_ref", "created_at")
    search_fields = ("name", "email", "phone", "company", "external_ref")
    list_filter = ("email_opt_out",)
    date_hierarchy = "created_at"
    fields = services.CUSTOMER_FIELDS
    inlines = (AddressInline,)

    def save_model(self, request, obj, form, change):
        """Written with its addresses in `save_related`, where the inline rows are known."""

    def save_related(self, request, form, formsets, change):
        # Absent for a user who may not see addresses: the customer's own fields are saved alone.
        addresses = next(iter(formsets), None)
        data = {name: form.cleaned_data[name] for name in services.CUSTOMER_FIELDS}
        # The service replaces the addresses as a whole, so send them only when an address row changed.
        rows = self._addresses(addresses) if addresses is not None and addresses.has_changed() else None
        if change:
            customer = services.customer_update(customer=form.instance, data={**data, "addresses": rows})
        else:
            customer = services.customer_create(**data, addresses=rows or ())
        adopt(form.instance, customer)
        if addresses is None:
            return
        # What Django's change message reads from a saved formset.
        addresses.new_objects = list(customer.addresses.all()) if rows is not None else []
        addresses.changed_objects = []
        addresses.deleted_objects = [f.instance for f in addresses.deleted_forms if f.instance.pk]

    @staticmethod
    def _addresses(formset) -> list[dict]:
        """The address rows the customer keeps, as the service takes them."""
        rows = []
        for form in formset.forms:
            if form.instance.pk is None and not form.has_changed():
                continue
            if formset.can_delete and formset._should_delete_form(form):
                continue
            rows.append({name: form.cleaned_data[name] for name in services.ADDRESS_FIELDS})
        return rows

    def delete_model(self, request, obj):
        services.customer_delete(customer=obj)
