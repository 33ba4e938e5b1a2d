"""Customer e-mails in the admin, read-only: what was sent to whom, and why one was not."""

from django.contrib import admin

from notifications.models import CustomerEmail


@admin.register(CustomerEmail)
class CustomerEmailAdmin(admin.ModelAdmin):
    list_display = ("sale", "kind", "status", "to", "attempts", "next_attempt_at", "sent_at", "created_at")
    list_select_related = ("sale",)
    list_filter = ("status", "kind")
    search_fields = ("sale__reference", "to")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in CustomerEmail._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
