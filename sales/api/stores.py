"""Stores and their members (records.md, "Stores, teams and devices").

Staff read and write every store; anyone else reads the stores they are a member of (another store is a 404).
Members are listed with `GET /stores/{id}/members/`; staff add or change one with `POST` (same body) and
remove one with `DELETE /stores/{id}/members/{user_id}/`. Deleting a store that sales name is a 409 `in_use`.
"""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from inventory.models import Warehouse
from sales.models import Channel, Store, StoreMembership, StoreRole
from sales.services import stores as services
from salesproject.api.fields import MAX_ID, CodeRelatedField, StrictPrimaryKeyRelatedField
from salesproject.api.idempotency import IdempotentMixin
from salesproject.api.permissions import IsStaff, IsStaffOrReadOnly
from salesproject.api.serializers import StrictModelSerializer, StrictSerializer
from salesproject.errors import NotFound
from salesproject.ordering import ordering_filterset, refuse_ordering

IN_USE = extend_schema(description="409 `in_use` when sales use it.")


class StoreSerializer(StrictModelSerializer):
    warehouse = CodeRelatedField(queryset=Warehouse.objects.all(), help_text="The default stock source (code).")
    channel = CodeRelatedField(queryset=Channel.objects.all(), required=False, allow_null=True)
    address = serializers.DictField(required=False, allow_null=True, help_text="A free-form address object.")

    class Meta:
        model = Store
        fields = ["id", "code", "name", "warehouse", "channel", "address"]


class StoreMemberSerializer(StrictSerializer):
    user = StrictPrimaryKeyRelatedField(queryset=get_user_model().objects.all())
    role = serializers.ChoiceField(choices=StoreRole.choices, default=StoreRole.SELLER)

    def to_representation(self, instance):
        return {"user": instance.user_id, "role": instance.role}


StoreFilter = ordering_filterset(Store)


@extend_schema_view(destroy=IN_USE)
class StoreViewSet(IdempotentMixin, viewsets.ModelViewSet):
    permission_classes = [IsStaffOrReadOnly]
    lookup_value_regex = r"[0-9]+"
    serializer_class = StoreSerializer
    filterset_class = StoreFilter
    queryset = Store.objects.none()  # for the schema; get_queryset scopes by user

    def get_queryset(self):
        queryset = Store.objects.select_related("warehouse", "channel").order_by("code")
        if getattr(self, "swagger_fake_view", False) or self.request.user.is_staff:
            return queryset
        return queryset.filter(memberships__user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.store_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.store_update(store=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance):
        services.store_delete(store=instance)

    def get_permissions(self):
        if self.action in ("members", "remove_member") and self.request.method not in ("GET", "HEAD", "OPTIONS"):
            return [IsStaff()]
        return super().get_permissions()

    @extend_schema(
        methods=["GET"], filters=False, responses=StoreMemberSerializer(many=True),
        description="The store's members and their roles.",
    )
    @extend_schema(
        methods=["POST"], request=StoreMemberSerializer,
        responses={200: StoreMemberSerializer, 201: StoreMemberSerializer},
        description="Add a member (201), or change the role of one (200); staff only.",
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filterset_class=None)
    def members(self, request, pk=None):
        store = self.get_object()
        if request.method == "GET":
            refuse_ordering(request, order="by user id")
            rows = StoreMembership.objects.filter(store=store).order_by("user_id")
            return Response(StoreMemberSerializer(rows, many=True).data)
        serializer = StoreMemberSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership, added = services.store_member_set(store=store, **serializer.validated_data)
        code = status.HTTP_201_CREATED if added else status.HTTP_200_OK
        return Response(StoreMemberSerializer(membership).data, status=code)

    @extend_schema(
        responses={204: None},
        parameters=[OpenApiParameter("user_id", int, OpenApiParameter.PATH, description="The member's user id.")],
        description="Take a member out of the store (staff only); 404 when they are not one.",
    )
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<user_id>[0-9]+)", filterset_class=None)
    def remove_member(self, request, pk=None, user_id=None):
        store, user_id = self.get_object(), int(user_id)
        if not 0 < user_id <= MAX_ID:  # no user has this id (and the database cannot even compare it)
            raise NotFound(f"User {user_id} is not a member of store {store.code}.")
        services.store_member_remove(store=store, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
