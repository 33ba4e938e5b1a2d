"""List the fulfilments that are late: expected by now, neither arrived nor sent back (the operators' report)."""

import csv
import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sales.selectors import delayed_fulfillments

DURATION = re.compile(r"(\d+)([smhd])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
HEADINGS = ("number", "sale_reference", "carrier", "tracking_code", "expected_at", "late_by", "late_hours", "status")


def parse_duration(value: str) -> timedelta:
    """`90s`, `30m`, `48h`, `2d` → timedelta (`0d`: every fulfilment past its date); anything else is refused."""
    match = DURATION.fullmatch(value.strip())
    if match is None:
        raise CommandError(f"--older-than: {value!r} is not a duration; use a whole number and s, m, h or d: 2d.")
    try:
        return timedelta(**{UNITS[match[2]]: int(match[1])})
    except OverflowError:
        raise CommandError(f"--older-than: {value!r} is too long.") from None


def late_by(late: timedelta) -> str:
    """ "2d 3h", "5h 20m", "12m": the two largest units are enough to act on."""
    minutes = int(late.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


class Command(BaseCommand):
    help = (
        "List the fulfilments whose expected date passed and that are neither delivered, picked up nor returned: "
        "number, sale, carrier, tracking code, expected date, how late and status, the latest first. "
        "Reads only; exits 0 whether or not any is late."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", metavar="DURATION", default="0m",
            help="Only those late by more than this: a whole number and s, m, h or d (48h, 2d). Default: any.",
        )
        parser.add_argument(
            "--format", choices=("text", "csv"), default="text",
            help="text: an aligned table for people (default); csv: one row per fulfilment, with a header.",
        )

    def handle(self, *args, older_than: str, format: str, **options):
        now = timezone.now()
        fulfillments = list(delayed_fulfillments(now=now, older_than=parse_duration(older_than)))
        rows = [
            (
                f.number,
                f.sale.reference,
                f.carrier.code if f.carrier_id else "",
                f.tracking_code,
                f.expected_at,
                now - f.expected_at,
                f.get_status_display().lower(),
            )
            for f in fulfillments
        ]
        if format == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(HEADINGS)
            for number, sale, carrier, code, expected, late, status in rows:
                writer.writerow((number, sale, carrier, code, expected.isoformat(), late_by(late),
                                 f"{late.total_seconds() / 3600:.1f}", status))
            return
        if not rows:
            self.stdout.write("No delayed fulfilments.")
            return
        table = [("Fulfilment", "Sale", "Carrier", "Tracking code", "Expected", "Late by", "Status")]
        zone = timezone.get_current_timezone()
        table += [
            (number, sale, carrier or "-", code or "-", f"{expected.astimezone(zone):%Y-%m-%d %H:%M}", late_by(late),
             status)
            for number, sale, carrier, code, expected, late, status in rows
        ]
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            self.stdout.write("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())
        self.stdout.write(f"{len(rows)} delayed fulfilment{'s' if len(rows) != 1 else ''}.")
