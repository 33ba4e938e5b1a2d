"""`/exchange-rates/`: what one unit of a currency is worth in the base currency, from a moment on (money.md).

Everyone signed in reads; only staff write (through `sales.services.exchange_rates`). A sale snapshots
the rate valid when it was sold, so changing or deleting a rate never changes a sale.
"""

from decimal import Decimal

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets

from sales.filters import CURRENCY_RE, validate_currency
from sales.models import RATE, ExchangeRate
from sales.services import exchange_rates as services
from salesproject.api.fields import MoneyField
from salesproject.api.idempotency import IdempotentMixin
from salesproject.api.permissions import IsStaffOrReadOnly
from salesproject.api.representation import money
from salesproject.api.serializers import StrictModelSerializer
from salesproject.money import quantize
from salesproject.ordering import OrderingFilter

# --- a sale's rate and base-currency figures (the `SALE` table's `compute`s, and their serializer fields) ------


def rate_text(row: dict) -> str:
    """`exchange_rate` as a string with its 8 stored decimals ("1.00000000")."""
    return f"{Decimal(row['exchange_rate']):.{RATE['decimal_places']}f}"


def base_currency_of(row: dict) -> str:
    return services.base_currency()


def grand_total_base(row: dict) -> str:
    """grand_total × exchange_rate, rounded half-up to the base currency's minor units ("13.57" USD)."""
    base = services.base_currency()
    return money(quantize(Decimal(row["grand_total"]) * Decimal(row["exchange_rate"]), base), base)


@extend_schema_field(OpenApiTypes.STR)
class SaleBaseField(serializers.Field):
    """What `compute` gives the fast renderer, for the serializer (so the schema, and the same JSON)."""

    def __init__(self, compute, **kwargs):
        self.compute = compute
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, sale) -> str:
        return self.compute({"grand_total": sale.grand_total, "exchange_rate": sale.exchange_rate})


def base_currency_field() -> SaleBaseField:
    return SaleBaseField(base_currency_of, help_text="The base currency (`SALES_BASE_CURRENCY`).")


def grand_total_base_field() -> SaleBaseField:
    return SaleBaseField(
        grand_total_base,
        help_text="grand_total × exchange_rate in the base currency, rounded half-up to its minor units.",
    )


class RateField(MoneyField):
    """An exchange rate (up to 8 decimals): too many whole digits to store is 400 `amount_too_large`, the code
    `services.clean_rate` gives (DRF's own check would answer `max_whole_digits` first); written with 8 decimals."""

    default_error_messages = {"amount_too_large": "Too large: exchange rates are stored up to {max_amount}."}

    def __init__(self, **kwargs):
        super().__init__(**{**RATE, **kwargs})

    def to_representation(self, value):
        return serializers.DecimalField.to_representation(self, value)


class ExchangeRateSerializer(StrictModelSerializer):
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}$", help_text="ISO 4217 code, any but the base currency (`SALES_BASE_CURRENCY`)."
    )
    rate = RateField(
        help_text='Units of the base currency one unit of `currency` is worth, > 0, up to 8 decimals ("0.00670000").',
    )

    class Meta:
        model = ExchangeRate
        fields = ["id", "currency", "rate", "valid_from"]
        validators: list = []  # the service refuses a second rate from the same moment, on `valid_from`

    def validate_currency(self, value: str) -> str:
        return value.upper()


class ExchangeRateFilter(django_filters.FilterSet):
    currency = django_filters.CharFilter(
        method="filter_currency",
        validators=[validate_currency],
        help_text="Only this currency's rates (ISO 4217).",
    )
    ordering = OrderingFilter(
        fields=(("id", "id"), ("currency", "currency"), ("valid_from", "valid_from"), ("created_at", "created_at"))
    )

    class Meta:
        model = ExchangeRate
        fields: list[str] = []

    def filter_currency(self, qs, name, value):
        return qs.filter(currency=value.upper()) if CURRENCY_RE.match(value) else qs.none()


@extend_schema_view(
    list=extend_schema(summary="Exchange rates to the base currency, per currency, newest first"),
    create=extend_schema(description="Staff only. 400 `base_currency` for the base currency itself."),
)
class ExchangeRateViewSet(IdempotentMixin, viewsets.ModelViewSet):
    permission_classes = [IsStaffOrReadOnly]
    serializer_class = ExchangeRateSerializer
    filterset_class = ExchangeRateFilter
    queryset = ExchangeRate.objects.order_by("currency", "-valid_from", "-id")
    lookup_value_regex = r"[0-9]+"

    def perform_create(self, serializer):
        serializer.instance = services.exchange_rate_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.exchange_rate_update(
            exchange_rate=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.exchange_rate_delete(exchange_rate=instance)
