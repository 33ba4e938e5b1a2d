"""The monthly level of the sales rollup: table, the same triggers updating it, backfill.

`sales_salemonthlytotal` holds, per UTC month of `created_at` (its first day), seller and
status, what `sales_saledailytotal` holds per day. The summary reads whole months from it
and only the partial months at the edges of a date range from the daily table.

It is kept exact by the triggers of migration 0004, unchanged (same names, same events,
same WHEN): their functions are replaced so that one trigger call updates both tables.

- PostgreSQL: `sale_daily_total_sync()` applies the daily change, then the monthly one,
  each (minus old key, plus new key) pair in its own key order. Every transaction takes its
  daily row locks before its monthly ones, and each level's pair in one fixed order, so two
  transactions moving sales between the same keys cannot deadlock on them. A create's commit
  locks its (day, seller, status) row, then its (month, seller, status) row: the same seller
  as before, no row shared by all sellers. The TRUNCATE trigger empties both tables.
- SQLite: the three AFTER triggers are recreated with the monthly statements added.

The install first takes a SHARE lock on `sales_sale` (reads go on; writers wait for this
migration's commit, and the migration waits for writers in flight to commit): no sale is
committed between the backfill's snapshot and the new functions, so none is missed or
counted twice. The backfill groups the sales themselves (not the daily rows: a drifted
daily row would be copied). Reversing restores 0004's functions and triggers, then drops
the table.
"""

import importlib
from decimal import Decimal

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

daily = importlib.import_module("sales.migrations.0004_sale_daily_totals")

TABLE = "sales_salemonthlytotal"
DAILY_TABLE = daily.TABLE
SQLITE_TRIGGERS = daily.SQLITE_TRIGGERS  # unchanged names: bench/ and sales.services.maintenance refer to them
TRACKED = daily.TRACKED
CHANGED = daily.CHANGED
MONTH_PG = "date_trunc('month', {row}.created_at AT TIME ZONE 'UTC')::date"
DAY_PG = "({row}.created_at AT TIME ZONE 'UTC')::date"

BACKFILL_PG = f"""
INSERT INTO {TABLE} (month, seller_id, status, count, grand_total, paid_total)
SELECT date_trunc('month', created_at AT TIME ZONE 'UTC')::date, seller_id, status, count(*), sum(grand_total),
       sum(paid_total)
FROM sales_sale
GROUP BY 1, 2, 3
"""

