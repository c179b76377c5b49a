"""Reads for the disputes app: who sees which case, what the dispute page and the milestone panel show."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django_fsm import has_transition_perm

from contracts.models import ContractMessage
from disputes.models import Dispute, DisputeEvent, EvidenceFile, Offer, OfferStatus, Statement
from milestones.models import Milestone, Submission
from milestones.selectors import LatestEvents, countdown_text, milestone_history_latest, milestone_submissions
from users.models import User

# The dispute page shows the latest of each list, older ones a page away (?statements=2, ...), and the
# milestone's latest revisions and events with links to the milestone and contract pages: its cost never
# grows with the case's history. The evidence packet and the admin desk keep the whole record.
STATEMENTS_PER_PAGE = 5
OFFERS_PER_PAGE = 5
TIMELINE_PER_PAGE = 10
SUBMISSIONS_SHOWN = 3
HISTORY_SHOWN = 10


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


class LatestPage:
    """One page of a list paginated newest first, its rows oldest first (as the page reads them)."""

    def __init__(self, queryset: QuerySet[Any], *, per_page: int, number: str | None) -> None:
        self.page: Page[Any] = Paginator(queryset, per_page).get_page(number)
        self.rows = list(self.page.object_list)
        self.rows.reverse()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


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
class Submissions:
    """The latest revisions, newest first, and how many there are (the rest are on the milestone page)."""

    latest: list[Submission]
    total: int

    def __iter__(self) -> Iterator[Submission]:
        return iter(self.latest)

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.latest))


@dataclass(frozen=True)
class DisputePage:
    dispute: Dispute
    milestone: Milestone
    viewer_is_opener: bool
    statements: LatestPage  # of Statement
    timeline: LatestPage  # of DisputeEvent
    offers: list[OfferView]  # one page of them, newest first
    offers_page: Page[Offer]
    open_offer: OfferView | None
    submissions: Submissions
    history: LatestEvents
    respond_by_text: str  # "" once answered
    can_withdraw: bool
    can_escalate: bool
    can_offer: bool


def dispute_page(*, dispute: Dispute, viewer: User, page_numbers: Mapping[str, str] | None = None) -> DisputePage:
    """What the dispute page shows: one page of statements, offers and the case's timeline (the latest
    without a number in `page_numbers`, keyed "statements", "offers", "timeline"), the open offer, and the
    milestone's latest revisions and events; the same queries whatever the size of the case."""
    numbers = page_numbers or {}
    milestone = dispute.milestone
    now = timezone.now()
    offers_page = Paginator(milestone_offers(milestone=milestone), OFFERS_PER_PAGE).get_page(numbers.get("offers"))
    opened = milestone_open_offer(milestone=milestone)
    open_offer = offer_view(offer=opened, viewer=viewer, milestone=milestone, now=now) if opened else None
    respond_by = dispute.respond_by if dispute.is_open else None
    submissions = milestone_submissions(milestone=milestone)
    return DisputePage(
        dispute=dispute,
        milestone=milestone,
        viewer_is_opener=dispute.opened_by_id == viewer.pk,
        statements=LatestPage(
            dispute_statements(dispute=dispute).order_by("-created_at", "-pk"),
            per_page=STATEMENTS_PER_PAGE,
            number=numbers.get("statements"),
        ),
        timeline=LatestPage(
            dispute_timeline(dispute=dispute).order_by("-at", "-pk"),
            per_page=TIMELINE_PER_PAGE,
            number=numbers.get("timeline"),
        ),
        offers=[offer_view(offer=o, viewer=viewer, milestone=milestone, now=now) for o in offers_page],
        offers_page=offers_page,
        open_offer=open_offer,
        submissions=Submissions(latest=list(submissions[:SUBMISSIONS_SHOWN]), total=submissions.count()),
        history=milestone_history_latest(milestone=milestone, limit=HISTORY_SHOWN),
        respond_by_text=countdown_text(label="respond-by deadline", deadline=respond_by, now=now) if respond_by else "",
        can_withdraw=dispute.is_open and has_transition_perm(milestone.withdraw_dispute, viewer),
        can_escalate=dispute.is_open and not dispute.in_arbitration,
        can_offer=dispute.is_open and open_offer is None,
    )


def contract_messages_for_packet(*, dispute: Dispute) -> QuerySet[ContractMessage]:
    return ContractMessage.objects.filter(contract_id=dispute.milestone.contract_id).select_related("author")
