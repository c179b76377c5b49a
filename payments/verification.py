"""Recompute the ledger from its entries and report every invariant of payments that does not hold.

The ledger core's checks (balances recomputed from entries, zero-sum transactions) plus
payments' own: pending earnings equal the unmatured lots, payouts in flight equal the requested
payouts. The milestone-vs-escrow checks live above, in `milestones.ledger_checks`, which also
runs these; `manage.py ledger_verify` runs them all. Reads only.
"""

from django.db.models import Sum

from payments.ledger.checks import AccountRow, LedgerReport, ledger_check
from payments.ledger.models import AccountKind
from payments.models import EarningsLot, Payout, PayoutStatus


def payments_verify(report: LedgerReport | None = None) -> LedgerReport:
    """Run the ledger's and payments' checks into `report` (a new one by default) and return it."""
    report = LedgerReport() if report is None else report
    accounts = ledger_check(report)
    _check_earnings_and_payouts(report, accounts)
    return report


def _check_earnings_and_payouts(report: LedgerReport, accounts: list[AccountRow]) -> None:
    """Pending earnings equal the unmatured lots; payouts in flight equal the requested payouts."""
    lots = EarningsLot.objects.filter(matured_transaction__isnull=True).values("freelancer_id", "currency")
    payouts = Payout.objects.filter(status=PayoutStatus.REQUESTED).values("user_id", "currency")
    expectations = (
        (AccountKind.PENDING_EARNINGS, lots, "freelancer_id", "unmatured earnings lots"),
        (AccountKind.PAYOUTS_IN_FLIGHT, payouts, "user_id", "requested payouts"),
    )
    for kind, grouped, owner_field, label in expectations:
        totals = grouped.annotate(total=Sum("amount")).values_list(owner_field, "currency", "total").order_by()
        expected = {(owner, currency): total for owner, currency, total in totals}
        actual = {(a.user_id, a.currency): a.stored or 0 for a in accounts if a.kind == kind}
        for owner_currency in sorted(set(expected) | set(actual)):
            want, have = expected.get(owner_currency, 0), actual.get(owner_currency, 0)
            if want != have:
                user_id, currency = owner_currency
                report.violations.append(
                    f"{AccountKind(kind).label} of user #{user_id} ({currency}) is {have} but the {label} add up "
                    f"to {want}."
                )
