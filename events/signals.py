"""Sent inside the transaction that wrote an event, so receivers (webhook fan-out) write in it too."""

from django.dispatch import Signal

# kwargs: event (events.models.Event, saved)
event_recorded = Signal()
