"""What every disputes service shares: locks in one order, the case's status, its timeline, its notices.

Lock order, everywhere: the milestone (`milestones.services.milestone_lock`), then its case, then
its offer. Sweeps take the same locks with `skip_locked`.
"""

from core.links import absolute_url
from disputes.errors import DisputeError, DisputeRequestReplayed
from disputes.models import Dispute, DisputeAction, DisputeEvent, DisputeStatus, Offer, OfferStatus
from milestones.models import Milestone
from notifications.kinds import NotificationKind
from notifications.services import notify
from users.models import User

REPLAYED = "That form was already sent; nothing was done twice."
CLOSED = "This dispute is already closed; nothing was changed."


def dispute_lock(*, dispute_id: int) -> Dispute:
    """The case under a row lock; take the milestone's lock first."""
    return Dispute.objects.select_for_update(of=("self",)).select_related("milestone__contract").get(pk=dispute_id)


def offer_lock(*, offer_id: int) -> Offer:
    return Offer.objects.select_for_update(of=("self",)).get(pk=offer_id)


def open_case_lock(*, milestone: Milestone) -> Dispute | None:
    """The milestone's open case under a row lock, or None."""
    return Dispute.objects.select_for_update(of=("self",)).filter(milestone=milestone, closed_at__isnull=True).first()


def dispute_refuse_replay(*, idempotency_key: str | None) -> None:
    if idempotency_key and DisputeEvent.objects.filter(idempotency_key=idempotency_key).exists():
        raise DisputeRequestReplayed(REPLAYED)


def require_party(*, milestone: Milestone, user: User) -> None:
    if not milestone.contract.is_party(user):
        raise DisputeError("Only the client and the freelancer of this contract can do that.")


def require_open(case: Dispute) -> None:
    if not case.is_open:
        raise DisputeError(CLOSED)


def other_party(*, milestone: Milestone, user: User) -> User:
    contract = milestone.contract
    return contract.freelancer if user.pk == contract.client_id else contract.client


def event_record(
    *, case: Dispute, actor: User, action: DisputeAction, note: str = "", idempotency_key: str | None = None
) -> DisputeEvent:
    return DisputeEvent.objects.create(
        dispute=case, actor=actor, action=action, note=note, idempotency_key=idempotency_key
    )


def status_refresh(case: Dispute) -> None:
    """Derive the stored status from the case's facts, so every service agrees on it."""
    if not case.is_open:
        case.status = DisputeStatus.RESOLVED
    elif case.escalated_at is not None:
        case.status = DisputeStatus.IN_ARBITRATION
    elif case.respond_by is not None:
        # The other party has not answered yet; the opener's own offer doesn't stop their deadline.
        case.status = DisputeStatus.AWAITING_RESPONSE
    elif Offer.objects.filter(milestone_id=case.milestone_id, status=OfferStatus.OPEN).exists():
        case.status = DisputeStatus.NEGOTIATING
    else:
        case.status = DisputeStatus.OPEN


def answered_by(case: Dispute, user: User) -> bool:
    """The other party acted on the case: their respond-by deadline is met. True when this was their first answer."""
    if user.pk == case.opened_by_id or case.respond_by is None:
        return False
    case.respond_by = None
    return True


def case_link(case: Dispute) -> str:
    return absolute_url("disputes:detail", case.pk)


def offer_link(offer: Offer) -> str:
    if offer.dispute_id is not None:
        return absolute_url("disputes:detail", offer.dispute_id)
    return absolute_url("milestones:detail", offer.milestone_id)


def tell(
    *,
    recipients: list[User],
    kind: NotificationKind,
    milestone: Milestone,
    headline: str,
    link: str,
    about: tuple[str, int],
    details: str = "",
) -> None:
    """A notice about a case or an offer, with the milestone and contract named; emails go after commit."""
    body = f"{headline}\n\n{details.strip()}\n\n" if details.strip() else f"{headline}\n\n"
    notify(
        recipients=recipients,
        kind=kind,
        subject=f"{milestone.title}: {headline}",
        body=f"{body}Milestone: {milestone.title}\nContract: {milestone.contract.title}",
        link=link,
        about=about,
    )
