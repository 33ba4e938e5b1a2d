"""Recompute every sale's paid total and payment status from its payments."""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from sales.models import Sale
from sales.services.maintenance import payment_drift, sale_reconcile_payments
from salesproject.errors import DomainError


class Command(BaseCommand):
    help = (
        "Compare every sale's paid total and payment status with its successful payments and refunds, and "
        "repair each one that differs (one transaction per sale, logging an 'edited' event). --dry-run only "
        "reports, and then exits with an error status when anything differs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sale", metavar="REF", help="Reconcile only the sale with this reference.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")

    def handle(self, *args, sale: str | None, dry_run: bool, **options):
        sales = Sale.objects.all()
        if sale is not None:
            sales = sales.filter(reference=sale)
            if not sales.exists():
                raise CommandError(f"--sale: no sale with reference {sale!r}.")
        checked = sales.count()
        drifts = list(payment_drift(sales=sales))
        fixed, failed = 0, 0
        rows = tqdm(
            drifts,
            desc="reconciling",
            unit="sale",
            file=sys.stderr,
            delay=1,
            disable=dry_run or options["verbosity"] < 1 or not self.stderr.isatty(),
        )
        for drift in rows:
            self.stdout.write(f"{'WOULD FIX' if dry_run else 'DRIFT'} {drift}")
            if dry_run:
                continue
            try:
                if sale_reconcile_payments(sale=drift.sale_id) is not None:
                    fixed += 1
            except DomainError as exc:
                failed += 1
                self.stderr.write(f"FAILED {drift.reference}: {exc}")
        summary = f"Checked {checked} sale(s), drift {len(drifts)}, fixed {fixed}"
        summary += f", failed {failed}" if failed else ""
        self.stdout.write(summary + (" (dry run: nothing written)." if dry_run else "."))
        if failed:
            raise CommandError(f"{failed} sale(s) could not be reconciled; see the messages above.")
        if dry_run and drifts:
            raise CommandError(f"{len(drifts)} sale(s) have payment figures that differ from their payments.")
