from rest_framework.routers import SimpleRouter

from sales.api.events import EventViewSet

router = SimpleRouter()
router.register("events", EventViewSet, basename="event")
urlpatterns = router.urls
