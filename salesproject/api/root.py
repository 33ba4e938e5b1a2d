"""`GET /api/v1/`: where everything is."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

ENDPOINTS = (
    "sales", "payments", "products", "variants", "stock", "warehouses", "customers", "channels", "carriers",
    "taxes", "product-groups", "events", "webhooks",
)


class ApiRootView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer("ApiRoot", {name: serializers.URLField() for name in (*ENDPOINTS, "auth_token",
                                                                                          "schema", "docs")})
    )
    def get(self, request):
        base = request.build_absolute_uri("/api/v1/")
        links = {name: f"{base}{name}/" for name in ENDPOINTS}
        links["auth_token"] = f"{base}auth/token/"
        links["schema"] = reverse("schema", request=request)
        links["docs"] = reverse("swagger-ui", request=request)
        return Response(links)
