"""Seed 004's `ApiKey: <token>` header: the product's API token under the document's header name."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from salesproject.api.authentication import BearerTokenAuthentication

HEADER = "ApiKey"


class ApiKeyAuthentication(BaseAuthentication):
    """`ApiKey: <token>` (the platform API key of the document) checked exactly as a bearer token is."""

    def authenticate(self, request):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return None
        if len(key) > 128 or not key.isascii() or not key.isprintable():
            raise AuthenticationFailed("Invalid token.")
        return BearerTokenAuthentication().authenticate_credentials(key)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """The `ApiKey` header in the OpenAPI document's security schemes."""

    target_class = ApiKeyAuthentication
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": HEADER, "description": "The API token (seed 004)."}
