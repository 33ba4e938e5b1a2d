"""Everything under /api/v1/."""

from django.urls import include, path

from salesproject.api.auth import TokenView
from salesproject.api.root import ApiRootView

app_name = "api"

urlpatterns = [
    path("", ApiRootView.as_view(), name="root"),
    path("auth/token/", TokenView.as_view(), name="token"),
    path("", include("sales.api.urls")),
    path("", include("sales.api.payment_urls")),  # the payments API records on sales: routed by sales
    path("", include("sales.api.event_urls")),  # the feed is scoped by sale: routed by sales
    path("", include("inventory.api.urls")),
    path("", include("customers.api.urls")),
    path("", include("sales.api.reference_urls")),
    path("", include("reports.api.urls")),
    path("", include("webhooks.api.urls")),
]
