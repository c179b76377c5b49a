"""Factories for the marketplace road: proposals with milestone rows, as a freelancer sends them."""

import datetime as dt

from django.utils import timezone

from marketplace.models import Job, Proposal
from tests.factories import FreelancerFactory, JobFactory, ProposalFactory, ProposalMilestoneFactory
from users.models import User


def proposal_with_rows(
    *,
    job: Job | None = None,
    freelancer: User | None = None,
    amounts: tuple[int, ...] = (50_000, 30_000, 20_000),
    first_due_in_days: int = 7,
) -> Proposal:
    """A waiting proposal with one row per amount, due a week apart."""
    proposal = ProposalFactory(job=job or JobFactory(), freelancer=freelancer or FreelancerFactory())
    today = timezone.now().date()
    for position, amount in enumerate(amounts, start=1):
        ProposalMilestoneFactory(
            proposal=proposal,
            position=position,
            title=f"Step {position}",
            amount=amount,
            due_date=today + dt.timedelta(days=first_due_in_days + 7 * (position - 1)),
        )
    return proposal
