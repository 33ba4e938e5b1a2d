"""`retry_on_transient_db_errors`: a transaction that lost a lock race runs again; other errors pass through."""

import threading
from collections import Counter

import psycopg.errors
import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from inventory.models import StockLevel
from inventory.tests.factories import stocked_variant
from salesproject.api.exceptions import ExceptionHandler
from salesproject.db import is_transient_db_error, retry_on_transient_db_errors


def wrapped(driver_error: Exception, django_class=OperationalError) -> Exception:
    """A driver error as Django hands it over: its own class, with the driver's error as the cause."""
    error = django_class(str(driver_error))
    error.__cause__ = driver_error
    return error


def deadlock() -> Exception:
    return wrapped(psycopg.errors.DeadlockDetected("deadlock detected"))


def failing(error_factory, calls: Counter):
    @retry_on_transient_db_errors
    def work() -> None:
        calls["n"] += 1
        raise error_factory()

    return work


def test_deadlock_and_serialization_failure_are_transient_an_outage_is_not():
    assert is_transient_db_error(deadlock())
    assert is_transient_db_error(wrapped(psycopg.errors.SerializationFailure("could not serialize access")))
    assert not is_transient_db_error(wrapped(psycopg.OperationalError("connection refused")))
    assert not is_transient_db_error(wrapped(psycopg.errors.UniqueViolation("duplicate key"), IntegrityError))
    assert not is_transient_db_error(ValueError("40P01"))


def test_a_transient_error_is_retried_up_to_the_attempts_then_reaches_the_caller():
    calls = Counter()

    with pytest.raises(OperationalError, match="deadlock"):
        failing(deadlock, calls)()

    assert calls["n"] == 3


def test_an_outage_is_not_retried():
    calls = Counter()

    with pytest.raises(OperationalError):
        failing(lambda: wrapped(psycopg.OperationalError("connection refused")), calls)()

    assert calls["n"] == 1


@pytest.mark.django_db
def test_inside_an_outer_transaction_the_error_is_left_to_whoever_opened_it():
    calls = Counter()
    assert connection.in_atomic_block  # the test's own transaction

    with pytest.raises(OperationalError):
        failing(deadlock, calls)()

    assert calls["n"] == 1


def test_a_lock_conflict_that_reaches_the_api_is_409_conflict_not_503():
    request = Request(APIRequestFactory().post("/api/v1/sales/"))
    context = {"view": None, "args": (), "kwargs": {}, "request": request}

    conflict = ExceptionHandler(deadlock(), context).run()
    outage = ExceptionHandler(wrapped(psycopg.OperationalError("connection refused")), context).run()

    assert conflict.status_code == 409
    assert conflict.data["errors"][0]["code"] == "conflict"
    assert outage.status_code == 503
    assert outage.data["errors"][0]["code"] == "service_unavailable"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_deadlock_is_run_again_and_both_transactions_commit():
    first, second = (StockLevel.objects.get(variant=stocked_variant(5)).pk for _ in range(2))
    both_hold_one_lock = threading.Barrier(2)
    attempts, results, errors = Counter(), [], []

    @retry_on_transient_db_errors
    @transaction.atomic
    def lock_both(name: str, one: int, other: int) -> str:
        attempts[name] += 1
        StockLevel.objects.select_for_update().get(pk=one)
        if attempts[name] == 1:
            both_hold_one_lock.wait(timeout=10)  # now each waits for the other's row: PostgreSQL aborts one
        StockLevel.objects.select_for_update().get(pk=other)
        StockLevel.objects.filter(pk__in=(one, other)).update(on_hand=5)
        return name

    def run(name: str, one: int, other: int) -> None:
        try:
            results.append(lock_both(name, one, other))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("a", first, second)),
        threading.Thread(target=run, args=("b", second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert not errors, errors
    assert sorted(results) == ["a", "b"]
    assert sum(attempts.values()) == 3  # the deadlock victim ran once more


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_statement_run_twice_on_a_connection_is_prepared_so_postgresql_plans_it_once(api_client, seller):
    client = api_client(seller)
    for _ in range(3):
        assert client.get("/api/v1/sales/?page_size=50").status_code == 200

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "authtoken_token"' in statement for statement in prepared), prepared
