"""The summary's rollup per currency, with base-currency sums (money.md: totals are never added across currencies).

Both rollup tables gain `currency` in their key, three-decimal sums (KWD), and `grand_total_base` /
`paid_total_base`: each sale's amount × its `exchange_rate`, rounded half-up to the base currency's
minor units, then added up. The triggers (same names, same events) now also follow `currency` and
`exchange_rate`:

- PostgreSQL: the plpgsql helpers take the currency and the base amounts; `sale_daily_total_sync()`
  applies the daily change, then the monthly one, each (minus old key, plus new key) pair in key order
  (key: day or month, seller, status, currency), deferred to COMMIT as before.
- SQLite: the three AFTER triggers are recreated (dropped first: the rebuilds of the rollup tables
  below must not meet triggers naming them).

The base currency's minor units are read from `SALES_BASE_CURRENCY` when this migration runs and built
into the triggers: changing the base currency later means re-running `install` (and converting rates).
The audit (`recalculate_totals`) compares with the current setting, so a mismatch shows as drift.

Install: triggers replaced, then both tables emptied and refilled from the sales, under a SHARE lock
on `sales_sale` (PostgreSQL), so no sale is missed or counted twice.
"""

import importlib
from decimal import Decimal

from django.conf import settings
from django.db import migrations, models

from salesproject.money import minor_units

daily = importlib.import_module("sales.migrations.0004_sale_daily_totals")
monthly = importlib.import_module("sales.migrations.0006_sale_monthly_totals")

DAILY, MONTHLY = "sales_saledailytotal", "sales_salemonthlytotal"
PG_TRIGGERS = daily.PG_TRIGGERS
SQLITE_TRIGGERS = daily.SQLITE_TRIGGERS
TRACKED = ("created_at", "seller_id", "status", "currency", "exchange_rate", "grand_total", "paid_total")
CHANGED = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in TRACKED)
AMOUNTS = ("grand_total", "paid_total", "exchange_rate")
AMOUNTS_CHANGED = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in AMOUNTS)

# level: (table, key column, key of a sale row on PostgreSQL, on SQLite)
LEVELS = {
    "daily": (DAILY, "day", "({row}.created_at AT TIME ZONE 'UTC')::date", "date({row}.created_at)"),
    "monthly": (
        MONTHLY,
        "month",
        "date_trunc('month', {row}.created_at AT TIME ZONE 'UTC')::date",
        "strftime('%Y-%m-01', {row}.created_at)",
    ),
}
OLD_ADD_SIGNATURE = "(date, bigint, varchar, bigint, numeric, numeric)"
NEW_ADD_SIGNATURE = "(date, bigint, varchar, varchar, bigint, numeric, numeric, numeric, numeric)"


def base_places() -> int:
    return minor_units(settings.SALES_BASE_CURRENCY)


# A frozen copy of sales.rollup_triggers.BASE_AMOUNT_SQL (a test checks they agree).
BASE_AMOUNT_SQL = {
    "postgresql": "ROUND(({amount}) * ({rate}), {places})",
    "sqlite": (
        "(CASE WHEN ({rate}) = 1 THEN ROUND(({amount}), {places}) ELSE "
        "((CAST(ROUND(({amount}) * 1000) AS INTEGER) * CAST(ROUND(({rate}) * 100000000) AS INTEGER) + {half})"
        " / {divisor}) / {scale} END)"
    ),
}


def base(vendor: str, amount: str, rate: str, places: int) -> str:
    return BASE_AMOUNT_SQL[vendor].format(
        amount=amount,
        rate=rate,
        places=places,
        half=5 * 10 ** (10 - places),
        divisor=10 ** (11 - places),
        scale=f"{10**places}.0",
    )


# --- PostgreSQL ----------------------------------------------------------------------------------------------


def pg_add_function(level: str) -> str:
    table, column, _, _ = LEVELS[level]
    key = f"{column} = p_key AND seller_id = p_seller AND status = p_status AND currency = p_currency"
    return f"""
CREATE FUNCTION sale_{level}_total_add(
    p_key date, p_seller bigint, p_status varchar, p_currency varchar, p_count bigint,
    p_grand numeric, p_paid numeric, p_grand_base numeric, p_paid_base numeric
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    remaining bigint;
BEGIN
    IF p_count < 0 THEN  -- taking a sale out: its row exists (if it does not, the audit reports it)
        UPDATE {table}
            SET count = count + p_count, grand_total = grand_total + p_grand, paid_total = paid_total + p_paid,
                grand_total_base = grand_total_base + p_grand_base, paid_total_base = paid_total_base + p_paid_base
            WHERE {key}
            RETURNING count INTO remaining;
    ELSE
        INSERT INTO {table} AS t
            ({column}, seller_id, status, currency, count, grand_total, paid_total, grand_total_base, paid_total_base)
        VALUES (p_key, p_seller, p_status, p_currency, p_count, p_grand, p_paid, p_grand_base, p_paid_base)
        ON CONFLICT ({column}, seller_id, status, currency) DO UPDATE
            SET count = t.count + EXCLUDED.count,
                grand_total = t.grand_total + EXCLUDED.grand_total,
                paid_total = t.paid_total + EXCLUDED.paid_total,
                grand_total_base = t.grand_total_base + EXCLUDED.grand_total_base,
                paid_total_base = t.paid_total_base + EXCLUDED.paid_total_base
        RETURNING t.count INTO remaining;
    END IF;
    IF remaining = 0 THEN
        DELETE FROM {table} WHERE {key};
    END IF;
END
$$
"""


