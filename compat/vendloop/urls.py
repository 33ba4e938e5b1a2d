"""Vendloop POS (seed 001): the document's paths, with and without the trailing slash its curl line uses."""

from django.urls import path

from compat.vendloop import views

urlpatterns = [
    path("sales", views.SalesView.as_view(), name="vendloop-sales"),
    path("sales/", views.SalesSlashView.as_view(), name="vendloop-sales-slash"),
    path("sales/delete", views.SaleDeleteView.as_view(), name="vendloop-sale-delete"),
    path("sales/<path:id>", views.SaleDetailView.as_view(), name="vendloop-sale-detail"),
]
