"""OpenAPI: the error bodies the server really produces, for every operation that can produce them."""

from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ConflictErrorSerializer(ErrorSerializer):
    requested = serializers.IntegerField(required=False, help_text="insufficient_stock: units asked for.")
    available = serializers.IntegerField(required=False, help_text="insufficient_stock: units available.")


class BadRequestResponseSerializer(serializers.Serializer):
    """A validation error (one entry per field, dotted paths) or a malformed request."""

    type = serializers.ChoiceField(choices=["validation_error", "client_error"])
    errors = ErrorSerializer(many=True)


class ConflictResponseSerializer(serializers.Serializer):
    """insufficient_stock, invalid_transition, sale_locked, duplicate_reference, already_assigned, in_use,
    idempotency_conflict, idempotency_in_progress, conflict."""

    type = serializers.ChoiceField(choices=["client_error"])
    errors = ConflictErrorSerializer(many=True)


class ServiceUnavailableResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["server_error"])
    errors = ErrorSerializer(many=True)


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AutoSchema(StandardizedErrorsAutoSchema):
    """drf-standardized-errors' schema, with 409 on writes and 503 everywhere."""

    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if status_code == "409" and self.method not in WRITE_METHODS:
            return False
        return super()._should_add_error_response(responses, status_code)
