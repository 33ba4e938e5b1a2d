"""The API's JSON parser: a hostile body is a 400, never a 500.

DRF's own parser hands `json.load` whatever arrives. Here:

- the body must be valid text in its charset (UTF-8 unless the Content-Type names another);
- JSON nested deeper than `MAX_DEPTH` levels is a 400 `parse_error`. Python's decoder recurses
  once per level and raises `RecursionError` near a thousand (10,000 `[` used to be a 500); that
  is caught, and the depth of what did parse is measured without recursion;
- NaN and Infinity are not JSON (DRF's strict mode, kept), and neither is a number that only
  reads as one by overflowing to infinity (`1E+999999`) or underflowing to zero (`1e-999999`);
- every request body of the API is a JSON object: a list, a number, a string or `null` at the
  top is a 400, before any view looks inside it;
- no string may hold a lone UTF-16 surrogate such as `"\\ud800"` (not encodable as UTF-8, so the
  database driver cannot even send it, to a column or as a lookup): a 400 naming its dotted path
  (`items.0.name`), with the code DRF's CharField uses. No key may hold one either, nor a NUL
  character (PostgreSQL cannot store NUL in text or jsonb); a key's error names the object holding
  it. NUL in a value is left to the field, which knows what it is (CharField: `null_characters_not_allowed`,
  a code reference: `does_not_exist`, a variant's attributes: refused on `attributes`); the generated
  test `salesproject/tests/test_hostile_input.py` sends it to every field.

How large a body may be is decided before it is read, by `salesproject.middleware.BodySizeMiddleware`.
"""

import json
import math

from rest_framework import parsers
from rest_framework.exceptions import ErrorDetail, ParseError, ValidationError
from rest_framework.settings import api_settings
from rest_framework.utils.json import strict_constant

MAX_DEPTH = 32
TOO_DEEP = f"JSON parse error - the body is nested deeper than {MAX_DEPTH} levels."
NOT_AN_OBJECT = "Invalid data. Expected a dictionary, but got {kind}."
NUL = ErrorDetail("Null characters are not allowed.", code="null_characters_not_allowed")
SURROGATE = ErrorDetail("Surrogate characters are not allowed.", code="surrogate_characters_not_allowed")
_JSON_KINDS = {list: "list", str: "str", int: "int", float: "float", bool: "bool", type(None): "null"}


class JSONParser(parsers.JSONParser):
    """`application/json` bodies: valid text, at most `MAX_DEPTH` levels deep, an object, storable strings."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            raise ParseError(f"JSON parse error - the body is not valid {encoding} text.") from None
        try:
            data = json.loads(text, parse_constant=strict_constant if self.strict else None, parse_float=_float)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if not isinstance(data, dict):
            kind = _JSON_KINDS.get(type(data), type(data).__name__)
            raise ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: [ErrorDetail(NOT_AN_OBJECT.format(kind=kind), code="invalid")]}
            )
        check_document(data)
        return data


def _float(literal: str) -> float:
    """A JSON number with a fraction or an exponent, refused when a float cannot stand for it."""
    value = float(literal)
    mantissa = literal.lower().partition("e")[0]
    if math.isinf(value) or (value == 0 and mantissa.strip("-+0.")):
        raise ValueError(f"the number {literal[:40]} is out of range")
    return value


def check_document(data) -> None:
    """Walk the parsed document without recursion: refuse depth beyond `MAX_DEPTH`, lone surrogates anywhere,
    NUL in keys."""
    errors: dict[str, list[ErrorDetail]] = {}
    stack: list[tuple[object, tuple, int]] = [(data, (), 1)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError(TOO_DEEP)
        if isinstance(node, dict):
            children = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        for key, value in children:
            here = (*path, key)
            if isinstance(key, str) and (problem := _unstorable(key)):
                errors.setdefault(_attr(path) or api_settings.NON_FIELD_ERRORS_KEY, [problem])
            if isinstance(value, str):
                if _has_surrogate(value):
                    errors.setdefault(_attr(here), [SURROGATE])
            elif isinstance(value, dict | list):
                stack.append((value, here, depth + 1))
    if errors:
        raise ValidationError(errors)


def _unstorable(text: str) -> ErrorDetail | None:
    if "\x00" in text:
        return NUL
    return SURROGATE if _has_surrogate(text) else None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _attr(path: tuple) -> str:
    return ".".join(str(part) for part in path)
