from rest_framework import serializers

from salesproject.api.serializers import StrictModelSerializer
from webhooks.models import DeliveryStatus, Webhook, WebhookDelivery


class WebhookSerializer(StrictModelSerializer):
    url = serializers.CharField(
        max_length=2000,
        help_text="Where events are POSTed: https in production, and not to loopback, private or link-local "
        "addresses (`invalid_url`, `insecure_url`, `private_target`, `unresolvable_host`).",
    )
    events = serializers.ListField(
        child=serializers.CharField(max_length=40),
        min_length=1,
        max_length=50,
        help_text='Event types to receive, or `["*"]` for all (`unknown_event_type`).',
    )
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    secret = serializers.SerializerMethodField(
        help_text="The signing secret (`whsec_…`): shown on create and by rotate-secret only, null otherwise."
    )

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "active", "description", "secret"]

    def get_secret(self, webhook: Webhook) -> str | None:
        return webhook.secret if self.context.get("show_secret") else None


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="event_uid", help_text="The event id (`evt_…`), the `webhook-id` header.")
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event", "status", "attempts", "last_status_code", "last_error", "next_attempt_at"]
        read_only_fields = fields
