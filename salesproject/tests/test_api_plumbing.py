"""Auth, throttling, API docs and Django-level errors under /api/."""

import re
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.throttling import ScopedRateThrottle

from sales.tests.factories import UserFactory

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_token_endpoint_trades_credentials_for_a_bearer_token_that_authenticates(api_client):
    user = UserFactory(username="cashier")

    response = api_client().post(TOKEN_URL, {"username": "cashier", "password": "pass-w0rd!"}, format="json")

    assert response.status_code == 200
    token = response.json()["token"]
    assert token == Token.objects.get(user=user).key
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/sales/").status_code == 200


@pytest.mark.django_db
def test_wrong_password_at_the_token_endpoint_is_400_with_the_error_shape(api_client):
    UserFactory(username="cashier")

    response = api_client().post(TOKEN_URL, {"username": "cashier", "password": "wrong"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert body["errors"][0]["code"]


@pytest.mark.django_db
def test_token_endpoint_is_throttled(api_client, monkeypatch):
    # DRF reads the rates once, at import; the real setting is API_AUTH_THROTTLE_RATE.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/minute"})
    UserFactory(username="cashier")
    client = api_client()

    codes = [
        client.post(TOKEN_URL, {"username": "cashier", "password": "wrong"}, format="json").status_code
        for _ in range(5)
    ]

    assert codes[:3] == [400, 400, 400]
    assert codes[3:] == [429, 429]


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Bearer nonsense", "Token abc", "Bearer"])
def test_a_missing_or_bad_token_is_401(api_client, header):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/sales/")

    assert response.status_code == 401
    assert response.json()["type"] == "client_error"


@pytest.mark.django_db
def test_create_api_token_prints_the_token_as_the_last_word():
    user = UserFactory(username="pos-7")
    out = StringIO()

    call_command("create_api_token", "pos-7", stdout=out)

    assert out.getvalue().split()[-1] == Token.objects.get(user=user).key


@pytest.mark.django_db
def test_create_api_token_reset_replaces_the_token():
    user = UserFactory(username="pos-7")
    old = Token.objects.create(user=user).key
    out = StringIO()

    call_command("create_api_token", "pos-7", "--reset", stdout=out)

    assert out.getvalue().split()[-1] == Token.objects.get(user=user).key != old


@pytest.mark.django_db
def test_create_api_token_for_an_unknown_user_is_a_command_error():
    with pytest.raises(CommandError, match="No user named"):
        call_command("create_api_token", "nobody")


@pytest.mark.django_db
def test_schema_is_served_and_names_the_error_body(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    text = response.content.decode()
    assert "/api/v1/sales/{id}/confirm/" in text
    assert "ConflictResponse" in text


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_api_docs_load_their_assets_from_the_project_not_the_internet(client, path):
    response = client.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    external = [url for url in re.findall(r'(?:src|href)="([^"]+)"', html) if url.startswith(("http:", "https:", "//"))]
    assert external == []
    assert "drf_spectacular_sidecar" in html


@pytest.mark.django_db
def test_api_root_lists_the_endpoints(client):
    response = client.get("/api/v1/")

    assert response.status_code == 200
    assert response.json()["sales"].endswith("/api/v1/sales/")


@pytest.mark.django_db
def test_an_unknown_api_path_is_a_json_404(api_client, seller):
    response = api_client(seller).get("/api/v1/sales/not-a-number/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["errors"][0]["code"] == "not_found"
