"""Every change to a milestone: atomic, row-locked, audited, side effects after commit."""

import hashlib
import logging
import unicodedata
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files import File
from django.db import models, transaction
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from core.links import absolute_url
from core.money import format_money
from milestones.errors import (
    DeliverableRejected,
    MilestoneActionNotAllowed,
    MilestoneError,
    MilestoneRequestReplayed,
)
from milestones.models import (
    DeliverableFile,
    Milestone,
    MilestoneEvent,
    MilestoneReminder,
    MilestoneState,
    Submission,
)
from milestones.selectors import duration_text, milestone_dispute_opener
from notifications.kinds import NotificationKind
from notifications.services import notify
from payments.errors import PaymentError
from payments.selectors import client_balance
from payments.services import deposit, escrow_change, escrow_fund, escrow_refund, escrow_release, escrow_split
from users.models import User
from users.selectors import user_system_actor

if TYPE_CHECKING:
    from contracts.models import Contract

logger = logging.getLogger(__name__)


def milestone_lock(*, milestone_id: int) -> Milestone:
    """Re-read the milestone under a row lock; callers run inside a transaction."""
    # Lock only the milestone row: the contracts app locks contract → milestones, and a lock
    # on the joined contract row here would take them in the opposite order and deadlock.
    # `no_key`: rows that reference the milestone (ledger transactions, lots) take KEY SHARE on it
    # at commit while holding balance locks; FOR UPDATE would block them and can close a cycle.
    return (
        Milestone.objects.select_for_update(of=("self",), no_key=True).select_related("contract").get(pk=milestone_id)
    )


def milestone_event_record(
    *,
    milestone: Milestone,
    actor: User,
    action: str,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    idempotency_key: str | None = None,
) -> MilestoneEvent:
    return MilestoneEvent.objects.create(
        milestone=milestone,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        note=note,
        idempotency_key=idempotency_key,
    )


def milestone_refuse_replay(*, idempotency_key: str | None) -> None:
    """A form's one-time key that was already used means this POST is a replay: refuse it."""
    if idempotency_key and MilestoneEvent.objects.filter(idempotency_key=idempotency_key).exists():
        raise MilestoneRequestReplayed("That request was already handled; nothing was done twice.")


def milestone_check_transition(*, milestone: Milestone, transition_name: str, actor: User) -> None:
    """Refuse the wrong state first (the common race outcome), then the wrong actor."""
    method = getattr(milestone, transition_name)
    if not can_proceed(method, check_conditions=False):
        label = MilestoneState(milestone.state).label.lower()
        if label == _past(transition_name):
            # The usual race or replay: someone (maybe this user in another tab) got there first.
            raise MilestoneActionNotAllowed(f"This milestone was already {label}; nothing was done twice.")
        raise MilestoneActionNotAllowed(f"This milestone is already {label}, so it can't be {_past(transition_name)}.")
    if not has_transition_perm(method, actor):
        raise MilestoneActionNotAllowed("Your account can't do that on this milestone.")


def _past(transition_name: str) -> str:
    return {
        "approve": "approved",
        "decline": "declined",
        "withdraw": "withdrawn",
        "cancel": "cancelled",
        "fund": "funded",
        "submit": "submitted",
        "request_changes": "sent back for changes",
        "release": "released",
        "auto_release": "released automatically",
        "refund": "refunded",
        "open_dispute": "disputed",
        "withdraw_dispute": "taken out of dispute",
        "resolve": "resolved",
    }.get(transition_name, transition_name.replace("_", " "))


