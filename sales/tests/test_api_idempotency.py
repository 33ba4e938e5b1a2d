"""`Idempotency-Key` on POST: the same key and body replay the first answer and never do the work twice."""

import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from inventory import services as stock_services
from inventory.models import StockLevel, StockMovement
from inventory.tests.factories import stocked_variant
from payments.models import Payment
from sales import services
from sales.models import Sale, SaleEvent
from sales.services import ItemData
from sales.tests.factories import UserFactory
from salesproject.models import IdempotencyKey

SALES = "/api/v1/sales/"


def body(variant, quantity: int = 2, **extra) -> dict:
    return {"items": [{"variant": variant.pk, "quantity": quantity}], **extra}


def post(client, data: dict, key: str | None, path: str = SALES):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(path, data, format="json", **headers)


def level(variant, warehouse) -> tuple[int, int]:
    return StockLevel.objects.values_list("on_hand", "reserved").get(variant=variant, warehouse=warehouse)


@pytest.mark.django_db
def test_same_key_and_body_replays_the_first_answer_with_one_sale(api_client, seller, warehouse):
    client = api_client(seller)
    variant = stocked_variant(10)

    first = post(client, body(variant), "key-1")
    second = post(client, body(variant), "key-1")

    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Sale.objects.count() == 1
    assert level(variant, warehouse) == (10, 2)


@pytest.mark.django_db
def test_without_a_key_the_same_body_makes_two_sales(api_client, seller, warehouse):
    client = api_client(seller)
    variant = stocked_variant(10)

    post(client, body(variant), None)
    post(client, body(variant), None)

    assert Sale.objects.count() == 2


@pytest.mark.django_db
def test_same_key_with_a_different_body_is_409_idempotency_conflict(api_client, seller, warehouse):
    client = api_client(seller)
    variant = stocked_variant(10)
    post(client, body(variant, 2), "key-1")

    response = post(client, body(variant, 3), "key-1")

    assert response.status_code == 409
    assert response.json()["type"] == "client_error"
    assert response.json()["errors"][0]["code"] == "idempotency_conflict"
    assert Sale.objects.count() == 1
    assert level(variant, warehouse) == (10, 2)


@pytest.mark.django_db
def test_same_key_on_another_route_is_409_idempotency_conflict(api_client, seller, warehouse):
    client = api_client(seller)
    sale = post(client, body(stocked_variant(10)), "key-1").json()

    response = post(client, {}, "key-1", path=f"{SALES}{sale['id']}/confirm/")

    assert response.json()["errors"][0]["code"] == "idempotency_conflict"
    assert Sale.objects.get().status == "pending"


@pytest.mark.django_db
def test_same_key_from_another_user_is_independent(api_client, seller, warehouse):
    other = UserFactory()
    variant = stocked_variant(10)

    mine = post(api_client(seller), body(variant), "shared-key")
    theirs = post(api_client(other), body(variant), "shared-key")

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["seller"]["id"] == other.pk
    assert "Idempotent-Replayed" not in theirs
    assert level(variant, warehouse) == (10, 4)


@pytest.mark.django_db
def test_a_409_stock_answer_is_replayed_even_once_stock_arrives(api_client, seller, warehouse):
    client = api_client(seller)
    variant = stocked_variant(1)
    first = post(client, body(variant, 3), "key-1")
    stock_services.stock_receive(variant=variant, warehouse=warehouse, quantity=10)

    second = post(client, body(variant, 3), "key-1")

    assert first.status_code == second.status_code == 409
    assert second.json() == first.json()
    assert second.json()["errors"][0]["code"] == "insufficient_stock"
    assert not Sale.objects.exists()
    assert post(client, body(variant, 3), "key-2").status_code == 201  # a new key does the work


@pytest.mark.django_db
def test_a_validation_error_is_replayed(api_client, seller, warehouse):
    client = api_client(seller)

    first = post(client, {"items": []}, "key-1")
    second = post(client, {"items": []}, "key-1")

    assert first.status_code == second.status_code == 400
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_a_key_on_confirm_replays_instead_of_failing_the_second_time(api_client, seller, warehouse):
    client = api_client(seller)
    variant = stocked_variant(10)
    sale = services.sale_create(seller=seller, data=services.NewSale(items=[ItemData(variant=variant, quantity=2)]))
    path = f"{SALES}{sale.pk}/confirm/"

    first = post(client, {}, "confirm-1", path=path)
    second = post(client, {}, "confirm-1", path=path)

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert SaleEvent.objects.filter(sale=sale, to_status="confirmed").count() == 1
    assert level(variant, warehouse) == (8, 0)
    assert post(client, {}, None, path=path).status_code == 409  # without the key it is a second confirm


@pytest.mark.django_db
def test_a_key_on_a_sale_payment_records_it_once(api_client, seller, warehouse):
    client = api_client(seller)
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(10), quantity=1)],
        ),
    )
    path = f"{SALES}{sale.pk}/payments/"

    first = post(client, {"amount": "5.00"}, "pay-1", path=path)
    second = post(client, {"amount": "5.00"}, "pay-1", path=path)

    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_key_on_a_multipart_invoice_upload_attaches_it_once(api_client, seller, warehouse):
    client = api_client(seller)
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(10), quantity=1)],
        ),
    )
    path = f"{SALES}{sale.pk}/invoice/"

    def upload():
        invoice = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4\n%%EOF\n")
        return client.post(path, {"file": invoice}, format="multipart", HTTP_IDEMPOTENCY_KEY="invoice-1")

    first, second = upload(), upload()

    assert first.status_code == 201, first.json()
    assert (second.status_code, second.json()) == (201, first.json())
    assert sale.invoices.count() == 1


@pytest.mark.django_db
def test_a_key_still_replays_after_24_hours(api_client, seller, warehouse):
    client = api_client(seller)
    variant = stocked_variant(10)
    first = post(client, body(variant), "old-key")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))

    second = post(client, body(variant), "old-key")

    assert second.json()["id"] == first.json()["id"]
    assert Sale.objects.count() == 1


@pytest.mark.django_db
def test_a_key_on_a_get_is_ignored(api_client, seller, warehouse):
    client = api_client(seller)
    services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(10), quantity=1)],
        ),
    )
    first = client.get(SALES, HTTP_IDEMPOTENCY_KEY="get-1")
    services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(10), quantity=1)],
        ),
    )

    second = client.get(SALES, HTTP_IDEMPOTENCY_KEY="get-1")

    assert (first.json()["count"], second.json()["count"]) == (1, 2)


# --- PostgreSQL: eight clients racing with one key -----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_make_exactly_one_sale(api_client, seller, warehouse):
    variant = stocked_variant(100)
    clients = [api_client(seller) for _ in range(8)]  # tokens exist before the threads start
    data = body(variant, 3, reference="RACE-1")
    barrier = threading.Barrier(len(clients))
    answers: list[tuple[int, dict]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run(client) -> None:
        try:
            barrier.wait(timeout=10)
            response = post(client, data, "race-key")
            with lock:
                answers.append((response.status_code, response.json()))
        except BaseException as exc:
            with lock:
                failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not failures, failures
    assert len(answers) == 8
    sale = Sale.objects.get()
    for status, answer in answers:
        if status == 201:
            assert answer["id"] == sale.pk
        else:
            assert (status, answer["errors"][0]["code"]) == (409, "idempotency_in_progress"), answer
    assert any(status == 201 for status, _ in answers)
    assert level(variant, warehouse) == (100, 3)
    assert StockMovement.objects.filter(sale=sale).count() == 1
