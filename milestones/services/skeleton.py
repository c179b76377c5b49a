"""The one shape of every milestone transition: lock, refuse a replay, check, fire, move money, save, audit, notify.

`milestone_transition` is the skeleton every service in this package calls; the service
supplies only what differs: its input checks, the transition's arguments, and the callback
that moves money or writes rows. State, actor and condition checks come from the model's
declaration; texts, timers and `closed_at` from `milestones.transitions.TRANSITIONS`.
"""

from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from core.links import absolute_url
from core.times import moment_display
from milestones.errors import MilestoneActionNotAllowed, MilestoneRequestReplayed
from milestones.models import Milestone, MilestoneAction, MilestoneEvent, MilestoneState
from milestones.transitions import TRANSITIONS, Firing, close_final
from notifications.kinds import NotificationKind
from notifications.services import notify
from payments.services import within_caller_transaction
from users.models import User

# Runs after the transition fired and its timers moved, before the save: moves the money,
# writes rows (a submission, its files) and returns a summary that opens the audit note ("" for none).
Apply = Callable[[Milestone], str]
# The notification's headline, from the saved milestone and the summary (default: the table's `notice`).
Headline = Callable[[Milestone, str], str]
# Input checks that need the locked milestone; they run after the state and actor checks.
Validate = Callable[[Milestone], None]
# The transition method's keyword arguments (a refund's `partial`, a resolution's `outcome`), from the locked milestone.
Arguments = Callable[[Milestone], Mapping[str, Any]]

REPLAYED = "That request was already handled; nothing was done twice."
# The milestone's moments a headline may name as `{field}`, shown in each recipient's zone.
MOMENT_FIELDS = ("due_at", "auto_release_at")


def milestone_lock(*, milestone_id: int) -> Milestone:
    """Re-read the milestone under a row lock; callers run inside a transaction."""
    # Lock only the milestone row: the contracts app locks contract → milestones, and a lock
    # on the joined contract row here would take them in the opposite order and deadlock.
    # `no_key`: rows that reference the milestone (ledger transactions, lots) take KEY SHARE on it
    # at commit while holding balance locks; FOR UPDATE would block them and can close a cycle.
    # The parties come along (read, not locked): money and notices need them, one query instead of three.
    return (
        Milestone.objects.select_for_update(of=("self",), no_key=True)
        .select_related("contract__client", "contract__freelancer")
        .get(pk=milestone_id)
    )


def milestone_refuse_replay(*, idempotency_key: str | None) -> None:
    """A form's one-time key that was already used means this POST is a replay: refuse it."""
    if idempotency_key and MilestoneEvent.objects.filter(idempotency_key=idempotency_key).exists():
        raise MilestoneRequestReplayed(REPLAYED)


def milestone_check_transition(*, milestone: Milestone, name: str, actor: User) -> None:
    """Refuse the wrong state first (the common race outcome), then an unmet condition, then the wrong actor."""
    meta = TRANSITIONS[name]
    method = getattr(milestone, name)
    if not can_proceed(method, check_conditions=False):
        label = MilestoneState(milestone.state).label.lower()
        if label == meta.past:
            # The usual race or replay: someone (maybe this user in another tab) got there first.
            raise MilestoneActionNotAllowed(f"This milestone was already {label}; nothing was done twice.")
        raise MilestoneActionNotAllowed(f"This milestone is already {label}, so it can't be {meta.past}.")
    if not can_proceed(method):
        raise MilestoneActionNotAllowed(meta.unmet)
    if not has_transition_perm(method, actor):
        raise MilestoneActionNotAllowed(meta.refused)


def milestone_event_record(
    *,
    milestone: Milestone,
    actor: User,
    action: MilestoneAction,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    idempotency_key: str | None = None,
) -> MilestoneEvent:
    return MilestoneEvent.objects.create(
        milestone=milestone,
        contract_id=milestone.contract_id,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        note=note,
        idempotency_key=idempotency_key,
    )


