"""A client and a freelancer with a history of any size, for pinning what each page costs (and for bench/).

Everything that moves money or changes a state goes through the services. Only history whose volume
is all that matters (old revisions of one milestone, open jobs of other clients, messages) is
bulk-inserted, as exactly the rows the services write, so building 20x stays fast.
"""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from contracts.models import Contract, ContractMessage
from contracts.services import change_request_propose
from disputes import services as disputes
from disputes.models import (
    Dispute,
    DisputeAction,
    DisputeEvent,
    DisputeReason,
    EvidenceFile,
    Offer,
    OfferStatus,
    Statement,
)
from marketplace.models import Job
from milestones import services
from milestones.models import DeliverableFile, Milestone, MilestoneAction, MilestoneEvent, MilestoneState, Submission
from milestones.terms import MilestoneTerms
from tests.contracts.factories import contract_started
from tests.disputes.factories import evidence
from tests.marketplace.factories import JobFactory, proposal_with_rows
from tests.milestones.factories import client_deposit, deliverable, milestone_in_state
from tests.users.factories import ClientFactory, FreelancerFactory
from users.models import User


@dataclass(frozen=True)
class History:
    client: User
    freelancer: User
    contract: Contract  # the contract page measured: 50 x scale milestones
    milestone: Milestone  # the milestone page measured: submitted, 6 x scale revisions
    dispute: Dispute  # the dispute page measured: 6 x scale statements and declined offers

    def pages(self) -> dict[str, tuple[User, str]]:
        """Each page measured: name → (who looks, path)."""
        return {
            "contract page": (self.client, f"/contracts/{self.contract.pk}/"),
            "milestone page": (self.client, f"/milestones/{self.milestone.pk}/"),
            "dispute page": (self.client, f"/disputes/{self.dispute.pk}/"),
            "client dashboard": (self.client, "/"),
            "freelancer dashboard": (self.freelancer, "/"),
            "job list": (self.freelancer, "/jobs/"),
            "wallet (client)": (self.client, "/wallet/"),
            "wallet (freelancer)": (self.freelancer, "/wallet/"),
            "statement": (self.client, "/wallet/statement/"),
            "freelancer profile": (self.client, f"/freelancers/{self.freelancer.pk}/"),
            "client profile": (self.freelancer, f"/clients/{self.client.pk}/"),
        }


def history_at_scale(scale: int) -> History:
    """At scale 1: 3 contracts of 50 approved milestones, 6 to approve, 6 released, 6 submitted, 6 open jobs
    with a proposal, 6 changes, 25 messages, 40 deposits, 50 other clients' jobs, one milestone with 6
    revisions, one disputed milestone whose case has 6 statements with evidence and 6 declined offers. At
    scale 20 every count is 20 times that: 3,000 approved milestones among 3,400 on the dashboard, 1,000 on
    the contract page. Each list's first page is full at scale 1 already."""
    client, freelancer = ClientFactory(), FreelancerFactory()
    for _ in range(scale):
        client_deposit(user=client, amount=1_000_000)
    contracts = [
        contract_started(milestones=1, client=client, freelancer=freelancer, amount=10_000) for _ in range(3 * scale)
    ]
    contract = contracts[0]
    approved_like_the_first(contract, 50 * scale)
    for other in contracts[1:]:
        approved_like_the_first(other, 50)
    for _ in range(6 * scale):
        services.milestone_create(
            contract=contract,
            proposed_by=freelancer,
            title="Extra work",
            deliverables="More of it.",
            amount=5_000,
            due_date=(timezone.now() + dt.timedelta(days=20)).date(),
        )
    for _ in range(6 * scale):
        milestone = milestone_in_state(MilestoneState.FUNDED, contract=contract, amount=10_000)
        services.milestone_release(milestone=milestone, actor=client)
    for _ in range(6 * scale):
        milestone_in_state(MilestoneState.SUBMITTED, contract=contract, amount=10_000)
    for _ in range(6 * scale):
        proposal_with_rows(job=JobFactory(client=client), freelancer=freelancer, amounts=(20_000,))
    for number in range(6 * scale):
        change_request_propose(
            contract=contract,
            proposed_by=freelancer,
            milestone=None,
            terms=MilestoneTerms(
                title=f"Change {number}",
                deliverables="An added page.",
                amount=3_000,
                due_date=(timezone.now() + dt.timedelta(days=30)).date(),
            ),
            note="Scope grew.",
        )
    for _ in range(40 * scale):
        client_deposit(user=client, amount=1_000)
    ContractMessage.objects.bulk_create(
        ContractMessage(contract=contract, author=(client, freelancer)[n % 2], body=f"Message {n}: how is it going?")
        for n in range(25 * scale)
    )
    others = ClientFactory()
    Job.objects.bulk_create(
        Job(client=others, title=f"Other job {n}", description="Something to build.", budget=100_000, currency="USD")
        for n in range(50 * scale)
    )
    return History(
        client=client,
        freelancer=freelancer,
        contract=contract,
        milestone=_with_revisions(contract, 6 * scale),
        dispute=_disputed(contracts[1], 6 * scale),
    )


def approved_like_the_first(contract: Contract, total: int) -> None:
    """Give the contract `total` approved milestones: its first, accepted through the services, and copies
    of it (with copies of its events) bulk-inserted, as accepting a longer proposal writes them."""
    first = contract.milestones.get()
    events = list(first.events.all())
    copies = Milestone.objects.bulk_create(
        Milestone(
            contract=contract,
            position=position,
            title=f"Step {position}",
            deliverables=first.deliverables,
            amount=first.amount,
            currency=first.currency,
            due_date=first.due_date + dt.timedelta(days=position),
            due_at=first.due_at + dt.timedelta(days=position),
            state=first.state,
            proposed_by_id=first.proposed_by_id,
        )
        for position in range(2, total + 1)
    )
    MilestoneEvent.objects.bulk_create(
        MilestoneEvent(
            milestone=copy,
            contract_id=copy.contract_id,
            actor_id=event.actor_id,
            action=event.action,
            from_state=event.from_state,
            to_state=event.to_state,
            note=event.note,
        )
        for copy in copies
        for event in events
    )


