"""Admin is staff-only, CSRF guards cookie-authenticated writes, logins are throttled, production settings are safe."""

import json
import os
import re
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from sales.tests.factories import StaffFactory, UserFactory

BASE_DIR = Path(settings.BASE_DIR)
PASSWORD = "pass-w0rd!"  # the factories' password
TOKEN_URL = "/api/v1/auth/token/"
CSRF = "c" * 32


# --- the admin is for staff only -------------------------------------------------------------------------------------


def admin_urls() -> list[str]:
    """The index and the change list of every model registered in the admin."""
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
    return urls


@pytest.mark.django_db
def test_every_admin_page_sends_anonymous_and_non_staff_users_to_the_login(client):
    seller = UserFactory()
    signed_in = Client()
    signed_in.force_login(seller)

    for url in admin_urls():
        for who in (client, signed_in):
            response = who.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("admin:login")), url


@pytest.mark.django_db
def test_staff_reach_every_admin_page(client):
    boss = StaffFactory(is_superuser=True)
    client.force_login(boss)

    assert {url: client.get(url).status_code for url in admin_urls()} == dict.fromkeys(admin_urls(), 200)


@pytest.mark.django_db
def test_a_non_staff_user_cannot_sign_in_to_the_admin(client):
    UserFactory(username="cashier")

    response = client.post(reverse("admin:login"), {"username": "cashier", "password": PASSWORD, "next": "/admin/"})

    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302


# --- CSRF --------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_login_form_needs_its_csrf_token():
    StaffFactory(username="boss")
    client = Client(enforce_csrf_checks=True)
    credentials = {"username": "boss", "password": PASSWORD, "next": "/admin/"}

    refused = client.post(reverse("admin:login"), credentials)

    assert refused.status_code == 403
    assert "_auth_user_id" not in client.session
    client.get(reverse("admin:login"))  # sets the CSRF cookie, as a browser showing the form would get it
    accepted = client.post(
        reverse("admin:login"), {**credentials, "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    )
    assert accepted.status_code == 302
    assert client.session["_auth_user_id"] == str(StaffFactory._meta.model.objects.get(username="boss").pk)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/customers/", {"name": "Forged Ltd"}),
        ("post", "/api/v1/sales/", {"items": [{"product": 1, "quantity": 1}]}),
        ("post", "/api/v1/payments/", {"amount": "1.00", "method": "cash"}),
    ],
)
def test_a_session_authenticated_api_write_without_the_csrf_token_is_403(method, path, body):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(StaffFactory())
    client.cookies["csrftoken"] = CSRF  # a cookie alone proves nothing: a forged form sends it too

    response = getattr(client, method)(path, body, format="json")

    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert error["code"] == "permission_denied"
    assert "CSRF" in error["detail"]


@pytest.mark.django_db
def test_a_session_authenticated_api_write_with_the_csrf_token_goes_through():
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    client.cookies["csrftoken"] = CSRF

    response = client.post("/api/v1/customers/", {"name": "Real Ltd"}, format="json", HTTP_X_CSRFTOKEN=CSRF)

    assert response.status_code == 201, response.json()


@pytest.mark.django_db
def test_a_bearer_token_write_needs_no_csrf_token(api_client):
    """CSRF protects what a browser sends by itself (cookies); a bearer token is never sent by itself."""
    client = api_client(UserFactory())
    client.handler.enforce_csrf_checks = True

    response = client.post("/api/v1/customers/", {"name": "Token Ltd"}, format="json")

    assert response.status_code == 201, response.json()


# --- login throttling ----------------------------------------------------------------------------------------


def admin_login(client: Client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(
        reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=address
    )


@pytest.mark.django_db
def test_repeated_bad_admin_logins_lock_the_username_from_that_address():
    StaffFactory(username="boss")
    client = Client()

    codes = [admin_login(client, "boss", f"guess-{n}").status_code for n in range(settings.AXES_FAILURE_LIMIT)]
    locked = admin_login(client, "boss", PASSWORD)

    assert codes == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert locked.status_code == 429  # even the right password, until the cool-off ends
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_fewer_bad_logins_than_the_limit_do_not_lock():
    """The control for the lockout: one attempt short of the limit, the right password still works."""
    StaffFactory(username="boss")
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        admin_login(client, "boss", f"guess-{n}")

    response = admin_login(client, "boss", PASSWORD)

    assert response.status_code == 302
    assert "_auth_user_id" in client.session


@pytest.mark.django_db
def test_a_lockout_holds_for_that_username_and_address_only():
    StaffFactory(username="boss")
    StaffFactory(username="clerk")
    for n in range(settings.AXES_FAILURE_LIMIT):
        admin_login(Client(), "boss", f"guess-{n}", address="203.0.113.7")

    assert admin_login(Client(), "boss", PASSWORD, address="203.0.113.7").status_code == 429
    assert admin_login(Client(), "clerk", PASSWORD, address="203.0.113.7").status_code == 302
    assert admin_login(Client(), "boss", PASSWORD, address="198.51.100.2").status_code == 302


@pytest.mark.django_db
def test_a_locked_out_username_gets_no_api_token_from_that_address_either(api_client):
    StaffFactory(username="boss")
    for n in range(settings.AXES_FAILURE_LIMIT):
        admin_login(Client(), "boss", f"guess-{n}")

    response = api_client().post(TOKEN_URL, {"username": "boss", "password": PASSWORD}, format="json")

    assert response.status_code == 400
    assert "token" not in response.json()


@pytest.mark.django_db
def test_force_login_and_the_token_endpoint_work_with_the_lockout_backend(api_client):
    user = UserFactory(username="cashier")
    client = Client()
    client.force_login(user)

    response = api_client().post(TOKEN_URL, {"username": "cashier", "password": PASSWORD}, format="json")

    assert client.session["_auth_user_id"] == str(user.pk)
    assert response.status_code == 200
    assert response.json()["token"]


@pytest.mark.django_db
def test_the_token_endpoint_counts_attempts_in_the_shared_database_cache(api_client):
    """Every gunicorn worker must see one counter: the throttle's cache is the database, not process memory."""
    table = settings.CACHES["default"]["LOCATION"]
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    caches["default"].clear()

    api_client().post(TOKEN_URL, {"username": "nobody", "password": "x"}, format="json")

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT cache_key FROM {connection.ops.quote_name(table)}")
        keys = [row[0] for row in cursor.fetchall()]
    assert any("throttle_auth" in key for key in keys), keys


@pytest.mark.django_db
def test_two_cache_clients_see_the_same_counter():
    first, second = caches.create_connection("default"), caches.create_connection("default")
    assert first is not second
    first.clear()

    first.set("throttle_auth_203.0.113.9", [1.0, 2.0])

    assert second.get("throttle_auth_203.0.113.9") == [1.0, 2.0]


# --- settings, checked in fresh processes ------------------------------------------------------------------------


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="salesproject.settings",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="sales.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        PYTHONWARNINGS="ignore",
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)


