"""Reads for contracts: who may see one, and everything its page shows, in a fixed number of queries."""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, F, FilteredRelation, Q, QuerySet
from django.utils import timezone
from django_fsm import has_transition_perm

from contracts.models import ChangeRequest, Contract, ContractEvent, ContractMessage
from marketplace.models import Job, Proposal
from marketplace.selectors import proposals_with_summary
from milestones.models import ACTIVE_STATES, AGREED_STATES, Milestone, MilestoneAction, MilestoneEvent, MilestoneState
from milestones.selectors import milestone_is_overdue
from milestones.transitions import PAGE_TRANSITIONS, TRANSITIONS
from payments.selectors import EarningsSummary, earnings_currencies, earnings_summary, milestone_money_totals
from reputation.selectors import ContractFeedback, contract_feedback
from users.models import User


def contracts_visible_to(*, user: User | AnonymousUser) -> QuerySet[Contract]:
    """Contracts a user may see: their own as either party; staff see all. Everyone else sees none."""
    contracts = Contract.objects.select_related("client", "freelancer", "job")
    if not getattr(user, "is_authenticated", False):
        return contracts.none()
    if user.is_staff:
        return contracts
    return contracts.filter(Q(client=user) | Q(freelancer=user))


@dataclass(frozen=True)
class MilestoneRow:
    milestone: Milestone
    next_action: str | None  # the words shown for the viewer's next step
    next_transition: str | None  # the transition that step fires
    is_overdue: bool
    in_escrow: int
    released: int
    refunded: int
    open_change: ChangeRequest | None
    dispute_id: int | None = None  # the open dispute case, for a link to its page


