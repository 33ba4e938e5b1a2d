"""Fill a fresh, migrated PostgreSQL database with a benchmark data set, set-based.

    .venv/bin/python bench/generate.py --sales 1000000            # DATABASE_URL from the environment
    .venv/bin/python bench/generate.py --sales 20000 --reset      # empty the tables first

What it makes (defaults): 3 warehouses, 5,000 products with 10,000 variants, a stock
level for every variant in every warehouse, 50,000 customers with a billing and a
shipping address, 20 sellers and one staff user `bench`, and N sales spread over the
last two years (~3 items each, statuses weighted by age, payments, activity events and
the stock ledger). Everything is consistent with what the services would have written:
totals are priced per line and summed, the ledger holds a row for every reservation,
shipment, release and return, and every stock level equals the sum of its ledger rows
(reserved = the units of the pending sales).

Why it is fast: rows are computed by PostgreSQL (INSERT … SELECT over generate_series,
random() seeded once), in chunks so the progress bar moves; the secondary indexes,
unique and foreign-key constraints of the five big tables are dropped for the load and
rebuilt at the end, all inside one transaction (a failed run leaves the database as it
was). The triggers that keep the summary's daily and monthly rollup exact are off for the load
too; the rollup is computed once, set-based, at the end (`--check` compares it with the sales). Then
VACUUM (ANALYZE): statistics, and hint bits set now rather than by the first requests.

The bench driver (bench/run.py) also uses `add_pending_sales` (a pool of pending sales
for the confirm scenario) and `restore` (drop every row added after generation: the
benchmark's own writes, pgbench's, the pool) from here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass

import psycopg
from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository, for `sales`
from sales.rollup_triggers import PG_ROW_TRIGGERS, base_amount_sql  # constants only: no Django needed
from salesproject.money import minor_units  # no Django either

# 2: round-2 columns, payment allocations, fulfilments, rollup per currency; 3: the records columns of round 2
# (product kind, images, metadata, customers' e-mail opt-out, sales' invoice status, items' catalogue snapshots).
GENERATOR_VERSION = 3
WAREHOUSES = 3
PRODUCTS = 5_000
VARIANTS_PER_PRODUCT = 2  # 10,000 variants
CUSTOMERS = 50_000
SELLERS = 20
PRODUCT_GROUPS = 20
BENCH_USER = "bench"
STOCK_BUFFER = 1_000_000  # units available on every level after generation, so creates never run short
SPAN_DAYS = 730
# Every generated sale is in USD at exchange_rate 1, so its base amounts are its amounts when the base currency
# (settings.SALES_BASE_CURRENCY, read by the rollup triggers) is USD, the default.
CURRENCY = "USD"
BASE_CURRENCY = os.environ.get("SALES_BASE_CURRENCY", "USD")
BASE_PLACES = minor_units(BASE_CURRENCY)
RECENT_DAYS = 30
CHUNK = 50_000

# The tables the sales load fills; their secondary indexes and constraints are rebuilt after it.
BULK_TABLES = (
    "sales_sale",
    "sales_saleitem",
    "sales_saleevent",
    "inventory_stockmovement",
    "payments_payment",
    "payments_paymentallocation",
    "sales_fulfillment",
    "sales_fulfillmentline",
    "sales_trackingevent",
)
# Tables the generator leaves empty and the app's writes fill (the event outbox, webhook deliveries, customer
# e-mails, documents, promotions of a sale); in the order `restore` deletes them (referencing rows first).
APP_TABLES = (
    "webhooks_webhookdelivery",
    "events_event",
    "notifications_customeremail",
    "sales_saledocumentline",
    "sales_saledocument",
    "sales_salepromotion",
)
# Tables whose rows the benchmark adds; `restore` deletes rows above the ids recorded after generation.
GROWING_TABLES = (*BULK_TABLES, "salesproject_idempotencykey", "sales_invoice", *APP_TABLES)
# The task queue (django-tasks, uuid ids): the generator adds none, `restore` empties it.
TASK_TABLE = "django_tasks_database_dbtaskresult"


# --- the lifecycle paths a generated sale may have taken -------------------------------------


@dataclass(frozen=True)
class Step:
    transition: str
    source: str
    target: str
    after_hours: float  # after the sale's creation
    move: tuple[str, int, int] | None  # ledger row per item: kind, on_hand sign, reserved sign
    action: str  # as in the ledger reason "sale S-000001: submitted"
    data: tuple[tuple[str, str], ...] = ()


SUBMIT = Step("submit", "draft", "pending", 0, ("reservation", 0, 1), "submitted")
CONFIRM = Step("confirm", "pending", "confirmed", 1, ("shipment", -1, -1), "confirmed")
SHIP = Step("ship", "confirmed", "in_delivery", 24, None, "shipped")
COMPLETE = Step("complete", "in_delivery", "completed", 72, None, "completed")
CANCEL_PENDING = Step("cancel", "pending", "cancelled", 2, ("release", 0, -1), "cancelled", (("reason", "customer"),))
CANCEL_CONFIRMED = Step("cancel", "confirmed", "cancelled", 5, ("return", 1, 0), "cancelled", (("reason", "customer"),))
REJECT = Step("reject", "pending", "rejected", 2, ("release", 0, -1), "rejected")
REFUND = Step("refund", "completed", "refunded", 240, None, "refunded")

PATHS: dict[str, tuple[Step, ...]] = {
    "draft": (),
    "pending": (SUBMIT,),
    "confirmed": (SUBMIT, CONFIRM),
    "in_delivery": (SUBMIT, CONFIRM, SHIP),
    "completed": (SUBMIT, CONFIRM, SHIP, COMPLETE),
    "cancelled_pending": (SUBMIT, CANCEL_PENDING),
    "cancelled_confirmed": (SUBMIT, CONFIRM, CANCEL_CONFIRMED),
    "rejected": (SUBMIT, REJECT),
    "refunded": (SUBMIT, CONFIRM, SHIP, COMPLETE, REFUND),
}
# Probability of each path for sales older than RECENT_DAYS, and for recent ones.
OLD_MIX = {
    "completed": 0.70,
    "refunded": 0.04,
    "cancelled_pending": 0.06,
    "cancelled_confirmed": 0.03,
    "rejected": 0.03,
    "in_delivery": 0.02,
    "confirmed": 0.05,
    "pending": 0.04,
    "draft": 0.03,
}
RECENT_MIX = {
    "pending": 0.25,
    "confirmed": 0.20,
    "in_delivery": 0.15,
    "completed": 0.20,
    "draft": 0.05,
    "cancelled_pending": 0.06,
    "cancelled_confirmed": 0.02,
    "rejected": 0.04,
    "refunded": 0.03,
}
PAID_PATHS = ("confirmed", "in_delivery", "completed")


def _status(path: str) -> str:
    steps = PATHS[path]
    return steps[-1].target if steps else "draft"


def _case(column: str, mapping: dict[str, str], default: str = "NULL") -> str:
    """A CASE over `column` (a path) giving an SQL expression per path."""
    whens = " ".join(f"WHEN '{key}' THEN {value}" for key, value in mapping.items())
    return f"(CASE {column} {whens} ELSE {default} END)"


def _mix_case(random_expr: str, mix: dict[str, float]) -> str:
    total, whens = 0.0, []
    for path, weight in mix.items():
        total += weight
        whens.append(f"WHEN {random_expr} < {total:.6f} THEN '{path}'")
    return f"(CASE {' '.join(whens[:-1])} ELSE '{list(mix)[-1]}' END)"


def _step_time(step_path_column: str, transition_targets: set[str]) -> str:
    """The time the sale reached one of these statuses, or NULL (e.g. confirmed_at)."""
    mapping = {}
    for path, steps in PATHS.items():
        for step in steps:
            if step.target in transition_targets:
                mapping[path] = f"least(p.created_at + interval '{step.after_hours} hours', p.now)"
    return _case(step_path_column, mapping)


def _last_step_time() -> str:
    mapping = {
        path: f"least(p.created_at + interval '{steps[-1].after_hours} hours', p.now)"
        for path, steps in PATHS.items()
        if steps
    }
    return _case("p.path", mapping, "p.created_at")


# --- helpers ---------------------------------------------------------------------------


class SchemaChanged(RuntimeError):
    pass


def required_columns(cur, table: str) -> set[str]:
    """Columns an INSERT must name: NOT NULL, no default, not an identity."""
    cur.execute(
        """SELECT column_name FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name = %s AND is_nullable = 'NO'
             AND column_default IS NULL AND is_identity = 'NO'""",
        (table,),
    )
    return {row[0] for row in cur.fetchall()}


def require_filled(cur, table: str, columns) -> None:
    """Refuse if `table` needs a column that `columns` (what our INSERT names) leaves out."""
    missing = required_columns(cur, table) - set(columns)
    if missing:
        raise SchemaChanged(
            f"{table} has required column(s) {', '.join(sorted(missing))} that bench/generate.py does not fill; "
            "add them to its INSERT."
        )


def insert_select(cur, table: str, columns: dict[str, str], tail: str, params: dict | None = None) -> int:
    """INSERT INTO table (columns) SELECT expressions tail; refuses if the table needs a column we do not fill."""
    require_filled(cur, table, columns)
    names = ", ".join(columns)
    exprs = ",\n       ".join(columns.values())
    cur.execute(f"INSERT INTO {table} ({names})\nSELECT {exprs}\n{tail}", params or {})
    return cur.rowcount


def connect(url: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(url, **kwargs)


def meta_get(cur) -> dict[str, str]:
    cur.execute("SELECT to_regclass('bench_meta') IS NOT NULL")
    if not cur.fetchone()[0]:
        return {}
    cur.execute("SELECT key, value FROM bench_meta")
    return dict(cur.fetchall())


def meta_set(cur, values: dict[str, object]) -> None:
    cur.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text NOT NULL)")
    for key, value in values.items():
        cur.execute(
            "INSERT INTO bench_meta (key, value) VALUES (%s, %s)"
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (key, str(value)),
        )


def reset_sequences(cur, tables) -> None:
    """Move each identity sequence past the explicit ids we inserted."""
    for table in tables:
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce((SELECT max(id) FROM {table}), 0) + 1,"
            " false)"
        )


def _drop_secondary(cur, tables) -> list[str]:
    """Drop secondary indexes, unique and foreign-key constraints; return the SQL that rebuilds them."""
    rebuild = []
    for table in tables:
        cur.execute(
            """SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
               WHERE c.conrelid = %s::regclass AND c.contype IN ('f', 'u') ORDER BY c.contype DESC, c.conname""",
            (table,),
        )
        for name, definition in cur.fetchall():
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cur.execute(
            """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
               WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
            (table,),
        )
        for name, definition in cur.fetchall():
            cur.execute(f"DROP INDEX {name}")
            rebuild.insert(0, definition)  # indexes first: the unique/foreign keys validate faster with them
    return rebuild


