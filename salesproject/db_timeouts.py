"""A bound on how long one SQL statement of the web app may run: PostgreSQL's `statement_timeout`.

`DATABASE_STATEMENT_TIMEOUT` (milliseconds; `0` turns it off) is sent as a connection
startup option (`options=-c statement_timeout=…`), so it costs no query per request or
per connection, and holds for pooled and replica connections alike. PostgreSQL cancels a
statement that runs longer (SQLSTATE 57014); the API answers it with 503 `query_timeout`
(salesproject/api/exceptions.py) instead of holding a gunicorn worker until it is killed.

Management commands are exempt (`migrate` building an index, an import, a repair over every
sale may rightly run for minutes), except `runserver`, which serves the web app. They run
in the same environment as the web app, so the exemption has to follow the process, not
the environment: it is read from how the process was started.
"""

import os
from collections.abc import Sequence
from pathlib import Path

QUERY_CANCELED = "57014"  # SQLSTATE of a statement cancelled by statement_timeout (or by pg_cancel_backend)
# A list request runs two heavy statements (the COUNT(*), then the page, which reads about as
# much): 2 × 15 s stays within gunicorn's default 30 s worker timeout, so the client gets the
# 503 rather than a killed worker; and a page-number page 10,000 deep of 1 M sales (p99 13.7 s
# in bench/RESULTS.md, 8 connections on 2 cores) still answers.
PRODUCTION_DEFAULT_MS = 15_000
DEVELOPMENT_DEFAULT_MS = 0  # off: a developer's breakpoints and ad-hoc data loads are not cut


def is_management_command(argv: Sequence[str]) -> bool:
    """True for `manage.py <command>`, `django-admin <command>` and `python -m django <command>`, but not runserver."""
    if len(argv) < 2:
        return False
    program = Path(argv[0])
    started_by_django = program.name in {"manage.py", "django-admin"} or (
        program.name == "__main__.py" and program.parent.name == "django"
    )
    return started_by_django and argv[1] != "runserver"


def statement_timeout_ms(*, production: bool, argv: Sequence[str]) -> int:
    """The web app's statement timeout in milliseconds, from `DATABASE_STATEMENT_TIMEOUT`; 0 for commands."""
    if is_management_command(argv):
        return 0
    default = PRODUCTION_DEFAULT_MS if production else DEVELOPMENT_DEFAULT_MS
    raw = os.environ.get("DATABASE_STATEMENT_TIMEOUT", "").strip()
    return max(int(raw), 0) if raw else default


def with_statement_timeout(config: dict, milliseconds: int) -> dict:
    """Add the timeout to a PostgreSQL database's connection options; a `statement_timeout` already there wins."""
    if milliseconds <= 0 or config["ENGINE"] != "django.db.backends.postgresql":
        return config
    options = config.setdefault("OPTIONS", {})
    startup = options.get("options", "")
    if "statement_timeout" not in startup:
        options["options"] = f"{startup} -c statement_timeout={milliseconds}".strip()
    return config
