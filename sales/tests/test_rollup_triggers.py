"""The rollup's trigger names: one module for the code, the same names the (frozen) migrations created."""

import importlib

from sales import rollup_triggers


def test_the_trigger_names_are_the_ones_the_migrations_created():
    daily = importlib.import_module("sales.migrations.0004_sale_daily_totals")

    assert rollup_triggers.PG_ROW_TRIGGERS == daily.PG_TRIGGERS
    assert rollup_triggers.PG_TRUNCATE_TRIGGER == daily.PG_TRUNCATE_TRIGGER
    assert rollup_triggers.SQLITE_TRIGGERS == daily.SQLITE_TRIGGERS


def test_the_base_amount_sql_and_the_tracked_columns_are_the_ones_migration_0012_installed():
    currency = importlib.import_module("sales.migrations.0012_rollup_currency")

    assert rollup_triggers.BASE_AMOUNT_SQL == currency.BASE_AMOUNT_SQL
    assert rollup_triggers.TRACKED == currency.TRACKED
    assert rollup_triggers.PG_ROW_TRIGGERS == currency.PG_TRIGGERS
    assert rollup_triggers.SQLITE_TRIGGERS == currency.SQLITE_TRIGGERS
