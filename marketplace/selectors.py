"""Reads for the marketplace app: jobs, proposals, and each user's dashboard."""

from typing import Any

from django.db.models import Case, Count, Max, Min, Q, QuerySet, Sum, Value, When

from marketplace.models import Job, Proposal

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


def job_proposals_compare(*, job: Job) -> list[Proposal]:
    """The job's proposals for its client: waiting ones first, cheapest first; then decided ones."""
    order = Case(
        When(status=Proposal.Status.SUBMITTED, then=Value(0)),
        When(status=Proposal.Status.ACCEPTED, then=Value(1)),
        default=Value(2),
    )
    proposals = proposals_with_summary(Proposal.objects.filter(job=job).select_related("freelancer"))
    return list(proposals.annotate(order=order).order_by("order", "total", "pk"))  # type: ignore[misc]  # "total" is annotated by proposals_with_summary
