from salesproject.errors import DomainError


class AlreadyAssigned(DomainError):
    code = "already_assigned"
    default_detail = "This transaction is already assigned to a sale."


class RefundExceedsPaid(DomainError):
    code = "refund_exceeds_paid"
    default_detail = "A refund cannot exceed what the sale still holds."
