from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from sales.admin_dashboard import sales_dashboard

urlpatterns = [
    # Before "admin/", whose catch-all would answer it; admin_view sends non-staff to the admin login.
    path("admin/dashboard/", admin.site.admin_view(sales_dashboard), name="admin-dashboard"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("salesproject.api.urls")),
    # The source systems' own APIs (compat.md); a string include, so the core imports no compat code.
    path("compat/", include("compat.urls")),
    # /healthz, /readyz and /metrics (ops/urls.py); a string include, so the core imports no ops code.
    path("", include("ops.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

handler400 = "salesproject.api.http.bad_request"
handler404 = "salesproject.api.http.page_not_found"
handler500 = "salesproject.api.http.server_error"
