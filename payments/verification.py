"""Recompute the ledger from its entries and report every invariant of payments that does not hold.

The ledger core's checks (balances recomputed from entries, zero-sum transactions, each account's
HMAC chain) plus payments' own: pending earnings equal the unmatured lots and each lot became
available exactly its hold after its release; payouts in flight equal the requested payouts and
each payout's transactions match it; every movement in or out of the platform (the world account)
is backed by the gateway's records (a charge, a refund to a card) or a settled payout. The
milestone-vs-escrow checks live above, in `milestones.ledger_checks`, which also runs these;
`manage.py ledger_verify` runs them all. Reads only.
"""

from collections import Counter, defaultdict
from datetime import timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from core.humanize import duration_for_people
from payments.gateway import PaymentGateway, gateway_get
from payments.ledger.checks import AccountRow, LedgerReport, ledger_check
from payments.ledger.models import AccountKind, Entry, EntryDirection, TransactionKind
from payments.models import ClientWithdrawal, EarningsLot, Payout, PayoutStatus

T, CREDIT, DEBIT = TransactionKind, EntryDirection.CREDIT, EntryDirection.DEBIT
# A withdrawal to a card is settled within its own request; one still open after this was interrupted.
WITHDRAWAL_SETTLE_WITHIN = timedelta(hours=1)


def payments_verify(report: LedgerReport | None = None) -> LedgerReport:
    """Run the ledger's and payments' checks into `report` (a new one by default) and return it."""
    report = LedgerReport() if report is None else report
    accounts = ledger_check(report)
    _check_earnings_and_payouts(report, accounts)
    _check_lots_hold(report)
    _check_world_movements(report)
    _check_payouts(report)
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


def _check_lots_hold(report: LedgerReport) -> None:
    """Each lot becomes available exactly EARNINGS_HOLD_PERIOD after its release, whose time the
    HMAC chain protects: a lot moved earlier (or later) is reported."""
    hold = settings.EARNINGS_HOLD_PERIOD
    rows = EarningsLot.objects.values_list("pk", "available_at", "source_transaction__created_at").order_by("pk")
    for pk, available_at, released_at in rows.iterator(chunk_size=2000):
        if available_at != released_at + hold:
            report.violations.append(
                f"Earnings lot #{pk} becomes available at {available_at:%Y-%m-%d %H:%M:%S}, not "
                f"{duration_for_people(hold)} (EARNINGS_HOLD_PERIOD) after its release "
                f"({released_at:%Y-%m-%d %H:%M:%S})."
            )


