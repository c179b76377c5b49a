"""Every way money moves: the only writers of the ledger, one module per use case.

Each service:
- is atomic and works nested inside a caller's transaction (the milestone services lock the
  milestone row first, then call these, inside `within_caller_transaction`: see there);
- moves its money through the ledger core's one shape (`payments.ledger.posting.ledger_post`):
  create any missing account, lock every balance row it touches in one SELECT ... FOR UPDATE
  ordered by account id, replay under the locks, then post;
- is idempotent on its key: a replay with the same key and parameters returns the original
  transaction (with `replayed = True`), the same key with other parameters raises
  IdempotencyConflict, and a racing duplicate returns the winner's transaction instead of
  moving money twice;
- checks funds under the lock and raises a domain error before touching anything; the
  database's CHECK on balances is the backstop, not the first line.
"""

from payments.services._common import EscrowParties, EscrowSubject, within_caller_transaction
from payments.services.deposits import deposit
from payments.services.earnings import earnings_mature, earnings_mature_due
from payments.services.escrow import escrow_change, escrow_fund, escrow_refund, escrow_release, escrow_split
from payments.services.payouts import payout_complete, payout_destination_set, payout_fail, payout_request
from payments.services.withdrawals import client_withdraw

__all__ = [
    "EscrowParties",
    "EscrowSubject",
    "client_withdraw",
    "deposit",
    "earnings_mature",
    "earnings_mature_due",
    "escrow_change",
    "escrow_fund",
    "escrow_refund",
    "escrow_release",
    "escrow_split",
    "payout_complete",
    "payout_destination_set",
    "payout_fail",
    "payout_request",
    "within_caller_transaction",
]
