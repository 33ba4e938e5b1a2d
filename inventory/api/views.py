"""Catalogue, warehouse and stock endpoints: validate the input, call one service, answer.

Everyone signed in reads; only staff write.
"""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from inventory import selectors, services
from inventory.api import serializers as s
from inventory.filters import (
    ProductFilter,
    ProductGroupFilter,
    StockLevelFilter,
    StockMovementFilter,
    VariantFilter,
    WarehouseFilter,
)
from inventory.models import ProductGroup, Warehouse
from salesproject.api.idempotency import IdempotentMixin
from salesproject.api.permissions import IsStaffOrReadOnly

IN_USE_NOTE = "A 409 `in_use` answers a delete of something sales or stock history use."


def _create_variant_data(data: dict) -> services.VariantData:
    return services.VariantData(
        sku=data["sku"],
        name=data.get("name", ""),
        attributes=data.get("attributes"),
        price=data.get("price"),
        cost_price=data.get("cost_price"),
        image_url=data.get("image_url", ""),
        weight=data.get("weight"),
        metadata=data.get("metadata"),
    )


class StaffWriteViewSet(IdempotentMixin, viewsets.ModelViewSet):
    """Read for everyone signed in; create, change and delete for staff."""

    permission_classes = [IsStaffOrReadOnly]
    lookup_value_regex = r"[0-9]+"  # ids are ASCII digits: `+1`, ` 1` or `1 ` is not object 1


@extend_schema_view(
    list=extend_schema(summary="List products with their variants"),
    create=extend_schema(summary="Create a product (and its variants)"),
    update=extend_schema(summary="Replace a product's fields (with `variants`, its variant list too)"),
    partial_update=extend_schema(summary="Change a product (with `variants`, replace its variant list)"),
    destroy=extend_schema(summary="Delete a product nobody sold", description=IN_USE_NOTE),
)
class ProductViewSet(StaffWriteViewSet):
    serializer_class = s.ProductSerializer
    filterset_class = ProductFilter

    def get_queryset(self):
        return selectors.product_list()

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        variants = [_create_variant_data(v) for v in data.pop("variants", None) or ()]
        serializer.instance = services.product_create(**data, variants=variants)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        variants = data.pop("variants", None)
        serializer.instance = services.product_update(product=serializer.instance, data=data, variants=variants)

    def perform_destroy(self, instance):
        services.product_delete(product=instance)


@extend_schema_view(
    list=extend_schema(summary="List variants"),
    destroy=extend_schema(summary="Delete a variant nobody sold", description=IN_USE_NOTE),
)
class VariantViewSet(StaffWriteViewSet):
    serializer_class = s.VariantSerializer
    filterset_class = VariantFilter

    def get_queryset(self):
        return selectors.variant_list()

    def perform_create(self, serializer):
        serializer.instance = services.variant_create(**serializer.validated_data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("product", None)
        serializer.instance = services.variant_update(variant=serializer.instance, data=data)

    def perform_destroy(self, instance):
        services.variant_delete(variant=instance)


@extend_schema_view(destroy=extend_schema(summary="Delete a warehouse no sale or stock uses", description=IN_USE_NOTE))
class WarehouseViewSet(StaffWriteViewSet):
    serializer_class = s.WarehouseSerializer
    filterset_class = WarehouseFilter
    queryset = Warehouse.objects.order_by("code")

    def perform_create(self, serializer):
        serializer.instance = services.warehouse_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.warehouse_update(warehouse=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance):
        services.warehouse_delete(warehouse=instance)


class ProductGroupViewSet(StaffWriteViewSet):
    serializer_class = s.ProductGroupSerializer
    filterset_class = ProductGroupFilter
    queryset = ProductGroup.objects.order_by("code")

    def perform_create(self, serializer):
        serializer.instance = services.product_group_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.product_group_update(
            product_group=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.product_group_delete(product_group=instance)


@extend_schema_view(
    list=extend_schema(summary="Stock levels per variant and warehouse"),
    retrieve=extend_schema(summary="One stock level"),
)
class StockViewSet(IdempotentMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Stock levels, goods received, count corrections and the ledger."""

    permission_classes = [IsStaffOrReadOnly]
    serializer_class = s.StockLevelSerializer
    lookup_value_regex = r"[0-9]+"

    @property
    def filterset_class(self):
        if self.action == "movements":
            return StockMovementFilter
        return StockLevelFilter if self.action == "list" else None

    def get_queryset(self):
        if self.action == "movements":
            return selectors.stock_movement_list(user=self.request.user)
        return selectors.stock_level_list()

    def _level_response(self, level) -> Response:
        level = selectors.stock_level_list().get(pk=level.pk)
        return Response(s.StockLevelSerializer(level, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Book goods received into a warehouse",
        request=s.StockReceiveSerializer,
        responses=s.StockLevelSerializer,
    )
    @action(detail=False, methods=["post"])
    def receive(self, request):
        serializer = s.StockReceiveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        level = services.stock_receive(**serializer.validated_data, user=request.user)
        return self._level_response(level)

    @extend_schema(
        summary="Correct on-hand stock after a count",
        description="409 `insufficient_stock` when the change would take on hand below zero or below reserved.",
        request=s.StockAdjustSerializer,
        responses=s.StockLevelSerializer,
    )
    @action(detail=False, methods=["post"])
    def adjust(self, request):
        serializer = s.StockAdjustSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        level = services.stock_adjust(**serializer.validated_data, user=request.user)
        return self._level_response(level)

    @extend_schema(summary="The stock ledger, newest first", responses=s.StockMovementSerializer(many=True))
    @action(detail=False, methods=["get"], serializer_class=s.StockMovementSerializer)
    def movements(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        serializer = s.StockMovementSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)
