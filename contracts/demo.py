"""Demo jobs, proposals and contracts for `seed_demo`, made through the services like real ones.

Each job is looked up by its client and title first, so running the seed again adds nothing.
"""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from contracts.models import Contract
from contracts.services import change_request_propose, contract_message_post, proposal_accept
from marketplace.models import Job
from marketplace.services import (
    ProposalMilestoneTerms,
    job_create,
    proposal_decline,
    proposal_submit,
    proposal_withdraw,
)
from milestones.terms import MilestoneTerms
from users.models import User

# The contract whose milestones `milestones.demo` moves into every state.
EVERY_STATE_JOB_TITLE = "Company website (demo: a milestone in every state)"
# The contract whose milestones `disputes.demo` puts into a dispute in each status.
DISPUTES_JOB_TITLE = "Booking app (demo: a dispute in every status)"


@dataclass(frozen=True)
class DemoProposal:
    freelancer: str
    rows: tuple[tuple[str, str, int, int], ...]  # title, deliverables, amount (minor units), due in days
    outcome: str = "open"  # open, accepted, declined, withdrawn
    cover_letter: str = "I have shipped this kind of work many times; here is my plan in milestones."
    decline_message: str = ""


@dataclass(frozen=True)
class DemoJob:
    client: str
    title: str
    description: str
    budget: int
    currency: str
    category: str
    proposals: tuple[DemoProposal, ...] = ()
    message: str = ""


DEMO_JOBS: tuple[DemoJob, ...] = (
    DemoJob(
        client="client1",
        title="Redesign our bakery's website",
        description="A fresh, accessible five-page site with an online order form. We provide the photos and texts.",
        budget=240_000,
        currency="USD",
        category="design",
        proposals=(
            DemoProposal(
                freelancer="freelancer1",
                outcome="accepted",
                rows=(
                    ("Design mock-ups", "Figma file with the five pages, desktop and mobile", 80_000, 7),
                    ("Build the site", "Source code in a Git repository, deployed to staging", 120_000, 21),
                    ("Launch and hand-over", "Live site, a one-hour training call and a written guide", 40_000, 28),
                ),
            ),
            DemoProposal(
                freelancer="freelancer2",
                rows=(("Whole website", "Five pages, deployed", 260_000, 30),),
            ),
        ),
        message="Welcome aboard! Could we have a kick-off call on Monday? Notes: https://example.com/brief",
    ),
    DemoJob(
        client="client1",
        title="Translate our menu into German",
        description="Two pages of menu and allergy information, from English into German.",
        budget=60_000,
        currency="EUR",
        category="writing",
        proposals=(
            DemoProposal(freelancer="freelancer2", rows=(("Translation", "Menu in German, Word and PDF", 45_000, 10),)),
            DemoProposal(
                freelancer="freelancer1",
                outcome="withdrawn",
                rows=(("Translation", "Menu in German", 55_000, 14),),
            ),
        ),
    ),
    DemoJob(
        client="client2",
        title="Sales dashboard from our spreadsheets",
        description="Turn three monthly spreadsheets into a dashboard the sales team can open in a browser.",
        budget=500_000,
        currency="USD",
        category="data",
        proposals=(
            DemoProposal(
                freelancer="freelancer3",
                rows=(
                    ("Data model", "Cleaned data and a documented schema", 150_000, 10),
                    ("Dashboard", "Deployed dashboard with five charts", 300_000, 30),
                ),
            ),
            DemoProposal(
                freelancer="freelancer1",
                outcome="declined",
                decline_message="Thanks — we need someone with more data experience.",
                rows=(("Everything", "Dashboard", 480_000, 45),),
            ),
        ),
    ),
    DemoJob(
        client="freelancer3",
        title="Logo for a tea shop",
        description="A simple, warm logo for a small tea shop, with a black-and-white version.",
        budget=30_000,
        currency="GBP",
        category="design",
        proposals=(
            DemoProposal(
                freelancer="freelancer2",
                outcome="accepted",
                rows=(
                    ("Three sketches", "Three logo directions as PDF", 10_000, 5),
                    ("Final logo", "SVG and PNG files, colour and black-and-white", 18_000, 14),
                ),
            ),
        ),
        message="Sketches are coming along, expect them on Friday.",
    ),
    DemoJob(
        client="client1",
        title=EVERY_STATE_JOB_TITLE,
        description="A new marketing site in seven milestones. The demo moves each one to a different state.",
        budget=375_000,
        currency="USD",
        category="development",
        proposals=(
            DemoProposal(
                freelancer="freelancer1",
                outcome="accepted",
                cover_letter="I have built a dozen sites like this; here is how I would split the work.",
                rows=tuple(
                    (title, f"{title}: files and a short written summary.", amount, days)
                    for title, amount, days in (
                        ("Discovery workshop", 40_000, 5),
                        ("Wireframes", 60_000, 8),
                        ("Visual design", 80_000, 12),
                        ("Content migration", 30_000, 15),
                        ("Front-end build", 120_000, 20),
                        ("Accessibility audit", 25_000, 25),
                        ("Print brochure", 20_000, 28),
                    )
                ),
            ),
        ),
    ),
    DemoJob(
        client="client2",
        title=DISPUTES_JOB_TITLE,
        description="A small booking app in six milestones. The demo disputes each one and takes it to a different "
        "status: waiting for an answer, answered, an offer on the table, in arbitration, settled, decided.",
        budget=330_000,
        currency="USD",
        category="development",
        proposals=(
            DemoProposal(
                freelancer="freelancer1",
                outcome="accepted",
                cover_letter="Happy to build this; six small milestones keep it easy to review.",
                rows=tuple(
                    (title, f"{title}: source code and a short written summary.", amount, days)
                    for title, amount, days in (
                        ("Sign-up and log-in", 40_000, 6),
                        ("Calendar view", 60_000, 10),
                        ("Booking form", 50_000, 14),
                        ("Payments", 80_000, 18),
                        ("Email reminders", 30_000, 22),
                        ("Admin screens", 70_000, 26),
                    )
                ),
            ),
        ),
    ),
    DemoJob(
        client="client2",
        title="Write five blog posts about home coffee brewing",
        description="Five posts of about 1,000 words each, friendly tone, with sources.",
        budget=75_000,
        currency="USD",
        category="writing",
    ),
)


