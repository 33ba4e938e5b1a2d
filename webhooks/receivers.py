"""Every recorded event goes to the subscriptions that want it, in the event's own transaction."""

from webhooks.services import deliveries_fan_out


def fan_out(sender, *, event, **kwargs) -> None:
    deliveries_fan_out(event=event)
