"""`POST /api/v1/auth/token/`: trade a username and password for a bearer token (throttled)."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import ScopedRateThrottle

from salesproject.api.parsers import JSONParser
from salesproject.api.serializers import StrictInputMixin

USERNAME_MAX_LENGTH = 150  # Django's user model
PASSWORD_MAX_LENGTH = 4096


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()


@extend_schema_serializer(component_name="AuthToken")  # the schema's name for it, as before
class TokenRequestSerializer(StrictInputMixin, AuthTokenSerializer):
    # {"username", "password"}; any other field is unknown (no docstring: it would become the schema's text).
    # Lengths are checked before authenticate() runs: django-axes records every attempt's username in a
    # 255-character column, so a 100,000-character one used to be a 500 (and a long password costs hashing time).
    username = serializers.CharField(label="Username", write_only=True, max_length=USERNAME_MAX_LENGTH)
    password = serializers.CharField(
        label="Password", style={"input_type": "password"}, trim_whitespace=False, write_only=True,
        max_length=PASSWORD_MAX_LENGTH,
    )


class TokenView(ObtainAuthToken):
    serializer_class = TokenRequestSerializer
    parser_classes = [JSONParser]  # ObtainAuthToken's own list would take forms and DRF's unchecked JSON parser
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=TokenRequestSerializer, responses=TokenResponseSerializer, auth=[])
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
