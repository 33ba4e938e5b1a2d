"""Seed 004's route, as its document writes it; with a trailing slash as well (not in the schema), and any other
path under the prefix a 404 in the document's envelope."""

from django.urls import path, re_path

from compat.transactions import views

urlpatterns = [
    path("sales/transactions", views.TransactionsView.as_view(), name="compat-transactions-assign"),
    path("sales/transactions/", views.TransactionsView.as_view(schema=None), name="compat-transactions-assign-slash"),
    re_path(r"^.*$", views.UnknownRouteView.as_view(), name="compat-transactions-unknown"),
]