@transaction.atomic
def milestone_create(
    *,
    contract: "Contract",
    proposed_by: User,
    title: str,
    deliverables: str,
    amount: int,
    due_at: datetime,
    position: int | None = None,
    note: str = "",
) -> Milestone:
    """A new milestone in `proposed`; the other party approves it (or an accepted proposal does)."""
    if not contract.is_party(proposed_by):
        raise MilestoneActionNotAllowed("Only the contract's client or freelancer can propose a milestone.")
    if not contract.is_active:
        raise MilestoneError("This contract has ended; no milestones can be added.")
    if amount <= 0:
        raise MilestoneError("The amount must be greater than zero.")
    if position is None:
        position = (contract.milestones.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    milestone = Milestone.objects.create(
        contract=contract,
        position=position,
        title=title,
        deliverables=deliverables,
        amount=amount,
        currency=contract.currency,
        due_at=due_at,
        proposed_by=proposed_by,
    )
    milestone_event_record(
        milestone=milestone, actor=proposed_by, action="create", to_state=MilestoneState.PROPOSED, note=note
    )
    return milestone


def _fire_simple_transition(
    *, milestone: Milestone, actor: User, transition_name: str, note: str, idempotency_key: str | None
) -> Milestone:
    """Lock, check, fire, save, audit: the shape of every transition that moves no money."""
    locked = milestone_lock(milestone_id=milestone.pk)
    milestone_refuse_replay(idempotency_key=idempotency_key)
    milestone_check_transition(milestone=locked, transition_name=transition_name, actor=actor)
    from_state = locked.state
    getattr(locked, transition_name)()
    if locked.state in (MilestoneState.CANCELLED,):
        locked.closed_at = timezone.now()
    locked.save()
    milestone_event_record(
        milestone=locked,
        actor=actor,
        action=transition_name,
        from_state=from_state,
        to_state=locked.state,
        note=note,
        idempotency_key=idempotency_key,
    )
    return locked


@transaction.atomic
def milestone_approve(
    *, milestone: Milestone, actor: User, note: str = "", idempotency_key: str | None = None
) -> Milestone:
    """The party that did not propose the milestone agrees to it."""
    return _fire_simple_transition(
        milestone=milestone, actor=actor, transition_name="approve", note=note, idempotency_key=idempotency_key
    )


@transaction.atomic
def milestone_decline(
    *, milestone: Milestone, actor: User, note: str = "", idempotency_key: str | None = None
) -> Milestone:
    """The party that did not propose the milestone says no; it is cancelled."""
    return _fire_simple_transition(
        milestone=milestone, actor=actor, transition_name="decline", note=note, idempotency_key=idempotency_key
    )


@transaction.atomic
def milestone_withdraw(
    *, milestone: Milestone, actor: User, note: str = "", idempotency_key: str | None = None
) -> Milestone:
    """The proposer takes back a milestone the other party has not approved yet."""
    return _fire_simple_transition(
        milestone=milestone, actor=actor, transition_name="withdraw", note=note, idempotency_key=idempotency_key
    )


@transaction.atomic
def milestone_cancel(*, milestone: Milestone, actor: User, note: str, idempotency_key: str | None = None) -> Milestone:
    """Either party cancels an approved milestone before it is funded; a note says why."""
    if not note.strip():
        raise MilestoneError("Say why the milestone is cancelled; the other party will see the note.")
    return _fire_simple_transition(
        milestone=milestone, actor=actor, transition_name="cancel", note=note, idempotency_key=idempotency_key
    )


@transaction.atomic
def milestone_terms_apply(
    *,
    milestone: Milestone,
    actor: User,
    title: str,
    deliverables: str,
    amount: int,
    due_at: datetime,
    note: str = "",
) -> Milestone:
    """Apply terms both parties agreed to (the contracts app holds the proposal and the approval).

    Only a milestone that holds no money yet (proposed or approved) changes here; a funded
    milestone's amount changes through a change order, which moves the escrow difference.
    """
    locked = milestone_lock(milestone_id=milestone.pk)
    if locked.state not in (MilestoneState.PROPOSED, MilestoneState.APPROVED):
        label = MilestoneState(locked.state).label.lower()
        raise MilestoneActionNotAllowed(f"This milestone is {label}; its terms can no longer change this way.")
    if not locked.contract.is_party(actor):
        raise MilestoneActionNotAllowed("Only the contract's client or freelancer can change a milestone.")
    if amount <= 0:
        raise MilestoneError("The amount must be greater than zero.")
    before = _terms_summary(locked)
    locked.title, locked.deliverables, locked.amount, locked.due_at = title, deliverables, amount, due_at
    locked.save(update_fields=["title", "deliverables", "amount", "due_at"])
    milestone_event_record(
        milestone=locked,
        actor=actor,
        action="change_terms",
        from_state=locked.state,
        to_state=locked.state,
        note=(note + "\n" if note else "") + f"Was: {before}. Now: {_terms_summary(locked)}.",
    )
    return locked


def _terms_summary(milestone: Milestone) -> str:
    return f"{milestone.title!r}, {format_money(milestone.amount, milestone.currency)}, due {milestone.due_at:%Y-%m-%d}"


@transaction.atomic
def milestone_change_order_apply(
    *,
    milestone: Milestone,
    actor: User,
    amount: int,
    due_at: datetime,
    change_number: int,
    note: str = "",
) -> Milestone:
    """Apply a change order both parties agreed to on a milestone whose money is in escrow.

    The contracts app holds the agreement; `actor` is the party who accepted it. The escrow
    difference moves through the ledger (client balance to escrow, or back) under the key
    `change:<milestone>:<n>`, so applying the same change order twice moves money once.
    """
    locked = milestone_lock(milestone_id=milestone.pk)
    milestone_refuse_replay(idempotency_key=f"change:{locked.pk}:{change_number}")
    if locked.state not in (MilestoneState.FUNDED, MilestoneState.SUBMITTED):
        label = MilestoneState(locked.state).label.lower()
        raise MilestoneActionNotAllowed(f"This milestone is {label}; a change order needs a funded milestone.")
    if not locked.contract.is_party(actor):
        raise MilestoneActionNotAllowed("Only the contract's client or freelancer can accept a change order.")
    if amount <= 0:
        raise MilestoneError("The amount must be greater than zero.")
    before = _terms_summary(locked)
    if amount != locked.amount:
        escrow_change(milestone=locked, client=locked.contract.client, new_amount=amount, change_number=change_number)
    locked.amount, locked.due_at = amount, due_at
    locked.save(update_fields=["amount", "due_at"])
    milestone_event_record(
        milestone=locked,
        actor=actor,
        action="change_order",
        from_state=locked.state,
        to_state=locked.state,
        note=(note + "\n" if note else "")
        + f"Change order #{change_number}. Was: {before}. Now: {_terms_summary(locked)}.",
        idempotency_key=f"change:{locked.pk}:{change_number}",
    )
    return locked


# --- Notifications --------------------------------------------------------------------
def _notify_after_commit(*, milestone: Milestone, actor: User, headline: str) -> None:
    """Tell the other party (both parties when staff or the system acted) once the change is committed."""
    contract = milestone.contract
    notify(
        recipients=[user for user in (contract.client, contract.freelancer) if user.pk != actor.pk],
        kind=NotificationKind.MILESTONE_CHANGED,
        subject=f"{milestone.title}: {headline}",
        body=f"{headline}\n\nMilestone: {milestone.title}\nContract: {contract.title}",
        link=absolute_url("milestones:detail", milestone.pk),
    )


# --- Funding --------------------------------------------------------------------------
def milestone_fund(
    *, milestone: Milestone, actor: User, card_number: str | None = None, idempotency_key: str | None = None
) -> Milestone:
    """The client moves one approved milestone's amount into escrow (a test card pays any shortfall)."""
    (funded,) = milestone_fund_many(
        milestones=[milestone], actor=actor, card_number=card_number, idempotency_key=idempotency_key
    )
    return funded


def milestone_fund_many(
    *,
    milestones: Sequence[Milestone],
    actor: User,
    card_number: str | None = None,
    idempotency_key: str | None = None,
) -> list[Milestone]:
    """Fund several approved milestones of one contract at once: all of them, or none.

    A card pays the shortfall first, in a transaction of its own: once a card is charged, the
    money is on the client's balance and in the ledger whatever happens next, so a charge is
    never lost when the funding itself is refused (a race, a second tab).
    """
    ids = sorted({m.pk for m in milestones})
    if not ids:
        raise MilestoneError("Choose at least one milestone to fund.")
    if card_number:
        _fund_shortfall_deposit(ids=ids, actor=actor, card_number=card_number, idempotency_key=idempotency_key)
    return _fund_many_locked(ids=ids, actor=actor, idempotency_key=idempotency_key)


def _fund_many_check(*, milestones: Sequence[Milestone], actor: User, keys: dict[int, str | None]) -> "Contract":
    for m in milestones:
        milestone_refuse_replay(idempotency_key=keys[m.pk])
    contract = milestones[0].contract
    if any(m.contract_id != contract.pk for m in milestones):
        raise MilestoneError("Milestones of different contracts are funded separately.")
    if not contract.is_active:
        raise MilestoneError("This contract has ended; its milestones can no longer be funded.")
    for m in milestones:
        milestone_check_transition(milestone=m, transition_name="fund", actor=actor)
    return contract


def _fund_shortfall(*, milestones: Sequence[Milestone], actor: User, currency: str) -> tuple[int, int, int]:
    total = sum(m.amount for m in milestones)
    balance = client_balance(user=actor, currency=currency)
    return total, balance, total - balance


@transaction.atomic
def _fund_shortfall_deposit(*, ids: list[int], actor: User, card_number: str, idempotency_key: str | None) -> None:
    """Charge the card for what the balance lacks, after the same checks funding makes, so a
    request that would be refused anyway charges nothing."""
    current = list(Milestone.objects.select_related("contract").filter(pk__in=ids).order_by("pk"))
    if len(current) != len(ids):
        raise MilestoneError("One of those milestones no longer exists.")
    keys = {m.pk: _sub_key(idempotency_key, m.pk, len(ids)) for m in current}
    contract = _fund_many_check(milestones=current, actor=actor, keys=keys)
    _, _, shortfall = _fund_shortfall(milestones=current, actor=actor, currency=contract.currency)
    if shortfall > 0:
        deposit(
            user=actor,
            amount=shortfall,
            currency=contract.currency,
            card_number=card_number,
            idempotency_key=f"fund-shortfall:{idempotency_key or uuid.uuid4().hex}",
        )


@transaction.atomic
def _fund_many_locked(*, ids: list[int], actor: User, idempotency_key: str | None) -> list[Milestone]:
    # Rows are locked in pk order so two overlapping requests queue instead of deadlocking.
    locked = [milestone_lock(milestone_id=pk) for pk in ids]
    keys = {m.pk: _sub_key(idempotency_key, m.pk, len(ids)) for m in locked}
    contract = _fund_many_check(milestones=locked, actor=actor, keys=keys)
    currency = contract.currency
    total, balance, shortfall = _fund_shortfall(milestones=locked, actor=actor, currency=currency)
    if shortfall > 0:
        raise MilestoneError(
            f"Your balance is {format_money(balance, currency)}, {format_money(shortfall, currency)} short of "
            f"{format_money(total, currency)}. Add funds, or pay the difference by card."
        )

    now = timezone.now()
    for m in locked:
        from_state = m.state
        m.fund()
        escrow_fund(milestone=m, client=actor, amount=m.amount, currency=m.currency)
        m.funded_at = now
        m.save()
        milestone_event_record(
            milestone=m,
            actor=actor,
            action="fund",
            from_state=from_state,
            to_state=m.state,
            note=f"{format_money(m.amount, m.currency)} moved into escrow.",
            idempotency_key=keys[m.pk],
        )
        _notify_after_commit(milestone=m, actor=actor, headline="The client funded this milestone; you can start.")
    return locked


def _sub_key(idempotency_key: str | None, milestone_id: int, count: int) -> str | None:
    """One form token covers several milestones: each audit row gets its own unique key."""
    if not idempotency_key:
        return None
    return idempotency_key if count == 1 else f"{idempotency_key}:{milestone_id}"


# --- Submitting work ------------------------------------------------------------------
MAX_FILES_PER_SUBMISSION = 20


@dataclass(frozen=True)
class _CheckedUpload:
    upload: File
    display_name: str
    size: int
    sha256: str


def deliverable_display_name(raw_name: str) -> str:
    """The uploader's file name reduced to plain text: no folders, no control characters."""
    name = PurePosixPath((raw_name or "").replace("\\", "/")).name
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:200]
    return name or "file"


