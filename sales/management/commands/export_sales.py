"""Write sales to a CSV file (one row per item, with totals), in the format `import_sales` reads."""

import os
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from sales.csv_io import write_sales_csv
from sales.filters import SaleFilter
from sales.models import Sale, SaleItem, SaleStatus

PROGRESS_MIN_SALES = 200


class Command(BaseCommand):
    help = (
        "Export sales to FILE as CSV (- for standard output): one row per item, each row with its sale's "
        "fields and totals, the format import_sales reads. Filters combine with AND."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="Where to write the CSV; - writes to standard output.")
        parser.add_argument(
            "--status",
            action="append",
            choices=SaleStatus.values,
            default=[],
            help="Only sales in this status (repeat for several).",
        )
        parser.add_argument(
            "--since", metavar="DATE", help="Only sales created on or after DATE (ISO 8601 date or date-time)."
        )
        parser.add_argument(
            "--until", metavar="DATE", help="Only sales created on or before DATE (a bare date includes that day)."
        )
        parser.add_argument("--channel", metavar="CODE", help="Only sales of this channel.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be exported; write no file.")

    def handle(self, *args, file: str, status, since, until, channel, dry_run: bool, **options):
        queryset = self._sales(status=status, since=since, until=until, channel=channel)
        to_stdout = file == "-"
        # With the CSV on stdout, the summary goes to stderr so the output stays a clean file.
        report = self.stderr if to_stdout else self.stdout
        if dry_run:
            sales = queryset.count()
            rows = SaleItem.objects.filter(sale__in=queryset).count()
            report.write(f"Dry run: would export {sales} sale(s), {rows} item row(s); nothing written.")
            return
        total = queryset.count()
        progress = self._progress(total, options["verbosity"])
        if to_stdout:
            count = write_sales_csv(queryset, self.stdout, progress=progress)
        else:
            count = self._write_file(Path(file), queryset, progress)
        report.write(f"Exported {count} sale(s) to {'standard output' if to_stdout else file}.")

    def _sales(self, *, status, since, until, channel):
        data = {"status": status, "created_after": since, "created_before": until, "channel": channel}
        filterset = SaleFilter(data={k: v for k, v in data.items() if v}, queryset=Sale.objects.all())
        if not filterset.is_valid():
            names = {"created_after": "--since", "created_before": "--until"}
            problems = [
                f"{names.get(name, '--' + name)}: {' '.join(errors)}" for name, errors in filterset.errors.items()
            ]
            raise CommandError("; ".join(problems))
        return filterset.qs.order_by("created_at", "pk")

    def _write_file(self, path: Path, queryset, progress) -> int:
        """Write next to the target and rename at the end, so a failed export never leaves half a file."""
        if path.is_dir():
            raise CommandError(f"{path} is a directory; give a file name.")
        if not path.parent.is_dir():
            raise CommandError(f"Directory {path.parent} does not exist.")
        try:
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as exc:
            raise CommandError(f"Cannot write to {path.parent}: {exc.strerror}.") from exc
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                count = write_sales_csv(queryset, stream, progress=progress)
            os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; give it a normal file's mode
            os.replace(temporary, path)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror}.") from exc
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        return count

    def _progress(self, total: int, verbosity: int):
        if total < PROGRESS_MIN_SALES or verbosity < 1:
            return None
        return lambda sales: tqdm(sales, total=total, desc="sales", unit="sale", file=sys.stderr)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
