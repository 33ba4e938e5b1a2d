"""`manage.py db_worker`: django-tasks-db's worker, defaulting to every queue and a 0.2 s poll (events.md).

Tasks go to the `default`, `webhooks` and `emails` queues (settings.TASKS); the library's worker takes only
`default` unless told otherwise, so a plain `manage.py db_worker` would never deliver a webhook or send an
e-mail. Here a plain run works every queue (`--queue-name webhooks` still dedicates a worker to one) and polls
an idle queue every 0.2 s, so a webhook leaves well within a second of the commit (1 s polls: p99 near 1 s).
This app is listed before django_tasks_db in INSTALLED_APPS so that this command is the one `manage.py` runs.
"""

from django_tasks_db.management.commands.db_worker import Command as LibraryCommand

DEFAULT_QUEUES = "*"
DEFAULT_INTERVAL = 0.2


class Command(LibraryCommand):
    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(queue_name=DEFAULT_QUEUES, interval=DEFAULT_INTERVAL)
