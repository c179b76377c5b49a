"""What each milestone transition is called and what it does besides changing state: ONE table.

`milestones.models.Milestone` declares the transitions (sources, targets, permission,
conditions); this table gives each one its words (label, past tense, button, heading, help,
success message, refusal messages), its place on the milestone page, and its effect on the
timers. The services, selectors, views and templates all read it; none lists transitions or
their texts again. A test checks that it covers exactly the declared transitions.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from milestones.models import Milestone, MilestoneAction, MilestoneState
from notifications.kinds import NotificationKind
from users.models import User

A = MilestoneAction
NOT_YOURS = "Your account can't do that on this milestone."


@dataclass(frozen=True)
class Firing:
    """What a transition's effect may read: who fires it, from which state, and when."""

    actor: User
    from_state: str
    now: datetime


Effect = Callable[[Milestone, Firing], None]


@dataclass(frozen=True)
class TransitionMeta:
    """One transition's metadata. `page_order` None: never a button (the timers fire it)."""

    name: str
    label: str  # what it is called ("request changes")
    past: str  # "This milestone was already <past>" / "... so it can't be <past>"
    # The kind of the notice the other party gets, one per transition; a money kind is always emailed.
    notice_kind: NotificationKind
    page_order: int | None = None  # its place among the actions on the milestone page
    heading: str = ""
    button: str = ""
    help: str = ""
    done: str = ""  # the success message after the action
    # What the milestone page says while the milestone stays in the state this transition led to, to every
    # viewer; `{actor}` (who fired it, or "You") and `{date}` are filled in by `milestone_status_note`.
    underway: str = ""
    secondary: bool = False  # drawn as an outline button: it undoes or stops something
    spends_balance: bool = False  # the page shows the viewer's balance and any shortfall beside it
    # The notice's headline when the service has none of its own (`{actor}`: who fired it).
    notice: str = ""
    # On the contract page: the viewer's next step when they may fire it from `main_in`.
    main_in: MilestoneState | None = None
    next_step: str = ""
    refused: str = NOT_YOURS  # the actor is not allowed (its `permission` says no)
    unmet: str = ""  # a `condition` on the transition does not hold
    # Timers and dispute bookkeeping; a transition into a final state also stops every timer
    # and sets `closed_at` (`close_final`), so no effect repeats that.
    effect: Effect | None = None

    @property
    def action(self) -> MilestoneAction:
        return MilestoneAction(self.name)


# --- Effects: each transition's timers, in one place ------------------------------------
def _funded(milestone: Milestone, firing: Firing) -> None:
    milestone.funded_at = firing.now


def _review_clock_starts(milestone: Milestone, firing: Firing) -> None:
    milestone.submitted_at = firing.now
    milestone.auto_release_at = firing.now + settings.MILESTONE_REVIEW_PERIOD


def _review_clock_stops(milestone: Milestone, firing: Firing) -> None:
    milestone.auto_release_at = None


def review_time_left(milestone: Milestone, *, now: datetime) -> timedelta | None:
    """What is left of a running review clock (the dispute case keeps it while the clock is paused)."""
    if milestone.auto_release_at is None:
        return None
    return max(milestone.auto_release_at - now, timedelta(0))


def _review_clock_pauses(milestone: Milestone, firing: Firing) -> None:
    """Auto-release stops; the case opened with the dispute keeps the time that was left (`review_time_left`)."""
    milestone.auto_release_at = None


def _review_clock_resumes(milestone: Milestone, firing: Firing) -> None:
    """Back where it was; a submitted milestone's review clock resumes with the time the case kept."""
    # The case is still open here: the disputes service closes it after the transition fired.
    case = milestone.open_dispute_case
    if milestone.state == MilestoneState.SUBMITTED and case is not None:
        milestone.auto_release_at = firing.now + (case.review_time_remaining or timedelta(0))


def close_final(milestone: Milestone, firing: Firing) -> None:
    """A final state stops every timer."""
    milestone.auto_release_at = None
    milestone.closed_at = firing.now


