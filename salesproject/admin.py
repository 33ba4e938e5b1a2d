"""Idempotency keys in the admin, read-only: to see what a client sent and what it was answered.

Also django-axes' login records (attempts, the access log, failures): axes registers them with every field
read-only yet with the change permission, so their pages offered "Save" buttons that could save nothing.
Here they are view-only (no Save buttons); deleting stays, as axes intends (deleting an attempt unlocks a login).
"""

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
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


class ViewOnly:
    """Model admin mixin: the change page shows the record and a Close button, never Save."""

    def has_change_permission(self, request, obj=None):
        return False


class AccessAttemptAdmin(ViewOnly, axes_admin.AccessAttemptAdmin):
    pass


class AccessLogAdmin(ViewOnly, axes_admin.AccessLogAdmin):
    pass


class AccessFailureLogAdmin(ViewOnly, axes_admin.AccessFailureLogAdmin):
    pass


# Importing `axes_admin` above made its registrations (when AXES_ENABLE_ADMIN is on); these replace them.
for model, model_admin in (
    (AccessAttempt, AccessAttemptAdmin),
    (AccessLog, AccessLogAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
        admin.site.register(model, model_admin)
