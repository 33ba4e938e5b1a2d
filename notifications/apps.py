from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Customer e-mails"

    def ready(self) -> None:
        from notifications import receivers  # noqa: F401  (connects the event receiver)
