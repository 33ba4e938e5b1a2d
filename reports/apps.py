from django.apps import AppConfig
from django.db.backends.signals import connection_created


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from reports.expressions import register_sqlite_functions

        # SQLite (the tests' database) computes in floats: give it the exact half-up rounding PostgreSQL's
        # numeric ROUND does, so both databases answer the same cents.
        connection_created.connect(register_sqlite_functions, dispatch_uid="reports_sqlite_functions")
