"""Changes to feedback: open the window when a contract ends, submit, publish (by the second party or the sweep).

Every change locks the contract's window row first, so two submissions at once, or a submission
racing the closing sweep, publish exactly once and never let a late feedback in.
"""

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.links import absolute_url
from core.times import moment_display
from notifications.kinds import NotificationKind
from notifications.services import notify
from reputation.errors import FeedbackError
from reputation.models import RATING_FIELDS, Feedback, FeedbackWindow, SubjectRole
from users.models import User

if TYPE_CHECKING:
    from contracts.models import Contract

logger = logging.getLogger(__name__)

COMMENT_MAX_LENGTH = 1000


def _feedback_link(contract: "Contract") -> str:
    return absolute_url("contracts:detail", contract.pk) + "#feedback"


def feedback_window_open(*, contract: "Contract", now: datetime | None = None) -> FeedbackWindow:
    """Open the contract's feedback window (once) and ask both parties; called as the contract ends."""
    now = now or timezone.now()
    window, created = FeedbackWindow.objects.get_or_create(
        contract=contract,
        defaults={"opened_at": now, "closes_at": now + settings.FEEDBACK_WINDOW_PERIOD},
    )
    if created:
        # One notice each: the deadline reads in each recipient's own time zone.
        for recipient in (contract.client, contract.freelancer):
            notify(
                recipients=[recipient],
                kind=NotificationKind.FEEDBACK_REQUESTED,
                subject=f"How did “{contract.title}” go? Leave feedback",
                body=(
                    f"Rate the other party by {moment_display(window.closes_at, recipient.timezone)}. Neither of "
                    "you sees the other's feedback until both have left theirs or the time is up; then both are "
                    "published together."
                ),
                link=_feedback_link(contract),
                about=("contract", contract.pk),
            )
    return window


def _window_lock(*, contract: "Contract") -> FeedbackWindow:
    try:
        return (
            FeedbackWindow.objects.select_for_update(of=("self",))
            .select_related("contract__client", "contract__freelancer")
            .get(contract_id=contract.pk)
        )
    except FeedbackWindow.DoesNotExist as exc:
        raise FeedbackError("Feedback opens when the contract ends.") from exc


def _validate(*, ratings: dict[str, int], comment: str) -> str:
    if set(ratings) != set(RATING_FIELDS) or any(
        not isinstance(value, int) or not 1 <= value <= 5 for value in ratings.values()
    ):
        raise FeedbackError("Give every criterion a rating from 1 to 5.")
    text = comment.strip()
    if not text:
        raise FeedbackError("Write a short comment; it is shown with your ratings.")
    if len(text) > COMMENT_MAX_LENGTH:
        raise FeedbackError(f"Keep the comment under {COMMENT_MAX_LENGTH} characters.")
    return text


@transaction.atomic
def feedback_submit(
    *,
    contract: "Contract",
    author: User,
    ratings: dict[str, int],
    comment: str,
    would_work_again: bool,
    now: datetime | None = None,
) -> Feedback:
    """One party's feedback about the other; final once sent. The second one publishes both."""
    now = now or timezone.now()
    window = _window_lock(contract=contract)
    contract = window.contract
    if author.pk == contract.client_id:
        subject, role = contract.freelancer, SubjectRole.FREELANCER
    elif author.pk == contract.freelancer_id:
        subject, role = contract.client, SubjectRole.CLIENT
    else:
        raise FeedbackError("Only the contract's client or freelancer can leave feedback on it.")
    if window.is_published or window.closes_at <= now:
        raise FeedbackError("The time for feedback on this contract is over.")
    if window.feedback.filter(author=author).exists():
        raise FeedbackError("You already left feedback on this contract; it can't be changed.")
    text = _validate(ratings=ratings, comment=comment)
    try:
        with transaction.atomic():
            feedback = Feedback.objects.create(
                window=window,
                author=author,
                subject=subject,
                subject_role=role,
                comment=text,
                would_work_again=would_work_again,
                submitted_at=now,
                **ratings,
            )
    except IntegrityError as exc:  # the same party in a second tab, a hair later
        raise FeedbackError("You already left feedback on this contract; it can't be changed.") from exc
    if window.feedback.count() == 2:
        feedback_window_publish(window=window, now=now)
    else:
        notify(
            recipients=[subject],
            kind=NotificationKind.FEEDBACK_REQUESTED,
            subject=f"{author} left feedback on “{contract.title}”",
            body=(
                f"Leave yours by {moment_display(window.closes_at, subject.timezone)} to see theirs: both are "
                "published together once you have, or when the time is up."
            ),
            link=_feedback_link(contract),
            about=("contract", contract.pk),
        )
    return feedback


def feedback_window_publish(*, window: FeedbackWindow, now: datetime | None = None) -> FeedbackWindow:
    """Publish whatever feedback the (locked) window holds, both together; a second call does nothing."""
    if window.is_published:
        return window
    window.published_at = now or timezone.now()
    window.save(update_fields=["published_at"])
    contract = window.contract
    left = window.feedback.count()
    notify(
        recipients=[contract.client, contract.freelancer],
        kind=NotificationKind.FEEDBACK_PUBLISHED,
        subject=f"Feedback on “{contract.title}” is published",
        body=(
            "Both of you left feedback; it is now on your profiles."
            if left == 2
            else "The time for feedback is over; what was left is now on your profiles."
            if left
            else "The time for feedback is over; neither of you left any."
        ),
        link=_feedback_link(contract),
        about=("contract", contract.pk),
    )
    return window


def feedback_windows_close_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """The beat sweep: publish every window whose time is up; each in its own transaction, skip_locked."""
    now = now or timezone.now()
    due_ids = list(
        FeedbackWindow.objects.filter(published_at__isnull=True, closes_at__lte=now)
        .order_by("closes_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    published = 0
    for window_id in due_ids:
        with transaction.atomic():
            window = (
                FeedbackWindow.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("contract__client", "contract__freelancer")
                .filter(pk=window_id, published_at__isnull=True, closes_at__lte=now)
                .first()
            )
            if window is None:  # another worker has it, or it was published meanwhile
                continue
            feedback_window_publish(window=window, now=now)
            published += 1
    return published
