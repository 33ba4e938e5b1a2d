"""What a sale is worth after returns, and money history that cannot be lost.

- `returned_total` (what returned units were charged; a refunded sale: its grand total), filled
  for existing sales from their lines, and `payment_status` re-derived for the sales it changes
  (new status `partially_refunded`: a refund was given but the sale still holds money).
- `paid_total >= 0` and `0 <= returned_total <= grand_total` as check constraints.
- Invoices (like payments, payments 0002) protect their sale: a sale with history is never deleted.
- A partial index on the few sales with returns, for the summary's net totals.

On SQLite the new column and constraints rebuild `sales_sale`, which drops the triggers of the
summary rollup: they are installed again at the end (the rollup's rows survive the rebuild).
"""

import importlib

from decimal import ROUND_HALF_UP, Decimal

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Q, Sum

CENT = Decimal("0.01")
daily = importlib.import_module("sales.migrations.0004_sale_daily_totals")
monthly = importlib.import_module("sales.migrations.0006_sale_monthly_totals")


def reinstall_sqlite_rollup_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in [*daily.UNINSTALL_SQLITE, *monthly.INSTALL_SQLITE]:
            schema_editor.execute(statement, params=None)


def _charged(total: Decimal, quantity: int, returned: int) -> Decimal:
    # sales.services.charged_for_units from nothing returned to `returned` units, as it stood at this migration.
    return (total * returned / quantity).quantize(CENT, rounding=ROUND_HALF_UP)


def _payment_status(net: Decimal, paid: Decimal, refunded: Decimal) -> str:
    # sales.services.derive_payment_status as it stood at this migration.
    held = paid - refunded
    if refunded > 0:
        return "refunded" if held <= 0 else "partially_refunded"
    if held == net:
        return "paid"
    if held <= 0:
        return "unpaid"
    return "partially_paid" if held < net else "overpaid"


def fill_returned_totals(apps, schema_editor):
    Sale = apps.get_model("sales", "Sale")
    SaleItem = apps.get_model("sales", "SaleItem")
    Payment = apps.get_model("payments", "Payment")
    touched = Sale.objects.filter(
        Q(status="refunded")
        | Q(pk__in=SaleItem.objects.filter(quantity_returned__gt=0).values("sale_id"))
        | Q(pk__in=Payment.objects.filter(kind="refund", status="successful").values("sale_id"))
    )
    for sale in touched.iterator(chunk_size=500):
        if sale.status == "refunded":
            returned = sale.grand_total
        else:
            items = SaleItem.objects.filter(sale_id=sale.pk, quantity_returned__gt=0)
            returned = sum((_charged(i.total, i.quantity, i.quantity_returned) for i in items), Decimal("0.00"))
        money = Payment.objects.filter(sale_id=sale.pk, status="successful").aggregate(
            paid=Sum("amount", filter=Q(kind="payment"), default=Decimal("0.00")),
            refunded=Sum("amount", filter=Q(kind="refund"), default=Decimal("0.00")),
        )
        status = _payment_status(sale.grand_total - returned, money["paid"], money["refunded"])
        Sale.objects.filter(pk=sale.pk).update(returned_total=returned, payment_status=status)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("inventory", "0004_stockmovement_sale_seller"),
        ("payments", "0002_alter_payment_sale"),
        ("sales", "0007_sale_created_at_composite_index_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Going back, the rebuilds below run after this (they run in reverse): the triggers come back last.
        migrations.RunPython(migrations.RunPython.noop, reinstall_sqlite_rollup_triggers, elidable=False),
        migrations.AddField(
            model_name="sale",
            name="returned_total",
            field=models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=14),
        ),
        migrations.RunPython(fill_returned_totals, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="invoice",
            name="sale",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="invoices", to="sales.sale"
            ),
        ),
        migrations.AlterField(
            model_name="sale",
            name="payment_status",
            field=models.CharField(
                choices=[
                    ("unpaid", "Unpaid"),
                    ("partially_paid", "Partially paid"),
                    ("paid", "Paid"),
                    ("overpaid", "Overpaid"),
                    ("partially_refunded", "Partially refunded"),
                    ("refunded", "Refunded"),
                ],
                default="unpaid",
                max_length=20,
            ),
        ),
        migrations.AddIndex(
            model_name="sale",
            index=models.Index(
                condition=models.Q(("returned_total__gt", 0)),
                fields=["seller", "status", "created_at"],
                include=("returned_total",),
                name="sale_returned_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="sale",
            constraint=models.CheckConstraint(
                condition=models.Q(("paid_total__gte", 0)), name="sale_paid_total_non_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="sale",
            constraint=models.CheckConstraint(
                condition=models.Q(("returned_total__gte", 0), ("returned_total__lte", models.F("grand_total"))),
                name="sale_returned_total_within_grand_total",
            ),
        ),
        migrations.RunPython(reinstall_sqlite_rollup_triggers, migrations.RunPython.noop, elidable=False),
    ]
