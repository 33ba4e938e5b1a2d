"""Lines priced before taxes per line existed follow their sale's `prices_include_tax`.

`SaleItem.tax_included` (0011) is the method in force on the line; rows created before it got the
column default (False), so the lines of a tax-inclusive sale would be re-priced as exclusive by
`recalculate_totals`. Set them from their sale. Data only: no table is rebuilt.
"""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def forwards(apps, schema_editor):
    Sale = apps.get_model("sales", "Sale")
    SaleItem = apps.get_model("sales", "SaleItem")
    db = schema_editor.connection.alias
    inclusive = Sale.objects.using(db).filter(pk=OuterRef("sale_id")).values("prices_include_tax")[:1]
    SaleItem.objects.using(db).filter(tax__isnull=True).update(tax_included=Subquery(inclusive))


class Migration(migrations.Migration):
    dependencies = [("sales", "0012_rollup_currency")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
