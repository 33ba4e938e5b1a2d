"""Records (records.md): line snapshots, sale dates/references/notes/metadata/store/device/invoice status,
stores with memberships, generated invoices and credit notes with their gapless counters.

On SQLite the new columns rebuild `sales_sale`, dropping the summary rollup's triggers: 0012's are installed
again at the end. On PostgreSQL, GIN indexes (jsonb_path_ops) answer `metadata=key:value` and `tag=` with
containment (`@>`) instead of a scan, and a trigram index the search's customer reference.
"""

import importlib

import django.db.models.deletion
import salesproject.models
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


rollup = importlib.import_module("sales.migrations.0012_rollup_currency")

GIN_INDEXES = {
    "sale_metadata_gin": "CREATE INDEX IF NOT EXISTS sale_metadata_gin ON sales_sale USING gin (metadata jsonb_path_ops)",
    "sale_tags_gin": "CREATE INDEX IF NOT EXISTS sale_tags_gin ON sales_sale USING gin (tags jsonb_path_ops)",
    # The search's `customer_reference` part, like the other trigram indexes of 0005 (the column is new and
    # empty, so no CONCURRENTLY build is needed).
    "sale_customer_reference_trgm_idx": (
        "CREATE INDEX IF NOT EXISTS sale_customer_reference_trgm_idx ON sales_sale "
        "USING gin ((UPPER(customer_reference::text)) gin_trgm_ops) WITH (fastupdate = off)"
    ),
}


def reinstall_sqlite_rollup_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        rollup._run(schema_editor, rollup.sqlite_install(rollup.base_places()))


def add_gin_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        rollup._run(schema_editor, list(GIN_INDEXES.values()))


def drop_gin_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        rollup._run(schema_editor, [f"DROP INDEX IF EXISTS {name}" for name in GIN_INDEXES])


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_customer_metadata"),
        ("inventory", "0005_product_kind_images_metadata"),
        ("sales", "0013_item_tax_included_from_sale"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, reinstall_sqlite_rollup_triggers, elidable=False),
        migrations.CreateModel(
            name="StoreMembership",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "role",
                    models.CharField(
                        choices=[("seller", "Seller"), ("manager", "Manager")], default="seller", max_length=10
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["store", "user"],
            },
        ),
        migrations.AddField(
            model_name="sale",
            name="admin_note",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="sale",
            name="customer_reference",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="sale",
            name="device",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="sale",
            name="due_date",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="sale",
            name="invoice_status",
            field=models.CharField(
                choices=[
                    ("not_invoiced", "Not invoiced"),
                    ("partially_invoiced", "Partially invoiced"),
                    ("invoiced", "Invoiced"),
                ],
                default="not_invoiced",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="sale",
            name="metadata",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="sale",
            name="updated_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="saleitem",
            name="image_url",
            field=models.URLField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name="saleitem",
            name="item_type",
            field=models.CharField(default="standard", max_length=10),
        ),
        migrations.AddField(
            model_name="saleitem",
            name="unit",
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddField(
            model_name="saleitem",
            name="variant_name",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name="saleitem",
            name="weight",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="DocumentCounter",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(choices=[("invoice", "Invoice"), ("credit_note", "Credit note")], max_length=20),
                ),
                ("year", models.PositiveIntegerField()),
                ("last", models.PositiveIntegerField(default=0)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("kind", "year"), name="document_counter_key")],
            },
        ),
        migrations.CreateModel(
            name="SaleDocument",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(choices=[("invoice", "Invoice"), ("credit_note", "Credit note")], max_length=20),
                ),
                ("number", models.CharField(max_length=30, unique=True)),
                ("year", models.PositiveIntegerField()),
                ("sequence", models.PositiveIntegerField()),
                ("issued_at", models.DateTimeField()),
                ("currency", models.CharField(max_length=3)),
                ("subtotal", salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15)),
                (
                    "discount_total",
                    salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
                ),
                ("tax_total", salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15)),
                ("tax_lines", models.JSONField(blank=True, default=list)),
                ("total", salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15)),
                ("reason", models.CharField(blank=True, max_length=200)),
                (
                    "credits",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_notes",
                        to="sales.saledocument",
                    ),
                ),
                (
                    "sale",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="documents", to="sales.sale"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="SaleDocumentLine",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sku", models.CharField(max_length=64)),
                ("name", models.CharField(max_length=255)),
                ("quantity", models.PositiveIntegerField()),
                ("unit_price", salesproject.models.MoneyField(decimal_places=3, max_digits=15)),
                ("subtotal", salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15)),
                (
                    "discount_total",
                    salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
                ),
                ("tax_total", salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15)),
                ("total", salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15)),
                (
                    "document",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="lines", to="sales.saledocument"
                    ),
                ),
                (
                    "item",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="document_lines", to="sales.saleitem"
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="Store",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("code", models.SlugField(unique=True)),
                ("name", models.CharField(max_length=200)),
                ("address", models.JSONField(blank=True, default=dict)),
                (
                    "channel",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="stores",
                        to="sales.channel",
                    ),
                ),
                (
                    "warehouse",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="stores", to="inventory.warehouse"
                    ),
                ),
            ],
            options={
                "ordering": ["code"],
            },
        ),
        migrations.AddField(
            model_name="sale",
            name="store",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sales",
                to="sales.store",
            ),
        ),
        migrations.AddIndex(
            model_name="sale",
            index=models.Index(fields=["sold_at", "id"], name="sale_sold_id_idx"),
        ),
        migrations.AddIndex(
            model_name="sale",
            index=models.Index(fields=["seller", "sold_at", "id"], name="sale_seller_sold_id_idx"),
        ),
        migrations.AddIndex(
            model_name="sale",
            index=models.Index(fields=["store", "sold_at", "id"], name="sale_store_sold_id_idx"),
        ),
        migrations.AddField(
            model_name="storemembership",
            name="store",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="memberships", to="sales.store"
            ),
        ),
        migrations.AddField(
            model_name="storemembership",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="store_memberships",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="store",
            name="members",
            field=models.ManyToManyField(
                blank=True, related_name="stores", through="sales.StoreMembership", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddConstraint(
            model_name="saledocument",
            constraint=models.UniqueConstraint(fields=("kind", "year", "sequence"), name="sale_document_number_key"),
        ),
        migrations.AddConstraint(
            model_name="saledocumentline",
            constraint=models.CheckConstraint(
                condition=models.Q(("quantity__gt", 0)), name="sale_document_line_quantity"
            ),
        ),
        migrations.AddIndex(
            model_name="storemembership",
            index=models.Index(fields=["user", "role"], name="store_membership_user_idx"),
        ),
        migrations.AddConstraint(
            model_name="storemembership",
            constraint=models.UniqueConstraint(fields=("store", "user"), name="store_membership_key"),
        ),
        migrations.RunPython(add_gin_indexes, drop_gin_indexes, elidable=False),
        migrations.RunPython(reinstall_sqlite_rollup_triggers, migrations.RunPython.noop, elidable=False),
    ]
