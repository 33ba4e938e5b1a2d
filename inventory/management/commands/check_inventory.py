"""Compare stock levels with the ledger and reservations with pending sales; repair with --fix."""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from inventory.services.audit import inventory_audit, stock_level_repair
from salesproject.errors import DomainError


class Command(BaseCommand):
    help = (
        "Check every stock level: on_hand and reserved must equal the sums of its ledger rows, and reserved must "
        "equal what pending sales hold there. Reports each drift and exits with an error status when drift "
        "remains. --fix repairs each level in its own transaction: the ledger is the truth for on_hand, pending "
        "sales for reserved; one 'correction' ledger row is appended per level (the ledger is never edited)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--fix", action="store_true", help="Repair each drifted level with a correcting ledger row."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="With --fix: show the corrections it would write, write nothing."
        )

    def handle(self, *args, fix: bool, dry_run: bool, **options):
        audit = inventory_audit()
        if not audit.drifts:
            self.stdout.write(self.style.SUCCESS(f"Checked {audit.checked} stock level(s): no drift."))
            return
        for drift in audit.drifts:
            self.stdout.write(f"DRIFT {drift}")
            if fix and dry_run:
                self.stdout.write(f"  {self._plan(drift)}")

        fixed, failed, gone = 0, 0, 0
        if fix and not dry_run:
            drifts = tqdm(
                audit.drifts,
                desc="repairing",
                unit="level",
                file=sys.stderr,
                delay=1,
                disable=options["verbosity"] < 1 or not self.stderr.isatty(),
            )
            for drift in drifts:
                try:
                    repaired = stock_level_repair(key=drift.key, reason="check_inventory --fix")
                except DomainError as exc:
                    failed += 1
                    self.stderr.write(f"NOT FIXED {exc}")
                    continue
                if repaired is None:
                    gone += 1  # a concurrent operation left it consistent
                    continue
                fixed += 1
                self.stdout.write(f"FIXED {repaired.sku} @ {repaired.warehouse}: {self._plan(repaired, done=True)}")
        remaining = len(audit.drifts) - fixed - gone
        summary = f"Checked {audit.checked} stock level(s), drift {len(audit.drifts)}, fixed {fixed}"
        summary += f", could not fix {failed}" if failed else ""
        self.stdout.write(summary + (" (dry run: nothing written)." if fix and dry_run else "."))
        if remaining:
            hint = "" if fix and not dry_run else " Run with --fix to repair."
            raise CommandError(f"{remaining} stock level(s) drifted and were not repaired.{hint}")

    @staticmethod
    def _plan(drift, *, done: bool = False) -> str:
        if not drift.repairable:
            return "cannot repair: pending sales hold more than the ledger has on hand"
        row = (
            f"a correction row (reserved {drift.reserved_correction:+d})"
            if drift.reserved_correction
            else "a correction row (zero deltas, for the record)"
        )
        level = f"the level to {drift.target_on_hand} on hand / {drift.target_reserved} reserved"
        return f"appended {row} and set {level}" if done else f"would append {row} and set {level}"