TRANSITIONS: dict[str, TransitionMeta] = {
    meta.name: meta
    for meta in (
        TransitionMeta(
            name=A.APPROVE,
            notice_kind=NotificationKind.MILESTONE_APPROVED,
            notice="{actor} approved this milestone; it can now be funded.",
            label="approve",
            past="approved",
            page_order=1,
            heading="Approve this milestone",
            button="Approve",
            help="You agree to its terms; the client can then fund it.",
            done="You approved the milestone.",
            main_in=MilestoneState.PROPOSED,
            next_step="Approve or decline",
        ),
        TransitionMeta(
            name=A.DECLINE,
            notice_kind=NotificationKind.MILESTONE_DECLINED,
            notice="{actor} declined this milestone; it is cancelled.",
            label="decline",
            past="declined",
            page_order=2,
            heading="Decline",
            button="Decline",
            help="The milestone is cancelled; add a note if you like.",
            done="You declined the milestone.",
            secondary=True,
        ),
        TransitionMeta(
            name=A.WITHDRAW,
            notice_kind=NotificationKind.MILESTONE_WITHDRAWN,
            notice="{actor} withdrew this proposed milestone; it is cancelled.",
            label="withdraw",
            past="withdrawn",
            page_order=3,
            heading="Withdraw your proposal",
            button="Withdraw",
            help="Take the milestone back before it is approved.",
            done="You withdrew the milestone.",
            secondary=True,
            main_in=MilestoneState.PROPOSED,
            next_step="Waiting for approval (you can withdraw)",
        ),
        TransitionMeta(
            name=A.FUND,
            notice_kind=NotificationKind.MILESTONE_FUNDED,
            label="fund",
            past="funded",
            page_order=4,
            heading="Fund this milestone",
            button="Fund milestone",
            help="The amount moves into escrow: held for this milestone until it is released or refunded.",
            done="The milestone is funded: its money is held in escrow.",
            spends_balance=True,
            main_in=MilestoneState.APPROVED,
            next_step="Fund",
            unmet="This contract has ended; its milestones can no longer be funded.",
            effect=_funded,
        ),
        TransitionMeta(
            name=A.SUBMIT,
            notice_kind=NotificationKind.MILESTONE_SUBMITTED,
            label="submit",
            past="submitted",
            page_order=5,
            heading="Submit your work",
            button="Submit work",
            help="The client then has a review period; if they do nothing, payment is released automatically.",
            done="Your work was submitted; the client's review period has started.",
            main_in=MilestoneState.FUNDED,
            next_step="Submit work",
            effect=_review_clock_starts,
        ),
        TransitionMeta(
            name=A.RELEASE,
            notice_kind=NotificationKind.MILESTONE_RELEASED,
            label="release",
            past="released",
            page_order=6,
            heading="Approve and release payment",
            button="Release payment",
            help="The freelancer is paid the full amount (less the platform fee), plus any bonus: from your balance, "
            "and by card for whatever the balance lacks.",
            done="Payment released to the freelancer.",
            main_in=MilestoneState.SUBMITTED,
            next_step="Review and release",
        ),
        TransitionMeta(
            name=A.REQUEST_CHANGES,
            notice_kind=NotificationKind.MILESTONE_CHANGES_REQUESTED,
            label="request changes",
            past="sent back for changes",
            page_order=7,
            heading="Request changes",
            button="Request changes",
            help="The review clock stops; a new submission starts a fresh review period.",
            done="You asked for changes; the review clock has stopped.",
            secondary=True,
            effect=_review_clock_stops,
        ),
        TransitionMeta(
            name=A.REFUND,
            notice_kind=NotificationKind.MILESTONE_REFUNDED,
            label="refund",
            past="refunded",
            page_order=8,
            heading="Refund the client",
            button="Refund in full",
            help="Give all of the escrow back to the client, at once. To keep part of it, offer a split below: "
            "the client accepts or declines it.",
            done="The refund was made.",
            secondary=True,
        ),
        TransitionMeta(
            name=A.CANCEL,
            notice_kind=NotificationKind.MILESTONE_CANCELLED,
            notice="{actor} cancelled this milestone before it was funded.",
            label="cancel",
            past="cancelled",
            page_order=9,
            heading="Cancel before funding",
            button="Cancel milestone",
            help="Nothing has been paid yet. Say why; the other party sees your note.",
            done="The milestone was cancelled.",
            secondary=True,
        ),
        # The dispute transitions are fired from the dispute forms and the arbitration desk (the disputes
        # app), never as plain buttons here: each changes the milestone and its case together.
        TransitionMeta(
            name=A.OPEN_DISPUTE,
            notice_kind=NotificationKind.DISPUTE_OPENED,
            label="open dispute",
            past="disputed",
            underway=(
                "This milestone is in dispute: the money stays in escrow until the case is settled by an accepted "
                "offer, withdrawn, or decided by an arbitrator. {actor} opened it on {date}."
            ),
            effect=_review_clock_pauses,
        ),
        TransitionMeta(
            name=A.WITHDRAW_DISPUTE,
            notice_kind=NotificationKind.DISPUTE_WITHDRAWN,
            label="withdraw dispute",
            past="taken out of dispute",
            refused="Only the party who opened the dispute can withdraw it.",
            effect=_review_clock_resumes,
        ),
        TransitionMeta(
            name=A.RESOLVE,
            notice_kind=NotificationKind.DISPUTE_DECIDED,
            label="resolve",
            past="resolved",
            refused="Only an arbitrator who is not a party to this contract can decide its disputes.",
        ),
        TransitionMeta(
            name=A.SETTLE,
            notice_kind=NotificationKind.OFFER_ACCEPTED,
            label="settle",
            past="settled",
            refused="Only an accepted offer settles a milestone.",
        ),
        TransitionMeta(
            name=A.AUTO_RELEASE,
            notice_kind=NotificationKind.MILESTONE_AUTO_RELEASED,
            label="auto-release",
            past="released automatically",
        ),
    )
}

# The transitions a person fires from the milestone page, in the order the page offers them.
PAGE_TRANSITIONS: tuple[TransitionMeta, ...] = tuple(
    sorted((m for m in TRANSITIONS.values() if m.page_order is not None), key=lambda m: m.page_order or 0)
)
