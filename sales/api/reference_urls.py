from rest_framework.routers import SimpleRouter

from sales.api import reference

router = SimpleRouter()
router.register("channels", reference.ChannelViewSet, basename="channel")
router.register("carriers", reference.CarrierViewSet, basename="carrier")
router.register("taxes", reference.TaxRateViewSet, basename="tax")

urlpatterns = router.urls
