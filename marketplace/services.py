"""Changes in the marketplace: jobs and proposals, up to the accepted proposal that starts a contract.

Every change locks the job row first (then its proposals, ordered by pk), so a submit, an
edit, a close and an accept on one job run one after another, never interleaved.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.links import absolute_url
from core.money import CURRENCY_EXPONENTS, format_money
from marketplace.errors import JobError, ProposalError
from marketplace.models import Job, JobEvent, Proposal, ProposalMilestone
from milestones.errors import MilestoneError
from milestones.terms import MilestoneTerms, due_at_from_date, due_date_display, milestone_terms_validate
from notifications.kinds import NotificationKind
from notifications.services import notify
from users.models import Skill, User

JOB_MAX_SKILLS = 8
DECLINED_BECAUSE_HIRED = "The client hired another freelancer for this job."
DECLINED_BECAUSE_CLOSED = "The client closed this job without hiring."
ALREADY_SENT = "That form was already sent; nothing was done twice."


@dataclass(frozen=True)
class ProposalMilestoneTerms:
    """One row of a proposal: the amount already parsed into minor units, the due date a calendar day."""

    title: str
    deliverables: str
    amount: int
    due_date: date


def job_event_record(
    *, job: Job, actor: User, action: str, proposal: Proposal | None = None, note: str = ""
) -> JobEvent:
    return JobEvent.objects.create(job=job, proposal=proposal, actor=actor, action=action, note=note)


def job_lock(*, job_id: int) -> Job:
    """Re-read the job under a row lock: the first lock of every job and proposal change."""
    return Job.objects.select_for_update().get(pk=job_id)


@transaction.atomic
def job_create(
    *,
    client: User,
    title: str,
    description: str,
    budget: int,
    currency: str,
    category: str = "",
    deadline: date | None = None,
    skills: Sequence[Skill] = (),
    form_token: uuid.UUID | None = None,
) -> Job:
    """A client posts a job; it is open for proposals until they close it or accept one.

    `form_token` is the form's one-time token: a second POST of the same form posts nothing.
    """
    if form_token and Job.objects.filter(form_token=form_token).exists():
        raise JobError(ALREADY_SENT)
    if not client.is_client:
        raise JobError("Your account doesn't act as a client; turn on the client role in your profile to post jobs.")
    if not title.strip() or not description.strip():
        raise JobError("A job needs a title and a description.")
    if currency not in CURRENCY_EXPONENTS:
        raise JobError(f"{currency} is not a supported currency.")
    if budget <= 0 or budget > settings.JOB_MAX_BUDGET_MINOR:
        raise JobError(
            f"The budget must be above zero and at most {format_money(settings.JOB_MAX_BUDGET_MINOR, currency)}."
        )
    if category and category not in Job.Category.values:
        raise JobError("Choose one of the listed categories.")
    if deadline is not None and deadline < timezone.now().date():
        raise JobError("The deadline can't be in the past.")
    if len(skills) > JOB_MAX_SKILLS:
        raise JobError(f"Choose at most {JOB_MAX_SKILLS} skills.")
    try:
        with transaction.atomic():
            job = Job.objects.create(
                client=client,
                title=title.strip(),
                description=description.strip(),
                budget=budget,
                currency=currency,
                category=category,
                deadline=deadline,
                form_token=form_token,
            )
    except IntegrityError as exc:
        raise JobError(ALREADY_SENT) from exc
    job.skills.set(skills)
    job_event_record(job=job, actor=client, action=JobEvent.Action.POSTED)
    return job


@transaction.atomic
def job_close(*, job: Job, actor: User) -> Job:
    """The client stops taking proposals; every proposal still waiting is declined with a notice."""
    job = job_lock(job_id=job.pk)
    if actor.pk != job.client_id:
        raise JobError("Only the client who posted this job can close it.")
    if not job.is_open:
        raise JobError("This job is already closed.")
    job.status = Job.Status.CLOSED
    job.closed_at = timezone.now()
    job.save(update_fields=["status", "closed_at"])
    job_event_record(job=job, actor=actor, action=JobEvent.Action.CLOSED)
    _proposals_decline_waiting(job=job, actor=actor, message=DECLINED_BECAUSE_CLOSED)
    return job


def _proposals_decline_waiting(*, job: Job, actor: User, message: str, keep: Proposal | None = None) -> None:
    # `of=("self",)`: lock the proposals, not the freelancers' user rows joined for the emails.
    waiting = (
        Proposal.objects.select_for_update(of=("self",))
        .filter(job=job, status=Proposal.Status.SUBMITTED)
        .order_by("pk")
    )
    if keep is not None:
        waiting = waiting.exclude(pk=keep.pk)
    for proposal in waiting.select_related("freelancer"):
        _proposal_decide(proposal=proposal, actor=actor, status=Proposal.Status.DECLINED, message=message)
        job_event_record(
            job=job, proposal=proposal, actor=actor, action=JobEvent.Action.PROPOSAL_DECLINED, note=message
        )
        _email_proposal_declined(proposal=proposal, job=job, message=message)


def _proposal_decide(*, proposal: Proposal, actor: User, status: str, message: str = "") -> None:
    proposal.status = status
    proposal.decline_message = message
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["status", "decline_message", "decided_at", "updated_at"])


def _email_proposal_declined(*, proposal: Proposal, job: Job, message: str) -> None:
    notify(
        recipients=[proposal.freelancer],
        kind=NotificationKind.PROPOSAL_DECLINED,
        subject=f"Your proposal on “{job.title}” was declined",
        body=message or "The client declined your proposal.",
        link=absolute_url("marketplace:proposal_detail", proposal.pk),
        about=("proposal", proposal.pk),
    )


def proposal_milestones_validate(
    *, milestones: Sequence[ProposalMilestoneTerms], currency: str, timezone_name: str
) -> None:
    """The server's rules for a proposal's rows, whatever the form or the browser let through.

    `timezone_name` is the client's: a contract takes it, so a date is past once its end there has passed.
    """
    maximum = settings.PROPOSAL_MAX_MILESTONES
    if not milestones:
        raise ProposalError("Add at least one milestone.")
    if len(milestones) > maximum:
        raise ProposalError(f"A proposal has at most {maximum} milestones.")
    for number, row in enumerate(milestones, start=1):
        terms = MilestoneTerms(
            title=row.title,
            deliverables=row.deliverables,
            amount=row.amount,
            due_date=row.due_date,
        )
        try:
            milestone_terms_validate(terms=terms, currency=currency, timezone_name=timezone_name)
        except MilestoneError as exc:
            raise ProposalError(f"Milestone {number}: {exc}") from exc


def _proposal_rows_replace(*, proposal: Proposal, milestones: Sequence[ProposalMilestoneTerms]) -> None:
    proposal.milestones.all().delete()
    ProposalMilestone.objects.bulk_create(
        ProposalMilestone(
            proposal=proposal,
            position=position,
            title=row.title.strip(),
            deliverables=row.deliverables.strip(),
            amount=row.amount,
            due_date=row.due_date,
        )
        for position, row in enumerate(milestones, start=1)
    )


@transaction.atomic
def proposal_submit(
    *, job: Job, freelancer: User, cover_letter: str, milestones: Sequence[ProposalMilestoneTerms]
) -> Proposal:
    """A freelancer proposes on an open job: a cover letter and one or more milestone rows."""
    job = job_lock(job_id=job.pk)
    if job.client_id == freelancer.pk:
        raise ProposalError("You posted this job, so you can't propose on it.")
    if not freelancer.is_freelancer:
        raise ProposalError("Your account doesn't act as a freelancer; turn on the freelancer role in your profile.")
    if not job.is_open:
        raise ProposalError("This job is closed to new proposals.")
    if Proposal.objects.filter(job=job, freelancer=freelancer, status__in=Proposal.LIVE_STATUSES).exists():
        raise ProposalError("You already have a proposal on this job; edit it instead of sending another.")
    if not cover_letter.strip():
        raise ProposalError("Write a cover letter: what you will do and why you are the right person.")
    proposal_milestones_validate(milestones=milestones, currency=job.currency, timezone_name=job.client.timezone)
    try:
        # The partial unique index is the last guard should two submits slip past the check.
        with transaction.atomic():
            proposal = Proposal.objects.create(job=job, freelancer=freelancer, cover_letter=cover_letter.strip())
    except IntegrityError as exc:
        raise ProposalError("You already have a proposal on this job; edit it instead of sending another.") from exc
    _proposal_rows_replace(proposal=proposal, milestones=milestones)
    job_event_record(job=job, proposal=proposal, actor=freelancer, action=JobEvent.Action.PROPOSAL_SUBMITTED)
    notify(
        recipients=[job.client],
        kind=NotificationKind.JOB_PROPOSAL_RECEIVED,
        subject=f"New proposal on “{job.title}”",
        # Agreed dates are zone-free, so they print the same for every reader.
        body=f"{freelancer} sent a proposal:\n"
        + "".join(f"- {row.title.strip()}, due {due_date_display(row.due_date)}\n" for row in milestones)
        + "\nCompare the proposals on your job:",
        link=absolute_url("marketplace:job_proposals", job.pk),
        about=("proposal", proposal.pk),
    )
    return proposal


def _proposal_lock_waiting(*, proposal: Proposal) -> tuple[Job, Proposal]:
    """Lock the job, then the proposal; refuse one that was already decided."""
    job = job_lock(job_id=proposal.job_id)
    locked = Proposal.objects.select_for_update(of=("self",)).select_related("freelancer").get(pk=proposal.pk)
    locked.job = job
    if not locked.is_waiting:
        raise ProposalError(f"This proposal was already {locked.get_status_display().lower()}.")
    return job, locked


@transaction.atomic
def proposal_update(
    *, proposal: Proposal, actor: User, cover_letter: str, milestones: Sequence[ProposalMilestoneTerms]
) -> Proposal:
    """The freelancer edits a proposal that is still waiting for the client's answer."""
    job, proposal = _proposal_lock_waiting(proposal=proposal)
    if actor.pk != proposal.freelancer_id:
        raise ProposalError("Only the freelancer who sent this proposal can edit it.")
    if not job.is_open:
        raise ProposalError("This job is closed; the proposal can no longer change.")
    if not cover_letter.strip():
        raise ProposalError("Write a cover letter: what you will do and why you are the right person.")
    proposal_milestones_validate(milestones=milestones, currency=job.currency, timezone_name=job.client.timezone)
    proposal.cover_letter = cover_letter.strip()
    proposal.save(update_fields=["cover_letter", "updated_at"])
    _proposal_rows_replace(proposal=proposal, milestones=milestones)
    job_event_record(job=job, proposal=proposal, actor=actor, action=JobEvent.Action.PROPOSAL_EDITED)
    return proposal


