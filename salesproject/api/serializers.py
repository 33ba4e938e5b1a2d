"""Base classes of every input serializer: a body field the operation does not know is a 400.

Every serializer that reads a request body derives from `StrictSerializer` or
`StrictModelSerializer` (nested ones included), so an unknown field, at any depth,
answers 400 `unknown_field` with its dotted path as `attr` (`items.0.colour`,
`billing_address.zip`) instead of being silently dropped.

Declared read-only fields are not unknown: a client that sends a representation back
(a product's `id`, an address's `id`) is not refused for it, the field is ignored as
before. Only names the serializer does not declare at all are refused.
"""

import json
from collections.abc import Mapping

from django.db import models
from django.http import QueryDict
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from salesproject.api.fields import StrictIntegerField, StrictPrimaryKeyRelatedField, humanize

# A form body (the multipart invoice upload) may carry Django's CSRF token beside the fields.
FORM_KEYS = frozenset({"csrfmiddlewaretoken"})
UNKNOWN_FIELD = "unknown_field"


# No docstrings on these classes: drf-spectacular would show them as the description of every body.


class StrictInputMixin:
    # Refuses body keys the serializer does not declare, each with `unknown_field` on its own path; the
    # errors of the declared fields, if any, come in the same answer. Its fields get the project's messages
    # (a ChoiceField's `invalid_choice` lists the valid choices): see `salesproject.api.fields.humanize`.

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            humanize(field)
        return fields

    def to_internal_value(self, data):
        unknown = self.unknown_fields(data)
        if not unknown:
            return super().to_internal_value(data)
        errors = {}
        try:
            super().to_internal_value(data)
        except ValidationError as exc:
            if isinstance(exc.detail, Mapping):
                errors.update(exc.detail)
        accepted = ", ".join(name for name, field in self.fields.items() if not field.read_only) or "nothing"
        for name in unknown:
            quoted = json.dumps(name, ensure_ascii=False)
            errors[name] = [ErrorDetail(f"Unknown field {quoted}; this body takes: {accepted}.", code=UNKNOWN_FIELD)]
        raise ValidationError(errors)

    def unknown_fields(self, data) -> list[str]:
        if not isinstance(data, Mapping):
            return []  # DRF answers "expected a dictionary"
        known = self.fields.keys()
        allowed = FORM_KEYS if isinstance(data, QueryDict) else frozenset()
        return [name for name in data if name not in known and name not in allowed]


class StrictSerializer(StrictInputMixin, serializers.Serializer):
    pass  # a request body: unknown fields are refused


class StrictModelSerializer(StrictInputMixin, serializers.ModelSerializer):
    # A model's representation that is also its write body: unknown fields are refused, ids never truncated.

    serializer_related_field = StrictPrimaryKeyRelatedField
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        **{
            field: StrictIntegerField
            for field in (
                models.IntegerField,
                models.SmallIntegerField,
                models.BigIntegerField,
                models.PositiveIntegerField,
                models.PositiveSmallIntegerField,
                models.PositiveBigIntegerField,
            )
        },
    }


class NoBodySerializer(StrictSerializer):
    pass  # the body of an operation that takes none (`submit`, `confirm`, `complete`): empty or `{}`


class StrictInputSchema(OpenApiSerializerExtension):
    """In the schema, every strict body says `additionalProperties: false`: what the server enforces."""

    target_class = StrictInputMixin
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema
