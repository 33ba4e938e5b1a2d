"""Customer e-mails asked for by the events (connected in `NotificationsConfig.ready`)."""

import logging

from django.db import transaction
from django.dispatch import receiver

from events.signals import event_recorded
from notifications.services import customer_email_request, email_wanted

logger = logging.getLogger(__name__)


@receiver(event_recorded, dispatch_uid="notifications.customer_email")
def queue_customer_email(sender, event, **kwargs) -> None:
    """Runs inside the change's transaction; an e-mail must never fail the sale, so a fault here is logged
    and its writes undone (savepoint) while the change goes on."""
    if email_wanted(event) is None:  # most events: no query at all
        return
    try:
        with transaction.atomic():
            customer_email_request(event=event)
    except Exception:
        logger.exception("could not queue the customer e-mail for event %s", event.uid)
