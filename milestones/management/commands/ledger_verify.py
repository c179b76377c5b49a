"""`manage.py ledger_verify`: recompute the ledger from its entries; exit 1 on any violation."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.money import format_money
from milestones.ledger_checks import ledger_verify


class Command(BaseCommand):
    help = (
        "Recompute every balance from the entries; check that each transaction sums to zero, every account's "
        "HMAC chain, that every deposit, withdrawal and payout matches the gateway's or the payout's record, that "
        "each milestone's state matches its escrow and ledger history, and each earnings lot's hold. "
        "Exits 1 on any violation."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = ledger_verify()
        self.stdout.write(
            f"Checked {report.accounts} accounts, {report.transactions} transactions, {report.entries} entries, "
            f"{report.milestones} milestones."
        )
        for currency, total in report.totals.items():
            self.stdout.write(f"  {currency}: all balances sum to {format_money(total, currency)}")
        if report.ok:
            self.stdout.write(self.style.SUCCESS("Ledger OK: no violations."))
            return
        for violation in report.violations:
            self.stderr.write(f"  VIOLATION: {violation}")
        raise CommandError(f"Ledger verification failed: {len(report.violations)} violation(s).")
