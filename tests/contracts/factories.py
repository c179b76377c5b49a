"""Factories for contracts: started the way the product starts them, by accepting a proposal."""

import factory

from contracts.models import Contract
from contracts.services import proposal_accept
from marketplace.models import Job, Proposal
from tests.marketplace.factories import JobFactory, ProposalFactory, proposal_with_rows
from tests.users.factories import ClientFactory, FreelancerFactory
from users.models import User


class ContractFactory(factory.django.DjangoModelFactory[Contract]):
    class Meta:
        model = Contract

    job = factory.SubFactory(JobFactory, status=Job.Status.CLOSED)
    proposal = factory.SubFactory(ProposalFactory, job=factory.SelfAttribute("..job"), status=Proposal.Status.ACCEPTED)
    client = factory.SelfAttribute("job.client")
    freelancer = factory.SelfAttribute("proposal.freelancer")
    title = factory.SelfAttribute("job.title")
    currency = "USD"


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
