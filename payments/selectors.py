"""Reads of the ledger: balances, earnings, statements and per-milestone totals."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum

from payments.ledger.models import (
    Account,
    AccountKind,
    Balance,
    Entry,
    EntryDirection,
    LedgerTransaction,
    TransactionKind,
)
from payments.models import EarningsLot, Payout
from users.models import User

K, T = AccountKind, TransactionKind
# Pending payments listed one by one on the wallet and dashboard; the rest are counted (and on the statement).
PENDING_LOTS_SHOWN = 5


@dataclass(frozen=True)
class MilestoneMoney:
    """What happened to one milestone's money, in minor units of its currency.

    funded: put into escrow (fund, plus change-order increases, minus decreases);
    released: gross amount that left escrow to the freelancer side (share + fee);
    fee: platform fees on the release, split and bonus; refunded: escrow back to the client;
    bonus: gross bonus paid from the client balance; in_escrow: held now.
    """

    funded: int = 0
    released: int = 0
    fee: int = 0
    refunded: int = 0
    bonus: int = 0
    in_escrow: int = 0


# One ledger group: (account kind, direction, transaction kind, summed amount).
_Group = tuple[str, str, str, int]


def _money_from(groups: Iterable[_Group]) -> MilestoneMoney:
    """Fold a milestone's (or several milestones') entry groups into its totals (see MilestoneMoney).

    The database only groups and sums: a dozen filtered SUMs cost more to build in the ORM than to run.
    """
    funded = released = fee = refunded = bonus = in_escrow = 0
    for account_kind, direction, kind, amount in groups:
        into = direction == EntryDirection.CREDIT
        if account_kind == K.ESCROW:
            in_escrow += amount if into else -amount
            if into and kind in (T.FUND, T.CHANGE):
                funded += amount
            elif not into and kind == T.CHANGE:
                funded -= amount
            elif not into and kind in (T.RELEASE, T.SPLIT):
                released += amount
        elif account_kind == K.CLIENT_BALANCE:
            if into and kind == T.SPLIT:
                released -= amount
            if into and kind in (T.REFUND, T.SPLIT):
                refunded += amount
            elif not into and kind == T.BONUS:
                bonus += amount
        elif account_kind == K.PLATFORM_FEES and into and kind in (T.RELEASE, T.SPLIT, T.BONUS):
            fee += amount
    return MilestoneMoney(
        funded=funded, released=released, fee=fee, refunded=refunded, bonus=bonus, in_escrow=in_escrow
    )


_GROUP_COLUMNS = ("account__kind", "direction", "transaction__kind")


def milestone_money_totals(*, milestone_ids: Iterable[int]) -> dict[int, MilestoneMoney]:
    """Totals per milestone in ONE query, whatever the number of milestones; unknown ids get zeros."""
    ids = list(dict.fromkeys(milestone_ids))
    if not ids:
        return {}
    rows = (
        Entry.objects.filter(transaction__milestone_id__in=ids)
        .values_list("transaction__milestone_id", *_GROUP_COLUMNS)
        .annotate(total=Sum("amount"))
        .order_by()
    )
    groups: dict[int, list[_Group]] = {milestone_id: [] for milestone_id in ids}
    for milestone_id, account_kind, direction, kind, total in rows:
        groups[milestone_id].append((account_kind, direction, kind, total))
    return {milestone_id: _money_from(rows_of) for milestone_id, rows_of in groups.items()}


def milestone_transaction_kinds(*, milestone_ids: Iterable[int]) -> dict[int, Counter[str]]:
    """How many ledger transactions of each kind every milestone has, in one query; unknown ids get none."""
    ids = list(dict.fromkeys(milestone_ids))
    kinds: dict[int, Counter[str]] = {milestone_id: Counter() for milestone_id in ids}
    rows = (
        LedgerTransaction.objects.filter(milestone_id__in=ids)
        .values("milestone_id", "kind")
        .annotate(count=Count("pk"))
        .values_list("milestone_id", "kind", "count")
        .order_by()
    )
    for milestone_id, kind, count in rows:
        if milestone_id is not None:
            kinds[milestone_id][kind] = count
    return kinds


def milestone_money_sum(*, milestone_ids: "QuerySet[Any] | Iterable[int]") -> MilestoneMoney:
    """The totals of `milestone_money_totals` summed over many milestones, in ONE query of a few rows.

    `milestone_ids` may be a subquery (a values("pk") queryset), so no id list is ever loaded.
    """
    ids = milestone_ids if isinstance(milestone_ids, QuerySet) else list(milestone_ids)
    rows = (
        Entry.objects.filter(transaction__milestone_id__in=ids)
        .values_list(*_GROUP_COLUMNS)
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return _money_from(rows)


def escrow_balances() -> dict[int, int]:
    """What each milestone's escrow holds now, by milestone id (an escrow missing its balance row holds 0)."""
    rows = Account.objects.filter(kind=K.ESCROW).values_list("milestone_id", "balance__amount")
    return {milestone_id: amount or 0 for milestone_id, amount in rows if milestone_id is not None}


def milestone_ids_with_money() -> set[int]:
    """Every milestone that has an escrow account or any ledger transaction."""
    escrowed = Account.objects.filter(kind=K.ESCROW, milestone_id__isnull=False).values_list("milestone_id", flat=True)
    moved = LedgerTransaction.objects.filter(milestone_id__isnull=False).values_list("milestone_id", flat=True)
    return {milestone_id for milestone_id in (*escrowed, *moved.distinct()) if milestone_id is not None}


