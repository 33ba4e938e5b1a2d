"""An integrator's `metadata` (records.md): a flat JSON object of string keys to string values, on sales,
customers, products, variants and payments.

One set of limits, one API field, one merge and one filter for all of them: a create sets the object,
a PATCH merges its keys into the stored one (a key sent as `null` is removed), and `?metadata=key:value`
finds the rows carrying that pair (by containment, `@>`, which PostgreSQL's GIN index answers).
"""

from collections.abc import Mapping

from django.db import connections
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Exact
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from salesproject.errors import ValidationError

MAX_KEYS = 50
MAX_KEY_LENGTH = 40
MAX_VALUE_LENGTH = 500
ATTR = "metadata"

SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "string", "maxLength": MAX_VALUE_LENGTH},
    "maxProperties": MAX_KEYS,
    "description": f"Flat string → string pairs (≤ {MAX_KEYS} keys of ≤ {MAX_KEY_LENGTH} characters, values ≤ "
    f"{MAX_VALUE_LENGTH}). On PATCH the keys are merged into the stored ones; a key set to null is removed.",
    "example": {"erp_id": "A-1042", "source": "shopify"},
}


def metadata_errors(value) -> dict[str, str] | str | None:
    """What is wrong with a metadata input: a message for the whole object, {key: message}, or None.

    Null values are allowed here (they remove a key); the count of keys is checked on the merged result.
    """
    if not isinstance(value, Mapping):
        return "Expected a JSON object of string keys to string values."
    errors = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            return "Keys are non-empty strings."
        if len(key) > MAX_KEY_LENGTH:
            return f"Key {key[:MAX_KEY_LENGTH]!r}… is longer than {MAX_KEY_LENGTH} characters."
        if "\x00" in key:
            return "Null characters are not allowed."
        if item is None:
            continue
        if not isinstance(item, str):
            errors[key] = "Values are strings (or null to remove the key)."
        elif len(item) > MAX_VALUE_LENGTH:
            errors[key] = f"Ensure this value has at most {MAX_VALUE_LENGTH} characters."
        elif "\x00" in item:
            errors[key] = "Null characters are not allowed."
    if sum(1 for item in value.values() if item is not None) > MAX_KEYS:
        return f"At most {MAX_KEYS} keys."
    return errors or None


def metadata_merge(current: Mapping | None, changes: Mapping | None) -> dict:
    """`current` with `changes` merged in: a key set to None is removed. More than `MAX_KEYS` keys → 400.

    A create merges into nothing (so a null value there is simply left out).
    """
    merged = dict(current or {})
    for key, value in (changes or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > MAX_KEYS:
        raise ValidationError(f"At most {MAX_KEYS} metadata keys; this would make {len(merged)}.", attr=ATTR)
    return merged


@extend_schema_field(SCHEMA)
class MetadataField(serializers.Field):
    """The `metadata` of a write (an object; null values remove keys on PATCH) and of a read."""

    default_error_messages = {"invalid": "{message}"}

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        errors = metadata_errors(data)
        if isinstance(errors, str):
            raise serializers.ValidationError(errors, code="invalid")
        if errors:
            # Nested under the field: the error body names `metadata.<key>`.
            raise serializers.ValidationError({key: [message] for key, message in errors.items()}, code="invalid")
        return dict(data)

    def to_representation(self, value):
        return dict(value or {})


def metadata_output(value) -> dict:
    """The fast renderers' `metadata`: the stored object (an empty one for rows from before the column)."""
    return dict(value or {})


# --- the list filter ------------------------------------------------------------------------------


def parse_pair(text: str) -> tuple[str, str]:
    """`key:value` (split at the first colon) → (key, value); raises ValueError when malformed."""
    key, sep, value = text.partition(":")
    if not sep or not key or len(key) > MAX_KEY_LENGTH or len(value) > MAX_VALUE_LENGTH or "\x00" in text:
        raise ValueError(text)
    return key, value


def json_contains(queryset, field: str, value: dict | list):
    """Rows whose JSON column `field` contains `value` (an object's pairs, or a list's every element).

    PostgreSQL: containment (`@>`), answered by a GIN (jsonb_path_ops) index where the column has one.
    SQLite (development and tests), which has no containment: the same meaning, key by key or element by
    element.
    """
    if connections[queryset.db].vendor != "sqlite":
        return queryset.filter(**{f"{field}__contains": value})
    if isinstance(value, dict):
        for key, item in value.items():
            queryset = queryset.filter(Exact(KeyTextTransform(key, field), item))
        return queryset
    model = queryset.model
    column = model._meta.get_field(field).column
    table = model._meta.db_table
    for item in value:
        queryset = queryset.filter(
            RawSQL(
                f'EXISTS (SELECT 1 FROM json_each("{table}"."{column}") WHERE json_each.value = %s)',
                (item,),
                output_field=BooleanField(),
            )
        )
    return queryset


__all__ = [
    "MAX_KEYS",
    "MAX_KEY_LENGTH",
    "MAX_VALUE_LENGTH",
    "MetadataField",
    "json_contains",
    "metadata_errors",
    "metadata_merge",
    "metadata_output",
    "parse_pair",
]
