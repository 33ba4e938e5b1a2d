"""Idempotency keys in the admin, read-only: to see what a client sent and what it was answered."""

from django.contrib import admin

from salesproject.models import IdempotencyKey


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ("key", "user", "method", "path", "state", "response_status", "created_at")
    list_select_related = ("user",)
    list_filter = ("state", "method")
    search_fields = ("key", "path", "user__username")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
