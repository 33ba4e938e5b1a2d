from salesproject.errors import DomainError


class AlreadyAssigned(DomainError):
    code = "already_assigned"
    default_detail = "This transaction is already assigned to a sale."


class RefundExceedsPaid(DomainError):
    code = "refund_exceeds_paid"
    default_detail = "A refund cannot exceed what the sale still holds."


class InvalidPaymentTransition(DomainError):
    code = "invalid_transition"
    default_detail = "Only a pending transaction changes status."

    def __init__(self, *, current: str, target: str) -> None:
        super().__init__(
            f"Cannot move a {current} transaction to {target}: only a pending one changes status.",
            current_status=current,
            allowed=[],
        )