def demo_every_state_contract(*, users: dict[str, User]) -> Contract:
    return Contract.objects.get(job__title=EVERY_STATE_JOB_TITLE, client=users["client1"])


def demo_disputes_contract(*, users: dict[str, User]) -> Contract:
    return Contract.objects.get(job__title=DISPUTES_JOB_TITLE, client=users["client2"])


def demo_marketplace_ensure(*, users: dict[str, User]) -> int:
    """Create the demo jobs that don't exist yet, with their proposals and contracts; returns how many were new."""
    created = 0
    today = timezone.now().date()
    for spec in DEMO_JOBS:
        client = users[spec.client]
        if Job.objects.filter(client=client, title=spec.title).exists():
            continue
        created += 1
        job = job_create(
            client=client,
            title=spec.title,
            description=spec.description,
            budget=spec.budget,
            currency=spec.currency,
            category=spec.category,
        )
        accepted = None
        for offer in spec.proposals:
            proposal = proposal_submit(
                job=job,
                freelancer=users[offer.freelancer],
                cover_letter=offer.cover_letter,
                milestones=[
                    ProposalMilestoneTerms(
                        title=title, deliverables=deliverables, amount=amount, due_date=today + dt.timedelta(days=days)
                    )
                    for title, deliverables, amount, days in offer.rows
                ],
            )
            if offer.outcome == "withdrawn":
                proposal_withdraw(proposal=proposal, actor=proposal.freelancer)
            elif offer.outcome == "declined":
                proposal_decline(proposal=proposal, actor=client, message=offer.decline_message)
            elif offer.outcome == "accepted":
                accepted = proposal
        if accepted is not None:
            # Accepting declines the other waiting proposals, as it would for a real client.
            contract = proposal_accept(proposal=accepted, actor=client)
            if spec.message:
                contract_message_post(contract=contract, author=client, body=spec.message)
            first = contract.milestones.order_by("position").first()
            if (
                first is not None
                and spec.currency == "USD"
                and spec.title not in (EVERY_STATE_JOB_TITLE, DISPUTES_JOB_TITLE)
            ):
                change_request_propose(
                    contract=contract,
                    proposed_by=contract.freelancer,
                    milestone=None,
                    terms=MilestoneTerms(
                        title="Newsletter sign-up",
                        deliverables="A sign-up form connected to the newsletter tool",
                        amount=25_000,
                        due_date=first.due_date + dt.timedelta(days=30),
                    ),
                    note="You asked about this on our call.",
                )
    return created
