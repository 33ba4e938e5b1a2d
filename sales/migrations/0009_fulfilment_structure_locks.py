"""Fulfilments with their lines and tracking; delivery and payment modes; partial cancels, splits,
clones and locks on the sale (fulfilment.md).

On SQLite the new columns and constraints rebuild `sales_sale`, which drops the summary rollup's
triggers: they are installed again at the end, as in 0008.
"""

import importlib

import django.db.models.deletion
import django.db.models.expressions
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


reinstall_sqlite_rollup_triggers = importlib.import_module(
    "sales.migrations.0008_sale_returned_total_money_history"
).reinstall_sqlite_rollup_triggers


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0004_stockmovement_sale_seller"),
        ("sales", "0008_sale_returned_total_money_history"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Going back, the rebuilds below run after this (they run in reverse): the triggers come back last.
        migrations.RunPython(migrations.RunPython.noop, reinstall_sqlite_rollup_triggers, elidable=False),
        migrations.CreateModel(
            name="Fulfillment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sequence", models.PositiveIntegerField()),
                ("number", models.CharField(max_length=120, unique=True)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("ready_for_pickup", "Ready for pick-up"),
                            ("shipped", "Shipped"),
                            ("in_transit", "In transit"),
                            ("out_for_delivery", "Out for delivery"),
                            ("delivered", "Delivered"),
                            ("picked_up", "Picked up"),
                            ("failed", "Delivery failed"),
                            ("returned", "Returned to sender"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "delivery_mode",
                    models.CharField(
                        choices=[("dispatch", "Dispatch"), ("pickup", "Pick-up")], default="dispatch", max_length=10
                    ),
                ),
                ("tracking_code", models.CharField(blank=True, max_length=100)),
                ("tracking_url", models.CharField(blank=True, max_length=500)),
                ("expected_at", models.DateTimeField(blank=True, null=True)),
                ("note", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("delivered_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="FulfillmentLine",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("quantity", models.PositiveIntegerField()),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="TrackingEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("ready_for_pickup", "Ready for pick-up"),
                            ("shipped", "Shipped"),
                            ("in_transit", "In transit"),
                            ("out_for_delivery", "Out for delivery"),
                            ("delivered", "Delivered"),
                            ("picked_up", "Picked up"),
                            ("failed", "Delivery failed"),
                            ("returned", "Returned to sender"),
                        ],
                        max_length=20,
                    ),
                ),
                ("note", models.TextField(blank=True)),
                ("location", models.CharField(blank=True, max_length=255)),
                ("occurred_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.AddField(
            model_name="sale",
            name="cancellation_status",
            field=models.CharField(
                choices=[("none", "None"), ("partial", "Partial"), ("full", "Full")], default="none", max_length=10
            ),
        ),
        migrations.AddField(
            model_name="sale",
            name="clone_reason",
            field=models.CharField(
                blank=True, choices=[("exchange", "Exchange"), ("new_sale", "New sale")], max_length=10
            ),
        ),
        migrations.AddField(
            model_name="sale",
            name="cloned_from",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="clones",
                to="sales.sale",
            ),
        ),
        migrations.AddField(
            model_name="sale",
            name="delivery_mode",
            field=models.CharField(
                choices=[("dispatch", "Dispatch"), ("pickup", "Pick-up")], default="dispatch", max_length=10
            ),
        ),
        migrations.AddField(
            model_name="sale",
            name="delivery_note",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="sale",
            name="delivery_status",
            field=models.CharField(
                choices=[
                    ("none", "Not sent"),
                    ("ready_for_pickup", "Ready for pick-up"),
                    ("shipped", "Shipped"),
                    ("in_transit", "In transit"),
                    ("out_for_delivery", "Out for delivery"),
                    ("delivered", "Delivered"),
                    ("picked_up", "Picked up"),
                    ("failed", "Delivery failed"),
                ],
                default="none",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="sale",
            name="locked",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="sale",
            name="locked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="sale",
            name="locked_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="sale",
            name="locked_reason",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name="sale",
            name="parent",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="children",
                to="sales.sale",
            ),
        ),
        migrations.AddField(
            model_name="sale",
            name="payment_mode",
            field=models.CharField(
                blank=True,
                choices=[("prepaid", "Prepaid"), ("on_delivery", "On delivery"), ("in_store", "In store")],
                max_length=20,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="saleitem",
            name="quantity_cancelled",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="saleitem",
            name="quantity_fulfilled",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="saleevent",
            name="type",
            field=models.CharField(
                choices=[
                    ("created", "Created"),
                    ("edited", "Edited"),
                    ("status_changed", "Status changed"),
                    ("item_updated", "Item updated"),
                    ("payment_recorded", "Payment recorded"),
                    ("payment_assigned", "Payment assigned"),
                    ("refund_recorded", "Refund recorded"),
                    ("returned", "Items returned"),
                    ("invoice_attached", "Invoice attached"),
                    ("note_changed", "Note changed"),
                    ("fulfillment_created", "Fulfilment created"),
                    ("tracking_updated", "Tracking updated"),
                    ("items_cancelled", "Items cancelled"),
                    ("split", "Split"),
                    ("cloned", "Cloned"),
                    ("locked", "Locked"),
                    ("unlocked", "Unlocked"),
                ],
                max_length=30,
            ),
        ),
        migrations.AddConstraint(
            model_name="saleitem",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "quantity_cancelled__lte",
                        django.db.models.expressions.CombinedExpression(
                            models.F("quantity"), "-", models.F("quantity_returned")
                        ),
                    )
                ),
                name="sale_item_cancelled_within_quantity",
            ),
        ),
        migrations.AddConstraint(
            model_name="saleitem",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "quantity_fulfilled__lte",
                        django.db.models.expressions.CombinedExpression(
                            models.F("quantity"), "-", models.F("quantity_cancelled")
                        ),
                    )
                ),
                name="sale_item_fulfilled_within_quantity",
            ),
        ),
        migrations.AddField(
            model_name="fulfillment",
            name="carrier",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="fulfillments",
                to="sales.carrier",
            ),
        ),
        migrations.AddField(
            model_name="fulfillment",
            name="sale",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="fulfillments", to="sales.sale"
            ),
        ),
        migrations.AddField(
            model_name="fulfillment",
            name="user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="fulfillmentline",
            name="fulfillment",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="lines", to="sales.fulfillment"
            ),
        ),
        migrations.AddField(
            model_name="fulfillmentline",
            name="item",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="fulfillment_lines", to="sales.saleitem"
            ),
        ),
        migrations.AddField(
            model_name="trackingevent",
            name="fulfillment",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="tracking", to="sales.fulfillment"
            ),
        ),
        migrations.AddField(
            model_name="trackingevent",
            name="user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="fulfillment",
            index=models.Index(
                condition=models.Q(
                    ("expected_at__isnull", False),
                    models.Q(("status__in", ["delivered", "picked_up", "returned"]), _negated=True),
                ),
                fields=["expected_at"],
                name="fulfillment_open_expected_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="fulfillment",
            constraint=models.UniqueConstraint(fields=("sale", "sequence"), name="fulfillment_sale_sequence_key"),
        ),
        migrations.AddConstraint(
            model_name="fulfillment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "status__in",
                        [
                            "ready_for_pickup",
                            "shipped",
                            "in_transit",
                            "out_for_delivery",
                            "delivered",
                            "picked_up",
                            "failed",
                            "returned",
                        ],
                    )
                ),
                name="fulfillment_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="fulfillmentline",
            constraint=models.CheckConstraint(
                condition=models.Q(("quantity__gt", 0)), name="fulfillment_line_quantity_positive"
            ),
        ),
        migrations.RunPython(reinstall_sqlite_rollup_triggers, migrations.RunPython.noop, elidable=False),
    ]
