"""Events, read-only: the outbox is append-only (only `events.services.event_record` writes it)."""

import json

from django.contrib import admin
from django.utils.html import format_html

from events.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("uid", "type", "object_type", "object_id", "sale_id", "created_at")
    list_filter = ("type", "object_type", "created_at")
    search_fields = ("=uid", "=object_id")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    show_full_result_count = False  # a large table: no COUNT(*) of it on every page
    fields = (
        "uid",
        "type",
        "created_at",
        "object_type",
        "object_id",
        "sale_id",
        "seller_id",
        "store_id",
        "data_json",
        "previous_json",
    )
    readonly_fields = fields

    @admin.display(description="data")
    def data_json(self, event: Event) -> str:
        return _pretty(event.data)

    @admin.display(description="previous")
    def previous_json(self, event: Event) -> str:
        return _pretty(event.previous) if event.previous is not None else "—"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _pretty(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))
