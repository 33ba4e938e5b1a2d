"""Sales shipped or completed before fulfilments existed get one fulfilment of every unit.

Round 1 marked such sales `fulfilled` without recording what left; from now on fulfilled
units are the units in fulfilments, so each gets the one parcel it implied: `<reference>-F1`,
`delivered` if the sale completed (`picked_up` is not assumed: round 1 had no pick-up),
else `shipped`, with the carrier and tracking of its first line.
"""

from django.db import migrations

BATCH = 500


def forwards(apps, schema_editor):
    Sale = apps.get_model("sales", "Sale")
    SaleItem = apps.get_model("sales", "SaleItem")
    Fulfillment = apps.get_model("sales", "Fulfillment")
    FulfillmentLine = apps.get_model("sales", "FulfillmentLine")
    TrackingEvent = apps.get_model("sales", "TrackingEvent")
    db = schema_editor.connection.alias
    sales = (
        Sale.objects.using(db)
        .filter(fulfillment_status="fulfilled", fulfillments__isnull=True)
        .order_by("pk")
        .values_list("pk", "reference", "status", "shipped_at", "completed_at", "created_at")
    )
    batch = []
    for row in sales.iterator(chunk_size=BATCH):
        batch.append(row)
        if len(batch) == BATCH:
            _fulfil(batch, db, SaleItem, Fulfillment, FulfillmentLine, TrackingEvent, Sale)
            batch = []
    if batch:
        _fulfil(batch, db, SaleItem, Fulfillment, FulfillmentLine, TrackingEvent, Sale)


def _fulfil(rows, db, SaleItem, Fulfillment, FulfillmentLine, TrackingEvent, Sale):
    items = {}
    for item in SaleItem.objects.using(db).filter(sale_id__in=[r[0] for r in rows]).order_by("pk"):
        items.setdefault(item.sale_id, []).append(item)
    fulfillments = []
    for pk, reference, status, _shipped_at, completed_at, _created_at in rows:
        first = items.get(pk, [None])[0]
        delivered = status == "completed"
        fulfillments.append(
            Fulfillment(
                sale_id=pk,
                sequence=1,
                number=f"{reference}-F1",
                status="delivered" if delivered else "shipped",
                delivery_mode="dispatch",
                carrier_id=first.carrier_id if first else None,
                tracking_code=first.tracking_code if first else "",
                tracking_url=first.tracking_url if first else "",
                delivered_at=completed_at if delivered else None,
            )
        )
    Fulfillment.objects.using(db).bulk_create(fulfillments)
    by_sale = {f.sale_id: f for f in Fulfillment.objects.using(db).filter(sale_id__in=[r[0] for r in rows])}
    lines, events, updated = [], [], []
    for pk, _reference, status, shipped_at, completed_at, created_at in rows:
        fulfillment = by_sale[pk]
        when = shipped_at or completed_at or created_at
        events.append(
            TrackingEvent(
                fulfillment=fulfillment, status="shipped", occurred_at=when, note="recorded before fulfilments existed"
            )
        )
        if status == "completed":
            events.append(TrackingEvent(fulfillment=fulfillment, status="delivered", occurred_at=completed_at or when))
        for item in items.get(pk, []):
            units = item.quantity - item.quantity_cancelled
            if units:
                lines.append(FulfillmentLine(fulfillment=fulfillment, item=item, quantity=units))
                item.quantity_fulfilled = units
                updated.append(item)
    FulfillmentLine.objects.using(db).bulk_create(lines)
    TrackingEvent.objects.using(db).bulk_create(events)
    SaleItem.objects.using(db).bulk_update(updated, ["quantity_fulfilled"])
    for status, delivery in (("completed", "delivered"), ("in_delivery", "shipped"), ("refunded", "shipped")):
        Sale.objects.using(db).filter(pk__in=[r[0] for r in rows if r[2] == status]).update(delivery_status=delivery)


class Migration(migrations.Migration):
    dependencies = [("sales", "0009_fulfilment_structure_locks")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
