"""Recompute the ledger from its entries and report every invariant that does not hold.

Used by `manage.py ledger_verify` and by the tests after every step. Reads only.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import Case, Count, F, Q, Sum, When

from core.money import format_money
from payments.models import (
    Account,
    AccountKind,
    EarningsLot,
    EntryDirection,
    LedgerTransaction,
    Payout,
    PayoutStatus,
)
from payments.selectors import milestone_money_totals

# Milestone states as stored (payments reads them by name; it does not import the milestones app).
ESCROW_HOLDING_STATES = frozenset({"funded", "submitted", "disputed"})
MILESTONE_BATCH = 500


@dataclass
class LedgerReport:
    accounts: int = 0
    transactions: int = 0
    entries: int = 0
    milestones: int = 0
    totals: dict[str, int] = field(default_factory=dict)  # sum of every balance, per currency
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def ledger_verify() -> LedgerReport:
    report = LedgerReport(transactions=LedgerTransaction.objects.count())
    balances = _check_balances(report)
    _check_transactions(report)
    _check_earnings_and_payouts(report, balances)
    _check_milestones(report, balances)
    return report


@dataclass(frozen=True)
class _AccountRow:
    pk: int
    kind: str
    currency: str
    user_id: int | None
    milestone_id: int | None
    stored: int | None  # None: the balance row is missing
    net: int  # what the entries add up to


def _check_balances(report: LedgerReport) -> list[_AccountRow]:
    """One query: every account with its stored balance and the sum of its entries."""
    signed = Case(
        When(entries__direction=EntryDirection.CREDIT, then=F("entries__amount")), default=-F("entries__amount")
    )
    rows = (
        Account.objects.annotate(net=Sum(signed, default=0), legs=Count("entries"))
        .values_list(
            "pk", "kind", "currency", "user_id", "milestone_id", "balance__amount", "net", "legs",
            "balance__currency", "balance__may_go_negative",
        )
        .order_by("pk")
    )  # fmt: skip
    accounts: list[_AccountRow] = []
    totals: dict[str, int] = defaultdict(int)
    for pk, kind, currency, user_id, milestone_id, stored, net, legs, balance_currency, may_go_negative in rows:
        account = _AccountRow(pk, kind, currency, user_id, milestone_id, stored, net)
        accounts.append(account)
        report.entries += legs
        label = f"Account #{pk} ({AccountKind(kind).label}, {currency})"
        if stored is None:
            report.violations.append(f"{label} has no balance row.")
            continue
        totals[currency] += stored
        if stored != net:
            report.violations.append(f"{label}: stored balance {stored} but its entries sum to {net}.")
        if stored < 0 and kind != AccountKind.WORLD:
            report.violations.append(f"{label} is negative: {stored}.")
        if may_go_negative != (kind == AccountKind.WORLD) or balance_currency != currency:
            report.violations.append(f"{label}: its balance row has the wrong currency or limit.")
    report.accounts = len(accounts)
    report.totals = dict(sorted(totals.items()))
    for currency, total in report.totals.items():
        if total != 0:
            report.violations.append(f"All {currency} balances sum to {total}, not zero.")
    return accounts


def _check_transactions(report: LedgerReport) -> None:
    """One query: transactions with fewer than two legs, non-zero sums, mixed currencies or bad legs.

    The ledger has no currency exchange, so a transaction in one currency sums to zero per
    currency exactly when its legs sum to zero; one mixing currencies is itself a violation.
    """
    signed = Case(
        When(entries__direction=EntryDirection.CREDIT, then=F("entries__amount")), default=-F("entries__amount")
    )
    malformed_leg = Q(entries__amount__lte=0) | ~Q(entries__currency=F("entries__account__currency"))
    suspicious = (
        LedgerTransaction.objects.annotate(
            legs=Count("entries"),
            net=Sum(signed, default=0),
            currencies=Count("entries__currency", distinct=True),
            malformed=Count("entries", filter=malformed_leg),
        )
        .filter(Q(legs__lt=2) | ~Q(net=0) | Q(currencies__gt=1) | Q(malformed__gt=0))
        .values_list("pk", "legs", "net", "currencies", "malformed")
        .order_by("pk")
    )
    for pk, legs, net, currencies, malformed in suspicious:
        if legs < 2:
            report.violations.append(f"Transaction #{pk} has {legs} entries; at least two are required.")
        if net:
            report.violations.append(f"Transaction #{pk} does not sum to zero (off by {net}).")
        if currencies > 1:
            report.violations.append(f"Transaction #{pk} mixes currencies; the ledger has no exchange.")
        if malformed:
            report.violations.append(f"Transaction #{pk} has a non-positive leg or one in another currency.")


def _check_earnings_and_payouts(report: LedgerReport, accounts: list[_AccountRow]) -> None:
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


def _check_milestones(report: LedgerReport, accounts: list[_AccountRow]) -> None:
    Milestone = apps.get_model("milestones", "Milestone")
    escrow = {a.milestone_id: a.stored or 0 for a in accounts if a.kind == AccountKind.ESCROW}
    with_money = set(escrow) | set(
        LedgerTransaction.objects.filter(milestone__isnull=False).values_list("milestone_id", flat=True).distinct()
    )
    candidates = Milestone.objects.filter(Q(pk__in=with_money) | Q(state__in=ESCROW_HOLDING_STATES)).order_by("pk")
    rows = list(candidates.values_list("pk", "state", "amount", "currency"))
    report.milestones = len(rows)
    for start in range(0, len(rows), MILESTONE_BATCH):
        batch = rows[start : start + MILESTONE_BATCH]
        totals = milestone_money_totals(milestone_ids=[pk for pk, *_ in batch])
        for pk, state, amount, currency in batch:
            held = escrow.get(pk, 0)
            money = totals[pk]
            if state in ESCROW_HOLDING_STATES and held != amount:
                report.violations.append(
                    f"Milestone #{pk} is {state} for {format_money(amount, currency)} but its escrow holds "
                    f"{format_money(held, currency)}."
                )
            if state not in ESCROW_HOLDING_STATES and held != 0:
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