def test_production_settings_pass_check_deploy_with_no_warning(tmp_path):
    result = check_deploy(production_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr


@pytest.mark.slow
def test_check_deploy_reports_each_weakened_production_setting(tmp_path):
    """The control for the clean check: the same command does see each setting turned off."""
    weakened = {
        "DJANGO_SECURE_HSTS_SECONDS": "0",  # security.W004
        "DJANGO_SECURE_SSL_REDIRECT": "0",  # W008
        "DJANGO_SESSION_COOKIE_SECURE": "0",  # W012
        "DJANGO_CSRF_COOKIE_SECURE": "0",  # W016
        "DJANGO_DEBUG": "1",  # W018
        "DJANGO_SECRET_KEY": "short",  # W009
    }

    result = check_deploy(production_env(tmp_path, **weakened))

    assert result.returncode != 0
    reported = set(re.findall(r"security\.W\d+", result.stdout + result.stderr))
    assert reported >= {
        "security.W004",
        "security.W008",
        "security.W012",
        "security.W016",
        "security.W018",
        "security.W009",
    }


@pytest.mark.slow
def test_a_developer_machine_has_https_settings_off(tmp_path):
    """Outside production the HTTPS settings are off, so `make run` and the plain-HTTP contract test work."""
    result = check_deploy(production_env(tmp_path, DJANGO_ENV="development", DJANGO_SECRET_KEY=None))

    reported = set(re.findall(r"security\.W\d+", result.stdout + result.stderr))
    assert reported >= {"security.W004", "security.W008", "security.W012", "security.W016"}


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = run(["manage.py", "check"], production_env(tmp_path, DJANGO_SECRET_KEY=None))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


PRODUCTION_PROBE = textwrap.dedent(
    """
    import json, os
    import django
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)  # the API's rate limits count in the database cache
    client = Client(HTTP_HOST="sales.example.com")
    plain = client.get("/api/v1/")
    behind_proxy = client.get("/api/v1/", HTTP_X_FORWARDED_PROTO="https")
    login_page = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
    print(json.dumps({
        "secret_from_env": settings.SECRET_KEY == os.environ["DJANGO_SECRET_KEY"],
        "debug": settings.DEBUG,
        "plain": [plain.status_code, plain.get("Location")],
        "proxied": [behind_proxy.status_code, behind_proxy.get("Strict-Transport-Security")],
        "csrf_cookie_secure": bool(login_page.cookies["csrftoken"]["secure"]),
        "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    }))
    """
)


@pytest.mark.slow
def test_production_redirects_to_https_and_sends_hsts_and_secure_cookies(tmp_path):
    result = run(["-c", PRODUCTION_PROBE], production_env(tmp_path))

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "secret_from_env": True,
        "debug": False,
        "plain": [301, "https://sales.example.com/api/v1/"],
        "proxied": [200, "max-age=31536000; includeSubDomains; preload"],
        "csrf_cookie_secure": True,
        "session_cookie_secure": True,
    }


THROTTLE_PROBE = textwrap.dedent(
    """
    import sys
    import django
    django.setup()
    from django.core.management import call_command
    from django.test import Client

    if sys.argv[1] == "migrate":
        call_command("migrate", verbosity=0)
    client = Client()
    codes = [
        client.post("/api/v1/auth/token/", {"username": "nobody", "password": "wrong"},
                    content_type="application/json").status_code
        for _ in range(int(sys.argv[2]))
    ]
    print(" ".join(map(str, codes)))
    """
)


@pytest.mark.slow
def test_two_processes_share_one_login_throttle(tmp_path):
    """Two worker processes on one database: the second sees the attempts the first counted."""
    env = production_env(
        tmp_path,
        DJANGO_ENV="development",
        API_AUTH_THROTTLE_RATE="3/minute",
        DJANGO_ALLOWED_HOSTS="testserver",
    )

    first = run(["-c", THROTTLE_PROBE, "migrate", "3"], env)
    second = run(["-c", THROTTLE_PROBE, "serve", "2"], env)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert first.stdout.split() == ["400", "400", "400"]
    assert second.stdout.split() == ["429", "429"]
