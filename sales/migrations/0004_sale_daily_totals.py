"""The daily sales rollup behind GET /sales/summary/: table, triggers that keep it exact, backfill.

`sales_saledailytotal` holds, per UTC day of `created_at`, seller and status, the number of
sales and the sums of their `grand_total` and `paid_total`. Triggers on `sales_sale` keep it
exact whatever writes a sale row (services, `QuerySet.update`, imports, raw SQL):

- PostgreSQL: one plpgsql function behind two constraint triggers, DEFERRABLE INITIALLY
  DEFERRED, so the upserts run at COMMIT and a hot (day, seller, status) row is locked only
  while the transaction commits. An update that moves a sale between keys applies its
  (minus old key, plus new key) pair in key order, so two such updates cannot deadlock on
  the pair. A TRUNCATE of the sales empties the rollup too.
- SQLite: plain AFTER triggers with UPSERT (writers are serialized anyway). Beware: Django
  rebuilds a SQLite table for most later ALTERs of `sales_sale` (new table, copy, drop, rename),
  which drops these triggers; such a migration must run `install` again (importlib), and
  `manage.py recalculate_totals` fails while a trigger is missing.

A row whose count falls to 0 is deleted. Updates that change none of the five columns
queue nothing (UPDATE OF … with WHEN).
"""

from decimal import Decimal

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLE = "sales_saledailytotal"
# Also named by bench/run.py and bench/generate.py (they switch the triggers off around bulk SQL)
# and checked by sales.services.maintenance.audit_sale_daily_totals.
PG_TRIGGERS = ("sale_daily_total_ins_del", "sale_daily_total_upd")
PG_TRUNCATE_TRIGGER = "sale_daily_total_truncate"
SQLITE_TRIGGERS = ("sale_daily_total_ins", "sale_daily_total_del", "sale_daily_total_upd")
TRACKED = ("created_at", "seller_id", "status", "grand_total", "paid_total")
CHANGED = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in TRACKED)

BACKFILL_PG = f"""
INSERT INTO {TABLE} (day, seller_id, status, count, grand_total, paid_total)
SELECT (created_at AT TIME ZONE 'UTC')::date, seller_id, status, count(*), sum(grand_total), sum(paid_total)
FROM sales_sale
GROUP BY 1, 2, 3
"""

INSTALL_PG = [
    f"""
CREATE FUNCTION sale_daily_total_add(
    p_day date, p_seller bigint, p_status varchar, p_count bigint, p_grand numeric, p_paid numeric
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    remaining bigint;
BEGIN
    IF p_count < 0 THEN  -- taking a sale out: its row exists (if it does not, the audit reports it)
        UPDATE {TABLE}
            SET count = count + p_count, grand_total = grand_total + p_grand, paid_total = paid_total + p_paid
            WHERE day = p_day AND seller_id = p_seller AND status = p_status
            RETURNING count INTO remaining;
    ELSE
        INSERT INTO {TABLE} AS t (day, seller_id, status, count, grand_total, paid_total)
        VALUES (p_day, p_seller, p_status, p_count, p_grand, p_paid)
        ON CONFLICT (day, seller_id, status) DO UPDATE
            SET count = t.count + EXCLUDED.count,
                grand_total = t.grand_total + EXCLUDED.grand_total,
                paid_total = t.paid_total + EXCLUDED.paid_total
        RETURNING t.count INTO remaining;
    END IF;
    IF remaining = 0 THEN
        DELETE FROM {TABLE} WHERE day = p_day AND seller_id = p_seller AND status = p_status;
    END IF;
END
$$
""",
    """
CREATE FUNCTION sale_daily_total_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_day date;
    new_day date;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM sale_daily_total_add(
            (NEW.created_at AT TIME ZONE 'UTC')::date, NEW.seller_id, NEW.status, 1, NEW.grand_total, NEW.paid_total);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM sale_daily_total_add(
            (OLD.created_at AT TIME ZONE 'UTC')::date, OLD.seller_id, OLD.status, -1,
            -OLD.grand_total, -OLD.paid_total);
    ELSE
        old_day := (OLD.created_at AT TIME ZONE 'UTC')::date;
        new_day := (NEW.created_at AT TIME ZONE 'UTC')::date;
        IF (old_day, OLD.seller_id, OLD.status) = (new_day, NEW.seller_id, NEW.status) THEN
            IF OLD.grand_total IS DISTINCT FROM NEW.grand_total OR OLD.paid_total IS DISTINCT FROM NEW.paid_total THEN
                PERFORM sale_daily_total_add(new_day, NEW.seller_id, NEW.status, 0,
                    NEW.grand_total - OLD.grand_total, NEW.paid_total - OLD.paid_total);
            END IF;
        -- Both keys in one fixed order, so two transactions moving sales between the same keys cannot deadlock.
        ELSIF (old_day, OLD.seller_id, OLD.status) < (new_day, NEW.seller_id, NEW.status) THEN
            PERFORM sale_daily_total_add(old_day, OLD.seller_id, OLD.status, -1, -OLD.grand_total, -OLD.paid_total);
            PERFORM sale_daily_total_add(new_day, NEW.seller_id, NEW.status, 1, NEW.grand_total, NEW.paid_total);
        ELSE
            PERFORM sale_daily_total_add(new_day, NEW.seller_id, NEW.status, 1, NEW.grand_total, NEW.paid_total);
            PERFORM sale_daily_total_add(old_day, OLD.seller_id, OLD.status, -1, -OLD.grand_total, -OLD.paid_total);
        END IF;
    END IF;
    RETURN NULL;
END
$$
""",
    f"""
CREATE FUNCTION sale_daily_total_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {TABLE};
    RETURN NULL;
END
$$
""",
    f"""
CREATE CONSTRAINT TRIGGER {PG_TRIGGERS[0]} AFTER INSERT OR DELETE ON sales_sale
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sale_daily_total_sync()
""",
    f"""
CREATE CONSTRAINT TRIGGER {PG_TRIGGERS[1]} AFTER UPDATE OF {", ".join(TRACKED)} ON sales_sale
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({CHANGED}) EXECUTE FUNCTION sale_daily_total_sync()
""",
    f"""
CREATE TRIGGER {PG_TRUNCATE_TRIGGER} AFTER TRUNCATE ON sales_sale
FOR EACH STATEMENT EXECUTE FUNCTION sale_daily_total_truncate()
""",
]

