"""The names of the triggers on `sales_sale` that keep the summary's rollup exact (daily and monthly totals).

Migration 0004_sale_daily_totals created them (0006_sale_monthly_totals points their function at the monthly
table too; 0012_rollup_currency keys both tables by currency too and adds the base-currency sums); the migrations
keep their own copies of the names, frozen as every migration is, and a test checks
they agree with these. The code that checks, fires or switches the triggers reads them here:
`sales.services.maintenance` and `bench/generate.py`, which runs without Django, so this module imports nothing.
"""

# PostgreSQL: the row triggers, deferred to COMMIT (unless set IMMEDIATE), and the statement trigger of TRUNCATE.
PG_ROW_TRIGGERS = ("sale_daily_total_ins_del", "sale_daily_total_upd")
PG_TRUNCATE_TRIGGER = "sale_daily_total_truncate"
SQLITE_TRIGGERS = ("sale_daily_total_ins", "sale_daily_total_del", "sale_daily_total_upd")

# Every rollup trigger, per database vendor.
ROLLUP_TRIGGERS = {
    "postgresql": (*PG_ROW_TRIGGERS, PG_TRUNCATE_TRIGGER),
    "sqlite": SQLITE_TRIGGERS,
}

# The columns of `sales_sale` whose change moves figures of the rollup (its key, its sums, the rate of the
# base sums): the PostgreSQL update trigger fires on these only, the SQLite one too (migration 0012).
TRACKED = ("created_at", "seller_id", "status", "currency", "exchange_rate", "grand_total", "paid_total")

# One sale's amount in the base currency: `amount` × `rate` rounded half-up to `places` decimals (the base
# currency's minor units). The same SQL in the triggers (migration 0012 keeps its own frozen copy), the
# rollup's audit and the summary's direct path, so both paths of the summary agree to the minor unit.
# - PostgreSQL: numeric arithmetic is exact; ROUND is half away from zero, half-up for the amounts here
#   (never negative: check constraints).
# - SQLite holds decimals as doubles: the amount (3 decimals at most) and the rate (8 at most) become exact
#   integers, their product is rounded with integer division. Exact while amount × rate × 10^11 fits 64 bits
#   (a sale worth up to about 92 million base units); a rate of 1 (the base currency) needs no product.
BASE_AMOUNT_SQL = {
    "postgresql": "ROUND(({amount}) * ({rate}), {places})",
    "sqlite": (
        "(CASE WHEN ({rate}) = 1 THEN ROUND(({amount}), {places}) ELSE "
        "((CAST(ROUND(({amount}) * 1000) AS INTEGER) * CAST(ROUND(({rate}) * 100000000) AS INTEGER) + {half})"
        " / {divisor}) / {scale} END)"
    ),
}


def base_amount_sql(vendor: str, amount: str, rate: str, places: int) -> str:
    """`BASE_AMOUNT_SQL` of one vendor for the SQL expressions `amount` and `rate`, rounded to `places`."""
    return BASE_AMOUNT_SQL[vendor].format(
        amount=amount,
        rate=rate,
        places=places,
        half=5 * 10 ** (10 - places),
        divisor=10 ** (11 - places),
        scale=f"{10**places}.0",
    )
