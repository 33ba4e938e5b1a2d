"""The five source systems' own APIs, each under its own prefix (compat.md)."""

from django.urls import include, path

urlpatterns = [
    path("cart/", include("compat.cart.urls")),
    path("vendloop/", include("compat.vendloop.urls")),
    path("omnilabs/", include("compat.omnilabs.urls")),
    path("orders/", include("compat.orders.urls")),
    path("transactions/", include("compat.transactions.urls")),
]
