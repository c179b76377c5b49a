"""Demo data for the milestone lifecycle: one contract with a milestone in every state.

Everything goes through the real services (job, proposal, accept, fund, submit, release...),
so the ledger is consistent and `ledger_verify` passes. Idempotent: the demo job's title is
the marker; a second run finds it and changes nothing.
"""

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from milestones import services
from milestones.models import Milestone, MilestoneState
from payments.services import deposit
from users.models import User

if TYPE_CHECKING:
    from contracts.models import Contract

DEMO_CARD = "4242424242424242"

# The state the demo leaves each milestone of the demo contract in (the contract itself comes
# from the marketplace demo, through a proposal and its acceptance).
DEMO_STATES: dict[str, str] = {
    "Discovery workshop": MilestoneState.RELEASED,
    "Wireframes": MilestoneState.SUBMITTED,
    "Visual design": MilestoneState.FUNDED,
    "Content migration": MilestoneState.REFUNDED,
    # Submitted here; `disputes.demo` disputes it (a disputed milestone is opened with its case, up there).
    "Front-end build": MilestoneState.SUBMITTED,
    "Accessibility audit": MilestoneState.APPROVED,
    "Print brochure": MilestoneState.CANCELLED,
}


@transaction.atomic
def demo_milestones_ensure(*, contract: "Contract") -> "Contract":
    """Move the demo contract's approved milestones into every state; a second run finds them moved."""
    client, freelancer = contract.client, contract.freelancer
    if contract.milestones.exclude(state=MilestoneState.APPROVED).exists():
        return contract
    by_title = {m.title: m for m in contract.milestones.all()}
    deposit(
        user=client,
        amount=sum(by_title[title].amount for title, state in DEMO_STATES.items() if state != MilestoneState.APPROVED),
        currency=contract.currency,
        card_number=DEMO_CARD,
        idempotency_key=f"demo-seed:{contract.pk}",
    )
    for title, state in DEMO_STATES.items():
        _demo_move(milestone=by_title[title], state=state, client=client, freelancer=freelancer)
    # A freshly proposed extra, waiting for the client's approval.
    services.milestone_create(
        contract=contract,
        proposed_by=freelancer,
        title="Analytics set-up",
        deliverables="Privacy-friendly analytics with a dashboard.",
        amount=15_000,
        due_date=timezone.localdate(timezone=zoneinfo.ZoneInfo(contract.timezone)) + dt.timedelta(days=30),
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