def _headline_for(*, headline: str, milestone: Milestone, user: User) -> str:
    """Put the milestone's moments into a headline in the recipient's own zone, named."""
    # Not str.format: the headline holds user text (titles) that may contain braces.
    for name in MOMENT_FIELDS:
        placeholder = "{" + name + "}"
        moment = getattr(milestone, name)
        if placeholder in headline and moment is not None:
            headline = headline.replace(placeholder, moment_display(moment, user.timezone))
    return headline


def milestone_notify(
    *, milestone: Milestone, actor: User, kind: NotificationKind, headline: str, note: str = ""
) -> None:
    """Tell the other party (both parties when staff or the system acted); emails go after commit.

    A headline may name a moment as `{due_at}` or `{auto_release_at}`: each recipient gets their own
    notice with it in their time zone (an agreed date, `due_date`, reads the same to everyone).
    The actor's note, if any, is quoted in the body.
    """
    contract = milestone.contract
    said = f"\n\n{actor} wrote:\n{note.strip()}" if note.strip() else ""
    for user in (contract.client, contract.freelancer):
        if user.pk == actor.pk:
            continue
        text = _headline_for(headline=headline, milestone=milestone, user=user)
        notify(
            recipients=[user],
            kind=kind,
            about=("milestone", milestone.pk),
            subject=f"{milestone.title}: {text}",
            body=f"{text}{said}\n\nMilestone: {milestone.title}\nContract: {contract.title}",
            link=absolute_url("milestones:detail", milestone.pk),
        )


@transaction.atomic
def milestone_transition(
    *,
    milestone: Milestone,
    actor: User,
    name: str,
    note: str = "",
    idempotency_key: str | None = None,
    validate: Validate | None = None,
    arguments: Arguments | None = None,
    apply: Apply | None = None,
    headline: Headline | None = None,
    tell_other_party: bool = True,
) -> Milestone:
    """Fire transition `name` on `milestone` as `actor`, with everything around it, in one transaction.

    `tell_other_party=False` when the caller sends a notice of its own that covers this one (an
    accepted proposal approves its milestones; an ended contract cancels its unfunded ones).
    """
    locked = milestone_lock(milestone_id=milestone.pk)
    milestone_refuse_replay(idempotency_key=idempotency_key)
    milestone_check_transition(milestone=locked, name=name, actor=actor)
    if validate is not None:
        validate(locked)
    return milestone_fire(
        milestone=locked,
        actor=actor,
        name=name,
        note=note,
        idempotency_key=idempotency_key,
        arguments=arguments,
        apply=apply,
        headline=headline,
        tell_other_party=tell_other_party,
    )


def milestone_fire(
    *,
    milestone: Milestone,
    actor: User,
    name: str,
    note: str = "",
    idempotency_key: str | None = None,
    arguments: Arguments | None = None,
    apply: Apply | None = None,
    headline: Headline | None = None,
    tell_other_party: bool = True,
) -> Milestone:
    """The second half of the skeleton, on a milestone already locked and checked (see `milestone_transition`)."""
    meta = TRANSITIONS[name]
    firing = Firing(actor=actor, from_state=milestone.state, now=timezone.now())
    getattr(milestone, name)(**(arguments(milestone) if arguments is not None else {}))
    if meta.effect is not None:
        meta.effect(milestone, firing)
    if milestone.is_final:
        close_final(milestone, firing)
    # Every error of `apply` propagates out of the transition's atomic block: the money services need no savepoint.
    with within_caller_transaction():
        summary = apply(milestone) if apply is not None else ""
    milestone.save()
    milestone_event_record(
        milestone=milestone,
        actor=actor,
        action=meta.action,
        from_state=firing.from_state,
        to_state=milestone.state,
        note="\n".join(part for part in (summary, note) if part),
        idempotency_key=idempotency_key,
    )
    if tell_other_party:
        # Not str.format: the table's text is ours, but a headline holds user text that may contain braces.
        text = headline(milestone, summary) if headline is not None else meta.notice.replace("{actor}", str(actor))
        # A headline that already quotes the note (a dispute's reason) needs no second copy of it.
        quoted = note if note.strip() not in text else ""
        milestone_notify(milestone=milestone, actor=actor, kind=meta.notice_kind, headline=text, note=quoted)
    return milestone
