"""Webhooks in the back office: subscriptions (with a notice when one was disabled automatically), their
deliveries, and a redeliver action that calls the same service as the API."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError as FormError
from django.urls import reverse
from django.utils.html import format_html

from salesproject.errors import DomainError
from webhooks import services, transport
from webhooks.models import Webhook, WebhookDelivery


class WebhookForm(forms.ModelForm):
    class Meta:
        model = Webhook
        fields = ["url", "events", "active", "description"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            transport.check(url)
        except DomainError as error:
            raise FormError(error.detail, code=error.code) from error
        return url

    def clean_events(self):
        events = self.cleaned_data["events"]
        if not isinstance(events, list) or not events or not all(isinstance(name, str) for name in events):
            raise FormError('A list of event types, e.g. ["sale.created"] or ["*"].')
        try:
            return services.check_event_types(events)
        except DomainError as error:
            raise FormError(error.detail, code=error.code) from error


def _warn_disabled(request, webhooks) -> None:
    for webhook in webhooks:
        messages.warning(request, f"Webhook {webhook.pk} ({webhook.url}): {webhook.disabled_reason}")


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ("id", "url", "active", "events", "failing_since", "disabled_reason")
    list_filter = ("active",)
    readonly_fields = ("failing_since", "disabled_reason", "deliveries_link", "created_at", "updated_at")

    @admin.display(description="Deliveries")
    def deliveries_link(self, webhook: Webhook) -> str:
        if webhook.pk is None:
            return "-"
        url = reverse("admin:webhooks_webhookdelivery_changelist") + f"?webhook__id__exact={webhook.pk}"
        return format_html('<a href="{}">{} deliveries</a>', url, webhook.deliveries.count())

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.Meta.fields if name in form.cleaned_data}
        if change:
            services.webhook_update(webhook=Webhook.objects.get(pk=obj.pk), data=data)
        else:
            obj.pk = services.webhook_create(**data).pk
        obj.refresh_from_db()
        if not change:  # shown once, as by the API; rotate it through the API to see a new one
            messages.info(request, f"Signing secret of webhook {obj.pk} (shown only now): {obj.secret}")

    def changelist_view(self, request, extra_context=None):
        _warn_disabled(request, Webhook.objects.filter(active=False).exclude(disabled_reason=""))
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            _warn_disabled(request, Webhook.objects.filter(pk=object_id, active=False).exclude(disabled_reason=""))
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "webhook", "event_uid", "status", "attempts", "last_status_code", "next_attempt_at")
    list_filter = ("status", "webhook")
    list_select_related = ("webhook", "event")
    actions = ("redeliver",)
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_redeliver_permission(self, request) -> bool:
        return request.user.has_perm("webhooks.change_webhookdelivery")

    @admin.action(description="Redeliver selected deliveries", permissions=["redeliver"])
    def redeliver(self, request, queryset):
        done, failed = 0, []
        for delivery in queryset:
            try:
                services.delivery_redeliver(delivery=delivery)
                done += 1
            except DomainError as error:
                failed.append(f"{delivery.pk}: {error.detail}")
        if failed:
            messages.error(request, f"Redeliver: {done} queued, {len(failed)} refused: {'; '.join(failed)}")
        else:
            messages.success(request, f"Redeliver: {done} queued.")