# The summary's rollup, daily (sales/migrations/0004_sale_daily_totals) and monthly (0006_sale_monthly_totals):
# row triggers on sales_sale keep both exact. Bulk SQL here switches them off and recomputes the rollup
# set-based instead.
# Key (period, seller, status, currency) and sums, base sums included (sales/migrations/0012_rollup_currency): each
# sale's amount × its exchange_rate rounded to the base currency's minor units, as the triggers compute it.
ROLLUP_TRIGGERS = PG_ROW_TRIGGERS
ROLLUP_COLUMNS = "seller_id, status, currency, count, grand_total, paid_total, grand_total_base, paid_total_base"
_SALE_SUMS = (
    "count(*) AS count, sum(grand_total) AS grand_total, sum(paid_total) AS paid_total, "
    f"sum({base_amount_sql('postgresql', 'grand_total', 'exchange_rate', BASE_PLACES)}) AS grand_total_base, "
    f"sum({base_amount_sql('postgresql', 'paid_total', 'exchange_rate', BASE_PLACES)}) AS paid_total_base"
)
ROLLUP_GROUPS = f"""SELECT (created_at AT TIME ZONE 'UTC')::date AS day, seller_id, status, currency, {_SALE_SUMS}
                   FROM sales_sale {{where}} GROUP BY 1, 2, 3, 4"""
MONTHLY_SALES_GROUPS = f"""SELECT date_trunc('month', created_at AT TIME ZONE 'UTC')::date AS month, seller_id, status,
                                 currency, {_SALE_SUMS}
                          FROM sales_sale GROUP BY 1, 2, 3, 4"""
# The monthly rows from the daily ones just rebuilt: a tenth of the rows to read.
MONTHLY_GROUPS = """SELECT date_trunc('month', day::timestamp)::date AS month, seller_id, status, currency,
                           sum(count) AS count, sum(grand_total) AS grand_total, sum(paid_total) AS paid_total,
                           sum(grand_total_base) AS grand_total_base, sum(paid_total_base) AS paid_total_base
                    FROM sales_saledailytotal {where} GROUP BY 1, 2, 3, 4"""


def has_rollup(cur) -> bool:
    cur.execute("SELECT to_regclass('sales_saledailytotal') IS NOT NULL")
    return cur.fetchone()[0]


def has_monthly_rollup(cur) -> bool:
    cur.execute("SELECT to_regclass('sales_salemonthlytotal') IS NOT NULL")
    return cur.fetchone()[0]


def set_rollup_triggers(cur, *, enabled: bool) -> None:
    """ALTER TABLE … ENABLE/DISABLE the rollup's triggers (transactional; locks out writers until commit)."""
    verb = "ENABLE" if enabled else "DISABLE"
    cur.execute("ALTER TABLE sales_sale " + ", ".join(f"{verb} TRIGGER {name}" for name in ROLLUP_TRIGGERS))


def rebuild_rollup(cur, *, since=None) -> None:
    """Recompute the rollup from the sales: all of it, or the UTC days from the date `since` on (and the
    months from `since`'s month on). The monthly rows are the sums of the daily ones just rebuilt."""
    where, params = ("WHERE created_at >= %s::date::timestamp AT TIME ZONE 'UTC'", (since,)) if since else ("", ())
    cur.execute("DELETE FROM sales_saledailytotal" + (" WHERE day >= %s" if since else ""), params)
    cur.execute(
        f"INSERT INTO sales_saledailytotal (day, {ROLLUP_COLUMNS}) " + ROLLUP_GROUPS.format(where=where),
        params,
    )
    if not has_monthly_rollup(cur):
        return
    month = "date_trunc('month', %s::date::timestamp)::date"
    where = f"WHERE day >= {month}" if since else ""
    cur.execute("DELETE FROM sales_salemonthlytotal" + (f" WHERE month >= {month}" if since else ""), params)
    cur.execute(
        f"INSERT INTO sales_salemonthlytotal (month, {ROLLUP_COLUMNS}) " + MONTHLY_GROUPS.format(where=where),
        params,
    )


@contextlib.contextmanager
def rollup_triggers_off(url: str):
    """The rollup's triggers off (committed) for the block, e.g. around pgbench's raw inserts; on again after.

    Whatever the block adds or deletes meanwhile is not counted: `restore` recomputes the days it touched.
    """
    with connect(url) as conn, conn.cursor() as cur:
        present = has_rollup(cur)
        if present:
            set_rollup_triggers(cur, enabled=False)
    try:
        yield
    finally:
        if present:
            with connect(url) as conn, conn.cursor() as cur:
                set_rollup_triggers(cur, enabled=True)


# --- reference data --------------------------------------------------------------------


