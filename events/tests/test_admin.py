"""The events admin: read-only, filterable by type and object, the JSON shown in full."""

import pytest
from django.urls import reverse

from events.models import Event
from inventory.tests.factories import stocked_variant
from sales import services
from sales.services import ItemData, NewSale

pytestmark = pytest.mark.django_db


def test_events_are_listed_filtered_and_shown_but_never_written(boss_client, seller):
    sale = services.sale_create(
        seller=seller, data=NewSale(items=[ItemData(variant=stocked_variant(10), quantity=1)], reference="ADM-1")
    )
    event = Event.objects.get(type="sale.created")

    listed = boss_client.get(reverse("admin:events_event_changelist"), {"type__exact": "sale.created"})
    by_object = boss_client.get(reverse("admin:events_event_changelist"), {"q": str(sale.pk)})
    shown = boss_client.get(reverse("admin:events_event_change", args=[event.pk]))

    assert listed.status_code == by_object.status_code == shown.status_code == 200
    assert event.uid in listed.content.decode() and event.uid in by_object.content.decode()
    assert Event.objects.get(type="stock.adjusted").uid not in listed.content.decode()
    assert "ADM-1" in shown.content.decode()  # the object's JSON
    assert boss_client.get(reverse("admin:events_event_add")).status_code == 403
    assert boss_client.post(reverse("admin:events_event_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert Event.objects.filter(pk=event.pk).exists()