def _pg_level_update(level: str) -> str:
    """The UPDATE branch of one level: the same key → the differences; else minus old, plus new in key order."""
    old_key = f"old_{LEVELS[level][1]}, OLD.seller_id, OLD.status, OLD.currency"
    new_key = f"new_{LEVELS[level][1]}, NEW.seller_id, NEW.status, NEW.currency"
    add = f"sale_{level}_total_add"
    minus = f"PERFORM {add}({old_key}, -1, -OLD.grand_total, -OLD.paid_total, -old_grand_base, -old_paid_base);"
    plus = f"PERFORM {add}({new_key}, 1, NEW.grand_total, NEW.paid_total, new_grand_base, new_paid_base);"
    return f"""
        IF ({old_key}) = ({new_key}) THEN
            IF {AMOUNTS_CHANGED} THEN
                PERFORM {add}({new_key}, 0, NEW.grand_total - OLD.grand_total, NEW.paid_total - OLD.paid_total,
                    new_grand_base - old_grand_base, new_paid_base - old_paid_base);
            END IF;
        ELSIF ({old_key}) < ({new_key}) THEN
            {minus}
            {plus}
        ELSE
            {plus}
            {minus}
        END IF;"""


def pg_sync_function(places: int) -> str:
    day, month = LEVELS["daily"][2], LEVELS["monthly"][2]

    def amounts(row: str) -> str:
        prefix = row.lower()
        return (
            f"{prefix}_grand_base := {base('postgresql', f'{row}.grand_total', f'{row}.exchange_rate', places)};\n"
            f"        {prefix}_paid_base := {base('postgresql', f'{row}.paid_total', f'{row}.exchange_rate', places)};"
        )

    new_key = "NEW.seller_id, NEW.status, NEW.currency"
    old_key = "OLD.seller_id, OLD.status, OLD.currency"
    return f"""
CREATE OR REPLACE FUNCTION sale_daily_total_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_day date;
    new_day date;
    old_month date;
    new_month date;
    old_grand_base numeric;
    old_paid_base numeric;
    new_grand_base numeric;
    new_paid_base numeric;
BEGIN
    IF TG_OP = 'INSERT' THEN
        {amounts("NEW")}
        PERFORM sale_daily_total_add({day.format(row="NEW")}, {new_key}, 1,
            NEW.grand_total, NEW.paid_total, new_grand_base, new_paid_base);
        PERFORM sale_monthly_total_add({month.format(row="NEW")}, {new_key}, 1,
            NEW.grand_total, NEW.paid_total, new_grand_base, new_paid_base);
    ELSIF TG_OP = 'DELETE' THEN
        {amounts("OLD")}
        PERFORM sale_daily_total_add({day.format(row="OLD")}, {old_key}, -1,
            -OLD.grand_total, -OLD.paid_total, -old_grand_base, -old_paid_base);
        PERFORM sale_monthly_total_add({month.format(row="OLD")}, {old_key}, -1,
            -OLD.grand_total, -OLD.paid_total, -old_grand_base, -old_paid_base);
    ELSE
        {amounts("OLD")}
        {amounts("NEW")}
        old_day := {day.format(row="OLD")};
        new_day := {day.format(row="NEW")};
        old_month := {month.format(row="OLD")};
        new_month := {month.format(row="NEW")};
        -- The daily rows first, then the monthly ones; at each level both keys in one fixed order, so two
        -- transactions moving sales between the same keys cannot deadlock.{_pg_level_update("daily")}
        {_pg_level_update("monthly")}
    END IF;
    RETURN NULL;
END
$$
"""