def _deliverable_check(upload: File) -> _CheckedUpload:
    """Refuse by extension and size; hash the bytes. The declared content type is never trusted."""
    display_name = deliverable_display_name(upload.name or "")
    extension = PurePosixPath(display_name).suffix.lower().lstrip(".")
    allowed = {ext.lower().lstrip(".") for ext in settings.DELIVERABLE_ALLOWED_EXTENSIONS}
    if not extension or extension not in allowed:
        raise DeliverableRejected(
            f"“{display_name}” can't be uploaded: .{extension or '?'} files are not accepted. "
            f"Accepted: {', '.join(sorted(allowed))}."
        )
    limit = settings.DELIVERABLE_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise DeliverableRejected(f"“{display_name}” is larger than the {_format_bytes(limit)} limit.")
    digest = hashlib.sha256()
    size = 0
    upload.seek(0)
    for chunk in upload.chunks():
        size += len(chunk)
        if size > limit:
            raise DeliverableRejected(f"“{display_name}” is larger than the {_format_bytes(limit)} limit.")
        digest.update(chunk)
    upload.seek(0)
    return _CheckedUpload(upload=upload, display_name=display_name, size=size, sha256=digest.hexdigest())


def _format_bytes(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}".replace(".0 ", " ")
        value /= 1024
    return f"{size} bytes"


