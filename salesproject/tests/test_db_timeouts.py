"""`DATABASE_STATEMENT_TIMEOUT`: the web app's statements are cut by PostgreSQL and the API answers 503 query_timeout;
management commands are exempt."""

import threading

import psycopg
import psycopg.errors
import pytest
from django.db import OperationalError, connection
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from salesproject.api.exceptions import ExceptionHandler
from salesproject.db_timeouts import (
    PRODUCTION_DEFAULT_MS,
    is_management_command,
    statement_timeout_ms,
    with_statement_timeout,
)

POSTGRES = "django.db.backends.postgresql"


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["manage.py", "migrate"], True),
        (["/srv/app/manage.py", "import_sales", "x.csv"], True),
        (["/venv/bin/django-admin", "check_inventory"], True),
        (["/venv/lib/python3.11/site-packages/django/__main__.py", "migrate"], True),
        (["manage.py", "runserver"], False),  # serves the web app
        (["/venv/bin/gunicorn", "salesproject.wsgi"], False),
        (["/venv/bin/pytest", "-q"], False),
        (["bench/inprocess.py"], False),
        (["manage.py"], False),
        ([], False),
    ],
)
def test_management_commands_but_runserver_are_told_apart_from_the_web_app(argv, command):
    assert is_management_command(argv) is command


@pytest.mark.parametrize(
    ("env", "production", "argv", "expected"),
    [
        (None, True, ["gunicorn"], PRODUCTION_DEFAULT_MS),
        (None, False, ["gunicorn"], 0),
        ("5000", False, ["gunicorn"], 5000),
        ("5000", True, ["gunicorn"], 5000),
        ("0", True, ["gunicorn"], 0),
        (" 750 ", True, ["gunicorn"], 750),
        ("5000", True, ["manage.py", "migrate"], 0),
        (None, True, ["manage.py", "migrate"], 0),
    ],
)
def test_the_timeout_comes_from_the_environment_with_a_production_default(env, production, argv, expected, monkeypatch):
    if env is None:
        monkeypatch.delenv("DATABASE_STATEMENT_TIMEOUT", raising=False)
    else:
        monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT", env)

    assert statement_timeout_ms(production=production, argv=argv) == expected


def test_the_timeout_is_a_postgresql_startup_option_and_a_urls_own_wins():
    assert with_statement_timeout({"ENGINE": POSTGRES}, 2500)["OPTIONS"] == {"options": "-c statement_timeout=2500"}
    assert with_statement_timeout({"ENGINE": POSTGRES, "OPTIONS": {"options": "-c search_path=shop"}}, 2500)[
        "OPTIONS"
    ] == {"options": "-c search_path=shop -c statement_timeout=2500"}
    own = {"ENGINE": POSTGRES, "OPTIONS": {"options": "-c statement_timeout=90000"}}
    assert with_statement_timeout(own, 2500)["OPTIONS"] == {"options": "-c statement_timeout=90000"}
    assert with_statement_timeout({"ENGINE": POSTGRES}, 0) == {"ENGINE": POSTGRES}
    assert with_statement_timeout({"ENGINE": "django.db.backends.sqlite3"}, 2500) == {
        "ENGINE": "django.db.backends.sqlite3"
    }


def test_a_cancelled_statement_answers_503_query_timeout_and_an_outage_stays_service_unavailable():
    request = Request(APIRequestFactory().get("/api/v1/sales/?search=x"))
    context = {"view": None, "args": (), "kwargs": {}, "request": request}

    def handled(driver_error: Exception):
        error = OperationalError(str(driver_error))
        error.__cause__ = driver_error
        return ExceptionHandler(error, context).run()

    cancelled = handled(psycopg.errors.QueryCanceled("canceling statement due to statement timeout"))
    outage = handled(psycopg.OperationalError("connection refused"))

    assert cancelled.status_code == 503
    assert cancelled.data["errors"][0]["code"] == "query_timeout"
    assert outage.status_code == 503
    assert outage.data["errors"][0]["code"] == "service_unavailable"


# --- PostgreSQL: a real statement_timeout -----------------------------------------------------------------------------


@pytest.fixture
def statement_timeout(transactional_db):
    """`statement_timeout(ms)`: the test's connection reconnects with that timeout, as settings would set it."""
    options = connection.settings_dict.setdefault("OPTIONS", {})
    before = options.get("options")

    def set_timeout(milliseconds: int) -> None:
        connection.close()
        options.pop("options", None)
        if before is not None:
            options["options"] = before
        with_statement_timeout(connection.settings_dict, milliseconds)

    yield set_timeout
    connection.close()
    options.pop("options", None)
    if before is not None:
        options["options"] = before


@pytest.mark.postgres
def test_the_connection_carries_the_timeout_and_postgresql_cancels_a_longer_statement(statement_timeout):
    statement_timeout(150)

    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "150ms"
        with pytest.raises(OperationalError) as raised:
            cursor.execute("SELECT pg_sleep(5)")

    assert isinstance(raised.value.__cause__, psycopg.errors.QueryCanceled)


@pytest.mark.postgres
def test_a_request_whose_query_runs_past_the_timeout_answers_503_query_timeout(statement_timeout, staff, api_client):
    client = api_client(staff)
    client.raise_request_exception = False  # a 5xx is reported like Django reports one; the answer is what counts
    client.get("/api/v1/sales/")  # the token row is read: later requests need no lock to authenticate
    locked, release = threading.Event(), threading.Event()

    def hold_the_sales_table() -> None:
        # Another session holds the table: the list's COUNT(*) waits on the lock, and the wait counts.
        with psycopg.connect(**connection.get_connection_params()) as other, other.transaction():
            other.execute("LOCK TABLE sales_sale IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold_the_sales_table)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        statement_timeout(300)
        response = client.get("/api/v1/sales/", {"search": "anything"})
    finally:
        release.set()
        holder.join(timeout=30)

    assert response.status_code == 503, response.content
    assert response.json()["type"] == "server_error"
    assert response.json()["errors"][0]["code"] == "query_timeout"
    assert client.get("/api/v1/sales/").status_code == 200  # the same connection serves the next request
