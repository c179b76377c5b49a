"""Money offers: either party proposes how a milestone's escrow is divided; the other accepts, declines or counters.

One mechanism before and during a dispute. Accepting fires the milestone's `settle` transition as the
system actor, through the milestones skeleton, and divides the escrow in the same transaction; an
open case is resolved with it. Only one offer is open per milestone (a partial unique index holds it).
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.humanize import duration_for_people
from core.money import format_money
from disputes.errors import DisputeError, DisputeRequestReplayed
from disputes.models import Dispute, DisputeAction, DisputeOutcome, Offer, OfferStatus
from disputes.services._common import (
    REPLAYED,
    answered_by,
    event_record,
    offer_link,
    offer_lock,
    open_case_lock,
    other_party,
    require_party,
    status_refresh,
    tell,
)
from milestones.models import Milestone, MilestoneAction
from milestones.services import milestone_escrow_divide, milestone_lock, milestone_transition
from notifications.kinds import NotificationKind
from users.models import User
from users.selectors import user_system_actor

NOT_OPEN = "This offer is no longer open (it was {status}); nothing was changed."


def offer_split_text(*, milestone: Milestone, freelancer_amount: int) -> str:
    currency = milestone.currency
    return (
        f"{format_money(freelancer_amount, currency)} to the freelancer, "
        f"{format_money(milestone.amount - freelancer_amount, currency)} back to the client"
    )


def _require_open(offer: Offer) -> None:
    if not offer.is_open:
        raise DisputeError(NOT_OPEN.format(status=offer.status_label.lower()))


def _case_note(*, case: Dispute | None, actor: User, action: DisputeAction, note: str) -> None:
    """Put the offer on the case's timeline; the other party's first answer meets their deadline."""
    if case is None:
        return
    answered_by(case, actor)
    event_record(case=case, actor=actor, action=action, note=note)
    status_refresh(case)
    case.save(update_fields=["respond_by", "status"])


@transaction.atomic
def offer_make(
    *,
    milestone: Milestone,
    actor: User,
    freelancer_amount: int,
    message: str = "",
    idempotency_key: str | None = None,
    counter_to: Offer | None = None,
) -> Offer:
    """A party proposes `freelancer_amount` to the freelancer and the rest back to the client.

    The milestone must hold escrow (funded, submitted or disputed) and have no other open offer.
    """
    locked = milestone_lock(milestone_id=milestone.pk)
    if idempotency_key and Offer.objects.filter(form_token=idempotency_key).exists():
        raise DisputeRequestReplayed(REPLAYED)
    require_party(milestone=locked, user=actor)
    if not locked.holds_escrow:
        raise DisputeError(
            f"This milestone is {locked.state_label.lower()}: only money held in escrow can be divided by an offer."
        )
    if not 0 <= freelancer_amount <= locked.amount:
        raise DisputeError(
            f"Offer between {format_money(0, locked.currency)} and {format_money(locked.amount, locked.currency)} "
            "to the freelancer."
        )
    case = open_case_lock(milestone=locked)
    if counter_to is not None:
        countered = offer_lock(offer_id=counter_to.pk)
        _require_open(countered)
        if countered.milestone_id != locked.pk or countered.made_by_id == actor.pk:
            raise DisputeError("You can counter only the other party's offer on this milestone.")
        countered.status = OfferStatus.COUNTERED
        countered.answered_by, countered.answered_at = actor, timezone.now()
        countered.save(update_fields=["status", "answered_by", "answered_at"])
    elif Offer.objects.filter(milestone=locked, status=OfferStatus.OPEN).exists():
        raise DisputeError("An offer is already open on this milestone: accept, decline or counter it first.")
    offer = Offer.objects.create(
        milestone=locked,
        dispute=case,
        made_by=actor,
        freelancer_amount=freelancer_amount,
        message=message,
        expires_at=timezone.now() + settings.OFFER_EXPIRY_PERIOD,
        counter_to=counter_to,
        form_token=idempotency_key,
    )
    split = offer_split_text(milestone=locked, freelancer_amount=freelancer_amount)
    _case_note(
        case=case,
        actor=actor,
        action=DisputeAction.OFFER_COUNTERED if counter_to is not None else DisputeAction.OFFER_MADE,
        note=f"{split}.\n{message}".strip(),
    )
    tell(
        recipients=[other_party(milestone=locked, user=actor)],
        kind=NotificationKind.OFFER_MADE,
        milestone=locked,
        headline=f"{actor} {'countered with' if counter_to is not None else 'offered'}: {split}. "
        f"Accept or decline it within {duration_for_people(settings.OFFER_EXPIRY_PERIOD)}.",
        details=message,
        link=offer_link(offer),
        about=("offer", offer.pk),
    )
    return offer


def offer_accept(*, offer: Offer, actor: User, idempotency_key: str | None = None) -> Offer:
    """The other party accepts: `settle` fires as the system actor and the escrow is divided at once."""
    accepted: list[Offer] = []
    cases: list[Dispute | None] = []

    def validate(locked: Milestone) -> None:
        cases.append(open_case_lock(milestone=locked))
        current = offer_lock(offer_id=offer.pk)
        _require_open(current)
        if current.milestone_id != locked.pk:
            raise DisputeError("That offer belongs to another milestone.")
        require_party(milestone=locked, user=actor)
        if current.made_by_id == actor.pk:
            raise DisputeError("The other party accepts your offer; you can withdraw it instead.")
        if current.expires_at <= timezone.now():
            raise DisputeError("This offer has expired; make a new one if you still agree.")
        if current.freelancer_amount > locked.amount:
            raise DisputeError("The milestone's escrow is now smaller than this offer; make a new one.")
        accepted.append(current)

    def divide(locked: Milestone) -> str:
        current = accepted[0]
        summary = milestone_escrow_divide(milestone=locked, freelancer_amount=current.freelancer_amount)
        now = timezone.now()
        current.status, current.answered_by, current.answered_at = OfferStatus.ACCEPTED, actor, now
        current.save(update_fields=["status", "answered_by", "answered_at"])
        case = cases[0]
        if case is not None:
            case_resolve(case=case, freelancer_amount=current.freelancer_amount, now=now)
            event_record(case=case, actor=actor, action=DisputeAction.OFFER_ACCEPTED, note=summary)
        tell(
            recipients=[other_party(milestone=locked, user=actor)],
            kind=NotificationKind.OFFER_ACCEPTED,
            milestone=locked,
            headline=f"{actor} accepted your offer: {summary}",
            link=offer_link(current),
            about=("offer", current.pk),
        )
        return f"{actor} accepted the offer by {current.made_by}: {summary}"

    milestone_transition(
        milestone=offer.milestone,
        actor=user_system_actor(),
        name=MilestoneAction.SETTLE,
        idempotency_key=idempotency_key,
        validate=validate,
        arguments=lambda locked: {"freelancer_amount": accepted[0].freelancer_amount},
        apply=divide,
        tell_other_party=False,  # the case's own notice tells the parties
    )
    return accepted[0]


def case_resolve(*, case: Dispute, freelancer_amount: int, now: datetime) -> None:
    """Close a case whose escrow was just divided (an accepted offer or a decision); other offers lapse."""
    amount = case.milestone.amount
    if freelancer_amount == amount:
        case.outcome = DisputeOutcome.RELEASED
    elif freelancer_amount == 0:
        case.outcome = DisputeOutcome.REFUNDED
    else:
        case.outcome = DisputeOutcome.SPLIT
    case.freelancer_amount = freelancer_amount
    case.closed_at = now
    case.respond_by = None
    Offer.objects.filter(milestone_id=case.milestone_id, status=OfferStatus.OPEN).update(
        status=OfferStatus.EXPIRED, answered_at=now
    )
    status_refresh(case)
    case.save()


@transaction.atomic
def offer_decline(*, offer: Offer, actor: User, note: str = "") -> Offer:
    """The other party says no; a client who still wants money back may open a dispute."""
    locked = milestone_lock(milestone_id=offer.milestone_id)
    case = open_case_lock(milestone=locked)
    current = offer_lock(offer_id=offer.pk)
    _require_open(current)
    require_party(milestone=locked, user=actor)
    if current.made_by_id == actor.pk:
        raise DisputeError("The other party declines your offer; you can withdraw it instead.")
    current.status, current.answered_by, current.answered_at = OfferStatus.DECLINED, actor, timezone.now()
    current.save(update_fields=["status", "answered_by", "answered_at"])
    _case_note(case=case, actor=actor, action=DisputeAction.OFFER_DECLINED, note=note)
    split = offer_split_text(milestone=locked, freelancer_amount=current.freelancer_amount)
    tell(
        recipients=[current.made_by],
        kind=NotificationKind.OFFER_DECLINED,
        milestone=locked,
        headline=f"{actor} declined your offer ({split}).",
        details=note,
        link=offer_link(current),
        about=("offer", current.pk),
    )
    return current


@transaction.atomic
def offer_withdraw(*, offer: Offer, actor: User) -> Offer:
    """The party who made the offer takes it back before it is answered."""
    locked = milestone_lock(milestone_id=offer.milestone_id)
    case = open_case_lock(milestone=locked)
    current = offer_lock(offer_id=offer.pk)
    _require_open(current)
    if current.made_by_id != actor.pk:
        raise DisputeError("Only the party who made the offer can withdraw it.")
    current.status, current.answered_at = OfferStatus.WITHDRAWN, timezone.now()
    current.save(update_fields=["status", "answered_at"])
    _case_note(case=case, actor=actor, action=DisputeAction.OFFER_WITHDRAWN, note="")
    return current


def offer_expire(*, offer: Offer, now: datetime) -> Offer:
    """An open offer lapses as the system: past its expiry, or its milestone no longer holds escrow.

    Runs while the sweep holds the offer's milestone lock, in the current transaction; tells both parties.
    """
    milestone = offer.milestone
    case = open_case_lock(milestone=milestone)
    offer = offer_lock(offer_id=offer.pk)
    if not offer.is_open or (offer.expires_at > now and milestone.holds_escrow):
        raise DisputeError("This offer is still open and has not expired.")
    offer.status, offer.answered_at = OfferStatus.EXPIRED, now
    offer.save(update_fields=["status", "answered_at"])
    if case is not None:
        event_record(case=case, actor=user_system_actor(), action=DisputeAction.OFFER_EXPIRED)
        status_refresh(case)
        case.save(update_fields=["status"])
    if milestone.holds_escrow:
        contract = milestone.contract
        tell(
            recipients=[contract.client, contract.freelancer],
            kind=NotificationKind.OFFER_EXPIRED,
            milestone=milestone,
            headline=f"The offer by {offer.made_by} expired unanswered "
            f"({offer_split_text(milestone=milestone, freelancer_amount=offer.freelancer_amount)}).",
            link=offer_link(offer),
            about=("offer", offer.pk),
        )
    return offer
