"""Demo data for the milestone lifecycle: one contract with a milestone in every state.

Everything goes through the real services (job, proposal, accept, fund, submit, release...),
so the ledger is consistent and `ledger_verify` passes. Idempotent: the demo job's title is
the marker; a second run finds it and changes nothing.
"""

import datetime as dt

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from contracts.models import Contract
from marketplace.models import Job, User
from marketplace.services import ProposalMilestoneTerms, job_create, proposal_accept, proposal_submit
from milestones import services
from milestones.models import Milestone, MilestoneState
from payments.services import deposit

DEMO_JOB_TITLE = "Company website (demo: a milestone in every state)"
DEMO_CARD = "4242424242424242"

# (title, amount in cents, days until due, the state the demo leaves it in)
DEMO_ROWS: list[tuple[str, int, int, str]] = [
    ("Discovery workshop", 40_000, 5, MilestoneState.RELEASED),
    ("Wireframes", 60_000, 8, MilestoneState.SUBMITTED),
    ("Visual design", 80_000, 12, MilestoneState.FUNDED),
    ("Content migration", 30_000, 15, MilestoneState.REFUNDED),
    ("Front-end build", 120_000, 20, MilestoneState.DISPUTED),
    ("Accessibility audit", 25_000, 25, MilestoneState.APPROVED),
    ("Print brochure", 20_000, 28, MilestoneState.CANCELLED),
]


@transaction.atomic
def demo_milestones_ensure(*, client: User, freelancer: User) -> Contract:
    existing = Contract.objects.filter(job__title=DEMO_JOB_TITLE, client=client).first()
    if existing is not None:
        return existing

    today = timezone.now().date()
    job = job_create(
        client=client,
        title=DEMO_JOB_TITLE,
        description="A new marketing site in seven milestones. The demo moves each one to a different state.",
        budget=sum(row[1] for row in DEMO_ROWS),
        currency="USD",
        category=Job.Category.DEVELOPMENT,
    )
    proposal = proposal_submit(
        job=job,
        freelancer=freelancer,
        cover_letter="I have built a dozen sites like this; here is how I would split the work.",
        milestones=[
            ProposalMilestoneTerms(
                title=title,
                deliverables=f"{title}: files and a short written summary.",
                amount=amount,
                due_date=today + dt.timedelta(days=days),
            )
            for title, amount, days, _ in DEMO_ROWS
        ],
    )
    contract = proposal_accept(proposal=proposal, actor=client)
    deposit(
        user=client,
        amount=sum(amount for _, amount, _, state in DEMO_ROWS if state != MilestoneState.APPROVED),
        currency="USD",
        card_number=DEMO_CARD,
        idempotency_key=f"demo-seed:{contract.pk}",
    )
    by_title = {m.title: m for m in contract.milestones.all()}
    for title, _, _, state in DEMO_ROWS:
        _demo_move(milestone=by_title[title], state=state, client=client, freelancer=freelancer)
    # A freshly proposed extra, waiting for the client's approval.
    services.milestone_create(
        contract=contract,
        proposed_by=freelancer,
        title="Analytics set-up",
        deliverables="Privacy-friendly analytics with a dashboard.",
        amount=15_000,
        due_at=timezone.now() + dt.timedelta(days=30),
        note="Proposed after the contract started",
    )
    return contract


def _demo_move(*, milestone: Milestone, state: str, client: User, freelancer: User) -> None:
    if state == MilestoneState.APPROVED:
        return
    if state == MilestoneState.CANCELLED:
        services.milestone_cancel(milestone=milestone, actor=client, note="Print is out of scope for now.")
        return
    services.milestone_fund(milestone=milestone, actor=client)
    if state == MilestoneState.REFUNDED:
        services.milestone_refund(milestone=milestone, actor=freelancer, note="The content team will do this in-house.")
        return
    if state == MilestoneState.FUNDED:
        return
    notes = ContentFile(
        f"# {milestone.title}\n\nWhat was delivered, and how to review it.\n".encode(),
        name=f"{milestone.title.lower().replace(' ', '-')}.md",
    )
    services.milestone_submit(milestone=milestone, actor=freelancer, message="Ready for your review.", files=[notes])
    if state == MilestoneState.RELEASED:
        services.milestone_release(milestone=milestone, actor=client, note="Great start, thank you.")
    elif state == MilestoneState.DISPUTED:
        services.milestone_open_dispute(
            milestone=milestone, actor=client, reason="The pages don't match the approved design."
        )