def load_reference_data(cur, *, products: int, customers: int) -> None:
    """Users, warehouses, channels, carriers, tax, catalogue and customers (explicit ids from 1)."""
    cur.execute("SELECT now()")
    now = cur.fetchone()[0]
    p = {"now": now}
    stamp = {"created_at": "%(now)s", "updated_at": "%(now)s"}
    insert_select(
        cur,
        "auth_user",
        {
            "id": "g",
            "password": "'!' || md5(random()::text)",
            "last_login": "NULL",
            "is_superuser": "g = 1",
            "username": f"CASE WHEN g = 1 THEN '{BENCH_USER}' ELSE 'seller' || lpad((g - 1)::text, 2, '0') END",
            "first_name": "''",
            "last_name": "''",
            "email": "''",
            "is_staff": "g = 1",
            "is_active": "true",
            "date_joined": "%(now)s",
        },
        f"FROM generate_series(1, {SELLERS + 1}) g",
        p,
    )
    insert_select(
        cur,
        "inventory_warehouse",
        {**stamp, "id": "w.id", "code": "w.code", "name": "w.name", "country": "w.country", "is_default": "w.id = 1"},
        "FROM (VALUES (1, 'main', 'Main warehouse', 'IT'), (2, 'north', 'North hub', 'DE'),"
        " (3, 'south', 'South hub', 'ES')) AS w(id, code, name, country)",
        p,
    )
    insert_select(
        cur,
        "sales_channel",
        {**stamp, "id": "c.id", "code": "c.code", "name": "c.name", "kind": "c.code"},
        "FROM (VALUES (1, 'pos', 'Shop counter'), (2, 'web', 'Web shop'), (3, 'marketplace', 'Marketplace'))"
        " AS c(id, code, name)",
        p,
    )
    insert_select(
        cur,
        "sales_carrier",
        {**stamp, "id": "c.id", "code": "c.code", "name": "c.name", "tracking_url_template": "c.url"},
        "FROM (VALUES (1, 'dhl', 'DHL', 'https://track.example/dhl/{tracking_code}'),"
        " (2, 'ups', 'UPS', 'https://track.example/ups/{tracking_code}')) AS c(id, code, name, url)",
        p,
    )
    insert_select(
        cur,
        "sales_taxrate",
        {**stamp, "id": "1", "code": "'vat5'", "name": "'VAT 5%%'", "rate": "5.00", "kind": "'percent'"},
        "",
        p,
    )
    insert_select(
        cur,
        "inventory_productgroup",
        {**stamp, "id": "g", "code": "'group-' || g", "name": "'Group ' || g"},
        f"FROM generate_series(1, {PRODUCT_GROUPS}) g",
        p,
    )
    insert_select(
        cur,
        "inventory_product",
        {
            **stamp,
            "id": "g",
            "sku": "'P-' || lpad(g::text, 6, '0')",
            "name": "'Product ' || g",
            "unit": "'pcs'",
            "price": "5 + (g * 37 %% 19500) / 100.0",
            "cost_price": "round((5 + (g * 37 %% 19500) / 100.0) * 0.6, 2)",
            "active": "true",
            "product_group_id": f"1 + g %% {PRODUCT_GROUPS}",
            # Model defaults (inventory.Product): a stocked product, no image, no metadata.
            "kind": "'standard'",
            "image_url": "''",
            "metadata": "'{}'::jsonb",
        },
        f"FROM generate_series(1, {products}) g",
        p,
    )
    # Variant ids 1..2P: 2k-1 is product k's default variant (product's price), 2k its "Large" one (+10 %).
    insert_select(
        cur,
        "inventory_variant",
        {
            **stamp,
            "id": "2 * (pr.id - 1) + v.n",
            "sku": "pr.sku || CASE v.n WHEN 1 THEN '-S' ELSE '-L' END",
            "name": "CASE v.n WHEN 1 THEN '' ELSE 'Large' END",
            "attributes": """CASE v.n WHEN 1 THEN '{"size": "S"}' ELSE '{"size": "L"}' END::jsonb""",
            "price": "CASE v.n WHEN 1 THEN NULL ELSE round(pr.price * 1.1, 2) END",
            "cost_price": "CASE v.n WHEN 1 THEN NULL ELSE round(pr.cost_price * 1.1, 2) END",
            "is_default": "v.n = 1",
            "product_id": "pr.id",
            "image_url": "''",
            "metadata": "'{}'::jsonb",
        },
        "FROM inventory_product pr CROSS JOIN (VALUES (1), (2)) AS v(n) ORDER BY 1",
        p,
    )
    first = "(ARRAY['Anna','Luca','Marco','Giulia','Sofia','Paolo','Elena','Davide','Chiara','Ahmed','Fatima','John',"
    first += "'Maria','Chen','Yuki','Olga','Pierre','Hans','Ines','Kofi'])"
    last = "(ARRAY['Rossi','Bianchi','Smith','Müller','Dubois','García','Okafor','Kowalski','Tanaka','Nguyen',"
    last += "'Silva','Jensen','Novak','Ivanova','Haddad','Moreau','Costa','Berg','Ricci','Adeyemi'])"
    insert_select(
        cur,
        "customers_customer",
        {
            **stamp,
            "id": "g",
            "name": f"{first}[1 + g %% 20] || ' ' || {last}[1 + (g / 20) %% 20]",
            "email": f"lower({first}[1 + g %% 20]) || '.' || lower({last}[1 + (g / 20) %% 20]) || g || '@example.com'",
            "phone": "'+39 02 ' || lpad(g::text, 7, '0')",
            "company": "CASE WHEN g %% 7 = 0 THEN 'Company ' || g ELSE '' END",
            "notes": "''",
            "external_ref": "'CRM-' || g",
            "email_opt_out": "false",
            "metadata": "'{}'::jsonb",
        },
        f"FROM generate_series(1, {customers}) g",
        p,
    )
    countries = "(ARRAY['IT','IT','IT','DE','FR','ES','GB','US','NL','NG'])"
    insert_select(
        cur,
        "customers_address",
        {
            "id": "2 * (c.id - 1) + k.n",
            "kind": "CASE k.n WHEN 1 THEN 'billing' ELSE 'shipping' END",
            "is_default": "true",
            "name": "c.name",
            "line1": "'Via Roma ' || c.id",
            "line2": "''",
            "city": "'City ' || (c.id %% 500)",
            "state": "''",
            "postal_code": "lpad((c.id %% 99999)::text, 5, '0')",
            "country": f"{countries}[1 + c.id %% 10]",
            "phone": "c.phone",
            "customer_id": "c.id",
        },
        "FROM customers_customer c CROSS JOIN (VALUES (1), (2)) AS k(n) ORDER BY 1",
    )
    reset_sequences(
        cur,
        (
            "auth_user",
            "inventory_warehouse",
            "sales_channel",
            "sales_carrier",
            "sales_taxrate",
            "inventory_productgroup",
            "inventory_product",
            "inventory_variant",
            "customers_customer",
            "customers_address",
        ),
    )


# --- sales --------------------------------------------------------------------------------