@transaction.atomic
def proposal_withdraw(*, proposal: Proposal, actor: User) -> Proposal:
    """The freelancer takes back a proposal still waiting for an answer; they may send a new one later."""
    job, proposal = _proposal_lock_waiting(proposal=proposal)
    if actor.pk != proposal.freelancer_id:
        raise ProposalError("Only the freelancer who sent this proposal can withdraw it.")
    _proposal_decide(proposal=proposal, actor=actor, status=Proposal.Status.WITHDRAWN)
    job_event_record(job=job, proposal=proposal, actor=actor, action=JobEvent.Action.PROPOSAL_WITHDRAWN)
    return proposal


@transaction.atomic
def proposal_decline(*, proposal: Proposal, actor: User, message: str = "") -> Proposal:
    """The client says no, optionally with a message the freelancer sees."""
    job, proposal = _proposal_lock_waiting(proposal=proposal)
    if actor.pk != job.client_id:
        raise ProposalError("Only the client who posted this job can decline its proposals.")
    message = message.strip()
    _proposal_decide(proposal=proposal, actor=actor, status=Proposal.Status.DECLINED, message=message)
    job_event_record(job=job, proposal=proposal, actor=actor, action=JobEvent.Action.PROPOSAL_DECLINED, note=message)
    _email_proposal_declined(proposal=proposal, job=job, message=message)
    return proposal