def _check_world_movements(report: LedgerReport) -> None:
    """Every entry on a world account is a card charge the gateway confirms, a withdrawal to a card
    (the gateway confirms its refund), the reversal of a refused withdrawal, or a completed payout."""
    gateway = gateway_get()
    withdrawals = {w.pk: w for w in ClientWithdrawal.objects.all()}
    by_request = {w.request_transaction_id: w for w in withdrawals.values() if w.request_transaction_id}
    by_reversal = {w.reversal_transaction_id: w for w in withdrawals.values() if w.reversal_transaction_id}
    payouts_paid = dict(
        Payout.objects.filter(status=PayoutStatus.COMPLETED).values_list("settle_transaction_id", "amount")
    )
    charges: Counter[str] = Counter()
    rows = Entry.objects.filter(account__kind=AccountKind.WORLD).values_list(
        "transaction_id", "transaction__kind", "transaction__idempotency_key", "transaction__external_ref",
        "direction", "amount", "currency",
    ).order_by("transaction_id")  # fmt: skip
    for txn, kind, key, external_ref, direction, amount, currency in rows.iterator(chunk_size=2000):
        label = f"Transaction #{txn} ({kind})"
        if direction == DEBIT and kind in (T.DEPOSIT, T.FUND) and external_ref:
            charges[external_ref] += 1
            if not gateway.charge_confirm(charge_id=external_ref, amount=amount, currency=currency):
                report.violations.append(f"{label} brings {amount} {currency} in, but the gateway has no such charge.")
            if kind == T.DEPOSIT and key != f"deposit:{external_ref}":
                report.violations.append(f"{label} is not keyed on its charge {external_ref}.")
        elif direction == CREDIT and kind == T.WITHDRAWAL and (withdrawal := by_request.get(txn)) is not None:
            _check_withdrawal(report, label, withdrawal, amount, currency, gateway)
        elif direction == DEBIT and kind == T.REVERSAL and (withdrawal := by_reversal.get(txn)) is not None:
            if (withdrawal.status, withdrawal.amount, withdrawal.currency) != (PayoutStatus.FAILED, amount, currency):
                report.violations.append(f"{label} does not match refused withdrawal to card #{withdrawal.pk}.")
        elif direction == CREDIT and kind == T.PAYOUT and txn in payouts_paid:
            if payouts_paid[txn] != amount:
                report.violations.append(f"{label} pays out {amount}, but its payout is for {payouts_paid[txn]}.")
        else:
            report.violations.append(
                f"{label} moves {amount} {currency} {'in from' if direction == DEBIT else 'out to'} the outside "
                "world with no gateway charge, withdrawal or payout behind it."
            )
    for charge_id, uses in sorted(charges.items()):
        if uses > 1:
            report.violations.append(f"Gateway charge {charge_id} was counted {uses} times.")
    stale = timezone.now() - WITHDRAWAL_SETTLE_WITHIN
    for withdrawal in withdrawals.values():
        if withdrawal.request_transaction_id is None:
            report.violations.append(f"Withdrawal to card #{withdrawal.pk} has no ledger transaction.")
        elif withdrawal.status == PayoutStatus.REQUESTED and withdrawal.requested_at < stale:
            report.violations.append(
                f"Withdrawal to card #{withdrawal.pk} was interrupted: the ledger moved it but the gateway never "
                "settled it. Post its form again or settle it with the provider."
            )


def _check_withdrawal(
    report: LedgerReport, label: str, withdrawal: ClientWithdrawal, amount: int, currency: str, gateway: PaymentGateway
) -> None:
    if (withdrawal.amount, withdrawal.currency) != (amount, currency):
        report.violations.append(f"{label} does not match withdrawal to card #{withdrawal.pk}.")
    if withdrawal.status == PayoutStatus.COMPLETED and not gateway.refund_confirm(
        refund_id=withdrawal.refund_id, amount=amount, currency=currency
    ):
        report.violations.append(f"Withdrawal to card #{withdrawal.pk} is paid, but the gateway has no such refund.")


def _check_payouts(report: LedgerReport) -> None:
    """Each payout's transactions move exactly its amount: requested (available -> in flight), then
    completed (in flight -> world) or failed (in flight -> back)."""
    moved: dict[int, int] = defaultdict(int)
    rows = Entry.objects.filter(account__kind=AccountKind.PAYOUTS_IN_FLIGHT).values_list(
        "transaction_id", "direction", "amount"
    )
    for txn, direction, amount in rows.iterator(chunk_size=2000):
        moved[txn] += amount if direction == CREDIT else -amount
    claimed: set[int] = set()
    payouts = Payout.objects.values_list("pk", "amount", "status", "request_transaction_id", "settle_transaction_id")
    for pk, amount, status, requested, settled in payouts.order_by("pk").iterator(chunk_size=2000):
        claimed.update(t for t in (requested, settled) if t is not None)
        if requested is None or moved.get(requested) != amount:
            report.violations.append(f"Payout #{pk}: its request did not move {amount} into payouts in flight.")
        if (status == PayoutStatus.REQUESTED) != (settled is None):
            report.violations.append(f"Payout #{pk} is {status} but its settlement says otherwise.")
        if settled is not None and moved.get(settled) != -amount:
            report.violations.append(f"Payout #{pk}: its settlement did not move {amount} out of payouts in flight.")
    for txn in sorted(set(moved) - claimed):
        report.violations.append(f"Transaction #{txn} moves payouts in flight but belongs to no payout.")