@transaction.atomic
def milestone_submit(
    *,
    milestone: Milestone,
    actor: User,
    message: str,
    files: Sequence[File],
    idempotency_key: str | None = None,
) -> Milestone:
    """The freelancer hands over the work with a message and files; the review clock starts.

    Every submission is kept as a numbered revision. Files are checked before anything is
    written, then stored under random names through the storage API.
    """
    locked = milestone_lock(milestone_id=milestone.pk)
    milestone_refuse_replay(idempotency_key=idempotency_key)
    milestone_check_transition(milestone=locked, transition_name="submit", actor=actor)
    if not message.strip():
        raise MilestoneError("Write a short message describing what you are handing over.")
    if not files:
        raise DeliverableRejected("Attach at least one file.")
    if len(files) > MAX_FILES_PER_SUBMISSION:
        raise DeliverableRejected(f"Attach at most {MAX_FILES_PER_SUBMISSION} files; zip the rest together.")
    checked = [_deliverable_check(upload) for upload in files]

    from_state = locked.state
    locked.submit()
    now = timezone.now()
    revision = locked.submissions.count() + 1
    submission = Submission.objects.create(milestone=locked, revision=revision, message=message, submitted_by=actor)
    for item in checked:
        deliverable = DeliverableFile(
            submission=submission, original_name=item.display_name, size=item.size, sha256=item.sha256
        )
        deliverable.file.save(item.display_name, item.upload, save=False)
        deliverable.save()
    locked.submitted_at = now
    locked.auto_release_at = now + timedelta(days=settings.MILESTONE_REVIEW_DAYS)
    locked.review_time_remaining = None
    locked.save()
    milestone_event_record(
        milestone=locked,
        actor=actor,
        action="submit",
        from_state=from_state,
        to_state=locked.state,
        note=f"Revision {revision}: {len(checked)} file(s).\n{message}",
        idempotency_key=idempotency_key,
    )
    _notify_after_commit(
        milestone=locked,
        actor=actor,
        headline=f"Work was submitted (revision {revision}). Review it by {locked.auto_release_at:%Y-%m-%d %H:%M} UTC, "
        "or it is released automatically.",
    )
    return locked


