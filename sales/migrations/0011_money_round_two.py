"""Money round 2 (money.md): three-decimal money columns, taxes with kinds and components, exchange rates,
price lists, promotions, per-line taxes, custom tax and the tax breakdown on sales.

On SQLite the new columns rebuild `sales_sale`, dropping the summary rollup's triggers: installed again at the end.
"""

import importlib

import django.db.models.deletion
import salesproject.models
from decimal import Decimal
from django.db import migrations, models


reinstall_sqlite_rollup_triggers = importlib.import_module(
    "sales.migrations.0008_sale_returned_total_money_history"
).reinstall_sqlite_rollup_triggers
daily = importlib.import_module("sales.migrations.0004_sale_daily_totals")
# PostgreSQL refuses to change the type of a column an `UPDATE OF … WHEN (…)` trigger names: the rollup's
# update trigger is dropped around the money columns' change and created again, as it was, after it.
PG_UPDATE_TRIGGER = daily.PG_TRIGGERS[1]
PG_UPDATE_TRIGGER_SQL = next(statement for statement in daily.INSTALL_PG if "AFTER UPDATE OF" in statement)


def drop_pg_update_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {PG_UPDATE_TRIGGER} ON sales_sale")


def create_pg_update_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_UPDATE_TRIGGER_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0004_stockmovement_sale_seller"),
        ("sales", "0010_fulfilments_for_shipped_sales"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, reinstall_sqlite_rollup_triggers, elidable=False),
        migrations.RunPython(drop_pg_update_trigger, create_pg_update_trigger, elidable=False),
        migrations.CreateModel(
            name="ExchangeRate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("currency", models.CharField(max_length=3)),
                ("rate", models.DecimalField(decimal_places=8, max_digits=18)),
                ("valid_from", models.DateTimeField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["currency", "-valid_from"],
            },
        ),
        migrations.CreateModel(
            name="PriceList",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("code", models.SlugField(unique=True)),
                ("name", models.CharField(max_length=200)),
                ("currency", models.CharField(max_length=3)),
                ("valid_from", models.DateTimeField(blank=True, null=True)),
                ("valid_to", models.DateTimeField(blank=True, null=True)),
                ("active", models.BooleanField(default=True)),
            ],
            options={
                "ordering": ["code"],
            },
        ),
        migrations.CreateModel(
            name="PriceListEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("price", salesproject.models.MoneyField(decimal_places=3, max_digits=15)),
                ("min_quantity", models.PositiveIntegerField(default=1)),
            ],
            options={
                "ordering": ["price_list", "variant", "min_quantity"],
            },
        ),
        migrations.CreateModel(
            name="Promotion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("name", models.CharField(max_length=200)),
                ("code", models.CharField(blank=True, max_length=50, null=True, unique=True)),
                ("automatic", models.BooleanField(default=False)),
                (
                    "kind",
                    models.CharField(
                        choices=[("percent", "Percent"), ("fixed", "Fixed amount")], default="percent", max_length=10
                    ),
                ),
                ("value", salesproject.models.MoneyField(decimal_places=3, max_digits=15)),
                (
                    "applies_to",
                    models.CharField(
                        choices=[
                            ("order", "The whole order"),
                            ("products", "Some products"),
                            ("product_groups", "Some product groups"),
                        ],
                        default="order",
                        max_length=20,
                    ),
                ),
                (
                    "min_subtotal",
                    salesproject.models.MoneyField(blank=True, decimal_places=3, max_digits=15, null=True),
                ),
                ("currency", models.CharField(blank=True, max_length=3)),
                ("starts_at", models.DateTimeField(blank=True, null=True)),
                ("ends_at", models.DateTimeField(blank=True, null=True)),
                ("usage_limit", models.PositiveIntegerField(blank=True, null=True)),
                ("usage_count", models.PositiveIntegerField(default=0)),
                ("active", models.BooleanField(default=True)),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="SalePromotion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scope", models.CharField(max_length=10)),
                ("amount", salesproject.models.MoneyField(decimal_places=3, max_digits=15)),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="TaxComponent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200)),
                (
                    "jurisdiction",
                    models.CharField(
                        choices=[
                            ("state", "State"),
                            ("county", "County"),
                            ("city", "City"),
                            ("district", "District"),
                            ("other", "Other"),
                        ],
                        default="other",
                        max_length=10,
                    ),
                ),
                ("location", models.CharField(blank=True, max_length=200)),
                ("rate", models.DecimalField(decimal_places=2, max_digits=12)),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.RemoveConstraint(
            model_name="taxrate",
            name="tax_rate_percent_range",
        ),
        migrations.AddField(
            model_name="sale",
            name="discount_code",
            field=models.CharField(blank=True, max_length=50),
        ),
        migrations.AddField(
            model_name="sale",
            name="exchange_rate",
            field=models.DecimalField(decimal_places=8, default=Decimal("1"), max_digits=18),
        ),
        migrations.AddField(
            model_name="sale",
            name="promotions_counted",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="sale",
            name="tax_amount",
            field=salesproject.models.MoneyField(blank=True, decimal_places=3, max_digits=15, null=True),
        ),
        migrations.AddField(
            model_name="sale",
            name="tax_calculation",
            field=models.CharField(
                choices=[("default", "Computed from the rates"), ("custom", "Given amount (tax_amount)")],
                default="default",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="sale",
            name="tax_lines",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="saleitem",
            name="tax",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sale_items",
                to="sales.taxrate",
            ),
        ),
        migrations.AddField(
            model_name="saleitem",
            name="tax_included",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="taxrate",
            name="kind",
            field=models.CharField(
                choices=[("percent", "Percent of the price"), ("fixed", "Fixed amount per unit")],
                default="percent",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="sale",
            name="discount",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="sale",
            name="discount_total",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="sale",
            name="grand_total",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="sale",
            name="paid_total",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="sale",
            name="returned_total",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="sale",
            name="shipping_cost",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="sale",
            name="shipping_tax",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="sale",
            name="subtotal",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="sale",
            name="tax_rate",
            field=models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=12),
        ),
        migrations.AlterField(
            model_name="sale",
            name="tax_total",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="saleitem",
            name="cost_price",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="saleitem",
            name="discount",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="saleitem",
            name="discount_total",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="saleitem",
            name="net_total",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="saleitem",
            name="subtotal",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="saleitem",
            name="tax_rate",
            field=models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=12),
        ),
        migrations.AlterField(
            model_name="saleitem",
            name="tax_total",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="saleitem",
            name="total",
            field=salesproject.models.MoneyField(decimal_places=3, default=Decimal("0.00"), max_digits=15),
        ),
        migrations.AlterField(
            model_name="saleitem",
            name="unit_price",
            field=salesproject.models.MoneyField(decimal_places=3, max_digits=15),
        ),
        migrations.AlterField(
            model_name="taxrate",
            name="rate",
            field=models.DecimalField(
                decimal_places=2, help_text="Percent (e.g. 5.00), or for a fixed tax an amount per unit", max_digits=12
            ),
        ),
        migrations.AddConstraint(
            model_name="taxrate",
            constraint=models.CheckConstraint(
                condition=models.Q(("rate__gte", 0), models.Q(("kind", "fixed"), ("rate__lte", 100), _connector="OR")),
                name="tax_rate_percent_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="exchangerate",
            constraint=models.UniqueConstraint(
                fields=("currency", "valid_from"), name="exchange_rate_currency_from_key"
            ),
        ),
        migrations.AddConstraint(
            model_name="exchangerate",
            constraint=models.CheckConstraint(condition=models.Q(("rate__gt", 0)), name="exchange_rate_positive"),
        ),
        migrations.AddField(
            model_name="pricelist",
            name="channel",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="price_lists",
                to="sales.channel",
            ),
        ),
        migrations.AddField(
            model_name="sale",
            name="price_list",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sales",
                to="sales.pricelist",
            ),
        ),
        migrations.AddField(
            model_name="pricelistentry",
            name="price_list",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="prices", to="sales.pricelist"
            ),
        ),
        migrations.AddField(
            model_name="pricelistentry",
            name="variant",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="price_list_entries", to="inventory.variant"
            ),
        ),
        migrations.AddField(
            model_name="promotion",
            name="product_groups",
            field=models.ManyToManyField(blank=True, related_name="promotions", to="inventory.productgroup"),
        ),
        migrations.AddField(
            model_name="promotion",
            name="products",
            field=models.ManyToManyField(blank=True, related_name="promotions", to="inventory.product"),
        ),
        migrations.AddField(
            model_name="salepromotion",
            name="promotion",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="applications", to="sales.promotion"
            ),
        ),
        migrations.AddField(
            model_name="salepromotion",
            name="sale",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="applied_promotions", to="sales.sale"
            ),
        ),
        migrations.AddField(
            model_name="taxcomponent",
            name="tax",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="components", to="sales.taxrate"
            ),
        ),
        migrations.AddConstraint(
            model_name="pricelistentry",
            constraint=models.UniqueConstraint(
                fields=("price_list", "variant", "min_quantity"), name="price_list_entry_tier_key"
            ),
        ),
        migrations.AddConstraint(
            model_name="pricelistentry",
            constraint=models.CheckConstraint(
                condition=models.Q(("price__gte", 0)), name="price_list_entry_price_non_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="pricelistentry",
            constraint=models.CheckConstraint(
                condition=models.Q(("min_quantity__gte", 1)), name="price_list_entry_min_quantity_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="promotion",
            constraint=models.CheckConstraint(
                condition=models.Q(("value__gte", 0)), name="promotion_value_non_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="promotion",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("usage_limit__isnull", True), ("usage_count__lte", models.F("usage_limit")), _connector="OR"
                ),
                name="promotion_usage_within_limit",
            ),
        ),
        migrations.AddConstraint(
            model_name="taxcomponent",
            constraint=models.CheckConstraint(
                condition=models.Q(("rate__gte", 0)), name="tax_component_rate_non_negative"
            ),
        ),
        migrations.RunPython(create_pg_update_trigger, drop_pg_update_trigger, elidable=False),
        migrations.RunPython(reinstall_sqlite_rollup_triggers, migrations.RunPython.noop, elidable=False),
    ]