def _session_setup(cur, *, variants: int, customers: int) -> None:
    """Temporary tables shared by the chunks: the plan of a chunk, its lines, the customers' address copies."""
    cur.execute("""
        CREATE TEMP TABLE IF NOT EXISTS bench_plan (
            id bigint PRIMARY KEY, now timestamptz, created_at timestamptz, path text, status text,
            customer_id bigint, warehouse_id bigint, channel_id bigint, seller_id int, tax_id bigint,
            tax_rate numeric(5,2), n_items int, pay text, method text,
            subtotal numeric(14,2), tax_total numeric(14,2), grand_total numeric(14,2), paid numeric(14,2))""")
    cur.execute("""
        CREATE TEMP TABLE IF NOT EXISTS bench_lines (
            sale_id bigint, line int, variant_id bigint, product_id bigint, product_group_id bigint, sku text,
            name text, quantity int, unit_price numeric(14,2), cost_price numeric(14,2), tax_rate numeric(5,2),
            subtotal numeric(14,2), tax numeric(14,2), item_type text, unit text, variant_name text)""")
    # The items just inserted (their ids), for the fulfilment lines.
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS bench_items (id bigint, sale_id bigint, quantity int)")
    cur.execute("SELECT to_regclass('pg_temp.bench_addresses') IS NOT NULL")
    if not cur.fetchone()[0]:
        snapshot = "jsonb_build_object('name', a.name, 'line1', a.line1, 'line2', a.line2, 'city', a.city,"
        snapshot += " 'state', a.state, 'postal_code', a.postal_code, 'country', a.country, 'phone', a.phone)"
        cur.execute(f"""
            CREATE TEMP TABLE bench_addresses AS
            SELECT c.id AS customer_id,
                   (SELECT {snapshot} FROM customers_address a
                    WHERE a.customer_id = c.id AND a.kind = 'billing' AND a.is_default) AS billing,
                   (SELECT {snapshot} FROM customers_address a
                    WHERE a.customer_id = c.id AND a.kind = 'shipping' AND a.is_default) AS shipping,
                   (SELECT a.country FROM customers_address a
                    WHERE a.customer_id = c.id AND a.kind = 'shipping' AND a.is_default) AS country
            FROM customers_customer c""")
        cur.execute("ALTER TABLE bench_addresses ADD PRIMARY KEY (customer_id)")
    steps = []
    for path, path_steps in PATHS.items():
        for order, step in enumerate(path_steps, 1):
            kind, on_hand, reserved = step.move or (None, 0, 0)
            data = {"transition": step.transition, **dict(step.data)}
            steps.append(
                (
                    path,
                    order,
                    step.transition,
                    step.source,
                    step.target,
                    step.after_hours,
                    kind,
                    on_hand,
                    reserved,
                    step.action,
                    json.dumps(data),
                )
            )
    cur.execute("""
        CREATE TEMP TABLE IF NOT EXISTS bench_steps (
            path text, ord int, transition text, source text, target text, after_hours float8, move_kind text,
            on_hand int, reserved int, action text, data jsonb)""")
    cur.execute("TRUNCATE bench_steps")
    cur.executemany("INSERT INTO bench_steps VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", steps)


def _plan_chunk(
    cur, *, first: int, last: int, start, step_seconds: float, variants: int, customers: int, path: str | None
) -> None:
    """Decide every sale of ids first..last: time, lifecycle path, customer, warehouse, lines, payment."""
    cur.execute("TRUNCATE bench_plan, bench_lines, bench_items")
    recent = f"(t.created_at > now() - interval '{RECENT_DAYS} days')"
    chosen = (
        f"'{path}'"
        if path
        else f"(CASE WHEN {recent} THEN {_mix_case('t.r', RECENT_MIX)} ELSE {_mix_case('t.r', OLD_MIX)} END)"
    )
    statuses = _case("s.path", {p: f"'{_status(p)}'" for p in PATHS})
    paid = ", ".join(f"'{p}'" for p in PAID_PATHS)
    cur.execute(
        f"""
        INSERT INTO bench_plan (id, now, created_at, path, status, customer_id, warehouse_id, channel_id, seller_id,
                                tax_id, tax_rate, n_items, pay, method)
        SELECT g.id, now(), t.created_at, s.path, {statuses},
               CASE WHEN random() < 0.9 THEN 1 + floor(random() * {customers})::bigint END,
               CASE WHEN t.w < 0.6 THEN 1 WHEN t.w < 0.8 THEN 2 ELSE 3 END,
               1 + floor(random() * 3)::bigint,
               2 + floor(random() * {SELLERS})::int,
               CASE WHEN t.taxed THEN 1 END, CASE WHEN t.taxed THEN 5.00 ELSE 0 END,
               1 + floor(random() * 5)::int,
               CASE WHEN s.path = 'refunded' THEN 'refunded'
                    WHEN s.path IN ({paid}) THEN CASE WHEN t.r2 < 0.9 THEN 'full' ELSE 'partial' END
                    WHEN s.path = 'pending' THEN CASE WHEN t.r2 < 0.1 THEN 'full' WHEN t.r2 < 0.4 THEN 'partial'
                                                      ELSE 'none' END
                    ELSE 'none' END,
               (ARRAY['cash', 'card', 'card', 'bank_transfer', 'wallet_transfer'])[1 + floor(random() * 5)::int]
        FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g(id)
        CROSS JOIN LATERAL (
            SELECT least(%(start)s::timestamptz + (g.id - 1) * %(step)s * interval '1 second'
                         + random() * interval '10 minutes', now()) AS created_at,
                   random() AS r, random() AS r2, random() AS w, random() < 0.7 AS taxed, g.id AS _keep
        ) t
        CROSS JOIN LATERAL (SELECT {chosen} AS path, t._keep) s
        """,
        {"first": first, "last": last, "start": start, "step": step_seconds},
    )
    cur.execute(
        f"""
        INSERT INTO bench_lines
        SELECT p.id, l.line, v.id, pr.id, pr.product_group_id, v.sku,
               CASE WHEN v.name <> '' AND v.name <> pr.name THEN pr.name || ' (' || v.name || ')' ELSE pr.name END,
               l.quantity, coalesce(v.price, pr.price), coalesce(v.cost_price, pr.cost_price), p.tax_rate,
               round(coalesce(v.price, pr.price) * l.quantity, 2),
               round(round(coalesce(v.price, pr.price) * l.quantity, 2) * p.tax_rate / 100, 2),
               pr.kind, pr.unit, v.name
        FROM bench_plan p
        CROSS JOIN LATERAL (
            SELECT n AS line, 1 + floor(random() * {variants})::bigint AS variant_id,
                   1 + floor(random() * 3)::int AS quantity, p.id AS _keep
            FROM generate_series(1, p.n_items) AS n
        ) l
        JOIN inventory_variant v ON v.id = l.variant_id
        JOIN inventory_product pr ON pr.id = v.product_id
        """
    )
    cur.execute(
        """
        UPDATE bench_plan p SET subtotal = t.subtotal, tax_total = t.tax, grand_total = t.subtotal + t.tax,
               paid = CASE p.pay WHEN 'full' THEN t.subtotal + t.tax
                                 WHEN 'partial' THEN round((t.subtotal + t.tax) / 2, 2) ELSE 0 END
        FROM (SELECT sale_id, sum(subtotal) AS subtotal, sum(tax) AS tax FROM bench_lines GROUP BY sale_id) t
        WHERE t.sale_id = p.id
        """
    )


