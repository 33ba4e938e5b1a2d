"""Database plumbing shared by the services: re-running a transaction that lost a lock race.

PostgreSQL aborts one side of a deadlock (SQLSTATE 40P01) or a serialization
conflict (40001). Nothing was written by the aborted transaction, so running
the whole transaction again is safe and is what the client would do anyway;
doing it here means a lock race never reaches the client as an error.
"""

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

DEADLOCK_DETECTED = "40P01"
SERIALIZATION_FAILURE = "40001"
TRANSIENT_SQLSTATES = frozenset({DEADLOCK_DETECTED, SERIALIZATION_FAILURE})

P = ParamSpec("P")
R = TypeVar("R")


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, read from the driver's exception Django wraps."""
    for error in (exc, exc.__cause__):
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if code:
            return code
    return None


def is_transient_db_error(exc: BaseException) -> bool:
    """True for errors that a fresh run of the same transaction may not hit (deadlock, serialization)."""
    return isinstance(exc, DatabaseError) and sqlstate(exc) in TRANSIENT_SQLSTATES


def retry_on_transient_db_errors(
    func: Callable[P, R] | None = None, *, attempts: int = 3, using: str = "default"
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Run a whole transaction (a function under `transaction.atomic`) again after a deadlock or serialization failure.

    Put it outside `@transaction.atomic`. Called inside an outer atomic block
    it runs once and lets the error through: that transaction is already
    aborted, and only whoever opened it can start it again.
    """

    def decorate(inner: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(inner)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if connections[using].in_atomic_block:
                return inner(*args, **kwargs)
            for attempt in range(1, attempts + 1):
                try:
                    return inner(*args, **kwargs)
                except DatabaseError as exc:
                    if attempt == attempts or not is_transient_db_error(exc):
                        raise
                    logger.warning(
                        "%s: %s (SQLSTATE %s), running the transaction again (attempt %d of %d)",
                        inner.__qualname__,
                        type(exc).__name__,
                        sqlstate(exc),
                        attempt + 1,
                        attempts,
                    )
                    # Jitter, so the two sides of a deadlock do not meet again at once.
                    time.sleep(random.uniform(0.01, 0.05) * attempt)
            raise AssertionError("unreachable")  # pragma: no cover

        return wrapper

    return decorate(func) if func is not None else decorate
