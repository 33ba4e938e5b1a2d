"""Webhook subscriptions (staff only): CRUD, rotate-secret, ping, the delivery log and redelivery."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from salesproject.api.idempotency import IdempotentMixin
from salesproject.api.permissions import IsStaff
from salesproject.api.serializers import NoBodySerializer
from salesproject.ordering import ordering_filterset, refuse_ordering
from webhooks import services
from webhooks.api.serializers import WebhookDeliverySerializer, WebhookSerializer
from webhooks.models import Webhook

NO_FILTERS = {"filter_backends": []}
WebhookFilter = ordering_filterset(Webhook, fields=("id", "url", "created_at"))


class WebhookViewSet(IdempotentMixin, viewsets.ModelViewSet):
    """Webhook subscriptions: signed POSTs of events (Standard Webhooks) with retries. Staff only."""

    serializer_class = WebhookSerializer
    permission_classes = [IsStaff]
    filterset_class = WebhookFilter
    lookup_value_regex = r"[0-9]+"
    queryset = Webhook.objects.order_by("pk")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "show_secret": self.action == "create"}

    def perform_create(self, serializer):
        serializer.instance = services.webhook_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.webhook_update(webhook=serializer.instance, data=dict(serializer.validated_data))

    def perform_destroy(self, instance):
        services.webhook_delete(webhook=instance)

    def _no_body(self) -> None:
        if self.request.data:
            NoBodySerializer(data=self.request.data).is_valid(raise_exception=True)

    @extend_schema(request=None, responses=WebhookSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret", **NO_FILTERS)
    def rotate_secret(self, request, pk=None):
        """A new signing secret, shown in the answer; the old one stops signing at once."""
        webhook = self.get_object()
        self._no_body()
        webhook = services.webhook_rotate_secret(webhook=webhook)
        return Response(WebhookSerializer(webhook, context={"show_secret": True}).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], **NO_FILTERS)
    def ping(self, request, pk=None):
        """Send a `webhook.ping` event to this subscription only (409 `webhook_inactive` when deactivated)."""
        webhook = self.get_object()
        self._no_body()
        delivery = services.webhook_ping(webhook=webhook)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=WebhookDeliverySerializer(many=True))
    @action(detail=True, methods=["get"], **NO_FILTERS)
    def deliveries(self, request, pk=None):
        """The deliveries of this subscription, newest first."""
        webhook = self.get_object()
        refuse_ordering(request, order="newest first")
        queryset = webhook.deliveries.select_related("event").order_by("-pk")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={202: WebhookDeliverySerializer},
        parameters=[OpenApiParameter("delivery_id", int, OpenApiParameter.PATH)],
    )
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>[0-9]+)/redeliver", **NO_FILTERS)
    def redeliver(self, request, pk=None, delivery_id=None):
        """Send a delivery again now, with a fresh retry schedule (409 `delivery_in_progress`, `webhook_inactive`)."""
        webhook = self.get_object()
        self._no_body()
        delivery = get_object_or_404(webhook.deliveries.select_related("event"), pk=delivery_id)
        delivery = services.delivery_redeliver(delivery=delivery)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
