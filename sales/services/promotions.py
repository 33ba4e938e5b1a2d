"""Promotions: which ones a sale is priced with, their usage, and the writes of `/promotions/`.

The calculation (`sales.pricing`) picks one promotion per scope and computes the amounts; here is
everything around it: the candidates of a sale (automatic promotions valid now plus the sale's
discount code, which must be able to apply), the `SalePromotion` rows of what was applied, and the
usage counted when a sale is confirmed and given back when it is cancelled before fulfilment.

Locks: the sale first, then its promotions by id (`SELECT … FOR UPDATE`), then stock.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, ProtectedError, Q
from django.utils import timezone

from sales import pricing
from sales.errors import InvalidDiscountCode
from sales.models import (
    FulfillmentStatus,
    Promotion,
    PromotionKind,
    PromotionScope,
    Sale,
    SaleItem,
    SalePromotion,
)
from sales.services._common import apply_pricing
from salesproject.errors import InUse, ValidationError
from salesproject.money import ZERO, has_more_decimals, quantize

LINE, ORDER = "line", "order"
PROMOTION_FIELDS = (
    "name", "code", "automatic", "kind", "value", "applies_to", "min_subtotal", "currency", "starts_at", "ends_at",
    "usage_limit", "active",
)


# --- selection -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidates:
    """What a sale may be priced with: the engine's inputs and the promotions they stand for (by id)."""

    inputs: tuple[pricing.PromotionInput, ...] = ()
    promotions: dict[int, Promotion] = field(default_factory=dict)


def _running(now: datetime):
    """Active promotions started and not ended at `now`, with uses left."""
    return Promotion.objects.filter(
        Q(active=True),
        Q(starts_at__isnull=True) | Q(starts_at__lte=now),
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
        Q(usage_limit__isnull=True) | Q(usage_count__lt=F("usage_limit")),
    )


def _why_not(promotion: Promotion, *, sale: Sale, subtotal: Decimal, now: datetime) -> str:
    """Why the promotion cannot apply to this sale now ("" when it can)."""
    name = f'"{promotion.code}"' if promotion.code else promotion.name
    if not promotion.active:
        return f"Discount code {name} is inactive."
    if promotion.starts_at is not None and promotion.starts_at > now:
        return f"Discount code {name} is not valid before {promotion.starts_at:%Y-%m-%d %H:%M} UTC."
    if promotion.ends_at is not None and promotion.ends_at <= now:
        return f"Discount code {name} expired on {promotion.ends_at:%Y-%m-%d %H:%M} UTC."
    if promotion.usage_limit is not None and promotion.usage_count >= promotion.usage_limit:
        return f"Discount code {name} has been used up ({promotion.usage_limit} uses)."
    if promotion.currency and promotion.currency != sale.currency:
        return f"Discount code {name} is for sales in {promotion.currency}; this sale is in {sale.currency}."
    if promotion.min_subtotal is not None and subtotal < promotion.min_subtotal:
        return (
            f"Discount code {name} needs a subtotal of at least {quantize(promotion.min_subtotal, sale.currency)}; "
            f"this sale's is {quantize(subtotal, sale.currency)}."
        )
    return ""


def _matching_lines(promotion: Promotion, lines: Sequence[SaleItem]) -> frozenset[int]:
    if promotion.applies_to == PromotionScope.PRODUCTS:
        wanted = {product.pk for product in promotion.products.all()}
        return frozenset(index for index, item in enumerate(lines) if item.product_id in wanted)
    wanted = {group.pk for group in promotion.product_groups.all()}
    return frozenset(index for index, item in enumerate(lines) if item.product_group_id in wanted)


def _input(promotion: Promotion, lines: Sequence[SaleItem], *, forced: bool) -> pricing.PromotionInput | None:
    """The engine's view of a promotion on these lines; None for a line promotion that matches none of them."""
    if promotion.applies_to == PromotionScope.ORDER:
        return pricing.PromotionInput(id=promotion.pk, kind=promotion.kind, value=promotion.value, scope=ORDER,
                                      forced=forced)
    matching = _matching_lines(promotion, lines)
    if not matching:
        return None
    return pricing.PromotionInput(id=promotion.pk, kind=promotion.kind, value=promotion.value, scope=LINE,
                                  lines=matching, forced=forced)


