"""Seed 003's routes as its curl line writes them: `/v1/sales.json` and `/v1/sales/{id}.json`; also without `v1/`
(the document's heading, `POST /sales.json`, for a client given the base URL `…/compat/orders`; not in the schema)."""

from django.urls import re_path

from compat.orders import views

urlpatterns = [
    re_path(r"^v1/sales\.json$", views.SalesView.as_view(), name="compat-orders-sales"),
    re_path(r"^v1/sales/(?P<id>[^/]+)\.json$", views.SaleView.as_view(), name="compat-orders-sale"),
    re_path(r"^sales\.json$", views.SalesView.as_view(schema=None), name="compat-orders-sales-alias"),
    re_path(r"^sales/(?P<id>[^/]+)\.json$", views.SaleView.as_view(schema=None), name="compat-orders-sale-alias"),
    re_path(r"^.*$", views.UnknownRouteView.as_view(), name="compat-orders-unknown"),
]
