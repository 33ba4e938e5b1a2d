"""Seed 000's routes, written as its document writes them (no trailing slash); with one as well (not in the
schema), and any other path under the prefix a 404 in the document's envelope."""

from django.urls import path, re_path

from compat.cart import views

ROUTES = [
    ("sells", views.SellsView, "compat-cart-sells"),
    ("sells/detail/<str:sellId>", views.SellDetailView, "compat-cart-sell-detail"),
    ("sells/confirm/<str:sellId>", views.SellConfirmView, "compat-cart-sell-confirm"),
    ("sells/cancel/<str:sellId>", views.SellCancelView, "compat-cart-sell-cancel"),
    ("sells/<str:sellId>", views.SellDeleteView, "compat-cart-sell-delete"),
]

urlpatterns = [
    *(path(route, view.as_view(), name=name) for route, view, name in ROUTES),
    *(path(f"{route}/", view.as_view(schema=None), name=f"{name}-slash") for route, view, name in ROUTES),
    re_path(r"^.*$", views.UnknownRouteView.as_view(), name="compat-cart-unknown"),
]