def _write_chunk(cur) -> None:
    """Insert the planned sales with their items, fulfilments, ledger rows, payments and events."""
    committed = [path for path, steps in PATHS.items() if CONFIRM in steps]
    shipped = [path for path, steps in PATHS.items() if SHIP in steps]
    shipped_in = ", ".join(f"'{path}'" for path in shipped)
    # The tax breakdown pricing gives (sales.pricing._split_tax): one line for the sale's tax, none untaxed.
    tax_lines = (
        "CASE WHEN p.tax_id IS NULL OR p.tax_total = 0 THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object("
        "'code', t.code, 'name', t.name, 'jurisdiction', '', 'rate', to_char(t.rate, 'FM999999990.00'),"
        " 'amount', to_char(p.tax_total, 'FM999999999990.00'))) END"
    )
    reference = "'S-' || CASE WHEN p.id >= 100000 THEN p.id::text ELSE lpad(p.id::text, 6, '0') END"
    insert_select(
        cur,
        "sales_sale",
        {
            "id": "p.id",
            "created_at": "p.created_at",
            "updated_at": _last_step_time(),
            "number": "p.id",
            "reference": reference,
            "external_id": "''",
            "status": "p.status",
            "payment_status": "CASE p.pay WHEN 'full' THEN 'paid' WHEN 'partial' THEN 'partially_paid'"
            " WHEN 'refunded' THEN 'refunded' ELSE 'unpaid' END",
            "fulfillment_status": _case(
                "p.path", {k: "'fulfilled'" for k, s in PATHS.items() if SHIP in s}, "'unfulfilled'"
            ),
            "return_status": "CASE WHEN p.path = 'refunded' THEN 'full' ELSE 'none' END",
            "currency": "'USD'",
            "discount": "0",
            "discount_type": "'fixed'",
            "tax_rate": "p.tax_rate",
            "prices_include_tax": "false",
            "tax_shipping": "false",
            "shipping_cost": "0",
            "subtotal": "p.subtotal",
            "discount_total": "0",
            "shipping_tax": "0",
            "tax_total": "p.tax_total",
            "grand_total": "p.grand_total",
            "paid_total": "p.paid",
            "returned_total": "CASE WHEN p.path = 'refunded' THEN p.grand_total ELSE 0 END",
            "billing_address": "coalesce(a.billing, '{}')",
            "shipping_address": "coalesce(a.shipping, '{}')",
            "shipping_country": "coalesce(a.country, '')",
            "note": "''",
            "staff_note": "''",
            "tags": "'[]'",
            "cancel_reason": _case(
                "p.path", {k: "'customer'" for k in ("cancelled_pending", "cancelled_confirmed")}, "''"
            ),
            "reject_reason": "''",
            "sold_at": "p.created_at",
            "confirmed_at": _step_time("p.path", {"confirmed"}),
            "shipped_at": _step_time("p.path", {"in_delivery"}),
            "completed_at": _step_time("p.path", {"completed"}),
            "cancelled_at": _step_time("p.path", {"cancelled", "rejected"}),
            "refunded_at": _step_time("p.path", {"refunded"}),
            "channel_id": "p.channel_id",
            "customer_id": "p.customer_id",
            "seller_id": "p.seller_id",
            "warehouse_id": "p.warehouse_id",
            "tax_id": "p.tax_id",
            # Round 2 (sales/migrations/0009, 0011): the model defaults, except what a shipped sale implies.
            "cancellation_status": "'none'",
            "clone_reason": "''",
            "delivery_mode": "'dispatch'",
            "delivery_note": "''",
            # As sales/migrations/0010_fulfilments_for_shipped_sales sets it for a sale's one fulfilment.
            "delivery_status": _case(
                "p.path", {"completed": "'delivered'", "in_delivery": "'shipped'", "refunded": "'shipped'"}, "'none'"
            ),
            "locked": "false",
            "locked_reason": "''",
            "discount_code": "''",
            "exchange_rate": "1",
            "promotions_counted": "false",
            "tax_calculation": "'default'",
            "tax_lines": tax_lines,
            # Records (sales/migrations/0014): the model defaults.
            "admin_note": "''",
            "customer_reference": "''",
            "device": "''",
            "invoice_status": "'not_invoiced'",
            "metadata": "'{}'::jsonb",
        },
        "FROM bench_plan p LEFT JOIN bench_addresses a ON a.customer_id = p.customer_id"
        " LEFT JOIN sales_taxrate t ON t.id = p.tax_id ORDER BY p.id",
    )
    stock_warehouse = _case("p.path", {k: "p.warehouse_id" for k in committed})
    cur.execute("SELECT coalesce(max(id), 0) FROM sales_saleitem")
    items_before = cur.fetchone()[0]
    insert_select(
        cur,
        "sales_saleitem",
        {
            "sku": "l.sku",
            "name": "l.name",
            "quantity": "l.quantity",
            # The refund transition takes every unit back (restocked or not): the sale is then worth 0.
            "quantity_returned": "CASE WHEN p.path = 'refunded' THEN l.quantity ELSE 0 END",
            "unit_price": "l.unit_price",
            "cost_price": "l.cost_price",
            "tax_rate": "l.tax_rate",
            "discount": "0",
            "discount_type": "'fixed'",
            "subtotal": "l.subtotal",
            "discount_total": "0",
            "tax_total": "l.tax",
            "net_total": "l.subtotal",
            "total": "l.subtotal + l.tax",
            "tracking_code": "''",
            "tracking_url": "''",
            "carrier_id": "NULL",
            "product_id": "l.product_id",
            "product_group_id": "l.product_group_id",
            "sale_id": "l.sale_id",
            "variant_id": "l.variant_id",
            "warehouse_id": "p.warehouse_id",
            "stock_warehouse_id": stock_warehouse,
            "quantity_cancelled": "0",
            # Every unit of a shipped sale is in its one fulfilment.
            "quantity_fulfilled": f"CASE WHEN p.path IN ({shipped_in}) THEN l.quantity ELSE 0 END",
            "tax_included": "false",
            # The catalogue snapshots sale_create takes (sales/services/_common.py): the product's kind and unit,
            # the variant's name, the variant's or product's image (none here).
            "item_type": "l.item_type",
            "unit": "l.unit",
            "variant_name": "l.variant_name",
            "image_url": "''",
        },
        "FROM bench_lines l JOIN bench_plan p ON p.id = l.sale_id ORDER BY l.sale_id, l.line",
    )
    cur.execute(
        "INSERT INTO bench_items SELECT id, sale_id, quantity FROM sales_saleitem WHERE id > %s", (items_before,)
    )
    _fulfil_shipped(cur, shipped_in)
    at = "least(p.created_at + s.after_hours * interval '1 hour', p.now)"
    insert_select(
        cur,
        "inventory_stockmovement",
        {
            "kind": "s.move_kind",
            "on_hand_change": "s.on_hand * l.quantity",
            "reserved_change": "s.reserved * l.quantity",
            "reason": f"'sale ' || {_reference_of('p.id')} || ': ' || s.action",
            "created_at": at,
            "sale_id": "p.id",
            "sale_seller_id": "p.seller_id",
            "user_id": "p.seller_id",
            "variant_id": "l.variant_id",
            "warehouse_id": "p.warehouse_id",
        },
        "FROM bench_plan p JOIN bench_steps s ON s.path = p.path AND s.move_kind IS NOT NULL "
        "JOIN bench_lines l ON l.sale_id = p.id ORDER BY p.id, s.ord, l.line",
    )
    # Events: created, then one per transition, in time order.
    insert_select(
        cur,
        "sales_saleevent",
        {
            "type": "e.type",
            "from_status": "e.source",
            "to_status": "e.target",
            "data": "e.data",
            "created_at": "e.at",
            "sale_id": "e.sale_id",
            "user_id": "e.user_id",
        },
        f"""FROM (
            SELECT p.id AS sale_id, 0 AS ord, 'created' AS type, '' AS source, '' AS target, p.created_at AS at,
                   jsonb_build_object('status', CASE p.path WHEN 'draft' THEN 'draft' ELSE 'pending' END,
                                      'grand_total', p.grand_total::text) AS data, p.seller_id AS user_id
            FROM bench_plan p
            UNION ALL
            SELECT p.id, s.ord, 'status_changed', s.source, s.target, {at}, s.data, p.seller_id
            FROM bench_plan p JOIN bench_steps s ON s.path = p.path
        ) e ORDER BY e.sale_id, e.ord""",
    )
    # Payments (and the refund of a refunded sale), each with its allocation and its activity event.
    require_filled(cur, "payments_payment", PAYMENT_COLUMNS)
    require_filled(cur, "payments_paymentallocation", ("amount", "payment_id", "sale_id"))
    cur.execute(
        """
        WITH money AS (
            SELECT p.id AS sale_id, CASE p.pay WHEN 'partial' THEN p.paid ELSE p.grand_total END AS amount,
                   'payment' AS kind, least(p.created_at + interval '10 minutes', p.now) AS at, p.method,
                   p.seller_id, 'payment_recorded' AS event
            FROM bench_plan p WHERE p.pay <> 'none' AND p.grand_total > 0
            UNION ALL
            SELECT p.id, p.grand_total, 'refund', least(p.created_at + interval '240 hours', p.now), p.method,
                   p.seller_id, 'refund_recorded'
            FROM bench_plan p WHERE p.pay = 'refunded' AND p.grand_total > 0
            ORDER BY 1, 4
        ), paid AS (
            INSERT INTO payments_payment (amount, currency, method, kind, status, reference, received_at, note,
                                          created_at, metadata, sale_id, user_id)
            SELECT amount, 'USD', method, kind, 'successful', NULL, at, '', at, '{}'::jsonb, sale_id, seller_id
            FROM money
            RETURNING id, sale_id, amount, method, kind, created_at, user_id
        ), allocated AS (
            -- The whole payment (or refund) on its sale: what paid_total is derived from (sale_refresh_payments).
            INSERT INTO payments_paymentallocation (amount, payment_id, sale_id)
            SELECT amount, id, sale_id FROM paid
        )
        INSERT INTO sales_saleevent (type, from_status, to_status, data, created_at, sale_id, user_id)
        SELECT CASE kind WHEN 'refund' THEN 'refund_recorded' ELSE 'payment_recorded' END, '', '',
               jsonb_build_object('payment', id, 'amount', amount::text, 'method', method, 'kind', kind,
                                  'status', 'successful', 'reference', ''),
               created_at, sale_id, user_id
        FROM paid
        """
    )