UNINSTALL_PG = [
    f"DROP TRIGGER IF EXISTS {PG_TRUNCATE_TRIGGER} ON sales_sale",
    *(f"DROP TRIGGER IF EXISTS {name} ON sales_sale" for name in PG_TRIGGERS),
    "DROP FUNCTION IF EXISTS sale_daily_total_truncate()",
    "DROP FUNCTION IF EXISTS sale_daily_total_sync()",
    "DROP FUNCTION IF EXISTS sale_daily_total_add(date, bigint, varchar, bigint, numeric, numeric)",
]


# round(): SQLite adds decimals up as doubles; rounding each sum keeps the stored figure the exact cents.
SQLITE_ADD_NEW = f"""
    INSERT INTO {TABLE} (day, seller_id, status, count, grand_total, paid_total)
    VALUES (date(NEW.created_at), NEW.seller_id, NEW.status, 1, NEW.grand_total, NEW.paid_total)
    ON CONFLICT (day, seller_id, status) DO UPDATE
        SET count = count + excluded.count,
            grand_total = round(grand_total + excluded.grand_total, 2),
            paid_total = round(paid_total + excluded.paid_total, 2);"""

# Taking a sale out only updates an existing row (a DELETE FROM of both tables, in either order, as
# Django's test flush does, leaves nothing behind), and drops the row once it counts no sale.
SQLITE_TAKE_OLD = f"""
    UPDATE {TABLE}
        SET count = count - 1,
            grand_total = round(grand_total - OLD.grand_total, 2),
            paid_total = round(paid_total - OLD.paid_total, 2)
        WHERE day = date(OLD.created_at) AND seller_id = OLD.seller_id AND status = OLD.status;"""

SQLITE_DROP_EMPTY = f"""
    DELETE FROM {TABLE} WHERE day = date(OLD.created_at) AND seller_id = OLD.seller_id AND status = OLD.status
        AND count = 0;"""

BACKFILL_SQLITE = f"""
INSERT INTO {TABLE} (day, seller_id, status, count, grand_total, paid_total)
SELECT date(created_at), seller_id, status, count(*), round(sum(grand_total), 2), round(sum(paid_total), 2)
FROM sales_sale
GROUP BY 1, 2, 3
"""

INSTALL_SQLITE = [
    f"CREATE TRIGGER {SQLITE_TRIGGERS[0]} AFTER INSERT ON sales_sale BEGIN{SQLITE_ADD_NEW}\nEND",
    f"CREATE TRIGGER {SQLITE_TRIGGERS[1]} AFTER DELETE ON sales_sale BEGIN{SQLITE_TAKE_OLD}{SQLITE_DROP_EMPTY}\nEND",
    f"CREATE TRIGGER {SQLITE_TRIGGERS[2]} AFTER UPDATE OF {', '.join(TRACKED)} ON sales_sale\n"
    f"WHEN {CHANGED.replace('IS DISTINCT FROM', 'IS NOT')}\n"
    f"BEGIN{SQLITE_TAKE_OLD}{SQLITE_ADD_NEW}{SQLITE_DROP_EMPTY}\nEND",
]

UNINSTALL_SQLITE = [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS]


def _run(schema_editor, statements) -> None:
    for statement in statements:
        schema_editor.execute(statement, params=None)


def install(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # The triggers first, then the backfill, in this migration's transaction: CREATE TRIGGER
        # locks out concurrent writes to the sales until it commits, so no sale is missed or counted twice.
        _run(schema_editor, [*INSTALL_PG, f"DELETE FROM {TABLE}", BACKFILL_PG])
    elif vendor == "sqlite":
        _run(schema_editor, [*INSTALL_SQLITE, f"DELETE FROM {TABLE}", BACKFILL_SQLITE])
    else:  # pragma: no cover
        raise RuntimeError(f"sales_saledailytotal has no triggers for {vendor}; the summary would be wrong.")


def uninstall(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, UNINSTALL_PG)
    elif vendor == "sqlite":
        _run(schema_editor, UNINSTALL_SQLITE)


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0003_sale_list_and_summary_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SaleDailyTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
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
                "ordering": ["day", "seller", "status"],
                "indexes": [models.Index(fields=["seller", "day"], name="sale_daily_total_seller_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("day", "seller", "status"), name="sale_daily_total_key")
                ],
            },
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
