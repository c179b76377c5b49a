"""Reputation histories built the way the product builds them: every milestone moved through its services.

`history_build` takes one path per milestone (released on time or late, auto-released, refunded,
resolved by a dispute, ...) and walks it with the clock moved by `time_machine`, so delivery
times, review periods and dispute endings are real rows, never assigned.
"""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import time_machine
from django.conf import settings
from django.utils import timezone

from contracts.models import Contract
from contracts.services import contract_end
from disputes.models import Dispute, DisputeReason
from disputes.services import (
    dispute_decide,
    dispute_escalate,
    dispute_open,
    dispute_withdraw,
    offer_accept,
    offer_make,
)
from milestones import services
from milestones.models import Milestone
from milestones.services import milestone_auto_release
from reputation.models import Feedback
from reputation.services import feedback_submit
from tests.contracts.factories import contract_started
from tests.milestones.factories import arbitrator_user, client_deposit, deliverable
from users.models import User

# Every path a milestone can take to its end (or to where it stays), as the record sees it.
PATHS = (
    "released_on_time",  # submitted before its due date, released by the client
    "released_late",  # submitted after its due date, released by the client
    "released_unsubmitted",  # paid from funded, before any submission
    "auto_released",  # submitted, the client never answered
    "refunded",  # the freelancer gave it all back
    "partly_refunded",  # the freelancer kept part, gave back the rest
    "dispute_paid",  # a dispute, decided all for the freelancer
    "dispute_split",  # a dispute, decided half and half
    "dispute_refunded",  # a dispute, decided all for the client
    "dispute_withdrawn",  # a dispute the client withdrew, then released
    "cancelled",  # approved, never funded
)
FINAL_PATHS = PATHS  # every path above ends the milestone: the contract can end afterwards


def _move(*, milestone: Milestone, path: str, traveller: "time_machine.Coordinates", arbitrator: User) -> None:
    contract = milestone.contract
    client, freelancer = contract.client, contract.freelancer
    if path == "cancelled":
        services.milestone_cancel(milestone=milestone, actor=client, note="Out of scope")
        return
    milestone = services.milestone_fund(milestone=milestone, actor=client)
    if path == "released_unsubmitted":
        services.milestone_release(milestone=milestone, actor=client)
        return
    if path == "refunded":
        services.milestone_refund(milestone=milestone, actor=freelancer, note="Can't do it")
        return
    if path == "released_late":
        traveller.move_to(milestone.due_at + dt.timedelta(hours=2))
    milestone = services.milestone_submit(milestone=milestone, actor=freelancer, message="Done", files=[deliverable()])
    if path in ("released_on_time", "released_late"):
        services.milestone_release(milestone=milestone, actor=client)
    elif path == "auto_released":
        assert milestone.auto_release_at is not None
        traveller.move_to(milestone.auto_release_at + dt.timedelta(minutes=1))
        milestone_auto_release(milestone=milestone)
    elif path == "partly_refunded":
        # The freelancer offers a quarter back; the client accepts (an offer, not a dispute).
        offer = offer_make(milestone=milestone, actor=freelancer, freelancer_amount=milestone.amount * 3 // 4)
        offer_accept(offer=offer, actor=client)
    elif path == "dispute_withdrawn":
        case = _dispute(milestone=milestone, opener=client)
        dispute_withdraw(dispute=case, actor=client)
        milestone.refresh_from_db()
        services.milestone_release(milestone=milestone, actor=client)
    else:
        opener = client if path != "dispute_paid" else freelancer
        case = dispute_escalate(dispute=_dispute(milestone=milestone, opener=opener), actor=opener)
        share = {"dispute_paid": milestone.amount, "dispute_split": milestone.amount // 2, "dispute_refunded": 0}[path]
        dispute_decide(dispute=case, arbitrator=arbitrator, freelancer_amount=share, decision="Decided")


def _dispute(*, milestone: Milestone, opener: User) -> Dispute:
    return dispute_open(
        milestone=milestone, actor=opener, reason=DisputeReason.QUALITY, statement="We disagree about the work."
    )


@dataclass(frozen=True)
class Feedbacks:
    """Who leaves feedback after the contract ends: `None` leaves none; ratings are 1 to 5."""

    by_client: tuple[int, int, int, bool] | None = (5, 4, 5, True)
    by_freelancer: tuple[int, int, int, bool] | None = (4, 4, 3, True)
    # Let the window close (the beat sweep publishes what was left).
    close_window: bool = False


def feedback_leave(
    *, contract: Contract, author: User, values: tuple[int, int, int, bool], comment: str = ""
) -> Feedback:
    quality, communication, reliability, again = values
    return feedback_submit(
        contract=contract,
        author=author,
        ratings={"quality": quality, "communication": communication, "reliability": reliability},
        comment=comment or f"Feedback {uuid.uuid4().hex[:6]} by {author}",
        would_work_again=again,
    )


def history_build(
    *,
    paths: Sequence[str],
    client: User | None = None,
    freelancer: User | None = None,
    end: bool = True,
    feedbacks: Feedbacks | None = None,
    amount: int = 40_000,
) -> Contract:
    """A contract with one milestone per path, walked through the services; ended and rated if asked."""
    from reputation.services import feedback_windows_close_due

    contract = contract_started(milestones=len(paths), client=client, freelancer=freelancer, amount=amount)
    client_deposit(user=contract.client, amount=amount * len(paths))
    arbitrator = arbitrator_user()
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        for milestone, path in zip(contract.milestones.order_by("position"), paths, strict=True):
            milestone.contract = contract
            _move(milestone=milestone, path=path, traveller=traveller, arbitrator=arbitrator)
        if not end:
            return contract
        contract = contract_end(contract=contract, actor=contract.client)
        feedbacks = feedbacks or Feedbacks()
        if feedbacks.by_client:
            feedback_leave(contract=contract, author=contract.client, values=feedbacks.by_client)
        if feedbacks.by_freelancer:
            feedback_leave(contract=contract, author=contract.freelancer, values=feedbacks.by_freelancer)
        if feedbacks.close_window:
            traveller.shift(settings.FEEDBACK_WINDOW_PERIOD + dt.timedelta(minutes=1))
            feedback_windows_close_due()
    return contract
