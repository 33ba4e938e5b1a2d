"""Lock a sale for review (a dispute, a fraud check) so nothing changes it until staff unlock it."""

from django.db import transaction
from django.utils import timezone

from sales.models import Sale, SaleEventType
from sales.services._common import log_event, sale_lock, sale_locked_error, user_or_none
from sales.services.outbox import emits_events
from salesproject.db import retry_on_transient_db_errors
from salesproject.errors import PermissionDenied


def check_lock_permission(user) -> None:
    """Locking and unlocking are for staff (403 otherwise); management commands (no user) may."""
    if user is not None and not (user.is_staff or user.is_superuser):
        raise PermissionDenied("Only staff can lock or unlock a sale.")


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_lock_for_review(*, sale: Sale | int, user, reason: str = "") -> Sale:
    """Lock a sale: every change to it is refused (409 `sale_locked`) until it is unlocked; reads go on.

    Locking a sale that is locked already is refused the same way (it names who holds the lock).
    """
    check_lock_permission(user)
    sale = sale_lock(sale=sale, for_change=False)
    if sale.locked:
        raise sale_locked_error(sale)
    sale.locked, sale.locked_reason = True, reason or ""
    sale.locked_by, sale.locked_at = user_or_none(user), timezone.now()
    sale.save(update_fields=["locked", "locked_reason", "locked_by", "locked_at", "updated_at"])
    log_event(sale, SaleEventType.LOCKED, user=user, reason=reason or "")
    return sale


@retry_on_transient_db_errors
@transaction.atomic
@emits_events
def sale_unlock(*, sale: Sale | int, user, note: str = "") -> Sale:
    """Unlock a sale; unlocking one that is not locked changes nothing and logs nothing."""
    check_lock_permission(user)
    sale = sale_lock(sale=sale, for_change=False)
    if not sale.locked:
        return sale
    was = {"locked_by": sale.locked_by.get_username() if sale.locked_by_id else None, "reason": sale.locked_reason}
    sale.locked, sale.locked_reason, sale.locked_by, sale.locked_at = False, "", None, None
    sale.save(update_fields=["locked", "locked_reason", "locked_by", "locked_at", "updated_at"])
    log_event(sale, SaleEventType.UNLOCKED, user=user, note=note, **was)
    return sale
