"""Reads for the marketplace app: jobs, proposals, and each user's dashboard."""

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, Max, Min, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from contracts.models import ChangeRequest, Contract
from contracts.selectors import milestone_is_overdue
from marketplace.models import Job, Proposal, User
from marketplace.models.users import SYSTEM_ACTOR_EMAIL
from milestones.models import Milestone, MilestoneState
from payments.selectors import EarningsSummary, earnings_currencies, earnings_summary


def user_system_actor() -> User:
    """The account that timers and settlements act as; it cannot log in."""
    user, _ = User.objects.get_or_create(
        email=SYSTEM_ACTOR_EMAIL,
        defaults={"display_name": "Milestone (system)", "is_active": False, "is_client": False},
    )
    return user


# --- Jobs ---------------------------------------------------------------------------


def job_search(
    *,
    text: str = "",
    budget_min: int | None = None,
    budget_max: int | None = None,
    category: str = "",
    currency: str = "",
) -> QuerySet[Job]:
    """Open jobs matching every word of `text` (title or description) and the budget range, newest first."""
    jobs = Job.objects.filter(status=Job.Status.OPEN).select_related("client")
    for word in text.split()[:10]:
        jobs = jobs.filter(Q(title__icontains=word) | Q(description__icontains=word))
    if budget_min is not None:
        jobs = jobs.filter(budget__gte=budget_min)
    if budget_max is not None:
        jobs = jobs.filter(budget__lte=budget_max)
    if category:
        jobs = jobs.filter(category=category)
    if currency:
        jobs = jobs.filter(currency=currency)
    live = Count("proposals", filter=Q(proposals__status__in=Proposal.LIVE_STATUSES))
    # Meta.ordering doesn't apply to a grouped query, so say it again.
    return jobs.annotate(proposal_count=live).order_by("-created_at", "-pk")


def job_get(*, job_id: int) -> Job:
    """Any job, open or closed: a job page is public. Raises Job.DoesNotExist."""
    return Job.objects.select_related("client").get(pk=job_id)


def job_owned_by(*, job_id: int, user: Any) -> Job:
    """A job of this client; raises Job.DoesNotExist for anyone else, so outsiders get a 404."""
    if not getattr(user, "is_authenticated", False):
        raise Job.DoesNotExist
    return Job.objects.select_related("client").get(pk=job_id, client=user)


# --- Proposals ----------------------------------------------------------------------


def _with_summary(proposals: QuerySet[Proposal]) -> QuerySet[Proposal]:
    """Total, number of milestones, first and last due date: what a client compares."""
    return proposals.annotate(
        total=Sum("milestones__amount"),
        milestone_count=Count("milestones"),
        first_due=Min("milestones__due_date"),
        last_due=Max("milestones__due_date"),
    )


def proposals_visible_to(*, user: Any) -> QuerySet[Proposal]:
    """A proposal is visible to the freelancer who sent it, the job's client and staff; nobody else."""
    proposals = Proposal.objects.select_related("job", "job__client", "freelancer")
    if not getattr(user, "is_authenticated", False):
        return proposals.none()
    if user.is_staff:
        return proposals
    return proposals.filter(Q(freelancer=user) | Q(job__client=user))


def proposal_get_for_viewer(*, proposal_id: int, user: Any) -> Proposal:
    """Raises Proposal.DoesNotExist for anyone who may not see it."""
    return _with_summary(proposals_visible_to(user=user)).get(pk=proposal_id)


def proposal_live_of(*, job: Job, user: Any) -> Proposal | None:
    """This user's live (waiting or accepted) proposal on the job, if any."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Proposal.objects.filter(job=job, freelancer=user, status__in=Proposal.LIVE_STATUSES).first()


def job_proposals_compare(*, job: Job) -> list[Proposal]:
    """The job's proposals for its client: waiting ones first, cheapest first; then decided ones."""
    order = Case(
        When(status=Proposal.Status.SUBMITTED, then=Value(0)),
        When(status=Proposal.Status.ACCEPTED, then=Value(1)),
        default=Value(2),
    )
    proposals = _with_summary(Proposal.objects.filter(job=job).select_related("freelancer"))
    return list(proposals.annotate(order=order).order_by("order", "total", "pk"))


# --- Dashboards ---------------------------------------------------------------------


@dataclass
class ClientDashboard:
    contracts: list[Contract]
    open_jobs: list[Job]
    to_approve: list[Milestone]
    to_fund: list[Milestone]
    to_review: list[Milestone]
    changes_to_answer: list[ChangeRequest]


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
    active = _milestones_of(
        contracts, MilestoneState.APPROVED, MilestoneState.FUNDED, MilestoneState.SUBMITTED, MilestoneState.DISPUTED
    )
    now = timezone.now()
    return FreelancerDashboard(
        proposals=list(
            _with_summary(Proposal.objects.filter(freelancer=user).select_related("job")).order_by("-created_at")[:50]
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
