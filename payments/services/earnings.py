"""Earnings: each release's share waits in pending earnings for EARNINGS_HOLD_PERIOD, then matures."""

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.durations import duration_display
from payments.errors import EarningsNotYetAvailable, PaymentError
from payments.ledger.models import AccountKind, LedgerTransaction, TransactionKind
from payments.ledger.posting import Posting, credit, debit, fingerprint
from payments.models import EarningsLot
from payments.services._common import EscrowSubject, post_once, user_account
from users.models import User

logger = logging.getLogger(__name__)


def lot_create(
    *, freelancer: User, source: LedgerTransaction, milestone: EscrowSubject, amount: int, currency: str
) -> EarningsLot | None:
    """The freelancer's share of a fresh release, split or bonus, pending until its hold has passed."""
    if amount <= 0 or source.replayed:
        return None
    hold = settings.EARNINGS_HOLD_PERIOD
    return EarningsLot.objects.create(
        freelancer=freelancer,
        source_transaction=source,
        milestone_id=milestone.pk,
        milestone_title=milestone.title,
        amount=amount,
        currency=currency,
        available_at=source.created_at + hold,
    )


@transaction.atomic
def earnings_mature(*, lot: EarningsLot, now: datetime | None = None) -> LedgerTransaction:
    """Pending -> available for one lot once its hold has passed. Key `mature:<lot>`."""
    now = now or timezone.now()
    # `of=("self",)`: the freelancer's user row is read, not locked. Locking it would deadlock with
    # any release to them, which takes FOR KEY SHARE on it at commit while holding their balances.
    locked = (
        EarningsLot.objects.select_for_update(of=("self",))
        .select_related("freelancer", "source_transaction")
        .get(pk=lot.pk)
    )
    if locked.matured_transaction_id is not None:
        matured = LedgerTransaction.objects.get(pk=locked.matured_transaction_id)
        matured.replayed = True
        return matured
    if locked.available_at > now:
        raise EarningsNotYetAvailable(
            f"These earnings become available on {timezone.localtime(locked.available_at):%Y-%m-%d %H:%M}."
        )
    freelancer, currency = locked.freelancer, locked.currency
    matured = post_once(
        key=f"mature:{locked.pk}",
        fingerprint=fingerprint("mature", lot=locked.pk, amount=locked.amount),
        accounts=lambda: [
            user_account(AccountKind.PENDING_EARNINGS, freelancer, currency),
            user_account(AccountKind.AVAILABLE_EARNINGS, freelancer, currency),
        ],
        build=lambda accounts, balances: Posting(
            kind=TransactionKind.MATURE,
            legs=[debit(accounts[0], locked.amount), credit(accounts[1], locked.amount)],
            memo=f"Earnings available after a hold of {duration_display(settings.EARNINGS_HOLD_PERIOD)}",
            milestone_id=locked.milestone_id,
            contract_id=locked.source_transaction.contract_id,
            user_id=freelancer.pk,
        ),
    )
    locked.matured_transaction, locked.matured_at = matured, now
    locked.save(update_fields=["matured_transaction", "matured_at"])
    lot.matured_transaction, lot.matured_at = matured, now
    return matured


def earnings_mature_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Sweep: mature every due lot, each in its own transaction; returns how many matured.

    Not atomic as a whole on purpose: one bad lot must not hold back the others, and overlapping
    sweeps skip the lots another one is working on (`skip_locked`).
    """
    now = now or timezone.now()
    due = EarningsLot.objects.filter(matured_transaction__isnull=True, available_at__lte=now)
    matured = 0
    for lot_id in list(due.order_by("available_at", "pk").values_list("pk", flat=True)[:limit]):
        try:
            with transaction.atomic():
                lot = (
                    EarningsLot.objects.select_for_update(skip_locked=True)
                    .filter(pk=lot_id, matured_transaction__isnull=True)
                    .first()
                )
                if lot is None:
                    continue
                earnings_mature(lot=lot, now=now)
                matured += 1
        except PaymentError:
            logger.exception("Earnings lot %s could not mature", lot_id)
    return matured
