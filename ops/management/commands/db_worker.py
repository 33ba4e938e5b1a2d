"""`manage.py db_worker`: django-tasks-db's worker, defaulting to every queue and a 0.2 s poll (events.md), and
surviving the database going away (issue 17).

Tasks go to the `default`, `webhooks` and `emails` queues (settings.TASKS); the library's worker takes only
`default` unless told otherwise, so a plain `manage.py db_worker` would never deliver a webhook or send an
e-mail. Here a plain run works every queue (`--queue-name webhooks` still dedicates a worker to one) and polls
an idle queue every 0.2 s, so a webhook leaves well within a second of the commit (1 s polls: p99 near 1 s).
This app is listed before django_tasks_db in INSTALLED_APPS so that this command is the one `manage.py` runs.

The library's worker dies on any database error other than SQLite's "database is locked", so a PostgreSQL
restart or failover would stop every worker until someone restarts them. `ResilientWorker` logs a warning,
drops the broken connections and polls again after a back-off instead. A task that lost the database mid-run
stays RUNNING in the task table; `manage.py run_periodic` gives its work a new task (webhook deliveries once
their lease ends, e-mails after `notifications.services.LOST_AFTER`), so nothing is lost.
"""

import logging
import time
from contextlib import suppress

from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django_tasks_db.management.commands import db_worker as library
from django_tasks_db.management.commands.db_worker import Command as LibraryCommand
from django_tasks_db.management.commands.db_worker import Worker

logger = logging.getLogger("django_tasks_db")

DEFAULT_QUEUES = "*"
DEFAULT_INTERVAL = 0.2
BACKOFF_FIRST = 0.5  # seconds before the first poll after losing the database; doubles up to BACKOFF_MAX
BACKOFF_MAX = 10.0


class ResilientWorker(Worker):
    """The library's worker, resumed with a back-off whenever the database is unreachable or drops its
    connection (including when recording a task's outcome fails for that reason). A shutdown signal still
    stops it: while idle or backing off at once (the library's handler exits), after the current task else."""

    def run(self) -> None:
        delay = BACKOFF_FIRST
        while True:
            started = time.monotonic()
            try:
                return super().run()
            except (OperationalError, InterfaceError) as exc:
                if not self.running:  # told to stop while its task lost the database
                    return
                if time.monotonic() - started > BACKOFF_MAX:  # it ran fine for a while: a new outage
                    delay = BACKOFF_FIRST
                logger.warning(
                    "Worker %s lost the database (%s: %s); polling again in %g s",
                    self.worker_id,
                    type(exc).__name__,
                    " ".join(str(exc).split()),  # one line
                    delay,
                )
                for connection in connections.all(initialized_only=True):
                    with suppress(DatabaseError):  # a broken connection may fail to close; it is dropped anyway
                        connection.close()
                time.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)


class Command(LibraryCommand):
    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(queue_name=DEFAULT_QUEUES, interval=DEFAULT_INTERVAL)

    def handle(self, *args, **options) -> None:
        # The library's handle builds its worker from the module-level name `Worker` and has no hook for another
        # class; swapping that name while this command runs (once per process, before any worker exists) keeps
        # its option checks, signals and --reload handling instead of copying them here.
        library.Worker = ResilientWorker
        try:
            super().handle(*args, **options)
        finally:
            library.Worker = Worker