@transaction.atomic
def milestone_request_changes(
    *, milestone: Milestone, actor: User, note: str, idempotency_key: str | None = None
) -> Milestone:
    """The client sends the submission back with a note; the review clock stops until the next one."""
    locked = milestone_lock(milestone_id=milestone.pk)
    milestone_refuse_replay(idempotency_key=idempotency_key)
    milestone_check_transition(milestone=locked, transition_name="request_changes", actor=actor)
    if not note.strip():
        raise MilestoneError("Say what needs to change; the freelancer will see your note.")
    from_state = locked.state
    locked.request_changes()
    locked.auto_release_at = None
    locked.review_time_remaining = None
    locked.save()
    latest = locked.submissions.order_by("-revision").first()
    if latest is not None:
        latest.changes_requested_note = note
        latest.changes_requested_at = timezone.now()
        latest.save(update_fields=["changes_requested_note", "changes_requested_at"])
    milestone_event_record(
        milestone=locked,
        actor=actor,
        action="request_changes",
        from_state=from_state,
        to_state=locked.state,
        note=note,
        idempotency_key=idempotency_key,
    )
    _notify_after_commit(milestone=locked, actor=actor, headline="The client asked for changes.")
    return locked


# --- Paying out -----------------------------------------------------------------------
def _close(milestone: Milestone) -> None:
    """A final state stops every timer."""
    milestone.auto_release_at = None
    milestone.review_time_remaining = None
    milestone.closed_at = timezone.now()


@transaction.atomic
def milestone_release(
    *, milestone: Milestone, actor: User, bonus: int = 0, note: str = "", idempotency_key: str | None = None
) -> Milestone:
    """The client approves and pays: the full amount (plus an optional bonus) to the freelancer, less the fee."""
    locked = milestone_lock(milestone_id=milestone.pk)
    milestone_refuse_replay(idempotency_key=idempotency_key)
    milestone_check_transition(milestone=locked, transition_name="release", actor=actor)
    if bonus < 0:
        raise MilestoneError("A bonus can't be negative.")
    from_state = locked.state
    locked.release()
    contract = locked.contract
    escrow_release(milestone=locked, client=contract.client, freelancer=contract.freelancer, bonus=bonus)
    _close(locked)
    locked.save()
    summary = f"Released {format_money(locked.amount, locked.currency)}" + (
        f" with a bonus of {format_money(bonus, locked.currency)}." if bonus else "."
    )
    milestone_event_record(
        milestone=locked,
        actor=actor,
        action="release",
        from_state=from_state,
        to_state=locked.state,
        note=summary + (f"\n{note}" if note else ""),
        idempotency_key=idempotency_key,
    )
    _notify_after_commit(milestone=locked, actor=actor, headline=summary)
    return locked


@transaction.atomic
def milestone_auto_release(*, milestone: Milestone, now: datetime | None = None) -> Milestone:
    """Release as the system once the review period has passed without an answer from the client."""
    now = now or timezone.now()
    system = user_system_actor()
    locked = milestone_lock(milestone_id=milestone.pk)
    milestone_check_transition(milestone=locked, transition_name="auto_release", actor=system)
    if locked.auto_release_at is None or locked.auto_release_at > now:
        raise MilestoneActionNotAllowed("The review period of this milestone has not ended yet.")
    from_state = locked.state
    locked.auto_release()
    contract = locked.contract
    escrow_release(milestone=locked, client=contract.client, freelancer=contract.freelancer)
    _close(locked)
    locked.save()
    summary = (
        f"Released {format_money(locked.amount, locked.currency)} automatically: "
        f"the {settings.MILESTONE_REVIEW_DAYS}-day review period ended without an answer."
    )
    milestone_event_record(
        milestone=locked,
        actor=system,
        action="auto_release",
        from_state=from_state,
        to_state=locked.state,
        note=summary,
    )
    _notify_after_commit(milestone=locked, actor=system, headline=summary)
    return locked