def promotion_candidates(sale: Sale, items: Sequence[SaleItem], *, now: datetime | None = None) -> Candidates:
    """The promotions the sale is priced with: automatic ones that match it now, plus its discount code's.

    `lines` of a line promotion index the items still sold (`quantity_active > 0`), the lines the
    engine prices. A code that cannot apply is 400 `invalid_discount_code` on `discount_code`, saying why;
    one that can is written on the sale as the promotion spells it (codes match whatever their case).
    """
    now = now or timezone.now()
    lines = [item for item in items if item.quantity_active > 0]
    subtotal = sum((quantize(item.unit_price * item.quantity_active, sale.currency) for item in lines), ZERO)
    chosen: dict[int, tuple[Promotion, bool]] = {}
    if sale.discount_code:
        coded = (
            Promotion.objects.prefetch_related("products", "product_groups")
            .filter(code__iexact=sale.discount_code).order_by("pk").first()
        )
        if coded is None:
            raise InvalidDiscountCode(f'Unknown discount code "{sale.discount_code}".')
        reason = _why_not(coded, sale=sale, subtotal=subtotal, now=now)
        if reason:
            raise InvalidDiscountCode(reason)
        chosen[coded.pk] = (coded, True)
        sale.discount_code = coded.code  # as the promotion spells it
    automatic = _running(now).filter(automatic=True).filter(
        Q(currency="") | Q(currency=sale.currency), Q(min_subtotal__isnull=True) | Q(min_subtotal__lte=subtotal)
    ).prefetch_related("products", "product_groups").order_by("pk")
    for promotion in automatic:
        chosen.setdefault(promotion.pk, (promotion, False))
    inputs = []
    for promotion, forced in chosen.values():
        built = _input(promotion, lines, forced=forced)
        if built is None and forced:
            raise InvalidDiscountCode(f'Discount code "{promotion.code}" applies to none of these items.')
        if built is not None:
            inputs.append(built)
    return Candidates(inputs=tuple(inputs), promotions={promotion.pk: promotion for promotion, _ in chosen.values()})


def stored_candidates(sale: Sale, items: Sequence[SaleItem]) -> Candidates:
    """The promotions the sale was last priced with, as inputs again: for re-pricing its stored lines (a partial
    cancel, a split, a totals check) without choosing anew (dates and uses may have moved on since).

    Each line takes the same promotion as before: the winners of the first pricing are all here, the
    discount code's still forced.
    """
    lines = [item for item in items if item.quantity_active > 0]
    rows = SalePromotion.objects.filter(sale=sale).select_related("promotion").prefetch_related(
        "promotion__products", "promotion__product_groups"
    )
    code = sale.discount_code.lower()
    promotions = {row.promotion_id: row.promotion for row in rows}
    inputs = []
    for promotion in promotions.values():
        built = _input(promotion, lines, forced=bool(code) and (promotion.code or "").lower() == code)
        if built is not None:
            inputs.append(built)
    return Candidates(inputs=tuple(inputs), promotions=promotions)


def applied_rows(
    sale: Sale, applied: Iterable[pricing.AppliedPromotion], candidates: Candidates
) -> list[SalePromotion]:
    """Unsaved `SalePromotion` rows of what the engine applied (their promotion loaded, for the representation)."""
    return [
        SalePromotion(sale=sale, promotion=candidates.promotions[entry.id], scope=entry.scope, amount=entry.amount)
        for entry in applied
    ]


def price_sale(sale: Sale, items: Sequence[SaleItem], candidates: Candidates) -> list[SalePromotion]:
    """Price the sale with its candidate promotions (`apply_pricing`); the unsaved rows of those applied."""
    return applied_rows(sale, apply_pricing(sale, items, promotions=candidates.inputs), candidates)


def replace_applied(sale: Sale, rows: Sequence[SalePromotion]) -> None:
    """Make `rows` the sale's applied promotions (a re-priced sale keeps only its latest)."""
    SalePromotion.objects.filter(sale=sale).delete()
    if rows:
        SalePromotion.objects.bulk_create(rows)


# --- usage ---------------------------------------------------------------------------------------


def _lock(ids: Iterable[int]) -> list[Promotion]:
    return list(Promotion.objects.select_for_update().filter(pk__in=sorted(set(ids))).order_by("pk"))


def count_usage(sale: Sale, promotion_ids: Iterable[int]) -> None:
    """Count one use of each promotion the sale was priced with (at confirm), locking them by id.

    A promotion whose last use another sale took meanwhile is 409 `invalid_discount_code`: the sale
    stays as it was (the caller's transaction rolls back). Sets `sale.promotions_counted`; the caller saves.
    """
    ids = sorted(set(promotion_ids))
    if sale.promotions_counted or not ids:
        return
    for promotion in _lock(ids):
        if promotion.usage_limit is not None and promotion.usage_count >= promotion.usage_limit:
            name = f'"{promotion.code}"' if promotion.code else promotion.name
            raise InvalidDiscountCode(
                f"Promotion {name} has been used up ({promotion.usage_limit} uses).", status_code=409
            )
    Promotion.objects.filter(pk__in=ids).update(usage_count=F("usage_count") + 1)
    sale.promotions_counted = True


def give_back_usage(sale: Sale) -> None:
    """Give back the uses a sale counted, when it is cancelled before any unit was fulfilled."""
    if not sale.promotions_counted or sale.fulfillment_status != FulfillmentStatus.UNFULFILLED:
        return
    ids = [promotion.pk for promotion in _lock(sale.applied_promotions.values_list("promotion_id", flat=True))]
    Promotion.objects.filter(pk__in=ids, usage_count__gt=0).update(usage_count=F("usage_count") - 1)
    sale.promotions_counted = False


