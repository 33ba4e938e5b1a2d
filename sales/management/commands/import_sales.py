"""Create sales from a CSV file in the format of export_sales: all or nothing per sale, safe to run twice."""

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from sales.csv_io import CsvFormatError, read_sales_csv
from sales.services.imports import iter_rejections, sale_import

PROGRESS_MIN_SALES = 50


class Command(BaseCommand):
    help = (
        "Import sales from FILE (CSV as written by export_sales; - reads standard input). Rows are grouped "
        "by reference; each sale is created in its own transaction, or rejected whole with the line number "
        "and reason of each row. References already in the database are skipped, so a second run creates "
        "nothing. Exits with an error status when any row was rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="The CSV file to read; - reads standard input.")
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="Operator recorded on the activity log, and seller of rows whose seller is blank or unknown.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate and create everything inside a transaction that is rolled back: nothing is saved.",
        )
        parser.add_argument(
            "--encoding", default="utf-8-sig", help="Text encoding of FILE (default utf-8, with or without BOM)."
        )

    def handle(self, *args, file: str, user, dry_run: bool, encoding: str, **options):
        operator = self._user(user)
        rows = self._read(file, encoding)
        report = sale_import(rows=rows, user=operator, dry_run=dry_run, progress=self._progress(options["verbosity"]))
        for line in iter_rejections(report):
            self.stderr.write(line)
        self.stdout.write(report.summary())
        if not report.ok:
            rows_rejected = len({r.line for r in report.rejected_rows})
            raise CommandError(
                f"{rows_rejected} row(s) rejected ({len(report.rejected_sales)} sale(s)); see the lines above. "
                + ("Nothing was saved (dry run)." if dry_run else "The other sales were imported.")
            )

    def _user(self, username: str | None):
        if username is None:
            return None
        User = get_user_model()
        found = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()
        if found is None:
            raise CommandError(f"--user: no user named {username!r}.")
        if not found.is_active:
            raise CommandError(f"--user: user {username!r} is not active.")
        return found

    def _read(self, file: str, encoding: str) -> list:
        """Parse the whole file before touching the database, so a malformed file changes nothing."""
        try:
            if file == "-":
                return list(read_sales_csv(sys.stdin))
            with open(file, encoding=encoding, newline="") as stream:
                return list(read_sales_csv(stream))
        except LookupError as exc:
            raise CommandError(f"--encoding: unknown encoding {encoding!r}.") from exc
        except FileNotFoundError as exc:
            raise CommandError(f"{file}: no such file.") from exc
        except IsADirectoryError as exc:
            raise CommandError(f"{file} is a directory, not a CSV file.") from exc
        except PermissionError as exc:
            raise CommandError(f"{file}: permission denied.") from exc
        except OSError as exc:
            raise CommandError(f"{file}: cannot read it ({exc.strerror or exc}).") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file}: not {encoding} text ({exc.reason} at byte {exc.start}).") from exc
        except CsvFormatError as exc:
            raise CommandError(f"{file}: {exc}") from exc

    def _progress(self, verbosity: int):
        if verbosity < 1:
            return None

        def bar(sales, total):
            return tqdm(
                sales, total=total, desc="sales", unit="sale", file=sys.stderr, disable=total < PROGRESS_MIN_SALES
            )

        return bar
