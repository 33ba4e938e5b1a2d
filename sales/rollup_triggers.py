"""The names of the triggers on `sales_sale` that keep the summary's rollup exact (daily and monthly totals).

Migration 0004_sale_daily_totals created them (0006_sale_monthly_totals points their function at the monthly
table too); the migrations keep their own copies of the names, frozen as every migration is, and a test checks
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