# --- /promotions/ ------------------------------------------------------------------------------------


def _validate(promotion: Promotion, *, products: Sequence | None, product_groups: Sequence | None) -> None:
    """The rules across fields a serializer cannot see alone."""
    if promotion.kind == PromotionKind.FIXED and not promotion.currency:
        raise ValidationError("A fixed promotion needs its currency.", code="required", attr="currency")
    if promotion.kind == PromotionKind.PERCENT and promotion.value > 100:
        raise ValidationError("A percent promotion cannot exceed 100.", code="max_value", attr="value")
    for name in ("value", "min_subtotal"):
        amount = getattr(promotion, name)
        if name == "value" and promotion.kind == PromotionKind.PERCENT:
            continue
        if amount is not None and promotion.currency and has_more_decimals(amount, promotion.currency):
            raise ValidationError(f"{promotion.currency} amounts have fewer decimals than {amount}.",
                                  code="max_decimal_places", attr=name)
    for name, values, scope in (
        ("products", products, PromotionScope.PRODUCTS),
        ("product_groups", product_groups, PromotionScope.PRODUCT_GROUPS),
    ):
        if values and promotion.applies_to != scope:
            raise ValidationError(f'{name} are only for a promotion that applies to "{scope}".', attr=name)
        if promotion.applies_to == scope and values is not None and not values:
            raise ValidationError(f'A promotion that applies to "{scope}" names at least one.', code="required",
                                  attr=name)
    if not promotion.automatic and not promotion.code:
        raise ValidationError("A promotion that is not automatic needs a code.", code="required", attr="code")
    if promotion.code and Promotion.objects.filter(code__iexact=promotion.code).exclude(pk=promotion.pk).exists():
        # Codes are matched whatever their case, so they are unique whatever their case.
        raise ValidationError(f'The code "{promotion.code}" is taken.', code="unique", attr="code")
    if promotion.starts_at and promotion.ends_at and promotion.ends_at <= promotion.starts_at:
        raise ValidationError("ends_at must be after starts_at.", attr="ends_at")
    if promotion.usage_limit is not None and promotion.usage_limit < promotion.usage_count:
        raise ValidationError(
            f"It has been used {promotion.usage_count} times already.", code="min_value", attr="usage_limit"
        )


def _save(promotion: Promotion, *, products: Sequence | None, product_groups: Sequence | None) -> Promotion:
    promotion.code = (promotion.code or "").strip() or None
    promotion.currency = (promotion.currency or "").upper()
    _validate(promotion, products=products, product_groups=product_groups)
    promotion.full_clean()
    promotion.save()
    if products is not None:
        promotion.products.set(products)
    if product_groups is not None:
        promotion.product_groups.set(product_groups)
    return promotion


@transaction.atomic
def promotion_create(*, name: str, kind: str, value: Decimal, products: Sequence = (), product_groups: Sequence = (),
                     **fields: Any) -> Promotion:
    """Create a promotion (`products`: Product rows, `product_groups`: ProductGroup rows)."""
    promotion = Promotion(name=name, kind=kind, value=value,
                          **{k: v for k, v in fields.items() if k in PROMOTION_FIELDS and v is not None})
    needs_lines = promotion.applies_to != PromotionScope.ORDER
    return _save(
        promotion,
        products=list(products) if products or needs_lines else None,
        product_groups=list(product_groups) if product_groups or needs_lines else None,
    )


@transaction.atomic
def promotion_update(*, promotion: Promotion, data: dict[str, Any]) -> Promotion:
    """Change a promotion; sales already priced keep what it took off them. Locked like a confirm locks it."""
    promotion = Promotion.objects.select_for_update().get(pk=promotion.pk)
    for name in PROMOTION_FIELDS:
        if name in data:
            value = data[name]
            if name == "currency" and value is None:
                value = ""
            setattr(promotion, name, value)
    products = data.get("products")
    groups = data.get("product_groups")
    if "applies_to" in data or products is not None or groups is not None:
        # The scope and its lists are checked together: fill in the ones not sent from what is stored.
        if promotion.applies_to == PromotionScope.PRODUCTS and products is None:
            products = list(promotion.products.all())
        if promotion.applies_to == PromotionScope.PRODUCT_GROUPS and groups is None:
            groups = list(promotion.product_groups.all())
        if promotion.applies_to != PromotionScope.PRODUCTS and products is None:
            products = [] if promotion.products.exists() else None
        if promotion.applies_to != PromotionScope.PRODUCT_GROUPS and groups is None:
            groups = [] if promotion.product_groups.exists() else None
    return _save(promotion, products=products, product_groups=groups)


def promotion_delete(*, promotion: Promotion) -> None:
    """Delete a promotion no sale was priced with (409 `in_use`: deactivate it instead)."""
    try:
        with transaction.atomic():
            promotion.delete()
    except ProtectedError:
        raise InUse("This promotion was applied to sales and cannot be deleted; deactivate it instead.") from None