INSTALL_PG = [
    f"""
CREATE FUNCTION sale_monthly_total_add(
    p_month date, p_seller bigint, p_status varchar, p_count bigint, p_grand numeric, p_paid numeric
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    remaining bigint;
BEGIN
    IF p_count < 0 THEN  -- taking a sale out: its row exists (if it does not, the audit reports it)
        UPDATE {TABLE}
            SET count = count + p_count, grand_total = grand_total + p_grand, paid_total = paid_total + p_paid
            WHERE month = p_month AND seller_id = p_seller AND status = p_status
            RETURNING count INTO remaining;
    ELSE
        INSERT INTO {TABLE} AS t (month, seller_id, status, count, grand_total, paid_total)
        VALUES (p_month, p_seller, p_status, p_count, p_grand, p_paid)
        ON CONFLICT (month, seller_id, status) DO UPDATE
            SET count = t.count + EXCLUDED.count,
                grand_total = t.grand_total + EXCLUDED.grand_total,
                paid_total = t.paid_total + EXCLUDED.paid_total
        RETURNING t.count INTO remaining;
    END IF;
    IF remaining = 0 THEN
        DELETE FROM {TABLE} WHERE month = p_month AND seller_id = p_seller AND status = p_status;
    END IF;
END
$$
""",
    f"""
CREATE OR REPLACE FUNCTION sale_daily_total_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_day date;
    new_day date;
    old_month date;
    new_month date;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM sale_daily_total_add(
            {DAY_PG.format(row="NEW")}, NEW.seller_id, NEW.status, 1, NEW.grand_total, NEW.paid_total);
        PERFORM sale_monthly_total_add(
            {MONTH_PG.format(row="NEW")}, NEW.seller_id, NEW.status, 1, NEW.grand_total, NEW.paid_total);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM sale_daily_total_add(
            {DAY_PG.format(row="OLD")}, OLD.seller_id, OLD.status, -1, -OLD.grand_total, -OLD.paid_total);
        PERFORM sale_monthly_total_add(
            {MONTH_PG.format(row="OLD")}, OLD.seller_id, OLD.status, -1, -OLD.grand_total, -OLD.paid_total);
    ELSE
        old_day := {DAY_PG.format(row="OLD")};
        new_day := {DAY_PG.format(row="NEW")};
        old_month := {MONTH_PG.format(row="OLD")};
        new_month := {MONTH_PG.format(row="NEW")};
        -- The daily rows first, then the monthly ones; at each level both keys in one fixed order, so two
        -- transactions moving sales between the same keys cannot deadlock.
        IF (old_day, OLD.seller_id, OLD.status) = (new_day, NEW.seller_id, NEW.status) THEN
            IF OLD.grand_total IS DISTINCT FROM NEW.grand_total OR OLD.paid_total IS DISTINCT FROM NEW.paid_total THEN
                PERFORM sale_daily_total_add(new_day, NEW.seller_id, NEW.status, 0,
                    NEW.grand_total - OLD.grand_total, NEW.paid_total - OLD.paid_total);
            END IF;
        ELSIF (old_day, OLD.seller_id, OLD.status) < (new_day, NEW.seller_id, NEW.status) THEN
            PERFORM sale_daily_total_add(old_day, OLD.seller_id, OLD.status, -1, -OLD.grand_total, -OLD.paid_total);
            PERFORM sale_daily_total_add(new_day, NEW.seller_id, NEW.status, 1, NEW.grand_total, NEW.paid_total);
        ELSE
            PERFORM sale_daily_total_add(new_day, NEW.seller_id, NEW.status, 1, NEW.grand_total, NEW.paid_total);
            PERFORM sale_daily_total_add(old_day, OLD.seller_id, OLD.status, -1, -OLD.grand_total, -OLD.paid_total);
        END IF;
        IF (old_month, OLD.seller_id, OLD.status) = (new_month, NEW.seller_id, NEW.status) THEN
            IF OLD.grand_total IS DISTINCT FROM NEW.grand_total OR OLD.paid_total IS DISTINCT FROM NEW.paid_total THEN
                PERFORM sale_monthly_total_add(new_month, NEW.seller_id, NEW.status, 0,
                    NEW.grand_total - OLD.grand_total, NEW.paid_total - OLD.paid_total);
            END IF;
        ELSIF (old_month, OLD.seller_id, OLD.status) < (new_month, NEW.seller_id, NEW.status) THEN
            PERFORM sale_monthly_total_add(
                old_month, OLD.seller_id, OLD.status, -1, -OLD.grand_total, -OLD.paid_total);
            PERFORM sale_monthly_total_add(new_month, NEW.seller_id, NEW.status, 1, NEW.grand_total, NEW.paid_total);
        ELSE
            PERFORM sale_monthly_total_add(new_month, NEW.seller_id, NEW.status, 1, NEW.grand_total, NEW.paid_total);
            PERFORM sale_monthly_total_add(
                old_month, OLD.seller_id, OLD.status, -1, -OLD.grand_total, -OLD.paid_total);
        END IF;
    END IF;
    RETURN NULL;
END
$$
""",
    f"""
CREATE OR REPLACE FUNCTION sale_daily_total_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {DAILY_TABLE};
    DELETE FROM {TABLE};
    RETURN NULL;
END
$$
""",
]


def _or_replace(statement: str) -> str:
    return statement.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


# Back to 0004: its own bodies of the two functions the triggers call, then the monthly helper goes.
UNINSTALL_PG = [
    _or_replace(daily.INSTALL_PG[1]),  # sale_daily_total_sync()
    _or_replace(daily.INSTALL_PG[2]),  # sale_daily_total_truncate()
    "DROP FUNCTION IF EXISTS sale_monthly_total_add(date, bigint, varchar, bigint, numeric, numeric)",
]
assert "sale_daily_total_sync()" in UNINSTALL_PG[0] and "sale_daily_total_truncate()" in UNINSTALL_PG[1]

# SQLite: the same statements as 0004's, on the monthly table (round(): decimals add up as doubles there).
MONTH_SQLITE = "strftime('%Y-%m-01', {row}.created_at)"

SQLITE_ADD_NEW = f"""
    INSERT INTO {TABLE} (month, seller_id, status, count, grand_total, paid_total)
    VALUES ({MONTH_SQLITE.format(row="NEW")}, NEW.seller_id, NEW.status, 1, NEW.grand_total, NEW.paid_total)
    ON CONFLICT (month, seller_id, status) DO UPDATE
        SET count = count + excluded.count,
            grand_total = round(grand_total + excluded.grand_total, 2),
            paid_total = round(paid_total + excluded.paid_total, 2);"""

