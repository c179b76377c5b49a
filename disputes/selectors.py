"""Reads for the disputes app: who sees which case, what the dispute page and the milestone panel show."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django_fsm import has_transition_perm

from contracts.models import ContractMessage
from disputes.models import Dispute, DisputeEvent, EvidenceFile, Offer, OfferStatus, Statement
from milestones.models import Milestone, MilestoneEvent, Submission
from milestones.selectors import countdown_text, milestone_history, milestone_submissions
from users.models import User


def disputes_of_parties(*, user: User) -> QuerySet[Dispute]:
    """The cases this user is a party to: the only ones the dispute page shows them (staff use the admin desk)."""
    queryset = Dispute.objects.select_related(
        "milestone__contract__client", "milestone__contract__freelancer", "opened_by", "arbitrator"
    )
    if not user.is_authenticated:
        return queryset.none()
    return queryset.filter(Q(milestone__contract__client=user) | Q(milestone__contract__freelancer=user))


def disputes_for_records(*, user: User) -> QuerySet[Dispute]:
    """The cases whose files and evidence packet this user may download: the parties', and every one for staff."""
    if user.is_authenticated and user.is_staff:
        return Dispute.objects.select_related("milestone__contract")
    return disputes_of_parties(user=user)


def evidence_for_download(*, user: User, dispute_id: int, file_id: int) -> EvidenceFile:
    """The file, only if it belongs to that case and the user may see its records (else DoesNotExist)."""
    return EvidenceFile.objects.get(
        pk=file_id, statement__dispute_id=dispute_id, statement__dispute__in=disputes_for_records(user=user)
    )


def dispute_statements(*, dispute: Dispute) -> QuerySet[Statement]:
    return (
        dispute.statements.select_related("author")
        .prefetch_related(Prefetch("files", queryset=EvidenceFile.objects.order_by("pk")))
        .order_by("created_at", "pk")
    )


def dispute_timeline(*, dispute: Dispute) -> QuerySet[DisputeEvent]:
    return dispute.events.select_related("actor").order_by("at", "pk")


def milestone_offers(*, milestone: Milestone) -> QuerySet[Offer]:
    return milestone.offers.select_related("made_by", "answered_by").order_by("-created_at", "-pk")


def milestone_open_offer(*, milestone: Milestone) -> Offer | None:
    return milestone_offers(milestone=milestone).filter(status=OfferStatus.OPEN).first()


@dataclass(frozen=True)
class OfferView:
    """An offer as one viewer sees it: which answers are theirs to give."""

    offer: Offer
    made_by_viewer: bool
    can_answer: bool  # accept, decline or counter: the other party, while it is open and escrow is held


def offer_view(*, offer: Offer, viewer: User, milestone: Milestone, now: datetime | None = None) -> OfferView:
    now = now or timezone.now()
    live = offer.is_open and offer.expires_at > now and milestone.holds_escrow
    mine = offer.made_by_id == viewer.pk
    return OfferView(offer=offer, made_by_viewer=mine, can_answer=live and not mine)


@dataclass(frozen=True)
class DisputePage:
    dispute: Dispute
    milestone: Milestone
    viewer_is_opener: bool
    statements: list[Statement]
    timeline: list[DisputeEvent]
    offers: list[OfferView]
    open_offer: OfferView | None
    submissions: QuerySet[Submission]
    history: QuerySet[MilestoneEvent]
    respond_by_text: str  # "" once answered
    can_withdraw: bool
    can_escalate: bool
    can_offer: bool


def dispute_page(*, dispute: Dispute, viewer: User) -> DisputePage:
    milestone = dispute.milestone
    now = timezone.now()
    offers = [
        offer_view(offer=o, viewer=viewer, milestone=milestone, now=now) for o in milestone_offers(milestone=milestone)
    ]
    open_offer = next((o for o in offers if o.offer.is_open), None)
    respond_by = dispute.respond_by if dispute.is_open else None
    return DisputePage(
        dispute=dispute,
        milestone=milestone,
        viewer_is_opener=dispute.opened_by_id == viewer.pk,
        statements=list(dispute_statements(dispute=dispute)),
        timeline=list(dispute_timeline(dispute=dispute)),
        offers=offers,
        open_offer=open_offer,
        submissions=milestone_submissions(milestone=milestone),
        history=milestone_history(milestone=milestone),
        respond_by_text=countdown_text(label="respond-by deadline", deadline=respond_by, now=now) if respond_by else "",
        can_withdraw=dispute.is_open and has_transition_perm(milestone.withdraw_dispute, viewer),
        can_escalate=dispute.is_open and not dispute.in_arbitration,
        can_offer=dispute.is_open and open_offer is None,
    )


def contract_messages_for_packet(*, dispute: Dispute) -> QuerySet[ContractMessage]:
    return ContractMessage.objects.filter(contract_id=dispute.milestone.contract_id).select_related("author")