PAYMENT_COLUMNS = (
    *("amount", "currency", "method", "kind", "status", "reference"),
    *("received_at", "note", "created_at", "metadata"),
)
FULFILLMENT_COLUMNS = (
    "sale_id, sequence, number, status, delivery_mode, carrier_id, tracking_code, tracking_url, expected_at, note,"
    " created_at, delivered_at, user_id"
)
TRACKING_COLUMNS = "fulfillment_id, status, note, location, occurred_at, created_at, user_id"


def _fulfil_shipped(cur, shipped_in: str) -> None:
    """One fulfilment `<reference>-F1` of every unit per shipped sale (in delivery, completed, refunded), its lines
    and tracking (shipped; delivered when completed): the shape of sales/migrations/0010_fulfilments_for_shipped_sales.
    """
    require_filled(cur, "sales_fulfillment", FULFILLMENT_COLUMNS.split(", "))
    require_filled(cur, "sales_fulfillmentline", ("quantity", "fulfillment_id", "item_id"))
    require_filled(cur, "sales_trackingevent", TRACKING_COLUMNS.split(", "))
    shipped_at = f"least(p.created_at + interval '{SHIP.after_hours} hours', p.now)"
    completed_at = f"least(p.created_at + interval '{COMPLETE.after_hours} hours', p.now)"
    cur.execute(
        f"""
        WITH f AS (
            INSERT INTO sales_fulfillment ({FULFILLMENT_COLUMNS})
            SELECT p.id, 1, {_reference_of("p.id")} || '-F1',
                   CASE WHEN p.path = 'completed' THEN 'delivered' ELSE 'shipped' END, 'dispatch', NULL, '', '', NULL,
                   '', {shipped_at}, CASE WHEN p.path = 'completed' THEN {completed_at} END, p.seller_id
            FROM bench_plan p WHERE p.path IN ({shipped_in}) ORDER BY p.id
            RETURNING id, sale_id, status, created_at, delivered_at, user_id
        ), lines AS (
            INSERT INTO sales_fulfillmentline (quantity, fulfillment_id, item_id)
            SELECT i.quantity, f.id, i.id FROM f JOIN bench_items i ON i.sale_id = f.sale_id ORDER BY i.id
        )
        INSERT INTO sales_trackingevent ({TRACKING_COLUMNS})
        SELECT e.* FROM (
            SELECT f.id, 'shipped', '', '', f.created_at, f.created_at, f.user_id FROM f
            UNION ALL
            SELECT f.id, 'delivered', '', '', f.delivered_at, f.delivered_at, f.user_id FROM f
            WHERE f.status = 'delivered'
        ) e ORDER BY 1, 5
        """
    )


def _reference_of(expr: str) -> str:
    return f"('S-' || CASE WHEN {expr} >= 100000 THEN {expr}::text ELSE lpad({expr}::text, 6, '0') END)"


def _open_stock(cur, *, variants: int, start) -> None:
    """One receipt per (variant, warehouse) so that every level ends with STOCK_BUFFER available; the levels."""
    cur.execute(
        "CREATE TEMP TABLE bench_net AS SELECT variant_id, warehouse_id, sum(on_hand_change) AS on_hand,"
        " sum(reserved_change) AS reserved FROM inventory_stockmovement GROUP BY 1, 2"
    )
    receipt_at = "%(start)s::timestamptz - interval '1 day'"
    insert_select(
        cur,
        "inventory_stockmovement",
        {
            "kind": "'receipt'",
            "on_hand_change": f"{STOCK_BUFFER} - coalesce(n.on_hand, 0) + coalesce(n.reserved, 0)",
            "reserved_change": "0",
            "reason": "'opening stock (bench)'",
            "created_at": receipt_at,
            "sale_id": "NULL",
            "sale_seller_id": "NULL",
            "user_id": "1",
            "variant_id": "v.id",
            "warehouse_id": "w.id",
        },
        "FROM inventory_variant v CROSS JOIN inventory_warehouse w "
        "LEFT JOIN bench_net n ON n.variant_id = v.id AND n.warehouse_id = w.id ORDER BY v.id, w.id",
        {"start": start},
    )
    insert_select(
        cur,
        "inventory_stocklevel",
        {
            "on_hand": f"{STOCK_BUFFER} + coalesce(n.reserved, 0)",
            "reserved": "coalesce(n.reserved, 0)",
            "updated_at": "now()",
            "variant_id": "v.id",
            "warehouse_id": "w.id",
        },
        "FROM inventory_variant v CROSS JOIN inventory_warehouse w "
        "LEFT JOIN bench_net n ON n.variant_id = v.id AND n.warehouse_id = w.id ORDER BY v.id, w.id",
    )
    cur.execute("DROP TABLE bench_net")


def _exists(cur, table: str) -> bool:
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
    return cur.fetchone()[0]


def _table_max_ids(cur) -> dict[str, int]:
    result = {}
    for table in GROWING_TABLES:
        if not _exists(cur, table):
            continue
        cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        result[f"max_id.{table}"] = cur.fetchone()[0]
    return result


