"""Beat sweeps: unanswered cases go to arbitration; offers lapse. Deadlines live on the rows.

Each row is claimed with skip_locked in its own transaction (its milestone first, as every service
locks), so overlapping sweeps never act on one row twice; each goes through the service a person's
action would.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from disputes.errors import DisputeError
from disputes.models import Dispute, DisputeStatus, Offer, OfferStatus
from disputes.services.cases import dispute_no_response_escalate
from disputes.services.offers import offer_expire
from milestones.models import ESCROW_STATES, Milestone

logger = logging.getLogger(__name__)


def _claim_milestone(milestone_id: int) -> Milestone | None:
    return (
        Milestone.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
        .select_related("contract__client", "contract__freelancer")
        .filter(pk=milestone_id)
        .first()
    )


def disputes_unanswered_escalate(*, now: datetime | None = None, limit: int = 200) -> int:
    """Move every case whose respond-by deadline passed unanswered to arbitration, marked "no response"."""
    now = now or timezone.now()
    due = list(
        Dispute.objects.filter(status=DisputeStatus.AWAITING_RESPONSE, respond_by__lte=now)
        .order_by("respond_by", "pk")
        .values_list("pk", "milestone_id")[:limit]
    )
    moved = 0
    for dispute_id, milestone_id in due:
        with transaction.atomic():
            if _claim_milestone(milestone_id) is None:
                continue
            case = (
                Dispute.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("milestone__contract__client", "milestone__contract__freelancer")
                .filter(pk=dispute_id, status=DisputeStatus.AWAITING_RESPONSE, respond_by__lte=now)
                .first()
            )
            if case is None:
                continue
            try:
                dispute_no_response_escalate(dispute=case, now=now)
            except DisputeError:
                logger.exception("Moving dispute %s to arbitration failed; it will be retried", dispute_id)
                continue
            moved += 1
    return moved


def offers_expire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Expire open offers past their expiry, and those whose milestone no longer holds escrow (released meanwhile)."""
    now = now or timezone.now()
    due = list(
        Offer.objects.filter(status=OfferStatus.OPEN)
        .filter(Q(expires_at__lte=now) | ~Q(milestone__state__in=ESCROW_STATES))
        .order_by("expires_at", "pk")
        .values_list("pk", "milestone_id")[:limit]
    )
    expired = 0
    for offer_id, milestone_id in due:
        with transaction.atomic():
            milestone = _claim_milestone(milestone_id)
            if milestone is None:
                continue
            offer = Offer.objects.select_related("made_by").filter(pk=offer_id, status=OfferStatus.OPEN).first()
            if offer is None:
                continue
            offer.milestone = milestone
            try:
                offer_expire(offer=offer, now=now)
            except DisputeError:
                continue  # answered or still running: nothing to do
            expired += 1
    return expired