SQLITE_TAKE_OLD = f"""
    UPDATE {TABLE}
        SET count = count - 1,
            grand_total = round(grand_total - OLD.grand_total, 2),
            paid_total = round(paid_total - OLD.paid_total, 2)
        WHERE month = {MONTH_SQLITE.format(row="OLD")} AND seller_id = OLD.seller_id AND status = OLD.status;"""

SQLITE_DROP_EMPTY = f"""
    DELETE FROM {TABLE} WHERE month = {MONTH_SQLITE.format(row="OLD")} AND seller_id = OLD.seller_id
        AND status = OLD.status AND count = 0;"""

BACKFILL_SQLITE = f"""
INSERT INTO {TABLE} (month, seller_id, status, count, grand_total, paid_total)
SELECT strftime('%Y-%m-01', created_at), seller_id, status, count(*), round(sum(grand_total), 2),
       round(sum(paid_total), 2)
FROM sales_sale
GROUP BY 1, 2, 3
"""

INSTALL_SQLITE = [
    f"CREATE TRIGGER {SQLITE_TRIGGERS[0]} AFTER INSERT ON sales_sale BEGIN{daily.SQLITE_ADD_NEW}{SQLITE_ADD_NEW}\nEND",
    f"CREATE TRIGGER {SQLITE_TRIGGERS[1]} AFTER DELETE ON sales_sale BEGIN"
    f"{daily.SQLITE_TAKE_OLD}{daily.SQLITE_DROP_EMPTY}{SQLITE_TAKE_OLD}{SQLITE_DROP_EMPTY}\nEND",
    f"CREATE TRIGGER {SQLITE_TRIGGERS[2]} AFTER UPDATE OF {', '.join(TRACKED)} ON sales_sale\n"
    f"WHEN {CHANGED.replace('IS DISTINCT FROM', 'IS NOT')}\n"
    f"BEGIN{daily.SQLITE_TAKE_OLD}{daily.SQLITE_ADD_NEW}{daily.SQLITE_DROP_EMPTY}"
    f"{SQLITE_TAKE_OLD}{SQLITE_ADD_NEW}{SQLITE_DROP_EMPTY}\nEND",
]


def _run(schema_editor, statements) -> None:
    for statement in statements:
        schema_editor.execute(statement, params=None)


def install(apps, schema_editor) -> None:
    """Both levels' triggers and the monthly backfill. On SQLite also what a later migration that rebuilds
    `sales_sale` must run again (the rebuild drops the triggers): it installs both levels, and refills the
    monthly table (not the daily one; re-run 0004's backfill for that)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(
            schema_editor,
            ["LOCK TABLE sales_sale IN SHARE MODE", *INSTALL_PG, f"DELETE FROM {TABLE}", BACKFILL_PG],
        )
    elif vendor == "sqlite":
        _run(schema_editor, [*daily.UNINSTALL_SQLITE, *INSTALL_SQLITE, f"DELETE FROM {TABLE}", BACKFILL_SQLITE])
    else:  # pragma: no cover
        raise RuntimeError(f"{TABLE} has no triggers for {vendor}; the summary would be wrong.")


def uninstall(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, ["LOCK TABLE sales_sale IN SHARE MODE", *UNINSTALL_PG])
    elif vendor == "sqlite":
        _run(schema_editor, [*daily.UNINSTALL_SQLITE, *daily.INSTALL_SQLITE])


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0005_search_trigram"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SaleMonthlyTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("pending", "Pending"),
                            ("confirmed", "Confirmed"),
                            ("in_delivery", "In delivery"),
                            ("completed", "Completed"),
                            ("cancelled", "Cancelled"),
                            ("rejected", "Rejected"),
                            ("refunded", "Refunded"),
                        ],
                        max_length=20,
                    ),
                ),
                ("count", models.BigIntegerField(default=0)),
                ("grand_total", models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=20)),
                ("paid_total", models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=20)),
                (
                    "seller",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["month", "seller", "status"],
                "indexes": [models.Index(fields=["seller", "month"], name="sale_monthly_total_seller_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("month", "seller", "status"), name="sale_monthly_total_key")
                ],
            },
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
