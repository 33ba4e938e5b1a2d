"""Omnilabs channel sales (seed 002): the routes exactly as its document lists them, without trailing slashes."""

from django.urls import path, re_path

from compat.omnilabs import views

urlpatterns = [
    path("sales", views.SalesView.as_view(), name="omnilabs-sales"),
    path("sale/<str:sale_id>", views.SaleView.as_view(), name="omnilabs-sale"),
    path("sale/<str:sale_id>/statuses", views.StatusesView.as_view(), name="omnilabs-sale-statuses"),
    path("sale/<str:sale_id>/activity", views.ActivityView.as_view(), name="omnilabs-sale-activity"),
    path("sale/<str:sale_id>/status", views.StatusView.as_view(), name="omnilabs-sale-status"),
    path(
        "sale/<str:sale_id>/item/<str:product_id>/warehouse",
        views.WarehouseView.as_view(),
        name="omnilabs-item-warehouse",
    ),
    path("sale/<str:sale_id>/item/<str:product_id>/carrier", views.CarrierView.as_view(), name="omnilabs-item-carrier"),
    path(
        "sale/<str:sale_id>/item/<str:product_id>/product-group",
        views.ProductGroupView.as_view(),
        name="omnilabs-item-product-group",
    ),
    path("sale/<str:sale_id>/invoice", views.InvoiceView.as_view(), name="omnilabs-sale-invoice"),
    re_path(r"^.*$", views.UnknownRouteView.as_view(), name="omnilabs-unknown"),
]
