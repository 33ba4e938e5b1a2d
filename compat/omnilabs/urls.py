"""Omnilabs channel sales (seed 002): the routes exactly as its document lists them (no trailing slash); with one
as well (not in the schema, as Express serves it), and any other path under the prefix Omnilabs' 404."""

from django.urls import path, re_path

from compat.omnilabs import views

ROUTES = [
    ("sales", views.SalesView, "omnilabs-sales"),
    ("sale/<str:sale_id>", views.SaleView, "omnilabs-sale"),
    ("sale/<str:sale_id>/statuses", views.StatusesView, "omnilabs-sale-statuses"),
    ("sale/<str:sale_id>/activity", views.ActivityView, "omnilabs-sale-activity"),
    ("sale/<str:sale_id>/status", views.StatusView, "omnilabs-sale-status"),
    ("sale/<str:sale_id>/item/<str:product_id>/warehouse", views.WarehouseView, "omnilabs-item-warehouse"),
    ("sale/<str:sale_id>/item/<str:product_id>/carrier", views.CarrierView, "omnilabs-item-carrier"),
    ("sale/<str:sale_id>/item/<str:product_id>/product-group", views.ProductGroupView, "omnilabs-item-product-group"),
    ("sale/<str:sale_id>/invoice", views.InvoiceView, "omnilabs-sale-invoice"),
]

urlpatterns = [
    *(path(route, view.as_view(), name=name) for route, view, name in ROUTES),
    *(path(f"{route}/", view.as_view(schema=None), name=f"{name}-slash") for route, view, name in ROUTES),
    re_path(r"^.*$", views.UnknownRouteView.as_view(), name="omnilabs-unknown"),
]
