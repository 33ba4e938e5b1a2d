from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        # Inventory's audit asks the apps above it what their documents hold (it imports no sales code).
        from inventory.services.audit import register_reservation_source
        from sales.selectors import stock_reserved_by_pending_sales

        register_reservation_source(stock_reserved_by_pending_sales)

        # The objects of sale and invoice events, rendered as v1 shows them (the services may not import the API).
        from events.renderers import register_renderer
        from sales.api.events import fulfillment_object, invoice_object, invoice_upload_object, sale_object

        register_renderer("sale", sale_object)
        register_renderer("fulfillment", fulfillment_object)
        register_renderer("invoice", invoice_object)
        register_renderer("invoice_upload", invoice_upload_object)
