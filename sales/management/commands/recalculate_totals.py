"""Recompute sale totals through the pricing module; report drift, and repair it with --fix."""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from sales.models import Sale
from sales.services.maintenance import audit_sale_daily_totals, sale_recalculate_totals, sale_totals_drift
from salesproject.errors import DomainError


class Command(BaseCommand):
    help = (
        "Price every sale (or one, with --sale) again from its stored lines (unit price, quantity, discounts, "
        "tax rate) and its discount, shipping and tax settings, with the same pricing code the services use, "
        "and report each sale whose stored totals differ. --fix stores the recomputed totals, one transaction "
        "per sale, logging an 'edited' event. Then (without --sale) compares the summary's daily and monthly rollup "
        "with the sales and reports each drifted (day or month, seller, status) row; --fix rewrites them in one "
        "transaction. "
        "Exits with an error status when drift remains or the rollup's triggers are missing or disabled."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sale", metavar="REF", help="Check only the sale with this reference.")
        parser.add_argument("--fix", action="store_true", help="Store the recomputed totals of each drifted sale.")
        parser.add_argument(
            "--dry-run", action="store_true", help="With --fix: say what it would repair, write nothing."
        )

    def handle(self, *args, sale: str | None, fix: bool, dry_run: bool, **options):
        sales = Sale.objects.order_by("pk")
        if sale is not None:
            sales = sales.filter(reference=sale)
            if not sales.exists():
                raise CommandError(f"--sale: no sale with reference {sale!r}.")
        total = sales.count()
        rows = tqdm(
            sales.prefetch_related("items").iterator(chunk_size=500),
            total=total,
            desc="checking",
            unit="sale",
            file=sys.stderr,
            delay=1,
            disable=options["verbosity"] < 1 or not self.stderr.isatty(),
        )
        drifted, fixed, failed, remaining = 0, 0, 0, 0
        for row in rows:
            try:
                drift = sale_totals_drift(sale=row)
                if drift is None:
                    continue
                drifted += 1
                self.stdout.write(f"DRIFT {drift}")
                if not fix or dry_run:
                    remaining += 1
                elif sale_recalculate_totals(sale=row) is not None:
                    fixed += 1
                # else: an edit meanwhile repriced the sale; nothing is left to repair.
            except DomainError as exc:  # stored inputs that cannot be priced at all
                failed += 1
                self.stderr.write(f"FAILED {row.reference}: {exc}")
        summary = f"Checked {total} sale(s), drift {drifted}, fixed {fixed}"
        summary += f", could not price {failed}" if failed else ""
        self.stdout.write(summary + (" (dry run: nothing written)." if fix and dry_run else "."))
        problems = self._check_rollup(fix=fix and not dry_run) if sale is None else []
        if remaining or failed:
            hint = " Run with --fix to repair." if remaining else ""
            problems.insert(0, f"{remaining + failed} sale(s) left with wrong or unpriceable totals.{hint}")
        if problems:
            raise CommandError(" ".join(problems))

    def _check_rollup(self, *, fix: bool) -> list[str]:
        """The summary's daily and monthly rollup against the sales: report (and with fix rewrite) drift;
        say what is left."""
        audit = audit_sale_daily_totals(fix=fix)
        for drift in audit.drift:
            self.stdout.write(f"ROLLUP DRIFT {drift}")
        problems = []
        for level, name in (("day", "daily"), ("month", "monthly")):
            found = sum(1 for drift in audit.drift if drift.level == level)
            fixed = found if fix else 0
            self.stdout.write(f"{name.capitalize()} rollup: drift {found}, fixed {fixed}.")
            if left := found - fixed:
                problems.append(f"{left} {name} rollup row(s) differ from the sales. Run with --fix to repair.")
        if audit.triggers_off:
            problems.append(
                f"The rollup's triggers are missing or disabled ({', '.join(audit.triggers_off)}): "
                "it cannot stay exact."
            )
        return problems
