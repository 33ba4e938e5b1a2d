"""Errors the sales services raise; each maps to one API error code."""

from collections.abc import Iterable

from salesproject.errors import DomainError


class InvalidTransition(DomainError):
    code = "invalid_transition"
    default_detail = "This transition is not allowed from the sale's current status."

    def __init__(self, *, action: str, current: str, allowed: Iterable[str]) -> None:
        self.current_status = current
        self.allowed = list(allowed)
        allowed_text = ", ".join(self.allowed) if self.allowed else "none"
        super().__init__(
            f"Cannot {action} a sale that is {current}. Allowed from {current}: {allowed_text}.",
            current_status=current,
            allowed=self.allowed,
        )


class SaleLocked(DomainError):
    code = "sale_locked"
    default_detail = "The sale can no longer be changed this way."


class SaleHasHistory(DomainError):
    code = "sale_has_history"
    default_detail = "The sale has payments or documents and cannot be deleted; cancel it instead."


class PaymentRequired(DomainError):
    code = "payment_required"
    default_detail = "This prepaid sale is not fully paid: it cannot be fulfilled or shipped yet."


class TrackingRefused(DomainError):
    """A tracking status that does not fit the fulfilment's delivery mode, or comes after a final one."""

    code = "invalid_transition"
    default_detail = "This tracking status does not fit the fulfilment."


class InvalidDiscountCode(DomainError):
    """A discount code that cannot apply (400; `detail` says why), or whose last use another sale took (409)."""

    code = "invalid_discount_code"
    status_code = 400
    default_detail = "This discount code cannot be used."

    def __init__(self, detail: str | None = None, *, status_code: int = 400) -> None:
        super().__init__(detail, attr="discount_code")
        self.status_code = status_code
