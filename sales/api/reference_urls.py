from rest_framework.routers import SimpleRouter

from sales.api import exchange_rates, pricing_views, reference, stores

router = SimpleRouter()
router.register("channels", reference.ChannelViewSet, basename="channel")
router.register("carriers", reference.CarrierViewSet, basename="carrier")
router.register("taxes", reference.TaxRateViewSet, basename="tax")
router.register("stores", stores.StoreViewSet, basename="store")
router.register("exchange-rates", exchange_rates.ExchangeRateViewSet, basename="exchange-rate")
router.register("price-lists", pricing_views.PriceListViewSet, basename="price-list")
router.register("promotions", pricing_views.PromotionViewSet, basename="promotion")

urlpatterns = router.urls