def generate(
    url: str,
    *,
    sales: int,
    seed: float = 0.42,
    reset: bool = False,
    keep_indexes: bool = False,
    vacuum: bool = True,
    quiet: bool = False,
) -> dict:
    """Fill the database at `url`; return the bench_meta values written."""
    started = time.monotonic()
    variants = PRODUCTS * VARIANTS_PER_PRODUCT
    log = (lambda *a: None) if quiet else (lambda msg: tqdm.write(f"generate: {msg}", file=sys.stderr))
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute("SET work_mem = '64MB'")
        cur.execute("SELECT to_regclass('sales_sale') IS NOT NULL")
        if not cur.fetchone()[0]:
            raise SystemExit("generate: the database is not migrated (run manage.py migrate first)")
        if reset:
            cur.execute("DROP TABLE IF EXISTS bench_meta")
            cur.execute(
                "TRUNCATE sales_sale, sales_saleitem, sales_saleevent, sales_invoice, payments_payment,"
                " payments_paymentallocation, sales_fulfillment, sales_fulfillmentline, sales_trackingevent,"
                " inventory_stockmovement, inventory_stocklevel, inventory_variant, inventory_product,"
                " inventory_productgroup, inventory_warehouse, customers_address, customers_customer, sales_channel,"
                " sales_carrier, sales_taxrate, salesproject_idempotencykey, authtoken_token, auth_user"
                " RESTART IDENTITY CASCADE"
            )
        cur.execute(
            "SELECT EXISTS (SELECT 1 FROM sales_sale) OR EXISTS (SELECT 1 FROM auth_user)"
            " OR EXISTS (SELECT 1 FROM inventory_variant)"
        )
        if cur.fetchone()[0]:
            raise SystemExit("generate: the database already has data; use a fresh database or --reset")
        cur.execute("SELECT setseed(%s)", (seed,))
        log("reference data: users, warehouses, 10,000 variants, 50,000 customers")
        load_reference_data(cur, products=PRODUCTS, customers=CUSTOMERS)
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the deferred checks now: tables with pending ones
        cur.execute("SET CONSTRAINTS ALL DEFERRED")  # cannot be altered below
        rebuild = [] if keep_indexes else _drop_secondary(cur, BULK_TABLES)
        rollup = has_rollup(cur)
        if rollup:  # not a trigger call per sale: the rollup is computed once, set-based, after the load
            set_rollup_triggers(cur, enabled=False)
        _session_setup(cur, variants=variants, customers=CUSTOMERS)
        cur.execute(f"SELECT now() - interval '{SPAN_DAYS} days'")
        start = cur.fetchone()[0]
        step_seconds = SPAN_DAYS * 86400 / max(sales, 1)
        with tqdm(total=sales, unit="sales", unit_scale=True, desc="sales", file=sys.stderr, disable=quiet) as bar:
            for first in range(1, sales + 1, CHUNK):
                last = min(first + CHUNK - 1, sales)
                _plan_chunk(
                    cur,
                    first=first,
                    last=last,
                    start=start,
                    step_seconds=step_seconds,
                    variants=variants,
                    customers=CUSTOMERS,
                    path=None,
                )
                # Same start for every chunk: sale id n was created about n × step after it.
                _write_chunk(cur)
                bar.update(last - first + 1)
        _open_stock(cur, variants=variants, start=start)
        if rebuild:
            for statement in tqdm(rebuild, desc="indexes", unit="idx", file=sys.stderr, disable=quiet):
                cur.execute(statement)
        reset_sequences(cur, (*BULK_TABLES, "inventory_stocklevel"))
        if rollup:
            log("daily and monthly rollup of the summary")
            rebuild_rollup(cur)
            set_rollup_triggers(cur, enabled=True)
        meta = {
            "generator_version": GENERATOR_VERSION,
            "sales": sales,
            "seed": seed,
            "variants": variants,
            "customers": CUSTOMERS,
            "warehouses": WAREHOUSES,
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **_table_max_ids(cur),
        }
        meta_set(cur, meta)
        conn.commit()
    loaded = time.monotonic() - started
    if vacuum:
        log("VACUUM (ANALYZE)")
        with connect(url, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '512MB'")
            conn.execute("VACUUM (ANALYZE)")
    meta["seconds"] = round(time.monotonic() - started, 1)
    with connect(url) as conn, conn.cursor() as cur:
        meta_set(cur, {"seconds": meta["seconds"], "load_seconds": round(loaded, 1)})
    log(f"{sales:,} sales in {meta['seconds']} s (load {loaded:.1f} s)")
    return meta


# --- used by the driver -------------------------------------------------------------------


def add_pending_sales(url: str, *, count: int) -> tuple[int, int]:
    """Add `count` pending sales created now (items reserved, ledger written); return their id range.

    The confirm scenario needs sales to confirm that are not part of the measured data set;
    `restore` removes them again.
    """
    with connect(url) as conn, conn.cursor() as cur:
        meta = meta_get(cur)
        variants = int(meta["variants"])
        _session_setup(cur, variants=variants, customers=int(meta["customers"]))
        cur.execute("SELECT nextval(pg_get_serial_sequence('sales_sale', 'id'))")
        first = cur.fetchone()[0]
        last = first + count - 1
        cur.execute("SELECT now() - interval '1 minute'")
        start = cur.fetchone()[0]
        _plan_chunk(
            cur,
            first=first,
            last=last,
            start=start,
            step_seconds=50.0 / max(count, 1),
            variants=variants,
            customers=int(meta["customers"]),
            path="pending",
        )
        cur.execute("UPDATE bench_plan SET pay = 'none', paid = 0")
        _write_chunk(cur)
        # Reserve on the levels what the ledger rows just written reserve.
        cur.execute(
            """UPDATE inventory_stocklevel sl SET reserved = sl.reserved + m.reserved, updated_at = now()
               FROM (SELECT variant_id, warehouse_id, sum(reserved_change) AS reserved FROM inventory_stockmovement
                     WHERE sale_id BETWEEN %s AND %s GROUP BY 1, 2) m
               WHERE sl.variant_id = m.variant_id AND sl.warehouse_id = m.warehouse_id""",
            (first, last),
        )
        reset_sequences(cur, ("sales_sale",))
        conn.commit()
    return first, last


def restore(url: str) -> dict[str, int]:
    """Delete every row added after generation and take the stock levels back with the ledger rows.

    Returns the number of rows deleted per table. The data set is then as generated.
    """
    deleted = {}
    with connect(url) as conn, conn.cursor() as cur:
        meta = meta_get(cur)
        if not meta:
            raise SystemExit("restore: no bench_meta table: this database was not made by bench/generate.py")
        # A table the generator leaves empty may be newer than the data set's record: nothing of it was generated.
        limits = {table: int(meta.get(f"max_id.{table}", 0)) for table in GROWING_TABLES}
        cur.execute(
            """WITH gone AS (DELETE FROM inventory_stockmovement WHERE id > %s
                             RETURNING variant_id, warehouse_id, on_hand_change, reserved_change),
                    net AS (SELECT variant_id, warehouse_id, sum(on_hand_change) AS on_hand,
                                   sum(reserved_change) AS reserved, count(*) AS n FROM gone GROUP BY 1, 2)
               UPDATE inventory_stocklevel sl SET on_hand = sl.on_hand - net.on_hand,
                      reserved = sl.reserved - net.reserved
               FROM net WHERE sl.variant_id = net.variant_id AND sl.warehouse_id = net.warehouse_id""",
            (limits["inventory_stockmovement"],),
        )
        deleted["inventory_stockmovement.levels"] = cur.rowcount
        present = {table for table in (*APP_TABLES, TASK_TABLE) if _exists(cur, table)}
        for table in APP_TABLES:
            if table in present:
                cur.execute(f"DELETE FROM {table} WHERE id > %s", (limits[table],))
                deleted[table] = cur.rowcount
        if TASK_TABLE in present:
            cur.execute(f"DELETE FROM {TASK_TABLE}")
            deleted[TASK_TABLE] = cur.rowcount
        for table in (
            "salesproject_idempotencykey",
            "payments_paymentallocation",
            "payments_payment",
            "sales_trackingevent",
            "sales_fulfillmentline",
            "sales_fulfillment",
            "sales_saleevent",
            "sales_invoice",
            "sales_saleitem",
        ):
            cur.execute(f"DELETE FROM {table} WHERE id > %s", (limits[table],))
            deleted[table] = cur.rowcount
        # Rows of generated sales are not touched by the benchmark, but a new item or event of an old sale
        # would be caught above; a new sale's rows are all above the limits.
        # The added sales may or may not be in the rollup (pgbench's were inserted with its triggers off):
        # delete them uncounted, then recompute the rollup for the days they were on.
        rollup = has_rollup(cur)
        if rollup:
            set_rollup_triggers(cur, enabled=False)
        cur.execute(
            """WITH gone AS (DELETE FROM sales_sale WHERE id > %s RETURNING created_at)
               SELECT count(*), min((created_at AT TIME ZONE 'UTC')::date) FROM gone""",
            (limits["sales_sale"],),
        )
        deleted["sales_sale"], first_day = cur.fetchone()
        if rollup:
            if first_day is not None:
                rebuild_rollup(cur, since=first_day)
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign-key checks of the DELETE: now,
            set_rollup_triggers(cur, enabled=True)  # as ALTER TABLE refuses a table with pending trigger events
        conn.commit()
    return deleted


def check(url: str) -> list[str]:
    """The invariants the data set promises; returns the problems found (empty when consistent)."""
    problems = []
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            """SELECT count(*) FROM inventory_stocklevel sl
               LEFT JOIN (SELECT variant_id, warehouse_id, sum(on_hand_change) AS on_hand,
                                 sum(reserved_change) AS reserved
                          FROM inventory_stockmovement GROUP BY 1, 2) m
                 ON m.variant_id = sl.variant_id AND m.warehouse_id = sl.warehouse_id
               WHERE sl.on_hand <> coalesce(m.on_hand, 0) OR sl.reserved <> coalesce(m.reserved, 0)"""
        )
        if n := cur.fetchone()[0]:
            problems.append(f"{n} stock levels differ from the sum of their ledger rows")
        cur.execute(
            """SELECT count(*) FROM inventory_stocklevel sl
               LEFT JOIN (SELECT i.variant_id, i.warehouse_id, sum(i.quantity) AS q FROM sales_saleitem i
                          JOIN sales_sale s ON s.id = i.sale_id WHERE s.status = 'pending' GROUP BY 1, 2) p
                 ON p.variant_id = sl.variant_id AND p.warehouse_id = sl.warehouse_id
               WHERE sl.reserved <> coalesce(p.q, 0)"""
        )
        if n := cur.fetchone()[0]:
            problems.append(f"{n} stock levels reserve other than the units of their pending sales")
        cur.execute(
            """SELECT count(*) FROM sales_sale s
               JOIN (SELECT sale_id, sum(subtotal) AS subtotal, sum(tax_total) AS tax FROM sales_saleitem
                     GROUP BY 1) i ON i.sale_id = s.id
               WHERE s.subtotal <> i.subtotal OR s.tax_total <> i.tax
                  OR s.grand_total <> s.subtotal - s.discount_total + s.shipping_cost + s.tax_total"""
        )
        if n := cur.fetchone()[0]:
            problems.append(f"{n} sales whose totals do not match their items")
        # paid_total is derived from the allocations of successful payments and refunds (sale_refresh_payments).
        cur.execute(
            """SELECT count(*) FROM sales_sale s
               LEFT JOIN (SELECT a.sale_id, sum(CASE p.kind WHEN 'refund' THEN -a.amount ELSE a.amount END) AS paid
                          FROM payments_paymentallocation a JOIN payments_payment p ON p.id = a.payment_id
                          WHERE p.status = 'successful' GROUP BY 1) p ON p.sale_id = s.id
               WHERE s.paid_total <> coalesce(p.paid, 0)"""
        )
        if n := cur.fetchone()[0]:
            problems.append(f"{n} sales whose paid_total differs from their payments' allocations")
        cur.execute(
            """SELECT count(*) FROM payments_payment p
               LEFT JOIN (SELECT payment_id, sum(amount) AS amount FROM payments_paymentallocation GROUP BY 1) a
                 ON a.payment_id = p.id
               WHERE p.sale_id IS NOT NULL AND a.amount IS DISTINCT FROM p.amount"""
        )
        if n := cur.fetchone()[0]:
            problems.append(f"{n} payments of a sale not allocated to it in full")
        # Fulfilled units are the units in fulfilments: a shipped sale's every unit, in its one fulfilment.
        cur.execute(
            """SELECT count(*) FROM sales_saleitem i
               LEFT JOIN (SELECT item_id, sum(quantity) AS q FROM sales_fulfillmentline GROUP BY 1) l
                 ON l.item_id = i.id
               WHERE i.quantity_fulfilled <> coalesce(l.q, 0)"""
        )
        if n := cur.fetchone()[0]:
            problems.append(f"{n} sale items whose quantity_fulfilled differs from their fulfilment lines")
        cur.execute(
            """SELECT count(*) FROM sales_sale s
               WHERE (s.fulfillment_status = 'fulfilled') <> EXISTS (SELECT 1 FROM sales_fulfillment f
                                                                     WHERE f.sale_id = s.id)"""
        )
        if n := cur.fetchone()[0]:
            problems.append(f"{n} sales fulfilled without a fulfilment, or with one and not fulfilled")
        cur.execute("SELECT count(*) FROM inventory_stocklevel WHERE on_hand < 0 OR reserved < 0 OR reserved > on_hand")
        if n := cur.fetchone()[0]:
            problems.append(f"{n} stock levels break on_hand >= reserved >= 0")
        # The sales must cover the whole span (a per-chunk clock once packed 1 M sales into 37 days,
        # which made a "30-day window" match most of the table).
        cur.execute(
            """SELECT count(*), extract(epoch FROM max(created_at) - min(created_at)) / 86400,
                      count(DISTINCT date_trunc('month', created_at)) FROM sales_sale"""
        )
        n, days, months = cur.fetchone()
        if n >= 1000 and days < SPAN_DAYS * 0.95:
            problems.append(f"the sales span {days:.0f} days ({months} months), not the {SPAN_DAYS} generated")
        levels = [("daily", "day", "sales_saledailytotal", ROLLUP_GROUPS.format(where=""), has_rollup(cur))]
        # The monthly rows against the sales themselves, not against the daily rows.
        levels.append(("monthly", "month", "sales_salemonthlytotal", MONTHLY_SALES_GROUPS, has_monthly_rollup(cur)))
        for level, period, table, groups, present in levels:
            if not present:
                continue
            cur.execute(
                f"""SELECT count(*) FROM ({groups}) a
                    FULL JOIN {table} r ON r.{period} = a.{period} AND r.seller_id = a.seller_id AND r.status = a.status
                                       AND r.currency = a.currency
                    WHERE r.id IS NULL OR a.count IS NULL OR r.count <> a.count
                       OR r.grand_total <> a.grand_total OR r.paid_total <> a.paid_total
                       OR r.grand_total_base <> a.grand_total_base OR r.paid_total_base <> a.paid_total_base"""
            )
            if n := cur.fetchone()[0]:
                problems.append(
                    f"{n} ({period}, seller, status, currency) rows of the {level} rollup differ from the sales"
                )
        if has_rollup(cur):
            cur.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'sales_sale'::regclass AND tgname = ANY(%s)"
                " AND tgenabled <> 'D'",
                (list(ROLLUP_TRIGGERS),),
            )
            if cur.fetchone()[0] != len(ROLLUP_TRIGGERS):
                problems.append("the daily rollup's triggers on sales_sale are missing or disabled")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=int, default=1_000_000, help="number of sales (default 1,000,000)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="default: $DATABASE_URL")
    parser.add_argument("--seed", type=float, default=0.42, help="setseed() value in [-1, 1] (default 0.42)")
    parser.add_argument("--reset", action="store_true", help="empty the tables first (TRUNCATE … CASCADE)")
    parser.add_argument("--keep-indexes", action="store_true", help="load with every index in place (slower)")
    parser.add_argument("--no-vacuum", action="store_true", help="skip VACUUM (ANALYZE) at the end")
    parser.add_argument("--check", action="store_true", help="only check the invariants of an existing data set")
    args = parser.parse_args(argv)
    if not args.database_url or not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("a PostgreSQL --database-url (or DATABASE_URL) is required")
    if not args.check:
        generate(
            args.database_url,
            sales=args.sales,
            seed=args.seed,
            reset=args.reset,
            keep_indexes=args.keep_indexes,
            vacuum=not args.no_vacuum,
        )
    problems = check(args.database_url)
    for problem in problems:
        print(f"generate: inconsistent: {problem}", file=sys.stderr)
    if not problems:
        print(
            "generate: invariants hold (levels = ledger sums, reserved = pending units, totals = items,"
            " daily and monthly rollup = sales)",
            file=sys.stderr,
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
