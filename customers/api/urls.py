from rest_framework.routers import SimpleRouter

from customers.api import views

router = SimpleRouter()
router.register("customers", views.CustomerViewSet, basename="customer")

urlpatterns = router.urls