def pg_install(places: int) -> list[str]:
    return [
        "LOCK TABLE sales_sale IN SHARE MODE",
        pg_add_function("daily"),
        pg_add_function("monthly"),
        pg_sync_function(places),
        f"DROP TRIGGER IF EXISTS {PG_TRIGGERS[0]} ON sales_sale",
        f"DROP TRIGGER IF EXISTS {PG_TRIGGERS[1]} ON sales_sale",
        f"""
CREATE CONSTRAINT TRIGGER {PG_TRIGGERS[0]} AFTER INSERT OR DELETE ON sales_sale
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sale_daily_total_sync()
""",
        f"""
CREATE CONSTRAINT TRIGGER {PG_TRIGGERS[1]} AFTER UPDATE OF {", ".join(TRACKED)} ON sales_sale
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({CHANGED}) EXECUTE FUNCTION sale_daily_total_sync()
""",
    ]


# --- SQLite --------------------------------------------------------------------------------------------------


def _sqlite_statements(level: str, places: int) -> tuple[str, str, str]:
    """(add NEW, take OLD, drop OLD's row if empty) of one level. round(): SQLite adds decimals as doubles."""
    table, column, _, key_sql = LEVELS[level]
    new, old = key_sql.format(row="NEW"), key_sql.format(row="OLD")
    grand_base = base("sqlite", "{row}.grand_total", "{row}.exchange_rate", places)
    paid_base = base("sqlite", "{row}.paid_total", "{row}.exchange_rate", places)
    add_new = f"""
    INSERT INTO {table}
        ({column}, seller_id, status, currency, count, grand_total, paid_total, grand_total_base, paid_total_base)
    VALUES ({new}, NEW.seller_id, NEW.status, NEW.currency, 1, NEW.grand_total, NEW.paid_total,
        {grand_base.replace("{row}", "NEW")}, {paid_base.replace("{row}", "NEW")})
    ON CONFLICT ({column}, seller_id, status, currency) DO UPDATE
        SET count = count + excluded.count,
            grand_total = round(grand_total + excluded.grand_total, 3),
            paid_total = round(paid_total + excluded.paid_total, 3),
            grand_total_base = round(grand_total_base + excluded.grand_total_base, 3),
            paid_total_base = round(paid_total_base + excluded.paid_total_base, 3);"""
    where = f"{column} = {old} AND seller_id = OLD.seller_id AND status = OLD.status AND currency = OLD.currency"
    take_old = f"""
    UPDATE {table}
        SET count = count - 1,
            grand_total = round(grand_total - OLD.grand_total, 3),
            paid_total = round(paid_total - OLD.paid_total, 3),
            grand_total_base = round(grand_total_base - {grand_base.replace("{row}", "OLD")}, 3),
            paid_total_base = round(paid_total_base - {paid_base.replace("{row}", "OLD")}, 3)
        WHERE {where};"""
    drop_empty = f"""
    DELETE FROM {table} WHERE {where} AND count = 0;"""
    return add_new, take_old, drop_empty


def sqlite_install(places: int) -> list[str]:
    d_add, d_take, d_drop = _sqlite_statements("daily", places)
    m_add, m_take, m_drop = _sqlite_statements("monthly", places)
    return [
        *daily.UNINSTALL_SQLITE,
        f"CREATE TRIGGER {SQLITE_TRIGGERS[0]} AFTER INSERT ON sales_sale BEGIN{d_add}{m_add}\nEND",
        f"CREATE TRIGGER {SQLITE_TRIGGERS[1]} AFTER DELETE ON sales_sale BEGIN{d_take}{d_drop}{m_take}{m_drop}\nEND",
        f"CREATE TRIGGER {SQLITE_TRIGGERS[2]} AFTER UPDATE OF {', '.join(TRACKED)} ON sales_sale\n"
        f"WHEN {CHANGED.replace('IS DISTINCT FROM', 'IS NOT')}\n"
        f"BEGIN{d_take}{d_add}{d_drop}{m_take}{m_add}{m_drop}\nEND",
    ]


# --- backfill ------------------------------------------------------------------------------------------------


def backfill(vendor: str, places: int) -> list[str]:
    statements = []
    for table, column, key_pg, key_sqlite in LEVELS.values():
        key = (key_pg if vendor == "postgresql" else key_sqlite).format(row="sales_sale")
        grand_base = base(vendor, "grand_total", "exchange_rate", places)
        paid_base = base(vendor, "paid_total", "exchange_rate", places)
        total = "SUM({})" if vendor == "postgresql" else "ROUND(SUM({}), 3)"
        statements += [
            f"DELETE FROM {table}",
            f"""
INSERT INTO {table}
    ({column}, seller_id, status, currency, count, grand_total, paid_total, grand_total_base, paid_total_base)
SELECT {key}, seller_id, status, currency, COUNT(*), {total.format("grand_total")}, {total.format("paid_total")},
       {total.format(grand_base)}, {total.format(paid_base)}
FROM sales_sale
GROUP BY 1, 2, 3, 4
""",
        ]
    return statements


def _run(schema_editor, statements) -> None:
    for statement in statements:
        schema_editor.execute(statement, params=None)


