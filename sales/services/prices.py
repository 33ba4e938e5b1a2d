"""Price lists: the unit price of a line sent without one, and the writes of `/price-lists/`.

A line without `unit_price` takes the entry with the largest `min_quantity <= quantity` of the
sale's list: the one the sale names, else its customer's, else an active list of its channel valid
at `sold_at`. The list must be in the sale's currency; without a list (or an entry for the variant)
the catalogue price applies, and only to a sale in the base currency (`SALES_BASE_CURRENCY`).
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError, Q

from inventory.models import Variant
from sales.models import PriceList, PriceListEntry, Sale
from salesproject.errors import InUse, ValidationError
from salesproject.money import has_more_decimals

PRICE_LIST_FIELDS = ("code", "name", "currency", "channel", "valid_from", "valid_to", "active")


def valid_lists(at: datetime):
    """Active price lists whose validity window holds `at` (an open end is unbounded)."""
    return PriceList.objects.filter(active=True).filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=at), Q(valid_to__isnull=True) | Q(valid_to__gte=at)
    )


def price_list_for(sale: Sale) -> PriceList | None:
    """The list the sale's lines are priced from: the one it names, else its customer's (active and valid at
    `sold_at`), else an active list of its channel valid then (one in the sale's currency first).

    400 `currency_mismatch` on `price_list` when that list is in another currency than the sale.
    """
    chosen = sale.price_list
    if chosen is None and sale.customer_id is not None and sale.customer.price_list_id is not None:
        chosen = valid_lists(sale.sold_at).filter(pk=sale.customer.price_list_id).first()
    if chosen is None and sale.channel_id is not None:
        candidates = valid_lists(sale.sold_at).filter(channel_id=sale.channel_id)
        chosen = min(candidates, key=lambda pl: (pl.currency != sale.currency, pl.pk), default=None)
    if chosen is not None and chosen.currency != sale.currency:
        raise ValidationError(
            f'Price list "{chosen.code}" is in {chosen.currency}; this sale is in {sale.currency}.',
            code="currency_mismatch", attr="price_list",
        )
    return chosen


class LinePricer:
    """Unit prices of a sale's lines sent without one; reads the list and its entries once, on first need."""

    def __init__(self, sale: Sale) -> None:
        self.sale = sale
        self._loaded = False
        self._tiers: dict[int, list[tuple[int, Decimal]]] = {}

    def _load(self) -> None:
        price_list = price_list_for(self.sale)
        tiers: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
        if price_list is not None:
            self.sale.price_list = price_list  # the sale shows the list its lines were priced from
            rows = PriceListEntry.objects.filter(price_list=price_list).values_list("variant_id", "min_quantity",
                                                                                     "price")
            for variant_id, min_quantity, price in rows:
                tiers[variant_id].append((min_quantity, price))
        self._tiers = dict(tiers)
        self._loaded = True

    def __call__(self, variant: Variant, quantity: int, *, attr: str) -> Decimal:
        """The unit price of `quantity` units of `variant`; 400 `no_price` on `attr` when there is none."""
        if not self._loaded:
            self._load()
        fitting = [tier for tier in self._tiers.get(variant.pk, ()) if tier[0] <= quantity]
        if fitting:
            return max(fitting, key=lambda tier: tier[0])[1]
        if self.sale.currency == settings.SALES_BASE_CURRENCY.upper():
            return variant.effective_price
        raise ValidationError(
            f"No price for {variant.sku} in {self.sale.currency}: give its unit_price or use a price list in "
            f"{self.sale.currency}.",
            code="no_price", attr=attr,
        )


# --- /price-lists/ ---------------------------------------------------------------------------------


def _check_entries(prices: Sequence[dict[str, Any]], currency: str) -> None:
    seen = set()
    for index, entry in enumerate(prices):
        if has_more_decimals(entry["price"], currency):
            raise ValidationError(
                f"{currency} amounts have fewer decimals than {entry['price']}.", code="max_decimal_places",
                attr=f"prices.{index}.price",
            )
        key = (entry["variant"].pk, entry.get("min_quantity", 1))
        if key in seen:
            raise ValidationError(
                "This variant already has a price for this minimum quantity.", code="unique",
                attr=f"prices.{index}.min_quantity",
            )
        seen.add(key)


def _check_window(price_list: PriceList) -> None:
    if price_list.valid_from and price_list.valid_to and price_list.valid_to < price_list.valid_from:
        raise ValidationError("valid_to is before valid_from.", code="invalid", attr="valid_to")


def _replace_entries(price_list: PriceList, prices: Sequence[dict[str, Any]]) -> None:
    price_list.prices.all().delete()
    PriceListEntry.objects.bulk_create(
        PriceListEntry(price_list=price_list, variant=entry["variant"], price=entry["price"],
                       min_quantity=entry.get("min_quantity", 1))
        for entry in prices
    )


@transaction.atomic
def price_list_create(*, code: str, name: str, currency: str, prices: Sequence[dict[str, Any]] = (),
                      **fields: Any) -> PriceList:
    """Create a price list with its entries (`prices`: {variant, price, min_quantity})."""
    price_list = PriceList(code=code, name=name, currency=currency.upper(),
                           **{k: v for k, v in fields.items() if k in PRICE_LIST_FIELDS})
    _check_window(price_list)
    _check_entries(prices, price_list.currency)
    price_list.full_clean()
    price_list.save()
    _replace_entries(price_list, prices)
    return price_list


@transaction.atomic
def price_list_update(*, price_list: PriceList, data: dict[str, Any]) -> PriceList:
    """Change a price list; `prices`, when given, replaces its entries whole. Sales keep the prices they took."""
    price_list = PriceList.objects.select_for_update().get(pk=price_list.pk)
    for name in PRICE_LIST_FIELDS:
        if name in data:
            setattr(price_list, name, data[name].upper() if name == "currency" else data[name])
    _check_window(price_list)
    prices = data.get("prices")
    if prices is None and "currency" in data:
        prices_now = [{"variant": e.variant, "price": e.price, "min_quantity": e.min_quantity}
                      for e in price_list.prices.select_related("variant")]
        _check_entries(prices_now, price_list.currency)
    if prices is not None:
        _check_entries(prices, price_list.currency)
    price_list.full_clean()
    price_list.save()
    if prices is not None:
        _replace_entries(price_list, prices)
    return price_list


def price_list_delete(*, price_list: PriceList) -> None:
    """Delete a price list no sale was priced with (409 `in_use`); customers on it lose it."""
    try:
        with transaction.atomic():
            price_list.delete()
    except ProtectedError:
        raise InUse("This price list was used by sales and cannot be deleted; deactivate it instead.") from None
