"""Factories for the marketplace: jobs, and proposals with milestone rows as a freelancer sends them."""

import datetime as dt

import factory
from django.utils import timezone

from marketplace.models import Job, Proposal, ProposalMilestone
from tests.users.factories import ClientFactory, FreelancerFactory
from users.models import User


class JobFactory(factory.django.DjangoModelFactory[Job]):
    class Meta:
        model = Job

    client = factory.SubFactory(ClientFactory)
    title = factory.Sequence(lambda n: f"Build feature {n}")
    description = "A well-defined piece of work."
    budget = 150_000
    currency = "USD"


class ProposalFactory(factory.django.DjangoModelFactory[Proposal]):
    class Meta:
        model = Proposal

    job = factory.SubFactory(JobFactory)
    freelancer = factory.SubFactory(FreelancerFactory)
    cover_letter = "I have done this before."


class ProposalMilestoneFactory(factory.django.DjangoModelFactory[ProposalMilestone]):
    class Meta:
        model = ProposalMilestone

    proposal = factory.SubFactory(ProposalFactory)
    position = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Milestone {n}")
    deliverables = "Source code and a short report."
    amount = 50_000
    due_date = factory.LazyFunction(lambda: timezone.now().date() + dt.timedelta(days=14))


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