@transaction.atomic
def milestone_refund(
    *,
    milestone: Milestone,
    actor: User,
    amount: int | None = None,
    note: str = "",
    idempotency_key: str | None = None,
) -> Milestone:
    """The freelancer gives money back: all of it (refunded), or part of it with the rest released."""
    locked = milestone_lock(milestone_id=milestone.pk)
    milestone_refuse_replay(idempotency_key=idempotency_key)
    milestone_check_transition(milestone=locked, transition_name="refund", actor=actor)
    currency = locked.currency
    if amount is not None and not 0 < amount <= locked.amount:
        raise MilestoneError(f"Refund between {format_money(1, currency)} and {format_money(locked.amount, currency)}.")
    if amount is not None and amount != locked.amount and locked.state == MilestoneState.FUNDED:
        # A partial refund releases the rest to the freelancer: before any work is submitted that
        # would let them pay themselves from escrow without the client ever reviewing anything.
        raise MilestoneError(
            "Nothing has been submitted yet, so you can refund all of it, not part; "
            "submit the work first, or propose a lower amount as a change order."
        )
    contract = locked.contract
    from_state = locked.state
    if amount is None or amount == locked.amount:
        locked.refund(partial=False)
        escrow_refund(milestone=locked, client=contract.client)
        summary = f"Refunded {format_money(locked.amount, currency)} to the client."
    else:
        locked.refund(partial=True)
        kept = locked.amount - amount
        escrow_split(milestone=locked, client=contract.client, freelancer=contract.freelancer, freelancer_amount=kept)
        summary = (
            f"Refunded {format_money(amount, currency)} to the client; "
            f"released {format_money(kept, currency)} to the freelancer."
        )
    _close(locked)
    locked.save()
    milestone_event_record(
        milestone=locked,
        actor=actor,
        action="refund",
        from_state=from_state,
        to_state=locked.state,
        note=summary + (f"\n{note}" if note else ""),
        idempotency_key=idempotency_key,
    )
    _notify_after_commit(milestone=locked, actor=actor, headline=summary)
    return locked


# --- Disputes -------------------------------------------------------------------------
@transaction.atomic
def milestone_open_dispute(
    *, milestone: Milestone, actor: User, reason: str, idempotency_key: str | None = None
) -> Milestone:
    """Either party disputes; the review clock pauses and keeps the time that was left."""
    locked = milestone_lock(milestone_id=milestone.pk)
    milestone_refuse_replay(idempotency_key=idempotency_key)
    milestone_check_transition(milestone=locked, transition_name="open_dispute", actor=actor)
    if not reason.strip():
        raise MilestoneError("Say what the dispute is about; the other party and the arbitrator will read it.")
    from_state = locked.state
    locked.open_dispute()
    if locked.auto_release_at is not None:
        locked.review_time_remaining = max(locked.auto_release_at - timezone.now(), timedelta(0))
    locked.auto_release_at = None
    locked.save()
    milestone_event_record(
        milestone=locked,
        actor=actor,
        action="open_dispute",
        from_state=from_state,
        to_state=locked.state,
        note=reason,
        idempotency_key=idempotency_key,
    )
    _notify_after_commit(milestone=locked, actor=actor, headline=f"{actor} opened a dispute: {reason}")
    return locked


@transaction.atomic
def milestone_withdraw_dispute(
    *, milestone: Milestone, actor: User, note: str = "", idempotency_key: str | None = None
) -> Milestone:
    """The party who opened the dispute withdraws it; the milestone and its review clock resume."""
    locked = milestone_lock(milestone_id=milestone.pk)
    milestone_refuse_replay(idempotency_key=idempotency_key)
    milestone_check_transition(milestone=locked, transition_name="withdraw_dispute", actor=actor)
    opened = milestone_dispute_opener(milestone=locked)
    if opened is None or opened.actor_id != actor.pk:
        raise MilestoneActionNotAllowed("Only the party who opened the dispute can withdraw it.")
    back_to = opened.from_state
    from_state = locked.state
    locked.withdraw_dispute(back_to=back_to)
    if locked.state == MilestoneState.SUBMITTED:
        locked.auto_release_at = timezone.now() + (locked.review_time_remaining or timedelta(0))
    locked.review_time_remaining = None
    locked.save()
    milestone_event_record(
        milestone=locked,
        actor=actor,
        action="withdraw_dispute",
        from_state=from_state,
        to_state=locked.state,
        note=note,
        idempotency_key=idempotency_key,
    )
    _notify_after_commit(milestone=locked, actor=actor, headline="The dispute was withdrawn.")
    return locked


