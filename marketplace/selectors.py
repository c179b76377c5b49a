"""Reads for the marketplace app: jobs, proposals, and each user's dashboard."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, Max, Min, Q, QuerySet, Sum, Value, When

from marketplace.models import Job, Proposal
from reputation.selectors import FreelancerRecord, freelancer_records
from users.models import Skill

# --- Jobs ---------------------------------------------------------------------------


def job_search(
    *,
    text: str = "",
    budget_min: int | None = None,
    budget_max: int | None = None,
    category: str = "",
    currency: str = "",
    skill: Skill | None = None,
) -> QuerySet[Job]:
    """Open jobs matching every word of `text` (title or description), the budget range and the skill, newest first."""
    jobs = Job.objects.filter(status=Job.Status.OPEN).select_related("client").prefetch_related("skills")
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
    if skill is not None:
        jobs = jobs.filter(skills=skill)
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


def proposals_with_summary(proposals: QuerySet[Proposal]) -> QuerySet[Proposal]:
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
    return proposals_with_summary(proposals_visible_to(user=user)).get(pk=proposal_id)


def proposal_live_of(*, job: Job, user: Any) -> Proposal | None:
    """This user's live (waiting or accepted) proposal on the job, if any."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Proposal.objects.filter(job=job, freelancer=user, status__in=Proposal.LIVE_STATUSES).first()


COVER_LETTER_OPENING_LINES = 2
COVER_LETTER_OPENING_CHARS = 220


def cover_letter_opening(text: str) -> str:
    """The first lines of a cover letter, as the comparison shows them (cut at a word, with an ellipsis)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    opening = " ".join(lines[:COVER_LETTER_OPENING_LINES])
    cut = len(lines) > COVER_LETTER_OPENING_LINES or len(opening) > COVER_LETTER_OPENING_CHARS
    if len(opening) > COVER_LETTER_OPENING_CHARS:
        opening = opening[:COVER_LETTER_OPENING_CHARS].rsplit(" ", 1)[0]
    return opening + ("…" if cut else "")


@dataclass(frozen=True)
class ComparedProposal:
    """One row of the comparison: the proposal with its summary, the cover letter's opening, the freelancer's record."""

    proposal: Proposal
    opening: str
    record: FreelancerRecord


def job_proposals_compare(*, job: Job) -> list[ComparedProposal]:
    """The job's proposals for its client: waiting ones first, cheapest first; then decided ones.

    Each freelancer's record comes in bulk (a fixed number of queries for any number of proposals).
    """
    order = Case(
        When(status=Proposal.Status.SUBMITTED, then=Value(0)),
        When(status=Proposal.Status.ACCEPTED, then=Value(1)),
        default=Value(2),
    )
    proposals = proposals_with_summary(Proposal.objects.filter(job=job).select_related("freelancer"))
    rows = list(proposals.annotate(order=order).order_by("order", "total", "pk"))  # type: ignore[misc]  # "total" is annotated by proposals_with_summary
    records = freelancer_records(users=[proposal.freelancer for proposal in rows])
    return [
        ComparedProposal(
            proposal=proposal,
            opening=cover_letter_opening(proposal.cover_letter),
            record=records[proposal.freelancer_id],
        )
        for proposal in rows
    ]
