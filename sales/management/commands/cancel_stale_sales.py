"""Cancel pending sales whose reservation is older than a cutoff, releasing their stock."""

import re
import sys
from datetime import UTC, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from sales.services.maintenance import STALE_CANCEL_REASON, sale_cancel_stale, stale_pending_sales
from salesproject.errors import DomainError

DURATION = re.compile(r"(\d+)([smhd])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: str) -> timedelta:
    """`90s`, `30m`, `48h`, `2d` → timedelta; anything else (or zero) is refused."""
    match = DURATION.fullmatch(value.strip())
    if match is None:
        raise CommandError(
            f"--older-than: {value!r} is not a duration; use a whole number and a unit: 90s, 30m, 48h or 2d."
        )
    amount, unit = int(match[1]), match[2]
    if amount == 0:
        raise CommandError("--older-than must be more than zero (zero would cancel every pending sale).")
    try:
        return timedelta(**{UNITS[unit]: amount})
    except OverflowError:
        raise CommandError(f"--older-than: {value!r} is too long.") from None


class Command(BaseCommand):
    help = (
        "Cancel every sale that has been pending (submitted, not confirmed) for longer than --older-than, "
        f"releasing its reserved stock. The cancel reason is {STALE_CANCEL_REASON.value!r} with a note saying "
        "the sale went stale. Each sale is cancelled in its own transaction, so one failure does not undo "
        "the others; exits with an error status if any sale could not be cancelled."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            required=True,
            metavar="DURATION",
            help="How long a sale may stay pending: a whole number and s, m, h or d (90s, 30m, 48h, 2d).",
        )
        parser.add_argument("--dry-run", action="store_true", help="List the sales it would cancel; change nothing.")

    def handle(self, *args, older_than: str, dry_run: bool, **options):
        age = parse_duration(older_than)
        now = timezone.now()
        stale = list(stale_pending_sales(older_than=age, now=now).only("pk", "reference"))
        cancelled, skipped, failed = 0, 0, 0
        sales = tqdm(
            stale,
            desc="cancelling",
            unit="sale",
            file=sys.stderr,
            delay=1,
            disable=dry_run or options["verbosity"] < 1 or not self.stderr.isatty(),
        )
        for sale in sales:
            since = f"pending since {sale.pending_since.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
            if dry_run:
                self.stdout.write(f"would cancel {sale.reference} ({since})")
                continue
            try:
                done = sale_cancel_stale(sale=sale, older_than=age, now=now)
            except DomainError as exc:
                failed += 1
                self.stderr.write(f"FAILED {sale.reference}: {exc}")
                continue
            if done is None:
                skipped += 1
                if options["verbosity"] > 0:
                    self.stdout.write(f"skipped {sale.reference}: no longer pending or no longer stale")
            else:
                cancelled += 1
                if options["verbosity"] > 0:
                    self.stdout.write(f"cancelled {sale.reference} ({since})")
        summary = f"Found {len(stale)} stale pending sale(s) (pending longer than {older_than})"
        if dry_run:
            self.stdout.write(f"{summary}; dry run: nothing cancelled.")
            return
        self.stdout.write(f"{summary}: cancelled {cancelled}, skipped {skipped} (changed meanwhile), failed {failed}.")
        if failed:
            raise CommandError(f"{failed} sale(s) could not be cancelled; see the messages above.")
