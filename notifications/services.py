"""Customer e-mails about their sales: confirmed, shipped with tracking, refunded (events.md "Background work").

Asked for by `event_recorded`, inside the transaction of the change: the `CustomerEmail` row and its task
row commit with the sale or not at all. The task sends it later, outside any request: a send that fails is
retried with backoff (`RETRY_DELAYS`), then the e-mail is `failed`; the sale never notices. The row's
unique key and the claim in `customer_email_send` make it one e-mail per (sale, kind, reference) however
often an event or a task repeats.
"""

import logging
from datetime import timedelta
from decimal import Decimal

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Sum
from django.template.loader import render_to_string
from django.utils import timezone

from events.models import Event, EventType
from notifications import tasks
from notifications.models import CustomerEmail, EmailKind, EmailStatus
from payments.models import PaymentKind, PaymentState
from sales.models import Fulfillment, Sale, SaleStatus, TrackingStatus

logger = logging.getLogger(__name__)

# The wait before the next attempt after the 1st, 2nd, … failed one; after the last, the e-mail is `failed`.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A pending e-mail this long overdue has lost its task (a worker killed mid-task): `emails_requeue_due` gives
# it a new one. A task run twice sends once, so requeueing one that was merely late is harmless.
LOST_AFTER = timedelta(minutes=30)

SUBJECTS = {
    EmailKind.SALE_CONFIRMED: "Your order {reference} is confirmed",
    EmailKind.SALE_SHIPPED: "Your order {reference} is on its way",
    EmailKind.SALE_REFUNDED: "Your order {reference} has been refunded",
}


def email_wanted(event: Event) -> tuple[str, str] | None:
    """The e-mail (kind, reference) an event asks for, if any: a sale confirmed (by a transition, or created
    confirmed), a parcel dispatched (a fulfilment created `shipped`; not pick-ups nor ones that arrived at
    once), a sale refunded."""
    if event.sale_id is None:
        return None
    status = (event.data.get("object") or {}).get("status")
    if status == SaleStatus.CONFIRMED and event.type in (EventType.SALE_STATUS_CHANGED, EventType.SALE_CREATED):
        return EmailKind.SALE_CONFIRMED, ""
    if status == SaleStatus.REFUNDED and event.type == EventType.SALE_STATUS_CHANGED:
        return EmailKind.SALE_REFUNDED, ""
    if event.type == EventType.SALE_FULFILLMENT_CREATED:
        fulfillment = event.data.get("fulfillment") or {}
        if fulfillment.get("status") == TrackingStatus.SHIPPED and fulfillment.get("id"):
            return EmailKind.SALE_SHIPPED, str(fulfillment["id"])
    return None


def customer_email_request(*, event: Event) -> CustomerEmail | None:
    """Queue the e-mail the event asks for, in the caller's transaction (the change's own). Nothing for a
    sale without a customer, a customer without an address or one who opted out; an e-mail already asked
    for is not asked for again (None then)."""
    wanted = email_wanted(event)
    if wanted is None:
        return None
    reachable = Sale.objects.filter(pk=event.sale_id, customer__email_opt_out=False).exclude(customer__email="")
    if not reachable.exists():
        return None
    kind, reference = wanted
    key = {"sale_id": event.sale_id, "kind": kind, "reference": reference}
    # Changes of one sale are serialised by its row lock; the unique key guards the rest.
    if CustomerEmail.objects.filter(**key).exists():
        return None
    with transaction.atomic(savepoint=False):
        email = CustomerEmail.objects.create(**key, event_uid=event.uid, next_attempt_at=timezone.now())
        tasks.send_customer_email.enqueue(email.pk)
    return email


def customer_email_send(*, email_id: int) -> str:
    """Send one pending e-mail (the task's body); returns its status after, or "nothing to do".

    The claim is an UPDATE of the pending row inside the transaction that records the outcome, so a second
    run of the same task (or a requeued one) waits for the first and then finds it no longer pending: one
    e-mail. The address and opt-out are read again here: they may have changed since it was queued. A send
    that raises is recorded and retried later by a new task; nothing raises out of here for it.
    """
    now = timezone.now()
    with transaction.atomic():
        pending = CustomerEmail.objects.filter(pk=email_id, status=EmailStatus.PENDING)
        if not pending.update(attempts=F("attempts") + 1, next_attempt_at=None):
            return "nothing to do"
        email = CustomerEmail.objects.select_related("sale__customer").get(pk=email_id)
        customer = email.sale.customer
        if customer is None or not customer.email:
            email.status, email.last_error = EmailStatus.SKIPPED, "The customer has no e-mail address."
        elif customer.email_opt_out:
            email.status, email.last_error = EmailStatus.SKIPPED, "The customer opted out of e-mails."
        else:
            try:
                email_message(email).send()
            except Exception as exc:  # any failure to send (SMTP, network, refused address) is retried
                _record_failure(email, exc, now)
            else:
                email.status, email.to, email.sent_at, email.last_error = EmailStatus.SENT, customer.email, now, ""
        email.save()
    return email.status


def _record_failure(email: CustomerEmail, exc: Exception, now) -> None:
    email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if email.attempts >= MAX_ATTEMPTS:
        email.status = EmailStatus.FAILED
        logger.error("customer e-mail %s failed for good after %d attempts: %s", email.pk, email.attempts, exc)
        return
    email.next_attempt_at = now + RETRY_DELAYS[email.attempts - 1]
    tasks.send_customer_email.using(run_after=email.next_attempt_at).enqueue(email.pk)
    logger.warning(
        "customer e-mail %s attempt %d failed, retry at %s: %s", email.pk, email.attempts, email.next_attempt_at, exc
    )


def email_message(email: CustomerEmail) -> EmailMultiAlternatives:
    """The e-mail, text with an HTML alternative, rendered from `templates/emails/<kind>.{txt,html}`."""
    sale = email.sale
    context = {"sale": sale, "customer": sale.customer, "items": list(sale.items.order_by("pk"))}
    if email.kind == EmailKind.SALE_SHIPPED:
        fulfillment = Fulfillment.objects.select_related("carrier").filter(sale=sale, pk=int(email.reference)).first()
        context["fulfillment"] = fulfillment
        if fulfillment is not None:
            carrier = fulfillment.carrier
            context["tracking_url"] = fulfillment.tracking_url or (
                carrier.tracking_url(fulfillment.tracking_code) if carrier else ""
            )
    if email.kind == EmailKind.SALE_REFUNDED:
        context["refunded"] = sale.payment_allocations.filter(
            payment__kind=PaymentKind.REFUND, payment__status=PaymentState.SUCCESSFUL
        ).aggregate(total=Sum("amount", default=Decimal("0")))["total"]
    template = f"emails/{email.kind}"
    message = EmailMultiAlternatives(
        subject=SUBJECTS[email.kind].format(reference=sale.reference),
        body=render_to_string(f"{template}.txt", context),
        to=[sale.customer.email],
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


def emails_requeue_due(*, now=None) -> int:
    """Give a new task to every pending e-mail that has waited more than `LOST_AFTER` past its time (its task
    was lost); returns how many. Run by `manage.py run_periodic`."""
    now = now or timezone.now()
    count = 0
    with transaction.atomic():
        due = CustomerEmail.objects.select_for_update(skip_locked=True).filter(
            status=EmailStatus.PENDING, next_attempt_at__lt=now - LOST_AFTER
        )
        for email in due.order_by("pk")[:1000]:
            tasks.send_customer_email.enqueue(email.pk)
            email.next_attempt_at = now
            email.save(update_fields=["next_attempt_at"])
            count += 1
    return count
