from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        # The object of payment events, as v1 shows it (the services may not import the API).
        from events.renderers import register_renderer
        from payments.api.serializers import PaymentSerializer

        register_renderer("payment", lambda payment: PaymentSerializer(payment).data)
