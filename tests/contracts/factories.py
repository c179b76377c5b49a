"""Factories for contracts: started the way the product starts them, by accepting a proposal."""

from contracts.models import Contract
from contracts.services import proposal_accept
from marketplace.models import Job
from tests.factories import ClientFactory, FreelancerFactory, JobFactory
from tests.marketplace.factories import proposal_with_rows
from users.models import User


def contract_started(
    *,
    milestones: int = 3,
    client: User | None = None,
    freelancer: User | None = None,
    amount: int = 50_000,
    currency: str = "USD",
) -> Contract:
    """A contract with `milestones` approved milestones, made by accepting a proposal."""
    job: Job = JobFactory(client=client or ClientFactory(), currency=currency)
    proposal = proposal_with_rows(
        job=job, freelancer=freelancer or FreelancerFactory(), amounts=tuple([amount] * milestones)
    )
    return proposal_accept(proposal=proposal, actor=job.client)
