from rest_framework.routers import SimpleRouter

from payments.api.views import PaymentViewSet

router = SimpleRouter()
router.register("payments", PaymentViewSet, basename="payment")
urlpatterns = router.urls
