from rest_framework.routers import SimpleRouter

from inventory.api import views

router = SimpleRouter()
router.register("products", views.ProductViewSet, basename="product")
router.register("variants", views.VariantViewSet, basename="variant")
router.register("warehouses", views.WarehouseViewSet, basename="warehouse")
router.register("product-groups", views.ProductGroupViewSet, basename="product-group")
router.register("stock", views.StockViewSet, basename="stock")

urlpatterns = router.urls
