"""Demo jobs, proposals and contracts for `seed_demo`, made through the services like real ones.

Each job is looked up by its client and title first, so running the seed again adds nothing.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone

from contracts.models import Contract
from contracts.services import change_request_propose, contract_end, contract_message_post, proposal_accept
from marketplace.models import Job
from marketplace.services import (
    ProposalMilestoneTerms,
    job_create,
    proposal_decline,
    proposal_submit,
    proposal_withdraw,
)
from milestones.demo import DEMO_CARD
from milestones.services import milestone_fund, milestone_release, milestone_submit
from milestones.terms import MilestoneTerms
from payments.services import deposit
from reputation.services import feedback_submit
from users.models import Skill, User

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


# --- Reputation: public profiles, finished contracts and their published feedback -------------

DEMO_PROFILES: dict[str, dict[str, Any]] = {
    "freelancer1": {
        "headline": "Web designer and Django developer: accessible sites for small businesses",
        "bio": "Ten years of building websites for bakeries, cafés and shops.\nI design in Figma, build in Django, "
        "and hand over sites their owners can edit themselves.",
        "skills": ("Web design", "Django", "Figma", "Accessibility", "Python"),
        "portfolio_links": "https://example.com/fay/portfolio\nhttps://example.com/fay/case-study-bakery",
    },
    "freelancer2": {
        "headline": "Logos, illustration and English-to-German translation",
        "bio": "Illustrator and translator based in Berlin.",
        "skills": ("Logo design", "Illustration", "Translation (English to German)"),
        "portfolio_links": "https://example.com/femi",
        "show_total_earned": False,
    },
    "freelancer3": {
        "headline": "Data analyst: dashboards from your spreadsheets",
        "skills": ("Data analysis", "PostgreSQL", "Python"),
    },
    "client1": {"headline": "Owner of a small bakery chain", "bio": "We hire for our website, menus and marketing."},
    "client2": {"headline": "Sales lead at a coffee roaster"},
}


@dataclass(frozen=True)
class DemoFinishedContract:
    client: str
    freelancer: str
    title: str
    skills: tuple[str, ...]
    rows: tuple[tuple[str, int], ...]  # title, amount (minor units)
    client_feedback: tuple[int, int, int, bool, str] | None
    freelancer_feedback: tuple[int, int, int, bool, str] | None


DEMO_FINISHED: tuple[DemoFinishedContract, ...] = (
    DemoFinishedContract(
        client="client2",
        freelancer="freelancer1",
        title="Landing page for our new espresso blend (demo: ended, feedback published)",
        skills=("Web design", "Copywriting"),
        rows=(("Design", 60_000), ("Build and launch", 90_000)),
        client_feedback=(5, 5, 4, True, "Fay understood the brief at once and delivered a page our customers love."),
        freelancer_feedback=(
            5,
            4,
            5,
            True,
            "Clear brief, quick answers, paid the same day. Would work together again.",
        ),
    ),
    DemoFinishedContract(
        client="client1",
        freelancer="freelancer2",
        title="Illustrated birthday card (demo: ended, one feedback still hidden)",
        skills=("Illustration",),
        rows=(("Card illustration", 20_000),),
        client_feedback=(4, 5, 5, True, "Lovely illustration, delivered early."),
        freelancer_feedback=None,
    ),
)


# An open job that asks for skills, so the job list's skill filter finds something.
DEMO_SKILLED_JOB = (
    "client1",
    "Accessibility check of our online shop",
    "Test our shop with a screen reader and a keyboard, and list what to fix, most important first.",
    ("Accessibility", "Web design"),
)


def demo_profiles_ensure(*, users: dict[str, User]) -> None:
    """Headlines, bios, skills and portfolio links for the demo people (set each run; nothing else changes)."""
    for name, fields in DEMO_PROFILES.items():
        user = users[name]
        data = dict(fields)
        skills = data.pop("skills", ())
        for attribute, value in data.items():
            setattr(user, attribute, value)
        user.save(update_fields=list(data))
        user.skills.set(Skill.objects.filter(name__in=skills))


def demo_reputation_ensure(*, users: dict[str, User]) -> int:
    """Finished demo contracts: work paid, the contract ended, feedback left through the services. Idempotent."""
    demo_profiles_ensure(users=users)
    created = 0
    today = timezone.now().date()
    owner, title, description, skills = DEMO_SKILLED_JOB
    if not Job.objects.filter(client=users[owner], title=title).exists():
        created += 1
        job_create(
            client=users[owner],
            title=title,
            description=description,
            budget=80_000,
            currency="USD",
            category="development",
            skills=list(Skill.objects.filter(name__in=skills)),
        )
    for spec in DEMO_FINISHED:
        client, freelancer = users[spec.client], users[spec.freelancer]
        if Job.objects.filter(client=client, title=spec.title).exists():
            continue
        created += 1
        job = job_create(
            client=client,
            title=spec.title,
            description="A small, finished piece of work, kept to show profiles, records and feedback.",
            budget=sum(amount for _title, amount in spec.rows),
            currency="USD",
            category="design",
            skills=list(Skill.objects.filter(name__in=spec.skills)),
        )
        proposal = proposal_submit(
            job=job,
            freelancer=freelancer,
            cover_letter="I'd love to do this.\nHere is my plan, one milestone per step.",
            milestones=[
                ProposalMilestoneTerms(
                    title=title, deliverables=f"{title}: files", amount=amount, due_date=today + dt.timedelta(days=14)
                )
                for title, amount in spec.rows
            ],
        )
        contract = proposal_accept(proposal=proposal, actor=client)
        deposit(
            user=client,
            amount=sum(amount for _title, amount in spec.rows),
            currency="USD",
            card_number=DEMO_CARD,
            idempotency_key=f"demo-reputation:{job.pk}",
        )
        for milestone in contract.milestones.order_by("position"):
            milestone.contract = contract
            milestone = milestone_fund(milestone=milestone, actor=client)
            work = ContentFile(f"# {milestone.title}\n\nThe finished work.\n".encode(), name="delivery.md")
            milestone = milestone_submit(milestone=milestone, actor=freelancer, message="Here it is.", files=[work])
            milestone_release(milestone=milestone, actor=client, note="Thank you!")
        contract = contract_end(contract=contract, actor=client, note="All done.")
        for author, values in ((client, spec.client_feedback), (freelancer, spec.freelancer_feedback)):
            if values is not None:
                quality, communication, reliability, again, comment = values
                feedback_submit(
                    contract=contract,
                    author=author,
                    ratings={"quality": quality, "communication": communication, "reliability": reliability},
                    comment=comment,
                    would_work_again=again,
                )
    return created