@dataclass(frozen=True)
class MoneyTotals:
    agreed: int
    in_escrow: int
    released: int
    refunded: int

    @property
    def released_percent(self) -> int:
        return min(100, self.released * 100 // self.agreed) if self.agreed else 0


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: User
    summary: str
    note: str = ""


@dataclass
class ContractPage:
    contract: Contract
    viewer_is_party: bool
    rows: list[MilestoneRow]
    totals: MoneyTotals
    timeline: list[TimelineEntry]
    messages: list[ContractMessage]
    change_requests: list[ChangeRequest]
    end_blockers: list[Milestone] = field(default_factory=list)
    # The viewer's view of the feedback once the contract ended (parties only).
    feedback: ContractFeedback | None = None

    @property
    def fundable_count(self) -> int:
        """Approved milestones this viewer (the client) can fund together on the "fund several" page."""
        if not self.contract.is_active:
            return 0
        return sum(1 for row in self.rows if row.next_transition == MilestoneAction.FUND)

    @property
    def can_end(self) -> bool:
        return self.viewer_is_party and self.contract.is_active and not self.end_blockers


def milestone_next_transition(*, milestone: Milestone, viewer: User | AnonymousUser) -> str | None:
    """The main step this viewer can take next on this milestone: the first transition, in page order,
    that is the main move from the milestone's state (`main_in`) and that the model lets them fire.

    Side actions (a refund, a dispute, paying before the work arrives) stay on the milestone page.
    """
    if not milestone.contract.is_party(viewer):
        return None
    return next(
        (
            meta.name
            for meta in PAGE_TRANSITIONS
            if meta.main_in == milestone.state and has_transition_perm(getattr(milestone, meta.name), viewer)
        ),
        None,
    )


def contract_fundable_milestones(*, user: User, contract_id: int) -> tuple[Contract, QuerySet[Milestone]]:
    """The contract's approved milestones, for its client only (else Contract.DoesNotExist)."""
    contract = Contract.objects.get(pk=contract_id, client=user)
    return contract, contract.milestones.filter(state=MilestoneState.APPROVED).order_by("position", "pk")


def contract_timeline(*, contract: Contract, milestones: list[Milestone]) -> list[TimelineEntry]:
    """Every event on the contract and its milestones, oldest first: who, what, when."""
    titles = {m.pk: m.title for m in milestones}
    entries = [
        TimelineEntry(at=e.at, actor=e.actor, summary=f"{e.get_action_display()}", note=e.note)
        for e in ContractEvent.objects.filter(contract=contract).select_related("actor")
    ]
    for event in MilestoneEvent.objects.filter(milestone__contract=contract).select_related("actor"):
        verb = event.get_action_display()
        if not event.from_state:
            change = f" ({event.to_state})" if event.to_state else ""
        else:
            change = f" ({event.from_state} → {event.to_state})" if event.from_state != event.to_state else ""
        entries.append(
            TimelineEntry(
                at=event.at,
                actor=event.actor,
                summary=f"{verb} “{titles.get(event.milestone_id, event.milestone_id)}”{change}",
                note=event.note,
            )
        )
    entries.sort(key=lambda entry: entry.at)
    return entries


def contract_page(*, contract: Contract, viewer: User | AnonymousUser) -> ContractPage:
    """Everything the contract page shows, in the same number of queries for 3 or 300 milestones."""
    milestones = list(
        Milestone.objects.filter(contract=contract)
        # The open dispute case (disputes sits above this app: read through the reverse relation, no import).
        .annotate(
            open_case=FilteredRelation("dispute_cases", condition=Q(dispute_cases__closed_at__isnull=True)),
            open_case_id=F("open_case__pk"),
        )
        .order_by("position", "pk")
    )
    for milestone in milestones:
        # One contract object for all, so the transition permissions read it without a query each.
        milestone.contract = contract
    # The ledger's totals for every milestone in one query.
    money = milestone_money_totals(milestone_ids=[m.pk for m in milestones])
    change_requests = list(
        ChangeRequest.objects.filter(contract=contract).select_related("proposed_by", "decided_by", "milestone")
    )
    open_changes = {
        c.milestone_id: c
        for c in change_requests
        if c.status == ChangeRequest.Status.PROPOSED and c.milestone_id is not None
    }
    now = timezone.now()
    rows = []
    for milestone in milestones:
        held = money[milestone.pk]
        next_transition = milestone_next_transition(milestone=milestone, viewer=viewer)
        rows.append(
            MilestoneRow(
                milestone=milestone,
                next_action=TRANSITIONS[next_transition].next_step if next_transition else None,
                next_transition=next_transition,
                is_overdue=milestone_is_overdue(milestone=milestone, now=now),
                in_escrow=held.in_escrow,
                released=held.released,
                refunded=held.refunded,
                open_change=open_changes.get(milestone.pk),
                dispute_id=getattr(milestone, "open_case_id", None),
            )
        )
    totals = MoneyTotals(
        # Agreed means both parties said yes: proposed milestones are not agreed yet, cancelled ones no longer.
        agreed=sum(m.amount for m in milestones if m.state in AGREED_STATES),
        in_escrow=sum(r.in_escrow for r in rows),
        released=sum(r.released for r in rows),
        refunded=sum(r.refunded for r in rows),
    )
    return ContractPage(
        contract=contract,
        viewer_is_party=contract.is_party(viewer),
        rows=rows,
        totals=totals,
        timeline=contract_timeline(contract=contract, milestones=milestones),
        messages=list(ContractMessage.objects.filter(contract=contract).select_related("author")),
        change_requests=change_requests,
        end_blockers=[m for m in milestones if m.holds_escrow],
        feedback=None if contract.is_active else contract_feedback(contract=contract, viewer=viewer),
    )


def contract_messages(*, contract: Contract) -> list[ContractMessage]:
    return list(ContractMessage.objects.filter(contract=contract).select_related("author"))


def change_request_visible(*, contract: Contract, change_request_id: int) -> ChangeRequest:
    """A change request of this (already access-checked) contract; raises DoesNotExist for any other."""
    return ChangeRequest.objects.select_related("milestone", "proposed_by").get(pk=change_request_id, contract=contract)


def contract_milestone(*, contract: Contract, milestone_id: int) -> Milestone:
    """A milestone of this (already access-checked) contract; raises DoesNotExist for any other."""
    milestone = Milestone.objects.get(pk=milestone_id, contract=contract)
    milestone.contract = contract
    return milestone


# --- Dashboards ---------------------------------------------------------------------


@dataclass
class ClientDashboard:
    contracts: list[Contract]
    open_jobs: list[Job]
    to_approve: list[Milestone]
    to_fund: list[Milestone]
    to_review: list[Milestone]
    changes_to_answer: list[ChangeRequest]

    @property
    def proposals_to_answer(self) -> list[Job]:
        """The open jobs with at least one proposal waiting for the client's answer (``waiting`` annotated)."""
        return [job for job in self.open_jobs if getattr(job, "waiting", 0)]

    @property
    def has_something_to_do(self) -> bool:
        """Whether anything waits for the client: a proposal to answer, or a milestone or change to act on."""
        return bool(
            self.proposals_to_answer or self.to_approve or self.to_fund or self.to_review or self.changes_to_answer
        )


@dataclass
class FreelancerDashboard:
    proposals: list[Proposal]
    contracts: list[Contract]
    active_milestones: list[tuple[Milestone, bool]]  # (milestone, is overdue), soonest due first
    to_approve: list[Milestone]
    changes_to_answer: list[ChangeRequest]
    earnings: list[EarningsSummary] = field(default_factory=list)  # one per currency


def _milestones_of(contracts: QuerySet[Contract], *states: str) -> list[Milestone]:
    return list(
        Milestone.objects.filter(contract__in=contracts, state__in=states)
        .select_related("contract", "contract__client", "contract__freelancer")
        .order_by("due_at", "pk")
    )


def dashboard_client(*, user: User) -> ClientDashboard:
    """What a client acts on: proposals per open job, milestones to approve, fund or review."""
    contracts = Contract.objects.filter(client=user)
    open_jobs = Job.objects.filter(client=user, status=Job.Status.OPEN).annotate(
        waiting=Count("proposals", filter=Q(proposals__status=Proposal.Status.SUBMITTED))
    )
    return ClientDashboard(
        contracts=list(contracts.select_related("freelancer").order_by("status", "-created_at")),
        open_jobs=list(open_jobs.order_by("-created_at", "-pk")),
        to_approve=[m for m in _milestones_of(contracts, MilestoneState.PROPOSED) if m.proposed_by_id != user.pk],
        to_fund=_milestones_of(contracts, MilestoneState.APPROVED),
        to_review=_milestones_of(contracts, MilestoneState.SUBMITTED),
        changes_to_answer=_changes_to_answer(contracts=contracts, user=user),
    )


def _changes_to_answer(*, contracts: QuerySet[Contract], user: User) -> list[ChangeRequest]:
    return list(
        ChangeRequest.objects.filter(contract__in=contracts, status=ChangeRequest.Status.PROPOSED)
        .exclude(proposed_by=user)
        .select_related("contract", "milestone", "proposed_by")
    )


def dashboard_freelancer(*, user: User) -> FreelancerDashboard:
    """What a freelancer acts on: proposals sent, active milestones by due date (overdue marked), earnings."""
    contracts = Contract.objects.filter(freelancer=user)
    active = _milestones_of(contracts, *ACTIVE_STATES)
    now = timezone.now()
    return FreelancerDashboard(
        proposals=list(
            proposals_with_summary(Proposal.objects.filter(freelancer=user).select_related("job")).order_by(
                "-created_at"
            )[:50]
        ),
        contracts=list(contracts.select_related("client").order_by("status", "-created_at")),
        active_milestones=[(m, milestone_is_overdue(milestone=m, now=now)) for m in active],
        to_approve=[m for m in _milestones_of(contracts, MilestoneState.PROPOSED) if m.proposed_by_id != user.pk],
        changes_to_answer=_changes_to_answer(contracts=contracts, user=user),
        earnings=freelancer_earnings(user=user),
    )


def freelancer_earnings(*, user: User) -> list[EarningsSummary]:
    """The freelancer's earnings per currency from the ledger: pending (with release dates), available, paid out."""
    return [earnings_summary(user=user, currency=currency) for currency in earnings_currencies(user=user)]
