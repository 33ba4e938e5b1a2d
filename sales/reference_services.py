"""Reference data of sales (channels, carriers, tax rates): create, change, delete.

A row that sales or sale items name cannot be deleted (`InUse`): past sales keep
pointing at it. Changing a tax rate never rewrites a sale, which keeps its own copy.
"""

from typing import Any

from django.db import transaction
from django.db.models import Model, ProtectedError, RestrictedError

from sales.models import Carrier, Channel, TaxRate
from salesproject.errors import InUse

CHANNEL_FIELDS = ("code", "name", "kind")
CARRIER_FIELDS = ("code", "name", "tracking_url_template")
TAX_RATE_FIELDS = ("code", "name", "rate")


def _save(instance: Model) -> Model:
    instance.full_clean()
    instance.save()
    return instance


def _update(instance: Model, data: dict[str, Any], fields: tuple[str, ...]) -> Model:
    for name in fields:
        if name in data:
            setattr(instance, name, data[name])
    return _save(instance)


def _delete(instance: Model, message: str) -> None:
    try:
        with transaction.atomic():
            instance.delete()
    except (ProtectedError, RestrictedError):
        raise InUse(message) from None


@transaction.atomic
def channel_create(*, code: str, name: str, **fields: Any) -> Channel:
    return _save(Channel(code=code, name=name, **{k: v for k, v in fields.items() if k in CHANNEL_FIELDS}))


@transaction.atomic
def channel_update(*, channel: Channel, data: dict[str, Any]) -> Channel:
    return _update(channel, data, CHANNEL_FIELDS)


def channel_delete(*, channel: Channel) -> None:
    _delete(channel, "This channel is used by sales and cannot be deleted.")


@transaction.atomic
def carrier_create(*, code: str, name: str, **fields: Any) -> Carrier:
    return _save(Carrier(code=code, name=name, **{k: v for k, v in fields.items() if k in CARRIER_FIELDS}))


@transaction.atomic
def carrier_update(*, carrier: Carrier, data: dict[str, Any]) -> Carrier:
    return _update(carrier, data, CARRIER_FIELDS)


def carrier_delete(*, carrier: Carrier) -> None:
    _delete(carrier, "This carrier is used by sale items and cannot be deleted.")


@transaction.atomic
def tax_rate_create(*, code: str, name: str, rate) -> TaxRate:
    return _save(TaxRate(code=code, name=name, rate=rate))


@transaction.atomic
def tax_rate_update(*, tax_rate: TaxRate, data: dict[str, Any]) -> TaxRate:
    """Change a tax rate; sales already made keep the rate they were taxed at."""
    return _update(tax_rate, data, TAX_RATE_FIELDS)


def tax_rate_delete(*, tax_rate: TaxRate) -> None:
    _delete(tax_rate, "This tax rate is used by sales and cannot be deleted.")
