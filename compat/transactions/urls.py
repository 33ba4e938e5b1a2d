"""Seed 004's route, as its document writes it."""

from django.urls import path

from compat.transactions import views

urlpatterns = [
    path("sales/transactions", views.TransactionsView.as_view(), name="compat-transactions-assign"),
]
