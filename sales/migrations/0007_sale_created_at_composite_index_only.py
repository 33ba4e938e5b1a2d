"""Drop the single-column index on Sale.created_at: (created_at, id) serves the same filters.

With both, PostgreSQL may walk the single-column one for `ORDER BY created_at DESC, id DESC
LIMIT 51` and sort each group of equal created_at by id: a bulk of sales with one timestamp
(a set-based load, the bench's pool of pending sales) made the first list page read every one
of them (~0.6 s at 14,000). Only the index goes: on SQLite an AlterField would rebuild
`sales_sale` and drop the summary rollup's triggers (migration 0004), so the field change is
recorded in the state and the index dropped by name.
"""

from django.db import migrations, models


def _index_name(schema_editor, apps) -> str:
    model = apps.get_model("sales", "Sale")
    return schema_editor._create_index_name(model._meta.db_table, ["created_at"], suffix="")


def drop_index(apps, schema_editor) -> None:
    schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(_index_name(schema_editor, apps))}")


def create_index(apps, schema_editor) -> None:
    name = schema_editor.quote_name(_index_name(schema_editor, apps))
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON sales_sale (created_at)")


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0006_sale_monthly_totals"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="sale",
                    name="created_at",
                    field=models.DateTimeField(auto_now_add=True),
                ),
            ],
            database_operations=[migrations.RunPython(drop_index, create_index, elidable=False)],
        ),
    ]