def drop_old_triggers(apps, schema_editor) -> None:
    """Before the tables change: 0006's triggers and helpers go (SQLite: so the table rebuilds meet none)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(
            schema_editor,
            [
                "LOCK TABLE sales_sale IN SHARE MODE",
                f"DROP TRIGGER IF EXISTS {PG_TRIGGERS[0]} ON sales_sale",
                f"DROP TRIGGER IF EXISTS {PG_TRIGGERS[1]} ON sales_sale",
                f"DROP FUNCTION IF EXISTS sale_daily_total_add{OLD_ADD_SIGNATURE}",
                f"DROP FUNCTION IF EXISTS sale_monthly_total_add{OLD_ADD_SIGNATURE}",
            ],
        )
    elif vendor == "sqlite":
        _run(schema_editor, daily.UNINSTALL_SQLITE)


def restore_old_triggers(apps, schema_editor) -> None:
    """Back to 0006: its triggers and helpers, both tables refilled as it grouped them."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(
            schema_editor,
            [
                "LOCK TABLE sales_sale IN SHARE MODE",
                daily.INSTALL_PG[0],  # sale_daily_total_add, 6 arguments
                *(s for s in daily.INSTALL_PG[3:5]),  # the two row triggers
                *monthly.INSTALL_PG,
                f"DELETE FROM {DAILY}",
                daily.BACKFILL_PG,
                f"DELETE FROM {MONTHLY}",
                monthly.BACKFILL_PG,
            ],
        )
    elif vendor == "sqlite":
        _run(
            schema_editor,
            [*monthly.INSTALL_SQLITE, f"DELETE FROM {DAILY}", daily.BACKFILL_SQLITE, f"DELETE FROM {MONTHLY}",
             monthly.BACKFILL_SQLITE],
        )


def install(apps, schema_editor) -> None:
    """The triggers of this migration and both tables refilled. On SQLite also what a later migration that
    rebuilds `sales_sale` (dropping its triggers) must run again."""
    vendor = schema_editor.connection.vendor
    places = base_places()
    if vendor == "postgresql":
        _run(schema_editor, [*pg_install(places), *backfill(vendor, places)])
    elif vendor == "sqlite":
        _run(schema_editor, [*sqlite_install(places), *backfill(vendor, places)])
    else:  # pragma: no cover
        raise RuntimeError(f"the sales rollup has no triggers for {vendor}; the summary would be wrong.")


def uninstall(apps, schema_editor) -> None:
    """This migration's triggers and helpers go, and the rows (per currency: they would collide) too."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(
            schema_editor,
            [
                "LOCK TABLE sales_sale IN SHARE MODE",
                f"DROP TRIGGER IF EXISTS {PG_TRIGGERS[0]} ON sales_sale",
                f"DROP TRIGGER IF EXISTS {PG_TRIGGERS[1]} ON sales_sale",
                f"DROP FUNCTION IF EXISTS sale_daily_total_add{NEW_ADD_SIGNATURE}",
                f"DROP FUNCTION IF EXISTS sale_monthly_total_add{NEW_ADD_SIGNATURE}",
                f"DELETE FROM {DAILY}",
                f"DELETE FROM {MONTHLY}",
            ],
        )
    elif vendor == "sqlite":
        _run(schema_editor, [*daily.UNINSTALL_SQLITE, f"DELETE FROM {DAILY}", f"DELETE FROM {MONTHLY}"])


def _sums() -> list[tuple[str, models.Field]]:
    return [
        (name, models.DecimalField(decimal_places=3, default=Decimal("0.000"), max_digits=20))
        for name in ("grand_total", "paid_total", "grand_total_base", "paid_total_base")
    ]


def _table_operations(model_name: str, column: str, constraint: str) -> list:
    operations = [
        migrations.RemoveConstraint(model_name=model_name, name=constraint),
        migrations.AddField(
            model_name=model_name,
            name="currency",
            field=models.CharField(default="", max_length=3),
            preserve_default=False,
        ),
    ]
    for name, field in _sums():
        if name.endswith("_base"):
            operations.append(migrations.AddField(model_name=model_name, name=name, field=field))
        else:
            operations.append(migrations.AlterField(model_name=model_name, name=name, field=field))
    operations += [
        migrations.AlterModelOptions(
            name=model_name, options={"ordering": [column, "seller", "status", "currency"]}
        ),
        migrations.AddConstraint(
            model_name=model_name,
            constraint=models.UniqueConstraint(fields=(column, "seller", "status", "currency"), name=constraint),
        ),
    ]
    return operations


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0011_money_round_two"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_old_triggers, restore_old_triggers, elidable=False),
        *_table_operations("saledailytotal", "day", "sale_daily_total_key"),
        *_table_operations("salemonthlytotal", "month", "sale_monthly_total_key"),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
