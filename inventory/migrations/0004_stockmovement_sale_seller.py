"""Who may read a ledger row no longer depends on its sale still existing.

`sale_seller` copies the seller of the row's sale when the row is written; existing rows get it
from their sale. Rows of sales deleted before this migration cannot be attributed and are shown
to staff only from now on (before, every user saw them).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_sale_seller(apps, schema_editor):
    StockMovement = apps.get_model("inventory", "StockMovement")
    Sale = apps.get_model("sales", "Sale")
    seller = Sale.objects.filter(pk=OuterRef("sale_id")).values("seller_id")[:1]
    StockMovement.objects.filter(sale__isnull=False).update(sale_seller_id=Subquery(seller))


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0003_stockmovement_correction_kind"),
        ("sales", "0007_sale_created_at_composite_index_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="stockmovement",
            name="sale_seller",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(fill_sale_seller, migrations.RunPython.noop, elidable=True),
    ]
