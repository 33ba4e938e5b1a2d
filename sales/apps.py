from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        # Inventory's audit asks the apps above it what their documents hold (it imports no sales code).
        from inventory.services.audit import register_reservation_source
        from sales.selectors import stock_reserved_by_pending_sales

        register_reservation_source(stock_reserved_by_pending_sales)
