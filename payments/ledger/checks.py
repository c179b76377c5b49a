"""The ledger's own invariants, recomputed from its entries. Reads only.

Every stored balance equals the sum of its account's entries, no balance but the world's is
negative, all balances of a currency sum to zero, every transaction has two or more positive
legs in one currency that sum to zero, and every account's HMAC chain holds (an edited, inserted
or deleted entry breaks it; see `payments.ledger.chain`). The layers above add their own checks to the
same report (`payments.verification`, `milestones.ledger_checks`).
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Case, Count, F, Q, Sum, When

from payments.ledger.chain import ChainLink, chain_key, chain_verify
from payments.ledger.models import Account, AccountKind, Entry, EntryDirection, LedgerTransaction


@dataclass(frozen=True)
class AccountRow:
    pk: int
    kind: str
    currency: str
    user_id: int | None
    milestone_id: int | None
    stored: int | None  # None: the balance row is missing
    net: int  # what the entries add up to


@dataclass
class LedgerReport:
    accounts: int = 0
    transactions: int = 0
    entries: int = 0
    totals: dict[str, int] = field(default_factory=dict)  # sum of every balance, per currency
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def ledger_check(report: LedgerReport) -> list[AccountRow]:
    """Check balances and transactions into `report`; return every account with its balances."""
    report.transactions = LedgerTransaction.objects.count()
    accounts = _check_balances(report)
    _check_transactions(report)
    _check_chains(report)
    return accounts


def _signed_entry_amount() -> Case:
    return Case(
        When(entries__direction=EntryDirection.CREDIT, then=F("entries__amount")), default=-F("entries__amount")
    )


def _check_balances(report: LedgerReport) -> list[AccountRow]:
    """One query: every account with its stored balance and the sum of its entries."""
    rows = (
        Account.objects.annotate(net=Sum(_signed_entry_amount(), default=0), legs=Count("entries"))
        .values_list(
            "pk", "kind", "currency", "user_id", "milestone_id", "balance__amount", "net", "legs",
            "balance__currency", "balance__may_go_negative",
        )
        .order_by("pk")
    )  # fmt: skip
    accounts: list[AccountRow] = []
    totals: dict[str, int] = defaultdict(int)
    for pk, kind, currency, user_id, milestone_id, stored, net, legs, balance_currency, may_go_negative in rows:
        account = AccountRow(pk, kind, currency, user_id, milestone_id, stored, net)
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
    malformed_leg = Q(entries__amount__lte=0) | ~Q(entries__currency=F("entries__account__currency"))
    suspicious = (
        LedgerTransaction.objects.annotate(
            legs=Count("entries"),
            net=Sum(_signed_entry_amount(), default=0),
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


def _check_chains(report: LedgerReport) -> None:
    """Every entry's HMAC follows from its content and its account's previous entry."""
    rows = Entry.objects.order_by("account_id", "pk").values_list("pk", "chain_hmac", *ChainLink.COLUMNS)
    links = ((pk, stored, ChainLink(*columns)) for pk, stored, *columns in rows.iterator(chunk_size=2000))
    for account_id, entry_id in chain_verify(key=chain_key(), rows=links):
        report.violations.append(
            f"Account #{account_id}: entry #{entry_id} breaks the account's HMAC chain: it, or the entry "
            "before it, was edited, inserted or deleted outside the ledger."
        )
