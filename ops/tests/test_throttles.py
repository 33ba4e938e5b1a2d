"""API-wide rate limits: per user (whatever the token) and per anonymous address, 429 with Retry-After."""

import threading

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from drf_spectacular.generators import SchemaGenerator
from rest_framework.throttling import SimpleRateThrottle

from salesproject import settings as base_settings
from salesproject.api import idempotency
from salesproject.api.throttles import AnonThrottle, UserThrottle
from salesproject.models import IdempotencyKey, RateCounter

pytestmark = pytest.mark.django_db

SALES = "/api/v1/sales/"
ROOT = "/api/v1/"  # open to anonymous clients


@pytest.fixture
def rates(monkeypatch, settings):
    """`rates(user=…, anon=…)`: lower the limits (DRF reads them once, at import) on a fresh counter cache."""
    RateCounter.objects.all().delete()

    def set_rates(*, user: str = "1000/min", anon: str = "1000/min") -> None:
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": user, "anon": anon, "auth": "1000/min"})

    yield set_rates


def test_a_user_over_the_limit_gets_429_with_retry_after_and_the_error_body(api_client, seller, rates):
    rates(user="3/min")
    client = api_client(seller)

    codes = [client.get(SALES).status_code for _ in range(3)]
    response = client.get(SALES, HTTP_X_REQUEST_ID="slow-down")

    assert codes == [200, 200, 200]
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    body = response.json()
    assert body["type"] == "client_error" and body["request_id"] == "slow-down"
    [error] = body["errors"]
    assert error["code"] == "throttled" and error["attr"] is None
    assert error["detail"].startswith("Too many requests; try again in ")


def test_each_user_has_a_limit_of_their_own_whatever_the_token(api_client, seller, staff, rates):
    rates(user="2/min")
    seller_client, staff_client = api_client(seller), api_client(staff)

    assert [seller_client.get(SALES).status_code for _ in range(3)] == [200, 200, 429]
    assert staff_client.get(SALES).status_code == 200
    # Another token of the same user shares the limit (writes too).
    assert api_client(seller).post(SALES, {}, format="json").status_code == 429


def test_anonymous_clients_are_limited_per_address(client, rates):
    rates(anon="2/min")

    codes = [client.get(ROOT, REMOTE_ADDR="198.51.100.1").status_code for _ in range(3)]

    assert codes == [200, 200, 429]
    assert client.get(ROOT, REMOTE_ADDR="198.51.100.2").status_code == 200
    # X-Forwarded-For is not believed without a proxy in front (API_NUM_PROXIES=0 outside production).
    assert client.get(ROOT, REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="192.0.2.9").status_code == 429


def test_refused_anonymous_requests_count_against_the_address_so_guessing_tokens_is_limited(client, rates):
    rates(anon="3/min")
    guesses = [
        client.get(SALES, REMOTE_ADDR="198.51.100.7", HTTP_AUTHORIZATION=f"Bearer guess-{n}").status_code
        for n in range(2)
    ]
    anonymous = client.get(SALES, REMOTE_ADDR="198.51.100.7")
    over = client.get(SALES, REMOTE_ADDR="198.51.100.7", HTTP_AUTHORIZATION="Bearer guess-3")

    assert guesses == [401, 401] and anonymous.status_code == 401
    assert over.status_code == 429 and int(over["Retry-After"]) >= 1
    assert over.json()["errors"][0]["code"] == "throttled"
    assert client.get(SALES, REMOTE_ADDR="198.51.100.8").status_code == 401  # another address: its own limit


def test_the_counters_live_in_the_shared_database_one_row_per_client(api_client, seller, rates):
    rates()
    client = api_client(seller)
    client.get(SALES)
    client.get(SALES)

    counter = RateCounter.objects.get(key=f"throttle_user_{seller.pk}")
    assert counter.hits + counter.previous_hits == 2


def test_rates_from_the_environment_are_checked_at_start_up(monkeypatch):
    monkeypatch.setenv("API_RATE_LIMIT_USER", "lots")
    with pytest.raises(ImproperlyConfigured, match="API_RATE_LIMIT_USER must look like 1200/min"):
        base_settings.throttle_rate("API_RATE_LIMIT_USER", "1200/min")
    monkeypatch.setenv("API_RATE_LIMIT_USER", "50/s")
    assert base_settings.throttle_rate("API_RATE_LIMIT_USER", "1200/min") == "50/s"
    monkeypatch.delenv("API_RATE_LIMIT_USER")
    assert base_settings.throttle_rate("API_RATE_LIMIT_USER", "1200/min") == "1200/min"


def test_every_api_operation_declares_429_with_retry_after_and_error_bodies_have_request_id():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/") or path == "/api/v1/auth/token/":
            continue
        for method, operation in operations.items():
            assert "429" in operation["responses"], (method, path)
            assert "Retry-After" in operation["responses"]["429"]["headers"], (method, path)
    errors = [c for c in schema["components"]["schemas"].values() if {"type", "errors"} <= set(c.get("properties", {}))]
    assert errors and all("request_id" in c["properties"] and "request_id" in c["required"] for c in errors)


def test_the_throttles_are_the_api_defaults():
    from rest_framework.settings import api_settings

    assert [UserThrottle, AnonThrottle] == api_settings.DEFAULT_THROTTLE_CLASSES


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_keyed_post_in_progress_does_not_hold_its_users_counter(api_client, seller, monkeypatch, rates):
    """A keyed POST's transaction lasts as long as its work; counted inside it, the counter's row would stay locked
    and every other request of the user (a POS fleet on one token) would wait for that work to commit."""
    rates()
    inside, release = threading.Event(), threading.Event()
    original = idempotency.claim

    def slow_claim(request):
        record = original(request)
        if request.method == "POST":
            inside.set()
            release.wait(timeout=20)
        return record

    monkeypatch.setattr(idempotency, "claim", slow_claim)
    post_client, get_client = api_client(seller), api_client(seller)
    answers: dict[str, int] = {}

    def send(name: str, call) -> None:
        try:
            answers[name] = call().status_code
        finally:
            connection.close()

    keyed = threading.Thread(
        target=send, args=("post", lambda: post_client.post(SALES, {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"))
    )
    keyed.start()
    assert inside.wait(timeout=20)  # the POST holds its transaction open
    other = threading.Thread(target=send, args=("get", lambda: get_client.get(SALES)))
    other.start()
    other.join(timeout=5)
    finished_meanwhile = not other.is_alive()
    release.set()
    keyed.join(timeout=20)
    other.join(timeout=20)

    assert finished_meanwhile
    assert answers == {"get": 200, "post": 400}
    assert RateCounter.objects.get(key=f"throttle_user_{seller.pk}").hits >= 2


def test_a_keyed_post_over_the_limit_is_refused_before_it_claims_its_key(api_client, seller, rates):
    rates(user="1/min")
    client = api_client(seller)
    assert client.get(SALES).status_code == 200

    refused = client.post(SALES, {}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert refused.json()["errors"][0]["code"] == "throttled"
    assert not IdempotencyKey.objects.exists()
