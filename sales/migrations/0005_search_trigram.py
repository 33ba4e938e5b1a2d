"""Trigram indexes behind `GET /sales/?search=`: PostgreSQL only (a no-op on SQLite).

The search is a case-insensitive substring match (`icontains`), which Django writes on
PostgreSQL as `UPPER(column::text) LIKE UPPER('%term%')`. A B-tree cannot answer a
leading `%`; a GIN index of pg_trgm trigrams on exactly that expression can, for any term
of three characters or more. `sales.filters.SaleFilter.filter_search` asks for the sale ids
as a UNION of one indexed set per table, so each of these indexes is used on its own.

The indexes are built with `CREATE INDEX CONCURRENTLY` (so this migration is not atomic):
a plain `CREATE INDEX` holds a SHARE lock that blocks every INSERT and UPDATE of the table
while it builds, and building a trigram index on the sale lines of a large shop takes
minutes — minutes in which no sale could be created. CONCURRENTLY lets writes go on, at the
cost of a slower build; if one is interrupted it leaves an INVALID index behind, which the
next run drops and builds again. They are not in the models' Meta (SQLite cannot build
them), so `makemigrations` never sees them.

`fastupdate = off`: by default GIN queues new entries in a pending list that every search
must read in full until VACUUM merges it; a few thousand new sales made a search by e-mail at
1 M sales three times slower (43 ms instead of 5–10 ms of PostgreSQL per query, measured). Off,
each insert updates the index itself: a little more work per created sale, steady searches.
"""

from django.db import DatabaseError, migrations

# (index, table, column). The expression is the one Django's `icontains` produces.
INDEXES = (
    ("customer_email_trgm_idx", "customers_customer", "email"),
    ("customer_name_trgm_idx", "customers_customer", "name"),
    ("sale_reference_trgm_idx", "sales_sale", "reference"),
    ("saleitem_sku_trgm_idx", "sales_saleitem", "sku"),
    ("saleitem_name_trgm_idx", "sales_saleitem", "name"),
)


def _postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def _create_extension(cursor, database: str) -> None:
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    if cursor.fetchone():
        return
    try:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        raise RuntimeError(
            f"sales.0005_search_trigram needs the PostgreSQL extension pg_trgm, and this database user could "
            f"not create it ({exc}). Ask a superuser to run `CREATE EXTENSION pg_trgm;` in database "
            f"{database!r} (on Debian it ships with the postgresql server package), then migrate again."
        ) from exc


def create_indexes(apps, schema_editor) -> None:
    if not _postgresql(schema_editor):
        return
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        _create_extension(cursor, connection.settings_dict["NAME"])
        for name, table, column in INDEXES:
            # A CONCURRENTLY build that was interrupted leaves an invalid index, which IF NOT EXISTS would keep.
            cursor.execute(
                "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = %s AND NOT i.indisvalid",
                [name],
            )
            if cursor.fetchone():
                cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
            cursor.execute(
                f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "{table}" '
                f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops) WITH (fastupdate = off)'
            )


def drop_indexes(apps, schema_editor) -> None:
    # The extension stays: dropping it would break anything else that came to rely on it.
    if not _postgresql(schema_editor):
        return
    with schema_editor.connection.cursor() as cursor:
        for name, _table, _column in reversed(INDEXES):
            cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("customers", "0001_initial"),
        ("sales", "0004_sale_daily_totals"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
