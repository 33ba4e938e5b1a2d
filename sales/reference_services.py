"""Reference data of sales (channels, carriers, tax rates): create, change, delete.

A row that sales or sale items name cannot be deleted (`InUse`): past sales keep
pointing at it. Changing a tax rate never rewrites a sale, which keeps its own copy.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Model, ProtectedError, RestrictedError

from sales.models import Carrier, Channel, Jurisdiction, TaxComponent, TaxKind, TaxRate
from salesproject.errors import InUse, ValidationError

CHANNEL_FIELDS = ("code", "name", "kind")
CARRIER_FIELDS = ("code", "name", "tracking_url_template")
TAX_RATE_FIELDS = ("code", "name", "kind", "rate")


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
def tax_rate_create(
    *, code: str, name: str, rate: Decimal | None = None, kind: str = TaxKind.PERCENT,
    components: Sequence[dict[str, Any]] | None = None,
) -> TaxRate:
    """Create a tax; with components (state, county, city…) its rate is their sum, and a `rate` that differs is 400."""
    tax = TaxRate(code=code, name=name, kind=kind, rate=_combined_rate(rate, components, kind=kind))
    _save(tax)
    _replace_components(tax, components)
    return tax


@transaction.atomic
def tax_rate_update(*, tax_rate: TaxRate, data: dict[str, Any]) -> TaxRate:
    """Change a tax rate (components given replace its components); sales already made keep their rate."""
    data = dict(data)
    components = data.pop("components", None)
    kind = data.get("kind", tax_rate.kind)
    if components is not None:
        data["rate"] = _combined_rate(data.get("rate"), components, kind=kind)
    elif "rate" in data or "kind" in data:
        current = list(tax_rate.components.all())
        rate = data.get("rate", tax_rate.rate)
        if current and rate != sum((c.rate for c in current), Decimal("0")):
            raise ValidationError(
                "This tax has components: its rate is their sum. Send the components with it.", attr="rate"
            )
        _check_rate(rate, kind=kind, attr="rate")
    tax = _update(tax_rate, data, TAX_RATE_FIELDS)
    if components is not None:
        _replace_components(tax, components)
    return tax


def _check_rate(rate: Decimal, *, kind: str, attr: str) -> None:
    if kind == TaxKind.PERCENT and rate > 100:
        raise ValidationError("A percent rate cannot exceed 100.", code="max_value", attr=attr)


def _combined_rate(rate: Decimal | None, components: Sequence[dict[str, Any]] | None, *, kind: str) -> Decimal:
    """The tax's rate: the one given, or its components' sum; both given and different is 400 on `rate`."""
    for index, component in enumerate(components or ()):
        _check_rate(component["rate"], kind=kind, attr=f"components.{index}.rate")
    if components:
        total = sum((component["rate"] for component in components), Decimal("0"))
        if rate is not None and rate != total:
            raise ValidationError(
                f"The rate {rate} differs from the sum of the components' rates ({total}).", attr="rate"
            )
        rate = total
    if rate is None:
        raise ValidationError("Give a rate, or components whose rates add up to it.", code="required", attr="rate")
    _check_rate(rate, kind=kind, attr="rate")
    return rate


def _replace_components(tax: TaxRate, components: Sequence[dict[str, Any]] | None) -> None:
    if components is None:
        return
    tax.components.all().delete()
    TaxComponent.objects.bulk_create(
        TaxComponent(
            tax=tax, name=c["name"], jurisdiction=c.get("jurisdiction") or Jurisdiction.OTHER,
            location=c.get("location") or "", rate=c["rate"],
        )
        for c in components
    )


def tax_rate_delete(*, tax_rate: TaxRate) -> None:
    _delete(tax_rate, "This tax rate is used by sales and cannot be deleted.")
