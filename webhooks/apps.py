from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from events.signals import event_recorded
        from webhooks.receivers import fan_out

        event_recorded.connect(fan_out, dispatch_uid="webhooks.fan_out")
