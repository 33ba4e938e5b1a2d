from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        # The object of stock events, as v1 shows it (the services may not import the API).
        from events.renderers import register_renderer
        from inventory.api.serializers import StockLevelSerializer

        register_renderer("stock_level", lambda level: StockLevelSerializer(level).data)
