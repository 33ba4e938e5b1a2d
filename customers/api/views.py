"""Customer endpoints: everyone signed in reads, creates and edits customers; only staff delete them."""

import django_filters
from django.db.models import Q
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, viewsets

from customers import services
from customers.api.serializers import CustomerSerializer
from customers.models import Customer
from salesproject.api.idempotency import IdempotentMixin
from salesproject.filters import MetadataFilter
from salesproject.ordering import OrderingFilter


class CustomerFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", max_length=200, help_text="In name, email, phone and company."
    )
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    external_ref = django_filters.CharFilter(field_name="external_ref")
    metadata = MetadataFilter()
    ordering = OrderingFilter(fields=("id", "name", "email", "created_at"))

    class Meta:
        model = Customer
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(email__icontains=value) | Q(phone__icontains=value)
            | Q(company__icontains=value)
        )


class CustomerPermission(permissions.BasePermission):
    """Signed in for everything; staff for deletes."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method != "DELETE" or request.user.is_staff


@extend_schema_view(
    destroy=extend_schema(
        summary="Delete a customer (staff)", description="409 `in_use` when sales name the customer."
    ),
)
class CustomerViewSet(IdempotentMixin, viewsets.ModelViewSet):
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    permission_classes = [CustomerPermission]
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return Customer.objects.select_related("price_list").prefetch_related("addresses").order_by("pk")

    def perform_create(self, serializer):
        serializer.instance = services.customer_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.customer_update(
            customer=serializer.instance, data=dict(serializer.validated_data)
        )

    def perform_destroy(self, instance):
        services.customer_delete(customer=instance)