def _with_revisions(contract: Contract, revisions: int) -> Milestone:
    """A submitted milestone with `revisions` revisions: the first two cycles through the services, the
    older ones before them as the same rows bulk-inserted (each a submission, its file and two events)."""
    milestone = milestone_in_state(MilestoneState.SUBMITTED, contract=contract, amount=10_000)
    milestone = services.milestone_request_changes(milestone=milestone, actor=contract.client, note="Not yet")
    milestone = services.milestone_submit(
        milestone=milestone, actor=contract.freelancer, message="Second try", files=[deliverable()]
    )
    first = milestone.submissions.get(revision=1)
    file = first.files.get()
    older = revisions - 2
    # The bulk revisions become 1 … older; the two real ones move after them.
    for submission in milestone.submissions.order_by("-revision"):
        Submission.objects.filter(pk=submission.pk).update(revision=submission.revision + older)
    start = first.submitted_at - dt.timedelta(days=older + 1)
    submissions = Submission.objects.bulk_create(
        Submission(
            milestone=milestone,
            revision=n + 1,
            message=f"Try {n + 1}",
            submitted_by=contract.freelancer,
            changes_requested_note="Not yet",
            changes_requested_at=start + dt.timedelta(days=n, hours=1),
        )
        for n in range(older)
    )
    DeliverableFile.objects.bulk_create(
        DeliverableFile(
            submission=submission,
            file=file.file.name,
            original_name=file.original_name,
            size=file.size,
            sha256=file.sha256,
        )
        for submission in submissions
    )
    events, moments = [], []
    for n in range(older):
        at = start + dt.timedelta(days=n)
        for action, source, target, hours in (
            (MilestoneAction.SUBMIT, MilestoneState.FUNDED, MilestoneState.SUBMITTED, 0),
            (MilestoneAction.REQUEST_CHANGES, MilestoneState.SUBMITTED, MilestoneState.FUNDED, 1),
        ):
            events.append(
                MilestoneEvent(
                    milestone=milestone,
                    contract=contract,
                    actor=contract.freelancer if action == MilestoneAction.SUBMIT else contract.client,
                    action=action,
                    from_state=source,
                    to_state=target,
                )
            )
            moments.append(at + dt.timedelta(hours=hours))
    MilestoneEvent.objects.bulk_create(events)
    # auto_now_add set `at` to now on insert: put each event back at its moment in the past.
    for event, moment in zip(events, moments, strict=True):
        MilestoneEvent.objects.filter(pk=event.pk).update(at=moment)
    for submission, n in zip(submissions, range(older), strict=True):
        Submission.objects.filter(pk=submission.pk).update(submitted_at=start + dt.timedelta(days=n))
    milestone.refresh_from_db()
    return milestone


def _disputed(contract: Contract, rounds: int) -> Dispute:
    """A case opened by the client with `rounds` statements and declined offers and an open offer to answer:
    the last round of each through the services, the earlier ones bulk-inserted as the rows they write
    (a statement with its file and event, an offer declined by the client with its two events)."""
    milestone = milestone_in_state(MilestoneState.SUBMITTED, contract=contract, amount=10_000)
    client, freelancer = contract.client, contract.freelancer
    case = disputes.dispute_open(
        milestone=milestone,
        actor=client,
        reason=DisputeReason.QUALITY,
        statement="The work does not do what we agreed.",
        files=[evidence()],
    )
    file = EvidenceFile.objects.get(statement__dispute=case)
    statements = Statement.objects.bulk_create(
        Statement(dispute=case, author=(freelancer, client)[n % 2], text=f"Statement {n}: here is why.")
        for n in range(rounds - 1)
    )
    EvidenceFile.objects.bulk_create(
        EvidenceFile(
            statement=s, file=file.file.name, original_name=f"photo-{s.pk}.png", size=file.size, sha256=file.sha256
        )
        for s in statements
    )
    offers = Offer.objects.bulk_create(
        Offer(
            milestone=milestone,
            dispute=case,
            made_by=freelancer,
            freelancer_amount=8_000 - n,
            message=f"Offer {n}: most of it?",
            status=OfferStatus.DECLINED,
            expires_at=timezone.now(),
            answered_by=client,
            answered_at=timezone.now(),
        )
        for n in range(rounds - 1)
    )
    DisputeEvent.objects.bulk_create(
        [DisputeEvent(dispute=case, actor=s.author, action=DisputeAction.STATEMENT, note=s.text) for s in statements]
        + [
            DisputeEvent(dispute=case, actor=actor, action=action, note=note)
            for offer in offers
            for actor, action, note in (
                (freelancer, DisputeAction.OFFER_MADE, offer.message),
                (client, DisputeAction.OFFER_DECLINED, "Too much."),
            )
        ]
    )
    case = disputes.dispute_statement_add(
        dispute=case, actor=freelancer, text="It does; see the attached.", files=[evidence("proof.png")]
    )
    declined = disputes.offer_make(milestone=milestone, actor=freelancer, freelancer_amount=7_000, message="Most?")
    disputes.offer_decline(offer=declined, actor=client, note="Too much.")
    disputes.offer_make(milestone=milestone, actor=freelancer, freelancer_amount=5_000, message="Half, then.")
    return Dispute.objects.get(pk=case.pk)