@transaction.atomic
def milestone_resolve(
    *,
    milestone: Milestone,
    actor: User,
    freelancer_amount: int,
    note: str,
    idempotency_key: str | None = None,
) -> Milestone:
    """An arbitrator (or an accepted settlement, as the system) decides how the escrow is split."""
    locked = milestone_lock(milestone_id=milestone.pk)
    milestone_refuse_replay(idempotency_key=idempotency_key)
    milestone_check_transition(milestone=locked, transition_name="resolve", actor=actor)
    currency = locked.currency
    if not 0 <= freelancer_amount <= locked.amount:
        raise MilestoneError(
            f"The freelancer's share must be between {format_money(0, currency)} and "
            f"{format_money(locked.amount, currency)}."
        )
    if not note.strip():
        raise MilestoneError("Give the reasons for the decision; both parties will read them.")
    contract = locked.contract
    from_state = locked.state
    if freelancer_amount == locked.amount:
        locked.resolve(outcome=MilestoneState.RELEASED)
        escrow_release(milestone=locked, client=contract.client, freelancer=contract.freelancer)
    elif freelancer_amount == 0:
        locked.resolve(outcome=MilestoneState.REFUNDED)
        escrow_refund(milestone=locked, client=contract.client)
    else:
        locked.resolve(outcome=MilestoneState.RELEASED)
        escrow_split(
            milestone=locked,
            client=contract.client,
            freelancer=contract.freelancer,
            freelancer_amount=freelancer_amount,
        )
    _close(locked)
    locked.save()
    summary = (
        f"Dispute resolved: {format_money(freelancer_amount, currency)} to the freelancer, "
        f"{format_money(locked.amount - freelancer_amount, currency)} back to the client."
    )
    milestone_event_record(
        milestone=locked,
        actor=actor,
        action="resolve",
        from_state=from_state,
        to_state=locked.state,
        note=f"{summary}\n{note}",
        idempotency_key=idempotency_key,
    )
    _notify_after_commit(milestone=locked, actor=actor, headline=summary)
    return locked


# --- Timers: beat sweeps ------------------------------------------------------------------
# Deadlines live on the rows; beat sweeps them. Each row is claimed with skip_locked in its own
# transaction, so overlapping sweeps (two workers, a slow run) never act on one row twice.
REVIEW_REMINDER_WINDOWS: tuple[tuple[str, timedelta], ...] = (
    # Most urgent first: a late sweep sends the one that applies now, not all three at once.
    (MilestoneReminder.Kind.REVIEW_1D, timedelta(days=1)),
    (MilestoneReminder.Kind.REVIEW_3D, timedelta(days=3)),
    (MilestoneReminder.Kind.REVIEW_7D, timedelta(days=7)),
)
DUE_REMINDER_WINDOWS: tuple[tuple[str, timedelta], ...] = (
    (MilestoneReminder.Kind.OVERDUE, timedelta(0)),
    (MilestoneReminder.Kind.DUE_TODAY, timedelta(hours=24)),
    (MilestoneReminder.Kind.DUE_48H, timedelta(hours=48)),
)
# Work is due while the freelancer holds funded work; a submitted milestone waits on the client.
DUE_REMINDER_STATES = (MilestoneState.FUNDED,)


def _reminder_kind(*, deadline: datetime, now: datetime, windows: tuple[tuple[str, timedelta], ...]) -> str | None:
    remaining = deadline - now
    for kind, window in windows:
        if remaining <= window:
            return kind
    return None


def _claim(*, milestone_id: int, **conditions: object) -> Milestone | None:
    """Lock one row for this sweep, or None when another worker holds it or it no longer qualifies."""
    return (
        Milestone.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
        .select_related("contract__client", "contract__freelancer")
        .filter(pk=milestone_id, **conditions)
        .first()
    )


