# Payments spread over several sales (money.md "Payments"): `PaymentAllocation`, and `sale.payments` through it.

import django.db.models.deletion
from decimal import Decimal

import salesproject.models
from django.db import migrations, models


def allocate_existing_payments(apps, schema_editor):
    """A payment recorded on one sale is one allocation of its whole amount."""
    Payment = apps.get_model("payments", "Payment")
    PaymentAllocation = apps.get_model("payments", "PaymentAllocation")
    rows = Payment.objects.filter(sale__isnull=False).order_by("pk").values_list("pk", "sale_id", "amount")
    batch = []
    for pk, sale_id, amount in rows.iterator(chunk_size=2000):
        batch.append(PaymentAllocation(payment_id=pk, sale_id=sale_id, amount=amount))
        if len(batch) >= 2000:
            PaymentAllocation.objects.bulk_create(batch)
            batch = []
    PaymentAllocation.objects.bulk_create(batch)


def drop_allocations(apps, schema_editor):
    """Back to one sale per payment: a payment spread over several sales is left unassigned."""
    PaymentAllocation = apps.get_model("payments", "PaymentAllocation")
    PaymentAllocation.objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0003_payment_amount_money"),
    ]

    operations = [
        migrations.AlterField(
            model_name="payment",
            name="sale",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="sales.sale",
            ),
        ),
        migrations.CreateModel(
            name="PaymentAllocation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("amount", salesproject.models.MoneyField(decimal_places=3, max_digits=15)),
                (
                    "payment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="allocations",
                        to="payments.payment",
                    ),
                ),
                (
                    "sale",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payment_allocations",
                        to="sales.sale",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.AddField(
            model_name="payment",
            name="sales",
            field=models.ManyToManyField(
                blank=True, related_name="payments", through="payments.PaymentAllocation", to="sales.sale"
            ),
        ),
        migrations.AddConstraint(
            model_name="paymentallocation",
            constraint=models.UniqueConstraint(fields=("payment", "sale"), name="payment_allocation_one_per_sale"),
        ),
        migrations.AddConstraint(
            model_name="paymentallocation",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", Decimal("0"))), name="payment_allocation_amount_positive"
            ),
        ),
        migrations.RunPython(allocate_existing_payments, drop_allocations, elidable=False),
    ]
