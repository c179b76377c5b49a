"""Factories for the models every app's tests need."""

import datetime as dt
from typing import Any

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from contracts.models import Contract
from marketplace.models import Job, Proposal, ProposalMilestone
from milestones.models import Milestone
from users.models import User

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Faker("name")
    is_client = True
    is_freelancer = False

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: Any) -> None:
        obj.set_password(extracted or TEST_PASSWORD)
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def verified(obj: User, create: bool, extracted: bool | None, **kwargs: Any) -> None:
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


class ClientFactory(UserFactory):
    is_client = True
    is_freelancer = False


class FreelancerFactory(UserFactory):
    is_client = False
    is_freelancer = True


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


class ContractFactory(factory.django.DjangoModelFactory[Contract]):
    class Meta:
        model = Contract

    job = factory.SubFactory(JobFactory, status=Job.Status.CLOSED)
    proposal = factory.SubFactory(ProposalFactory, job=factory.SelfAttribute("..job"), status=Proposal.Status.ACCEPTED)
    client = factory.SelfAttribute("job.client")
    freelancer = factory.SelfAttribute("proposal.freelancer")
    title = factory.SelfAttribute("job.title")
    currency = "USD"


class MilestoneFactory(factory.django.DjangoModelFactory[Milestone]):
    """A milestone in `proposed`; move it on through the services, never by assignment."""

    class Meta:
        model = Milestone

    contract = factory.SubFactory(ContractFactory)
    position = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Milestone {n}")
    deliverables = "Working code, deployed."
    amount = 50_000
    currency = factory.SelfAttribute("contract.currency")
    due_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=14))
    proposed_by = factory.SelfAttribute("contract.freelancer")
