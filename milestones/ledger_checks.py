"""Each milestone's state against its escrow in the ledger, on top of the ledger's own checks.

The ledger does not know milestone states; this module does: funded, submitted and disputed
milestones hold exactly their amount in escrow, every other one holds nothing, released +
refunded never exceeds funded, and each state agrees with the milestone's ledger history
(`HISTORY`): one that was never funded has no transactions at all, every other was funded once,
a released one was released or split once, a refunded one refunded or split once.
`ledger_verify` runs every check (`manage.py ledger_verify`). Reads only.
"""

from collections import Counter
from dataclasses import dataclass

from django.db.models import Q

from core.money import format_money
from milestones.models import ESCROW_STATES, UNFUNDED_STATES, Milestone, MilestoneState
from payments.ledger.checks import LedgerReport
from payments.models import TransactionKind
from payments.selectors import (
    escrow_balances,
    milestone_ids_with_money,
    milestone_money_totals,
    milestone_transaction_kinds,
)
from payments.verification import payments_verify

MILESTONE_BATCH = 500
S, T = MilestoneState, TransactionKind


@dataclass(frozen=True)
class History:
    """What a state requires of the milestone's ledger transactions, by kind."""

    funded: bool  # exactly one `fund`; otherwise no transaction at all
    resolved_by: tuple[str, ...] = ()  # exactly one of these kinds; none of the other resolutions
    bonus: bool = False  # may carry one bonus


RESOLUTIONS = (T.RELEASE, T.REFUND, T.SPLIT)
NEVER_FUNDED = History(funded=False)
HISTORY: dict[str, History] = {
    **dict.fromkeys((*UNFUNDED_STATES, S.CANCELLED), NEVER_FUNDED),
    **dict.fromkeys(ESCROW_STATES, History(funded=True)),
    S.RELEASED: History(funded=True, resolved_by=(T.RELEASE, T.SPLIT), bonus=True),
    S.REFUNDED: History(funded=True, resolved_by=(T.REFUND, T.SPLIT)),
}


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
    funded_once = [state for state, history in HISTORY.items() if history.funded]
    candidates = Milestone.objects.filter(Q(pk__in=milestone_ids_with_money()) | Q(state__in=funded_once))
    rows = list(candidates.order_by("pk").values_list("pk", "state", "amount", "currency"))
    report.milestones = len(rows)
    for start in range(0, len(rows), MILESTONE_BATCH):
        batch = rows[start : start + MILESTONE_BATCH]
        ids = [pk for pk, *_ in batch]
        totals = milestone_money_totals(milestone_ids=ids)
        kinds = milestone_transaction_kinds(milestone_ids=ids)
        for pk, state, amount, currency in batch:
            _history_check(report, pk, state, kinds[pk])
            held = escrow.get(pk, 0)
            money = totals[pk]
            if state in holding and held != amount:
                report.violations.append(
                    f"Milestone #{pk} is {state} for {format_money(amount, currency)} but its escrow holds "
                    f"{format_money(held, currency)}."
                )
            if state in holding and money.funded != held:
                report.violations.append(
                    f"Milestone #{pk} is {state}: the ledger funded {format_money(money.funded, currency)} but its "
                    f"escrow holds {format_money(held, currency)}."
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


def _history_check(report: LedgerVerifyReport, pk: int, state: str, kinds: Counter[str]) -> None:
    """The milestone's state against the kinds of its ledger transactions (see HISTORY)."""
    expected = HISTORY[state]
    label = f"Milestone #{pk} is {state}"
    if not expected.funded:
        if kinds:
            report.violations.append(f"{label}, so it never held escrow, but the ledger has {dict(kinds)} for it.")
        return
    if kinds[T.FUND] != 1:
        report.violations.append(f"{label} but was funded {kinds[T.FUND]} times in the ledger, not once.")
    resolutions = sum(kinds[kind] for kind in expected.resolved_by)
    if expected.resolved_by and resolutions != 1:
        names = " or ".join(expected.resolved_by)
        report.violations.append(f"{label} but the ledger has {resolutions} {names} transactions for it, not one.")
    others = {kind: kinds[kind] for kind in RESOLUTIONS if kind not in expected.resolved_by and kinds[kind]}
    if others:
        report.violations.append(f"{label} but the ledger has {others} for it.")
    if kinds[T.BONUS] > (1 if expected.bonus else 0):
        report.violations.append(f"{label} but the ledger has {kinds[T.BONUS]} bonuses for it.")
