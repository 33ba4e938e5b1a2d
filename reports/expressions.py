"""SQL for money in reports: per-row rounding to a currency's minor units, in the database.

Every amount of a report is in the base currency, each record converted with its own sale's
`exchange_rate` and rounded half-up to the base currency's decimals before anything is added up
(money.md: "each sale converted with its own rate"). That rounding is per row, so it has to
happen inside the aggregate: `MulDivRound(a, b, c, places)` is `quantize(a × b / c, places)`
half-up (0 when c is 0). PostgreSQL's numeric `ROUND` is exact and rounds half away from zero,
which is Python's `ROUND_HALF_UP`; SQLite has only floats, so there the same function is a
Python one registered on each connection (`register_sqlite_functions`).
"""

from decimal import ROUND_HALF_UP, Decimal

import iso4217
from django.db.models import Case, DecimalField, F, Func, IntegerField, Value, When

from salesproject.money import minor_units

# Wide enough for any sum of money columns; three places, the most a currency has.
AMOUNT = DecimalField(max_digits=30, decimal_places=3)
SQLITE_FUNCTION = "reports_mul_div_round"


def _currencies_by_places() -> dict[int, list[str]]:
    """The ISO 4217 codes whose amounts do not have two decimals, by their number of decimals."""
    by_places: dict[int, list[str]] = {}
    for currency in iso4217.Currency:
        places = minor_units(currency.code)
        if places != 2:
            by_places.setdefault(places, []).append(currency.code)
    return by_places


NOT_TWO_PLACES = _currencies_by_places()


def currency_places(currency: str = "currency"):
    """The decimals of the currency in the column `currency` (JPY 0, KWD 3, most 2), as SQL."""
    whens = [When(**{f"{currency}__in": codes}, then=Value(places)) for places, codes in NOT_TWO_PLACES.items()]
    return Case(*whens, default=Value(2), output_field=IntegerField())


class MulDivRound(Func):
    """`quantize(a × b / c, places)` half-up, per row (0 when c is 0)."""

    output_field = AMOUNT
    arity = 4

    def as_sql(self, compiler, connection, **extra_context):
        (a, a_params), (b, b_params), (c, c_params), (places, places_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        sql = (
            f"(CASE WHEN ({c}) = 0 THEN 0 "
            f"ELSE ROUND((CAST(({a}) AS NUMERIC) * ({b})) / ({c}), CAST(({places}) AS INTEGER)) END)"
        )
        return sql, (*c_params, *a_params, *b_params, *c_params, *places_params)

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function=SQLITE_FUNCTION, **extra_context)


def to_base(amount, *, rate: str = "exchange_rate", base_places: int):
    """`amount` (in its sale's currency) in the base currency, rounded to its `base_places` decimals."""
    return MulDivRound(amount, F(rate), Value(1), Value(base_places))


def share(amount, part, whole, *, currency: str):
    """`amount × part / whole` rounded to the sale currency's decimals: what `part` of `whole` units were
    charged, as `sales.services.returns.charged_for_units` computes it."""
    return MulDivRound(amount, part, whole, currency_places(currency))


def _decimal(value, places: str) -> Decimal:
    # SQLite hands floats over; their shortest repr is the decimal that was stored (money: 3 places at most,
    # rates 8); arithmetic done on the way (a difference of two columns) is rounded back to those places.
    return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(Decimal(places))


def _mul_div_round(a, b, c, places):
    if a is None or b is None or c is None or places is None:
        return None
    whole = _decimal(c, "1e-8")
    if not whole:
        return 0.0
    exact = _decimal(a, "1e-3") * _decimal(b, "1e-8") / whole
    # Returned as text: SQLite keeps it exact until it is added up (Django reads the sum back as a Decimal).
    return str(exact.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP))


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FUNCTION, 4, _mul_div_round, deterministic=True)