def client_balance(*, user: User, currency: str) -> int:
    """The user's client balance in one currency (0 if they never had one)."""
    amount = (
        Balance.objects.filter(account__kind=K.CLIENT_BALANCE, account__user=user, account__currency=currency)
        .values_list("amount", flat=True)
        .first()
    )
    return amount or 0


def client_balance_state(*, user: User, currency: str) -> tuple[int, int]:
    """The user's client balance and its version: the id of its latest entry (0 before any).

    Two reads of the same version saw the same balance history, so a charge keyed on it is the
    same charge however many times it is asked for.
    """
    rows = Balance.objects.filter(account__kind=K.CLIENT_BALANCE, account__user=user, account__currency=currency)
    latest = Entry.objects.filter(account_id=OuterRef("account_id")).order_by("-pk").values("pk")[:1]
    row = rows.annotate(version=Subquery(latest)).values_list("amount", "version").first()
    if row is None:
        return 0, 0
    amount, version = row
    return amount, version or 0


def client_balances(*, user: User) -> dict[str, int]:
    """Every currency the user has a client balance in, with its amount."""
    rows = Balance.objects.filter(account__kind=K.CLIENT_BALANCE, account__user=user).order_by("currency")
    return dict(rows.values_list("currency", "amount"))


@dataclass(frozen=True)
class PendingLot:
    amount: int
    available_at: datetime
    milestone_title: str


@dataclass(frozen=True)
class EarningsSummary:
    currency: str
    pending: int
    available: int
    in_flight: int
    pending_lots: tuple[PendingLot, ...]  # the first PENDING_LOTS_SHOWN, soonest available first
    pending_lot_count: int = 0  # all of them

    @property
    def more_pending_lots(self) -> int:
        return max(0, self.pending_lot_count - len(self.pending_lots))

    @property
    def is_empty(self) -> bool:
        return not (self.pending or self.available or self.in_flight)


def earnings_summary(*, user: User, currency: str) -> EarningsSummary:
    """Pending (with when each lot becomes available), available to withdraw, and in flight."""
    amounts = dict(
        Balance.objects.filter(
            account__user=user,
            account__currency=currency,
            account__kind__in=[K.PENDING_EARNINGS, K.AVAILABLE_EARNINGS, K.PAYOUTS_IN_FLIGHT],
        ).values_list("account__kind", "amount")
    )
    lots = EarningsLot.objects.filter(freelancer=user, currency=currency, matured_transaction__isnull=True).order_by(
        "available_at", "pk"
    )
    return EarningsSummary(
        currency=currency,
        pending=amounts.get(K.PENDING_EARNINGS, 0),
        available=amounts.get(K.AVAILABLE_EARNINGS, 0),
        in_flight=amounts.get(K.PAYOUTS_IN_FLIGHT, 0),
        pending_lots=tuple(
            PendingLot(
                amount=lot.amount,
                available_at=lot.available_at,
                milestone_title=lot.milestone_title,
            )
            for lot in lots[:PENDING_LOTS_SHOWN]
        ),
        pending_lot_count=lots.count(),
    )


def earnings_currencies(*, user: User) -> list[str]:
    """Currencies in which the user has ever had earnings accounts."""
    rows = Balance.objects.filter(
        account__user=user,
        account__kind__in=[K.PENDING_EARNINGS, K.AVAILABLE_EARNINGS, K.PAYOUTS_IN_FLIGHT],
    )
    return sorted(set(rows.values_list("currency", flat=True)))


def statement_for_user(*, user: User) -> QuerySet[Entry]:
    """Every entry on the user's own accounts, newest first, with its transaction and account."""
    return (
        Entry.objects.filter(account__user=user)
        .select_related("transaction", "account")
        .order_by("-transaction__created_at", "-pk")
    )


def payouts_for_user(*, user: User, limit: int = 20) -> list[Payout]:
    return list(Payout.objects.filter(user=user).order_by("-requested_at", "-pk")[:limit])


def earned_totals(*, user_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """What each freelancer was ever paid, per currency: their share of releases, splits and bonuses.

    Every such payment credits the freelancer's pending earnings once (maturing and payouts move
    it on, never back), so the credits to that account are the total earned. One query.
    """
    ids = list(dict.fromkeys(user_ids))
    totals: dict[int, dict[str, int]] = {user_id: {} for user_id in ids}
    rows = (
        Entry.objects.filter(
            account__kind=K.PENDING_EARNINGS, account__user_id__in=ids, direction=EntryDirection.CREDIT
        )
        .values("account__user_id", "account__currency")
        .annotate(total=Sum("amount"))
        .values_list("account__user_id", "account__currency", "total")
        .order_by("account__user_id", "account__currency")
    )
    for user_id, currency, total in rows:
        totals[user_id][currency] = total
    return totals


def split_transactions(*, milestone_ids: Iterable[int] | None = None) -> QuerySet[LedgerTransaction]:
    """Escrow splits (part to the freelancer, the rest back), optionally of some milestones."""
    splits = LedgerTransaction.objects.filter(kind=T.SPLIT)
    return splits if milestone_ids is None else splits.filter(milestone_id__in=list(milestone_ids))
