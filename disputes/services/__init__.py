"""Every change to offers and disputes; milestone state changes go through the milestones skeleton.

- cases: open (with the milestone's `open_dispute`), statements and evidence, escalate, withdraw.
- offers: make, accept (`settle`), decline, counter, withdraw, expire.
- arbitration: decide (`resolve`), a second arbitrator's approval above the threshold.
- sweeps: the beat sweeps (respond-by deadlines, offer expiry).
"""

from disputes.services.arbitration import dispute_decide, dispute_decision_approve, dispute_needs_second_approval
from disputes.services.cases import (
    dispute_escalate,
    dispute_no_response_escalate,
    dispute_open,
    dispute_statement_add,
    dispute_withdraw,
)
from disputes.services.offers import (
    offer_accept,
    offer_decline,
    offer_expire,
    offer_make,
    offer_split_text,
    offer_withdraw,
)
from disputes.services.sweeps import disputes_unanswered_escalate, offers_expire_due

__all__ = [
    "dispute_decide",
    "dispute_decision_approve",
    "dispute_escalate",
    "dispute_needs_second_approval",
    "dispute_no_response_escalate",
    "dispute_open",
    "dispute_statement_add",
    "dispute_withdraw",
    "disputes_unanswered_escalate",
    "offer_accept",
    "offer_decline",
    "offer_expire",
    "offer_make",
    "offer_split_text",
    "offer_withdraw",
    "offers_expire_due",
]
