"""Domain errors: raised by services, turned into the API's error body in one handler.

Each carries a machine-readable `code`, a human `detail`, an optional `attr`
(the dotted path of the input it is about) and the HTTP status it maps to.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErrorEntry:
    """One entry of the API error body's `errors`: a detail, the input it is about and extra members."""

    detail: str
    attr: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"requested": 3, "available": 1}


class DomainError(Exception):
    code = "error"
    status_code = 409
    default_detail = "The request conflicts with the current state."

    def __init__(self, detail: str | None = None, *, attr: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.default_detail
        self.attr = attr
        self.extra = extra
        super().__init__(self.detail)

    def entries(self) -> list[ErrorEntry]:
        """One entry per problem for the API body (with the error's code); empty: the one of `detail` and `attr`."""
        return []


class ValidationError(DomainError):
    """Bad input caught by a service (the API answers 400)."""

    code = "invalid"
    status_code = 400
    default_detail = "Invalid input."

    def __init__(self, detail: str | None = None, *, code: str | None = None, attr: str | None = None) -> None:
        super().__init__(detail, attr=attr)
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    status_code = 404
    default_detail = "Not found."


class PermissionDenied(DomainError):
    code = "permission_denied"
    status_code = 403
    default_detail = "You do not have permission to perform this action."


class InUse(DomainError):
    code = "in_use"
    default_detail = "The object is used by sales and cannot be deleted; deactivate it instead."


class DuplicateReference(DomainError):
    code = "duplicate_reference"
    default_detail = "An object with this reference already exists."
