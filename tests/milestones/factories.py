"""Milestones in any state, moved there through the services so the ledger is always consistent."""

import datetime as dt
import uuid

import factory
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from contracts.models import Contract
from disputes.models import DisputeReason
from disputes.services import dispute_open
from milestones import services
from milestones.models import Milestone, MilestoneState
from milestones.terms import due_at_from_date
from payments.services import deposit
from tests.contracts.factories import ContractFactory
from tests.users.factories import UserFactory
from users.models import User
from users.selectors import user_system_actor

TEST_CARD = "4242424242424242"
S = MilestoneState


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
    due_date = factory.LazyFunction(lambda: (timezone.now() + dt.timedelta(days=14)).date())
    due_at = factory.LazyAttribute(lambda o: due_at_from_date(due_date=o.due_date, timezone_name=o.contract.timezone))
    proposed_by = factory.SelfAttribute("contract.freelancer")


def client_deposit(*, user: User, amount: int, currency: str = "USD") -> None:
    deposit(user=user, amount=amount, currency=currency, card_number=TEST_CARD, idempotency_key=uuid.uuid4().hex)


def funded_contract(*, balance: int = 500_000, **contract_fields: object) -> Contract:
    """A contract whose client has `balance` (minor units) to spend."""
    contract = ContractFactory(**contract_fields)
    if balance:
        client_deposit(user=contract.client, amount=balance, currency=contract.currency)
    return contract


def deliverable(name: str = "report.pdf", content: bytes = b"%PDF-1.4 the work\n") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def staff_user() -> User:
    return UserFactory(is_staff=True, email=f"staff-{uuid.uuid4().hex[:8]}@example.com")


def arbitrator_user() -> User:
    """Staff holding `disputes.arbitrate`."""
    user = UserFactory(is_staff=True, email=f"arbitrator-{uuid.uuid4().hex[:8]}@example.com")
    user.user_permissions.add(Permission.objects.get(codename="arbitrate", content_type__app_label="disputes"))
    return User.objects.get(pk=user.pk)  # a fresh object: permissions are cached per instance


def milestone_in_state(
    state: str,
    *,
    contract: Contract | None = None,
    amount: int = 50_000,
    disputed_from: str = S.SUBMITTED,
    dispute_opener: str = "client",
    title: str | None = None,
) -> Milestone:
    """A milestone proposed by the freelancer and moved to `state` through the services.

    disputed: from `disputed_from` (funded or submitted), opened by `dispute_opener` (a case, awaiting response).
    released: released by the client; refunded: fully refunded by the freelancer.
    """
    contract = contract or funded_contract()
    client, freelancer = contract.client, contract.freelancer
    milestone = services.milestone_create(
        contract=contract,
        proposed_by=freelancer,
        title=title or f"Milestone {uuid.uuid4().hex[:6]}",
        deliverables="Working code and a short report.",
        amount=amount,
        due_date=(timezone.now() + dt.timedelta(days=10)).date(),
    )
    if state == S.PROPOSED:
        return milestone
    if state == S.CANCELLED:
        return services.milestone_decline(milestone=milestone, actor=client, note="Not now")
    milestone = services.milestone_approve(milestone=milestone, actor=client)
    if state == S.APPROVED:
        return milestone
    milestone = services.milestone_fund(milestone=milestone, actor=client)
    if state == S.FUNDED or (state == S.DISPUTED and disputed_from == S.FUNDED):
        if state == S.DISPUTED:
            opener = client if dispute_opener == "client" else freelancer
            dispute_open(milestone=milestone, actor=opener, reason=DisputeReason.NOT_DELIVERED, statement="It is late")
            return Milestone.objects.get(pk=milestone.pk)
        return milestone
    milestone = services.milestone_submit(
        milestone=milestone, actor=freelancer, message="Here it is", files=[deliverable()]
    )
    if state == S.SUBMITTED:
        return milestone
    if state == S.DISPUTED:
        opener = client if dispute_opener == "client" else freelancer
        dispute_open(milestone=milestone, actor=opener, reason=DisputeReason.QUALITY, statement="It does not work")
        return Milestone.objects.get(pk=milestone.pk)
    if state == S.RELEASED:
        return services.milestone_release(milestone=milestone, actor=client)
    if state == S.REFUNDED:
        return services.milestone_refund(milestone=milestone, actor=freelancer, note="Could not finish")
    raise ValueError(f"Unknown state {state!r}")


def system_actor() -> User:
    return user_system_actor()
