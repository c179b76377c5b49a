"""Each milestone's state against its escrow in the ledger, on top of the ledger's own checks.

The ledger does not know milestone states; this module does: funded, submitted and disputed
milestones hold exactly their amount in escrow, every other one holds nothing, and released +
refunded never exceeds funded. `ledger_verify` runs every check (`manage.py ledger_verify`).
Reads only.
"""

from dataclasses import dataclass

from django.db.models import Q

from core.money import format_money
from milestones.models import ESCROW_STATES, Milestone
from payments.ledger.checks import LedgerReport
from payments.selectors import escrow_balances, milestone_ids_with_money, milestone_money_totals
from payments.verification import payments_verify

MILESTONE_BATCH = 500


@dataclass
class LedgerVerifyReport(LedgerReport):
    milestones: int = 0  # how many milestones were checked against their escrow


def ledger_verify() -> LedgerVerifyReport:
    """Every check: the ledger's, payments' (earnings lots, payouts) and each milestone's escrow."""
    report = LedgerVerifyReport()
    payments_verify(report)
    milestones_escrow_check(report)
    return report


def milestones_escrow_check(report: LedgerVerifyReport) -> None:
    escrow = escrow_balances()
    holding = frozenset(ESCROW_STATES)
    candidates = Milestone.objects.filter(Q(pk__in=milestone_ids_with_money()) | Q(state__in=holding)).order_by("pk")
    rows = list(candidates.values_list("pk", "state", "amount", "currency"))
    report.milestones = len(rows)
    for start in range(0, len(rows), MILESTONE_BATCH):
        batch = rows[start : start + MILESTONE_BATCH]
        totals = milestone_money_totals(milestone_ids=[pk for pk, *_ in batch])
        for pk, state, amount, currency in batch:
            held = escrow.get(pk, 0)
            money = totals[pk]
            if state in holding and held != amount:
                report.violations.append(
                    f"Milestone #{pk} is {state} for {format_money(amount, currency)} but its escrow holds "
                    f"{format_money(held, currency)}."
                )
            if state not in holding and held != 0:
                report.violations.append(
                    f"Milestone #{pk} is {state} but its escrow still holds {format_money(held, currency)}."
                )
            if money.released + money.refunded > money.funded:
                report.violations.append(
                    f"Milestone #{pk}: released {money.released} + refunded {money.refunded} exceeds funded "
                    f"{money.funded}."
                )
            if money.in_escrow != held:
                report.violations.append(f"Milestone #{pk}: escrow entries say {money.in_escrow}, balance {held}.")