def milestone_auto_release_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Release, as the system, every submitted milestone whose review period has ended; returns how many."""
    now = now or timezone.now()
    due_ids = list(
        Milestone.objects.filter(state=MilestoneState.SUBMITTED, auto_release_at__lte=now)
        .order_by("auto_release_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    released = 0
    for milestone_id in due_ids:
        with transaction.atomic():
            claimed = _claim(milestone_id=milestone_id, state=MilestoneState.SUBMITTED, auto_release_at__lte=now)
            if claimed is None:
                continue
            try:
                milestone_auto_release(milestone=claimed, now=now)
            except (MilestoneError, PaymentError):
                # One broken row must not stop the others; it stays due and is logged for staff.
                logger.exception("Auto-release of milestone %s failed; it will be retried", milestone_id)
                continue
            released += 1
    return released


def milestone_review_reminders_send(*, now: datetime | None = None, limit: int = 500) -> int:
    """Remind the client 7, 3 and 1 days before a submission is released automatically."""
    now = now or timezone.now()
    longest = REVIEW_REMINDER_WINDOWS[-1][1]
    candidate_ids = list(
        Milestone.objects.filter(
            state=MilestoneState.SUBMITTED, auto_release_at__gt=now, auto_release_at__lte=now + longest
        )
        .order_by("auto_release_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for milestone_id in candidate_ids:
        with transaction.atomic():
            claimed = _claim(milestone_id=milestone_id, state=MilestoneState.SUBMITTED, auto_release_at__gt=now)
            if claimed is None or claimed.auto_release_at is None:
                continue
            deadline = claimed.auto_release_at
            kind = _reminder_kind(deadline=deadline, now=now, windows=REVIEW_REMINDER_WINDOWS)
            if kind is None or not _reminder_record(milestone=claimed, kind=kind, deadline=deadline):
                continue
            _reminder_notify(
                recipients=[claimed.contract.client],
                kind=NotificationKind.REVIEW_REMINDER,
                subject=f"{claimed.title}: review by {{deadline}} or it is released automatically",
                body=(
                    "Work on this milestone is waiting for your review. Release the payment, or request changes,\n"
                    "by {deadline} ({remaining} from now). If you do neither, "
                    f"{format_money(claimed.amount, claimed.currency)} is released to "
                    f"{claimed.contract.freelancer} automatically.\n"
                ),
                milestone=claimed,
                deadline=deadline,
                now=now,
            )
            sent += 1
    return sent


def milestone_due_reminders_send(*, now: datetime | None = None, limit: int = 500) -> int:
    """Remind about funded work 48 hours before it is due, within its last day, and once it is overdue."""
    now = now or timezone.now()
    longest = DUE_REMINDER_WINDOWS[-1][1]
    candidate_ids = list(
        Milestone.objects.filter(state__in=DUE_REMINDER_STATES, due_at__lte=now + longest)
        # An overdue milestone stays a candidate forever; skip the ones already told it is overdue.
        .exclude(
            models.Exists(
                MilestoneReminder.objects.filter(
                    milestone=models.OuterRef("pk"),
                    kind=MilestoneReminder.Kind.OVERDUE,
                    deadline=models.OuterRef("due_at"),
                )
            )
        )
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for milestone_id in candidate_ids:
        with transaction.atomic():
            claimed = _claim(milestone_id=milestone_id, state__in=DUE_REMINDER_STATES)
            if claimed is None:
                continue
            deadline = claimed.due_at
            kind = _reminder_kind(deadline=deadline, now=now, windows=DUE_REMINDER_WINDOWS)
            if kind is None or not _reminder_record(milestone=claimed, kind=kind, deadline=deadline):
                continue
            contract = claimed.contract
            overdue = kind == MilestoneReminder.Kind.OVERDUE
            _reminder_notify(
                kind=NotificationKind.DUE_REMINDER,
                # Overdue work concerns both parties; before that, only the freelancer needs a nudge.
                recipients=[contract.freelancer, contract.client] if overdue else [contract.freelancer],
                subject=f"{claimed.title}: {'overdue since' if overdue else 'due'} {{deadline}}",
                body=(
                    "This milestone was due {deadline} and is overdue by {remaining}.\n"
                    if overdue
                    else "This milestone is due {deadline}, in {remaining}.\n"
                ),
                milestone=claimed,
                deadline=deadline,
                now=now,
            )
            sent += 1
    return sent


def _reminder_record(*, milestone: Milestone, kind: str, deadline: datetime) -> bool:
    """Record the reminder; False when it was already sent for this deadline."""
    _, created = MilestoneReminder.objects.get_or_create(milestone=milestone, kind=kind, deadline=deadline)
    return created


def _reminder_notify(
    *,
    recipients: Sequence[User],
    kind: NotificationKind,
    subject: str,
    body: str,
    milestone: Milestone,
    deadline: datetime,
    now: datetime,
) -> None:
    """One email per recipient, with the deadline in their own time zone, sent once the reminder is recorded."""
    remaining = duration_text(abs((deadline - now).total_seconds()))
    for user in recipients:
        local = timezone.localtime(deadline, zoneinfo.ZoneInfo(user.timezone or "UTC"))
        when = f"{local:%a %d %b %Y, %H:%M} ({user.timezone or 'UTC'})"
        # Not str.format: titles and names are user text and may hold braces.
        text = body.replace("{deadline}", when).replace("{remaining}", remaining)
        notify(
            recipients=[user],
            kind=kind,
            subject=subject.replace("{deadline}", when),
            body=f"{text}\nMilestone: {milestone.title}\nContract: {milestone.contract.title}",
            link=absolute_url("milestones:detail", milestone.pk),
        )
