"""The only writer of events. Call it inside the transaction of the change it records."""

from typing import Any

from django.db import transaction

from events.models import Event
from events.signals import event_recorded


def event_record(
    *,
    type: str,
    object_type: str,
    object_id: Any,
    obj: dict,
    sale_id: int | None = None,
    seller_id: int | None = None,
    store_id: int | None = None,
    previous: dict | None = None,
    extra: dict | None = None,
) -> Event:
    """Write one event; `obj` is the v1 representation after the change, `extra` more keys of `data`
    (e.g. `fulfillment`, `payment`, `kind`). Receivers of `event_recorded` (webhook fan-out) write their
    rows in the same transaction, so a rolled-back change leaves neither."""
    with transaction.atomic(savepoint=False):  # the change's transaction (one if called outside any)
        event = Event.objects.create(
            type=type,
            object_type=object_type,
            object_id=str(object_id),
            sale_id=sale_id,
            seller_id=seller_id,
            store_id=store_id,
            data={"object": obj, **(extra or {})},
            previous=previous,
        )
        event_recorded.send(sender=Event, event=event)
    return event
