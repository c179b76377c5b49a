"""Changes to contracts: start, messages, change requests, end. Atomic, row-locked, audited."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from contracts.errors import ChangeRequestError, ContractError, ContractMessageError
from contracts.models import ChangeRequest, Contract, ContractEvent, ContractMessage
from core.links import absolute_url
from core.money import format_money
from marketplace.errors import ProposalError
from marketplace.models import Job, Proposal
from marketplace.services import proposal_accept_close_job, proposal_accept_prepare
from milestones.errors import MilestoneError
from milestones.models import Milestone
from milestones.services import (
    milestone_approve,
    milestone_change_order_apply,
    milestone_close_unfunded,
    milestone_create,
    milestone_terms_apply,
)
from milestones.terms import MilestoneTerms, due_at_from_date, due_date_display, milestone_terms_validate
from notifications.kinds import NotificationKind
from notifications.services import notify
from payments.errors import PaymentError
from reputation.services import feedback_window_open
from users.models import User

MESSAGE_MAX_LENGTH = 5000
ALREADY_SENT = "That form was already sent; nothing was done twice."


def contract_lock(*, contract_id: int) -> Contract:
    """Re-read the contract under a row lock; the first lock of every contract-level change."""
    # `of=("self",)`: the parties' user rows are read, not locked.
    return Contract.objects.select_for_update(of=("self",)).select_related("client", "freelancer").get(pk=contract_id)


def contract_event_record(
    *, contract: Contract, actor: User, action: ContractEvent.Action, note: str = ""
) -> ContractEvent:
    return ContractEvent.objects.create(contract=contract, actor=actor, action=action, note=note)


def _contract_url(contract: Contract) -> str:
    return absolute_url("contracts:detail", contract.pk)


def _other_party(contract: Contract, user: User) -> User:
    return contract.freelancer if user.pk == contract.client_id else contract.client


def _require_active_party(*, contract: Contract, actor: User, doing: str) -> None:
    if not contract.is_party(actor):
        raise ContractError(f"Only the contract's client or freelancer can {doing}.")
    if not contract.is_active:
        raise ContractError(f"This contract has ended, so you can't {doing}.")


@transaction.atomic
def contract_start(
    *,
    job: Job,
    proposal: Proposal,
    client: User,
    freelancer: User,
    title: str,
    currency: str,
    milestones: Sequence[MilestoneTerms],
) -> Contract:
    """Create the contract and its milestones, each proposed by the freelancer and approved by the client.

    Called by `proposal_accept` with the job row already locked; the one-to-one on job and
    proposal is the database's second guard against two contracts for one job.
    """
    if not milestones:
        raise ContractError("A contract needs at least one milestone.")
    try:
        with transaction.atomic():
            contract = Contract.objects.create(
                job=job,
                proposal=proposal,
                client=client,
                freelancer=freelancer,
                title=title,
                currency=currency,
                # The client's zone at acceptance: every milestone is due at the end of its date there.
                timezone=client.timezone or "UTC",
            )
    except IntegrityError as exc:
        raise ContractError("This job already has a contract.") from exc
    contract_event_record(
        contract=contract, actor=client, action=ContractEvent.Action.STARTED, note=f"From proposal #{proposal.pk}."
    )
    for position, terms in enumerate(milestones, start=1):
        milestone = milestone_create(
            contract=contract,
            proposed_by=freelancer,
            title=terms.title,
            deliverables=terms.deliverables,
            amount=terms.amount,
            due_date=terms.due_date,
            position=position,
            note=f"Proposed in proposal #{proposal.pk}",
        )
        # Only the milestone is needed again; its contract is the same object.
        milestone.contract = contract
        # The freelancer is told once, that the proposal was accepted, not once per milestone.
        milestone_approve(
            milestone=milestone, actor=client, note="Approved by accepting the proposal", tell_other_party=False
        )
    return contract


@transaction.atomic
def contract_message_post(
    *, contract: Contract, author: User, body: str, form_token: uuid.UUID | None = None
) -> ContractMessage:
    """A plain-text message in the contract's thread; the other party is told by email.

    `form_token` is the form's one-time token: a second POST of the same form posts nothing.
    """
    text = body.strip()
    if not contract.is_party(author):
        raise ContractMessageError("Only the contract's client or freelancer can write in its thread.")
    if not text:
        raise ContractMessageError("Write a message before sending it.")
    if len(text) > MESSAGE_MAX_LENGTH:
        raise ContractMessageError(f"A message may be at most {MESSAGE_MAX_LENGTH} characters; split it in two.")
    if form_token and ContractMessage.objects.filter(form_token=form_token).exists():
        raise ContractMessageError(ALREADY_SENT)
    try:
        with transaction.atomic():
            message = ContractMessage.objects.create(contract=contract, author=author, body=text, form_token=form_token)
    except IntegrityError as exc:
        raise ContractMessageError(ALREADY_SENT) from exc
    notify(
        recipients=[_other_party(contract, author)],
        kind=NotificationKind.CONTRACT_MESSAGE,
        subject=f"New message on “{contract.title}”",
        body=f"{author} wrote:\n\n{text}\n\nReply on the contract page.",
        link=_contract_url(contract),
        about=("contract", contract.pk),
    )
    return message


@transaction.atomic
def change_request_propose(
    *,
    contract: Contract,
    proposed_by: User,
    milestone: Milestone | None,
    terms: MilestoneTerms,
    note: str = "",
    form_token: uuid.UUID | None = None,
) -> ChangeRequest:
    """Propose a new milestone (`milestone=None`) or new terms for one; nothing changes until accepted.

    Proposed and approved milestones may change title, deliverables, amount and due date. A
    funded or submitted milestone may change only its amount and due date (a change order,
    which moves the escrow difference once accepted).
    """
    contract = contract_lock(contract_id=contract.pk)
    if form_token and ChangeRequest.objects.filter(form_token=form_token).exists():
        raise ChangeRequestError(ALREADY_SENT)
    _require_active_party(contract=contract, actor=proposed_by, doing="propose changes")
    kind = ChangeRequest.Kind.NEW_MILESTONE
    number = None
    if milestone is not None:
        milestone = Milestone.objects.select_for_update(no_key=True).get(pk=milestone.pk)
        if milestone.contract_id != contract.pk:
            raise ChangeRequestError("That milestone belongs to another contract.")
    try:
        milestone_terms_validate(
            terms=terms,
            currency=contract.currency,
            timezone_name=contract.timezone,
            agreed_due_date=milestone.due_date if milestone else None,
        )
    except MilestoneError as exc:
        raise ChangeRequestError(str(exc)) from exc
    if milestone is not None:
        kind = _change_kind(milestone=milestone, terms=terms)
        if ChangeRequest.objects.filter(milestone=milestone, status=ChangeRequest.Status.PROPOSED).exists():
            raise ChangeRequestError("This milestone already has a change waiting for an answer.")
        number = (ChangeRequest.objects.filter(milestone=milestone).aggregate(n=Max("number"))["n"] or 0) + 1
    change = ChangeRequest.objects.create(
        contract=contract,
        milestone=milestone,
        kind=kind,
        number=number,
        proposed_by=proposed_by,
        title=terms.title.strip(),
        deliverables=terms.deliverables.strip(),
        amount=terms.amount,
        due_date=terms.due_date,
        due_at=due_at_from_date(due_date=terms.due_date, timezone_name=contract.timezone),
        note=note.strip(),
        form_token=form_token,
    )
    contract_event_record(
        contract=contract,
        actor=proposed_by,
        action=ContractEvent.Action.CHANGE_PROPOSED,
        note=_change_summary(change),
    )
    notify(
        recipients=[_other_party(contract, proposed_by)],
        # A new milestone is its own kind of notice; new terms and change orders are changes.
        kind=NotificationKind.MILESTONE_PROPOSED
        if change.kind == ChangeRequest.Kind.NEW_MILESTONE
        else NotificationKind.CHANGE_PROPOSED,
        subject=f"A change was proposed on “{contract.title}”",
        body=f"{proposed_by} proposed: {_change_summary(change)}\n\nAccept or decline it on the contract page.",
        link=_contract_url(contract),
        about=("change_request", change.pk),
    )
    return change


def _change_kind(*, milestone: Milestone, terms: MilestoneTerms) -> ChangeRequest.Kind:
    if milestone.is_unfunded:
        unchanged = (milestone.title, milestone.deliverables, milestone.amount, milestone.due_date) == (
            terms.title.strip(),
            terms.deliverables.strip(),
            terms.amount,
            terms.due_date,
        )
        if unchanged:
            raise ChangeRequestError("Those are the milestone's current terms; change something first.")
        return ChangeRequest.Kind.TERMS
    if milestone.accepts_change_order:
        if (terms.title.strip(), terms.deliverables.strip()) != (milestone.title, milestone.deliverables):
            raise ChangeRequestError(
                "This milestone is funded: a change order may change only its amount and due date."
            )
        if (terms.amount, terms.due_date) == (milestone.amount, milestone.due_date):
            raise ChangeRequestError("Those are the milestone's current amount and due date; change one first.")
        return ChangeRequest.Kind.CHANGE_ORDER
    raise ChangeRequestError(f"This milestone is {milestone.state_label.lower()}; its terms can no longer change.")


def _change_summary(change: ChangeRequest) -> str:
    money = format_money(change.amount, change.contract.currency)
    # An agreed date reads the same in every zone, so one body suits both parties.
    due = due_date_display(change.due_date)
    if change.kind == ChangeRequest.Kind.NEW_MILESTONE:
        return f"new milestone “{change.title}”, {money}, due {due}"
    label = "change order" if change.kind == ChangeRequest.Kind.CHANGE_ORDER else "change"
    return f"{label} #{change.number} to “{change.milestone}”: {money}, due {due}"


def _change_lock_open(*, change_request: ChangeRequest) -> tuple[Contract, ChangeRequest]:
    """Lock the contract, then the request; refuse a request that was already answered."""
    contract = contract_lock(contract_id=change_request.contract_id)
    change = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
    change.contract = contract
    if change.status != ChangeRequest.Status.PROPOSED:
        raise ChangeRequestError(f"This change was already {change.get_status_display().lower()}.")
    return contract, change


def _change_close(
    *, change: ChangeRequest, actor: User, status: ChangeRequest.Status, action: ContractEvent.Action, note: str = ""
) -> None:
    change.status = status
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.save(update_fields=["status", "decided_by", "decided_at", "milestone"])
    contract_event_record(
        contract=change.contract,
        actor=actor,
        action=action,
        note=_change_summary(change) + (f"\n{note}" if note else ""),
    )


@transaction.atomic
def change_request_accept(*, change_request: ChangeRequest, actor: User) -> ChangeRequest:
    """The other party agrees; the change is applied through the milestone services in this transaction."""
    contract, change = _change_lock_open(change_request=change_request)
    _require_active_party(contract=contract, actor=actor, doing="accept changes")
    if actor.pk == change.proposed_by_id:
        raise ChangeRequestError("You proposed this change; the other party accepts or declines it.")
    why = f"Accepted change request #{change.pk}" + (f": {change.note}" if change.note else "")
    try:
        if change.kind == ChangeRequest.Kind.NEW_MILESTONE:
            milestone = milestone_create(
                contract=contract,
                proposed_by=change.proposed_by,
                title=change.title,
                deliverables=change.deliverables,
                amount=change.amount,
                due_date=change.due_date,
                note=f"Proposed in change request #{change.pk}",
            )
            milestone.contract = contract
            # The proposer is told once, that the change was accepted.
            change.milestone = milestone_approve(
                milestone=milestone,
                actor=actor,
                note=f"Approved by accepting change request #{change.pk}",
                tell_other_party=False,
            )
        elif change.kind == ChangeRequest.Kind.TERMS:
            assert change.milestone is not None
            if not change.milestone.is_unfunded:
                raise ChangeRequestError(
                    "This milestone was funded after the change was proposed; propose a change order instead."
                )
            milestone_terms_apply(
                milestone=change.milestone,
                actor=actor,
                title=change.title,
                deliverables=change.deliverables,
                amount=change.amount,
                due_date=change.due_date,
                note=why,
            )
        else:
            assert change.milestone is not None and change.number is not None
            milestone_change_order_apply(
                milestone=change.milestone,
                actor=actor,
                amount=change.amount,
                due_date=change.due_date,
                change_number=change.number,
                note=why,
            )
    except (MilestoneError, PaymentError) as exc:
        raise ChangeRequestError(str(exc)) from exc
    _change_close(
        change=change, actor=actor, status=ChangeRequest.Status.ACCEPTED, action=ContractEvent.Action.CHANGE_ACCEPTED
    )
    notify(
        recipients=[change.proposed_by],
        # An accepted change order moves escrow money: a money notice, always emailed.
        kind=NotificationKind.CHANGE_ORDER_ACCEPTED
        if change.kind == ChangeRequest.Kind.CHANGE_ORDER
        else NotificationKind.CHANGE_ACCEPTED,
        subject=f"Your change on “{contract.title}” was accepted",
        body=f"{actor} accepted: {_change_summary(change)}",
        link=_contract_url(contract),
        about=("change_request", change.pk),
    )
    return change


@transaction.atomic
def change_request_decline(*, change_request: ChangeRequest, actor: User, note: str = "") -> ChangeRequest:
    """The other party says no; nothing about the milestones changes."""
    contract, change = _change_lock_open(change_request=change_request)
    if not contract.is_party(actor) or actor.pk == change.proposed_by_id:
        raise ChangeRequestError("Only the other party can decline this change; you can withdraw your own.")
    _change_close(
        change=change,
        actor=actor,
        status=ChangeRequest.Status.DECLINED,
        action=ContractEvent.Action.CHANGE_DECLINED,
        note=note.strip(),
    )
    notify(
        recipients=[change.proposed_by],
        kind=NotificationKind.CHANGE_DECLINED,
        subject=f"Your change on “{contract.title}” was declined",
        body=f"{actor} declined: {_change_summary(change)}\n{note.strip()}",
        link=_contract_url(contract),
        about=("change_request", change.pk),
    )
    return change


@transaction.atomic
def change_request_withdraw(*, change_request: ChangeRequest, actor: User) -> ChangeRequest:
    """The proposer takes the change back; nothing about the milestones changes."""
    _, change = _change_lock_open(change_request=change_request)
    if actor.pk != change.proposed_by_id:
        raise ChangeRequestError("Only the party who proposed this change can withdraw it.")
    _change_close(
        change=change, actor=actor, status=ChangeRequest.Status.WITHDRAWN, action=ContractEvent.Action.CHANGE_WITHDRAWN
    )
    return change


@transaction.atomic
def contract_end(*, contract: Contract, actor: User, note: str = "") -> Contract:
    """Either party ends the contract once no milestone holds money or waits for a decision about it.

    Milestones still proposed are withdrawn or declined and approved ones cancelled, through
    the milestone services, so each one's history says why; open change requests are declined.
    """
    contract = contract_lock(contract_id=contract.pk)
    _require_active_party(contract=contract, actor=actor, doing="end it")
    # `no_key`: like milestone_lock, so a lot maturing from a released milestone can still commit.
    milestones = list(Milestone.objects.select_for_update(no_key=True).filter(contract=contract).order_by("pk"))
    busy = [m for m in milestones if m.holds_escrow]
    if busy:
        names = ", ".join(f"“{m.title}” ({m.state_label.lower()})" for m in busy)
        raise ContractError(
            f"The contract can't end while money is in escrow: {names}. Release, refund or resolve them first."
        )
    why = f"Contract ended by {actor}" + (f": {note.strip()}" if note.strip() else "")
    for milestone in milestones:
        milestone.contract = contract
        if milestone.is_unfunded:
            milestone_close_unfunded(milestone=milestone, actor=actor, note=why)
    for change in ChangeRequest.objects.select_for_update().filter(
        contract=contract, status=ChangeRequest.Status.PROPOSED
    ):
        change.status = ChangeRequest.Status.DECLINED
        change.decided_by, change.decided_at = actor, timezone.now()
        change.save(update_fields=["status", "decided_by", "decided_at"])
    contract.status = Contract.Status.ENDED
    contract.ended_at = timezone.now()
    contract.ended_by = actor
    contract.save(update_fields=["status", "ended_at", "ended_by"])
    contract_event_record(contract=contract, actor=actor, action=ContractEvent.Action.ENDED, note=note.strip())
    notify(
        recipients=[_other_party(contract, actor)],
        kind=NotificationKind.CONTRACT_ENDED,
        subject=f"“{contract.title}” has ended",
        body=f"{why}.",
        link=_contract_url(contract),
        about=("contract", contract.pk),
    )
    # Both parties are asked for feedback, each about the other (double-blind until both are in).
    feedback_window_open(contract=contract, now=contract.ended_at)
    return contract


@transaction.atomic
def proposal_accept(*, proposal: Proposal, actor: User, seen_updated_at: datetime | None = None) -> Contract:
    """The client accepts: contract, approved milestones, job closed, the other proposals declined.

    All in one transaction under the job's row lock, so two accepts at once on one job make
    one contract; the loser finds the job closed and gets a domain error.
    """
    job, proposal = proposal_accept_prepare(proposal=proposal, actor=actor, seen_updated_at=seen_updated_at)
    rows = list(proposal.milestones.order_by("position", "pk"))
    try:
        contract = contract_start(
            job=job,
            proposal=proposal,
            client=actor,
            freelancer=proposal.freelancer,
            title=job.title,
            currency=job.currency,
            milestones=[
                MilestoneTerms(
                    title=row.title,
                    deliverables=row.deliverables,
                    amount=row.amount,
                    due_date=row.due_date,
                )
                for row in rows
            ],
        )
    except ContractError as exc:
        raise ProposalError(str(exc)) from exc
    proposal_accept_close_job(job=job, proposal=proposal, actor=actor)
    notify(
        recipients=[proposal.freelancer],
        kind=NotificationKind.PROPOSAL_ACCEPTED,
        subject=f"Your proposal on “{job.title}” was accepted",
        body="Your contract has started.",
        link=_contract_url(contract),
        about=("proposal", proposal.pk),
    )
    return contract