def proposal_accept_prepare(
    *, proposal: Proposal, actor: User, seen_updated_at: datetime | None
) -> tuple[Job, Proposal]:
    """Lock the job and the proposal for acceptance and refuse what can't be accepted.

    `seen_updated_at` is the proposal's `updated_at` on the page the client accepted from: if the
    freelancer edited it since, the client would be agreeing to terms they never saw.
    """
    job = job_lock(job_id=proposal.job_id)
    if actor.pk != job.client_id:
        raise ProposalError("Only the client who posted this job can accept its proposals.")
    if not job.is_open:
        raise ProposalError("This job is closed: it already has a contract or was closed without hiring.")
    _, proposal = _proposal_lock_waiting(proposal=proposal)
    if seen_updated_at is not None and seen_updated_at != proposal.updated_at:
        raise ProposalError(
            "The freelancer changed this proposal after you opened it; nothing was accepted. "
            "Review the new terms and accept again if they suit you."
        )
    rows = list(proposal.milestones.order_by("position", "pk"))
    # The contract will take the client's zone: a date is past once its end there has passed.
    zone = job.client.timezone or "UTC"
    past = [
        str(n)
        for n, row in enumerate(rows, start=1)
        if due_at_from_date(due_date=row.due_date, timezone_name=zone) <= timezone.now()
    ]
    if past:
        raise ProposalError(
            f"The due date of milestone {', '.join(past)} has passed; ask the freelancer to update the proposal."
        )
    return job, proposal


def proposal_accept_close_job(*, job: Job, proposal: Proposal, actor: User) -> None:
    """Once the contract exists: the proposal accepted, the job closed, the other proposals declined."""
    _proposal_decide(proposal=proposal, actor=actor, status=Proposal.Status.ACCEPTED)
    job.status = Job.Status.CLOSED
    job.closed_at = timezone.now()
    job.save(update_fields=["status", "closed_at"])
    job_event_record(job=job, proposal=proposal, actor=actor, action=JobEvent.Action.PROPOSAL_ACCEPTED)
    _proposals_decline_waiting(job=job, actor=actor, message=DECLINED_BECAUSE_HIRED, keep=proposal)
