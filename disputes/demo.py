"""Demo disputes for `seed_demo`: a case in each status, made through the services like real ones.

The every-state contract's "Front-end build" is disputed (awaiting the freelancer's answer); the
disputes demo contract's six milestones are funded, submitted and disputed, then taken to each
status. Idempotent: a contract whose milestones have moved is left alone.
"""

from django.core.files.base import ContentFile
from django.db import transaction

from contracts.models import Contract
from disputes.models import DisputeReason
from disputes.services import (
    dispute_decide,
    dispute_escalate,
    dispute_open,
    dispute_statement_add,
    offer_accept,
    offer_make,
)
from milestones import services as milestone_services
from milestones.models import Milestone, MilestoneState
from payments.services import deposit
from users.models import User

DEMO_CARD = "4242424242424242"
EVERY_STATE_DISPUTED = "Front-end build"


def _note(name: str, text: str) -> ContentFile:
    return ContentFile(text.encode(), name=name)


@transaction.atomic
def demo_disputes_ensure(*, every_state: Contract, disputes: Contract, arbitrator: User) -> None:
    """Open the demo cases once; a second run finds them open and changes nothing."""
    front_end = every_state.milestones.get(title=EVERY_STATE_DISPUTED)
    if front_end.state == MilestoneState.SUBMITTED:
        dispute_open(
            milestone=front_end,
            actor=every_state.client,
            reason=DisputeReason.SCOPE,
            statement="The pages don't match the approved design: the header and the pricing table are missing.",
            files=[_note("design-comparison.md", "# Approved design vs delivered\n\n- Header: missing\n")],
        )
    if disputes.milestones.exclude(state=MilestoneState.APPROVED).exists():
        return
    client, freelancer = disputes.client, disputes.freelancer
    by_title = {m.title: m for m in disputes.milestones.all()}
    deposit(
        user=client,
        amount=sum(m.amount for m in by_title.values()),
        currency=disputes.currency,
        card_number=DEMO_CARD,
        idempotency_key=f"demo-disputes:{disputes.pk}",
    )
    submitted = {
        title: _submitted(milestone, client=client, freelancer=freelancer) for title, milestone in by_title.items()
    }

    def opened(title: str, statement: str, reason: str = DisputeReason.QUALITY) -> Milestone:
        dispute_open(milestone=submitted[title], actor=client, reason=reason, statement=statement)
        return Milestone.objects.get(pk=submitted[title].pk)

    # Awaiting response: the freelancer has not answered yet.
    opened("Sign-up and log-in", "Log-in fails on phones: the button does nothing.")
    # Open: the freelancer answered with a statement and evidence.
    case = opened("Calendar view", "Weeks start on Sunday; we agreed on Monday.", DisputeReason.SCOPE).open_dispute_case
    assert case is not None
    dispute_statement_add(
        dispute=case,
        actor=freelancer,
        text="The brief said Sunday; see the attached excerpt. Happy to switch it for the next milestone.",
        files=[_note("brief-excerpt.txt", "Calendar: weeks start on Sunday (US audience).\n")],
    )
    # Negotiating: the freelancer offered to keep 60%.
    booking = opened("Booking form", "The form does not validate dates.")
    offer_make(
        milestone=booking,
        actor=freelancer,
        freelancer_amount=booking.amount * 60 // 100,
        message="Validation is a small fix; I'll keep 60% and fix it in the next milestone.",
    )
    # In arbitration: the client escalated.
    payments = opened("Payments", "Refunds are not implemented at all.", DisputeReason.NOT_DELIVERED)
    case = payments.open_dispute_case
    assert case is not None
    dispute_escalate(dispute=case, actor=client, note="We can't agree; please decide.")
    # Resolved by an accepted offer: a 50/50 split.
    reminders = opened("Email reminders", "Reminders go out an hour late.", DisputeReason.QUALITY)
    offer = offer_make(milestone=reminders, actor=client, freelancer_amount=reminders.amount // 2, message="Half?")
    offer_accept(offer=offer, actor=freelancer)
    # Resolved by an arbitrator's decision.
    admin_screens = opened("Admin screens", "Half the screens are missing.", DisputeReason.NOT_DELIVERED)
    case = admin_screens.open_dispute_case
    assert case is not None
    dispute_escalate(dispute=case, actor=freelancer, note="Four of the six screens are done; please decide.")
    dispute_decide(
        dispute=case,
        arbitrator=arbitrator,
        freelancer_amount=admin_screens.amount * 2 // 3,
        decision="Four of six screens were delivered and work as agreed: two thirds to the freelancer.",
    )


def _submitted(milestone: Milestone, *, client: User, freelancer: User) -> Milestone:
    milestone = milestone_services.milestone_fund(milestone=milestone, actor=client)
    return milestone_services.milestone_submit(
        milestone=milestone,
        actor=freelancer,
        message="Ready for your review.",
        files=[
            _note(f"{milestone.title.lower().replace(' ', '-')}.md", f"# {milestone.title}\n\nWhat was delivered.\n")
        ],
    )
