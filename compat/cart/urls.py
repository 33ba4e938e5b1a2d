"""Seed 000's routes, written as its document writes them (no trailing slash)."""

from django.urls import path

from compat.cart import views

urlpatterns = [
    path("sells", views.SellsView.as_view(), name="compat-cart-sells"),
    path("sells/detail/<str:sellId>", views.SellDetailView.as_view(), name="compat-cart-sell-detail"),
    path("sells/confirm/<str:sellId>", views.SellConfirmView.as_view(), name="compat-cart-sell-confirm"),
    path("sells/cancel/<str:sellId>", views.SellCancelView.as_view(), name="compat-cart-sell-cancel"),
    path("sells/<str:sellId>", views.SellDeleteView.as_view(), name="compat-cart-sell-delete"),
]
