from salesproject.errors import DomainError


class AlreadyAssigned(DomainError):
    code = "already_assigned"
    default_detail = "This transaction is already assigned to a sale."
