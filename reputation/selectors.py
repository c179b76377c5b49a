"""Reads for profiles: each person's record, computed from milestone, audit and ledger rows (never typed in),
their published feedback, and what a contract's parties may see of their feedback.

Records are read in bulk (`freelancer_records`, `client_records`): a fixed number of queries for any
number of people and milestones, so a profile or the proposal comparison costs the same at any size.
Unpublished feedback is never read here except by its own author (`contract_feedback`).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, CharField, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from milestones.models import Milestone, MilestoneAction, MilestoneEvent, MilestoneState
from payments.selectors import earned_totals, split_transactions
from reputation.models import CRITERIA, RATING_FIELDS, Criterion, Feedback, FeedbackWindow, SubjectRole
from users.models import User

if TYPE_CHECKING:
    from contracts.models import Contract

A, S = MilestoneAction, MilestoneState
# Milestones whose money has gone one way or the other: the base of the dispute share.
CLOSED_WITH_MONEY = (S.RELEASED, S.REFUNDED)


def percent(part: int, whole: int) -> int | None:
    """`part` of `whole` in whole percent, halves rounded up; None when there is nothing to divide."""
    if whole <= 0:
        return None
    return (200 * part + whole) // (2 * whole)


def one_decimal(total: int, count: int) -> Decimal | None:
    """An average to one decimal, halves rounded up, from integer sums (no float rounding drift)."""
    if count <= 0:
        return None
    return (Decimal(total) / Decimal(count)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- Disputes -------------------------------------------------------------------------
# The only two places that say what counts as a dispute in a record. They read the milestone's own
# history (its audit rows) and the ledger's splits; when the disputes app's case model lands, these
# two read the case (its outcome and opener) instead, and nothing else in this module changes.


class DisputeEnding:
    """How a milestone that ended in a dispute ended: the arbitrator's (or settlement's) decision."""

    RELEASED = "released"  # all of it to the freelancer
    SPLIT = "split"  # part to each
    REFUNDED = "refunded"  # all of it back to the client


def dispute_ending() -> Case:
    """Per milestone: a `DisputeEnding` if its dispute closed it (its closing audit row is an arbitrator's
    resolve, or an offer accepted while it was disputed), else NULL. Needs the `_with_closing` annotations."""
    split = Exists(split_transactions().filter(milestone_id=OuterRef("pk")))
    resolved = Q(closing_action=A.RESOLVE) | Q(closing_action=A.SETTLE, closing_from=S.DISPUTED)
    return Case(
        When(resolved & Q(state=S.REFUNDED), then=Value(DisputeEnding.REFUNDED)),
        When(resolved & Q(state=S.RELEASED) & split, then=Value(DisputeEnding.SPLIT)),
        When(resolved & Q(state=S.RELEASED), then=Value(DisputeEnding.RELEASED)),
        default=None,
        output_field=CharField(),
    )


def disputes_opened_by_clients(*, user_ids: list[int]) -> dict[int, int]:
    """How many disputes each client opened on their own contracts' milestones (each opening counts)."""
    rows = (
        MilestoneEvent.objects.filter(
            action=A.OPEN_DISPUTE, actor_id__in=user_ids, milestone__contract__client_id=F("actor_id")
        )
        .values("actor_id")
        .annotate(opened=Count("pk"))
        .values_list("actor_id", "opened")
        .order_by()
    )
    return dict(rows)


# --- Records --------------------------------------------------------------------------


def _with_closing(milestones: QuerySet[Milestone]) -> QuerySet[Milestone]:
    """Each final milestone's closing audit row (the one that moved it into its final state): its action and
    the state it left."""
    closing = MilestoneEvent.objects.filter(milestone=OuterRef("pk"), to_state=OuterRef("state")).order_by("-at", "-pk")
    return milestones.annotate(
        closing_action=Subquery(closing.values("action")[:1]),
        closing_from=Subquery(closing.values("from_state")[:1]),
    )


@dataclass(frozen=True)
class Ratings:
    """Averages of the published feedback someone received in one role."""

    count: int = 0
    criteria: tuple[tuple[Criterion, Decimal | None], ...] = ()
    overall: Decimal | None = None
    # Share of "would work with them again" answers, None below the minimum number of answers.
    would_work_again: int | None = None


@dataclass(frozen=True)
class DisputeEndings:
    released: int = 0
    split: int = 0
    refunded: int = 0

    @property
    def total(self) -> int:
        return self.released + self.split + self.refunded


@dataclass(frozen=True)
class FreelancerRecord:
    contracts_completed: int = 0  # ended contracts with at least one milestone paid
    milestones_released: int = 0
    released_on_time: int = 0  # first delivered (submitted, or released unsubmitted) by its due moment
    milestones_closed: int = 0  # released or refunded: the base of the dispute share
    dispute_endings: DisputeEndings = field(default_factory=DisputeEndings)
    earned: dict[str, int] | None = None  # per currency, minor units; None when the freelancer hides it
    ratings: Ratings = field(default_factory=Ratings)

    @property
    def on_time_percent(self) -> int | None:
        return percent(self.released_on_time, self.milestones_released)

    @property
    def disputed_percent(self) -> int | None:
        return percent(self.dispute_endings.total, self.milestones_closed)

    @property
    def is_new(self) -> bool:
        return not self.milestones_closed and not self.ratings.count


@dataclass(frozen=True)
class ClientRecord:
    contracts: int = 0
    contracts_ended: int = 0
    released_by_client: int = 0  # released by the client before the review period ran out
    auto_released: int = 0  # released by the system because the client did not answer in time
    disputes_opened: int = 0
    ratings: Ratings = field(default_factory=Ratings)

    @property
    def released_on_time_percent(self) -> int | None:
        return percent(self.released_by_client, self.released_by_client + self.auto_released)

    @property
    def auto_released_percent(self) -> int | None:
        return percent(self.auto_released, self.released_by_client + self.auto_released)


def ratings_received(*, user_ids: list[int], role: str) -> dict[int, Ratings]:
    """Averages of the published feedback about each user in `role`; one query."""
    totals = {name: Sum(name) for name in RATING_FIELDS}
    rows = (
        Feedback.objects.filter(subject_id__in=user_ids, subject_role=role, window__published_at__isnull=False)
        .values("subject_id")
        .annotate(count=Count("pk"), again=Count("pk", filter=Q(would_work_again=True)), **totals)
        .order_by()
    )
    minimum = settings.FEEDBACK_PRIVATE_MIN_ANSWERS
    result: dict[int, Ratings] = {}
    for values in rows:
        row: dict[str, Any] = dict(values)
        count = row["count"]
        result[row["subject_id"]] = Ratings(
            count=count,
            criteria=tuple((c, one_decimal(row[c.field], count)) for c in CRITERIA[role]),
            overall=one_decimal(sum(row[name] for name in RATING_FIELDS), count * len(RATING_FIELDS)),
            would_work_again=percent(row["again"], count) if count >= minimum else None,
        )
    return result


def freelancer_records(*, users: Iterable[User]) -> dict[int, FreelancerRecord]:
    """Each freelancer's record, by user id, in four queries whatever their number."""
    people = {user.pk: user for user in users}
    ids = list(people)
    if not ids:
        return {}
    first_submitted = (
        MilestoneEvent.objects.filter(milestone=OuterRef("pk"), action=A.SUBMIT).order_by("at", "pk").values("at")[:1]
    )
    released = Q(state=S.RELEASED)
    milestones = _with_closing(
        Milestone.objects.filter(contract__freelancer_id__in=ids, state__in=CLOSED_WITH_MONEY)
    ).annotate(
        # Work released without a submission was delivered when it was released (closed).
        delivered_at=Coalesce(Subquery(first_submitted), F("closed_at")),
        ending=dispute_ending(),
    )
    rows = (
        milestones.values("contract__freelancer_id")
        .annotate(
            contracts_completed=Count("contract", filter=released & Q(contract__ended_at__isnull=False), distinct=True),
            milestones_released=Count("pk", filter=released),
            released_on_time=Count("pk", filter=released & Q(delivered_at__lte=F("due_at"))),
            milestones_closed=Count("pk"),
            ended_released=Count("pk", filter=Q(ending=DisputeEnding.RELEASED)),
            ended_split=Count("pk", filter=Q(ending=DisputeEnding.SPLIT)),
            ended_refunded=Count("pk", filter=Q(ending=DisputeEnding.REFUNDED)),
        )
        .order_by()
    )
    counts: dict[int, dict[str, Any]] = {row["contract__freelancer_id"]: dict(row) for row in rows}
    shown = [user_id for user_id, user in people.items() if user.show_total_earned]
    earned = earned_totals(user_ids=shown)
    ratings = ratings_received(user_ids=ids, role=SubjectRole.FREELANCER)
    records = {}
    for user_id in ids:
        row = counts.get(user_id, {})
        records[user_id] = FreelancerRecord(
            contracts_completed=row.get("contracts_completed", 0),
            milestones_released=row.get("milestones_released", 0),
            released_on_time=row.get("released_on_time", 0),
            milestones_closed=row.get("milestones_closed", 0),
            dispute_endings=DisputeEndings(
                released=row.get("ended_released", 0),
                split=row.get("ended_split", 0),
                refunded=row.get("ended_refunded", 0),
            ),
            earned=earned.get(user_id) if user_id in earned else None,
            ratings=ratings.get(user_id, Ratings()),
        )
    return records


def client_records(*, user_ids: Iterable[int]) -> dict[int, ClientRecord]:
    """Each client's record, by user id, in four queries whatever their number."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return {}
    contracts = {
        row[0]: row[1:]
        for row in User.objects.filter(pk__in=ids)
        .annotate(
            contracts=Count("contracts_as_client", distinct=True),
            ended=Count("contracts_as_client", filter=Q(contracts_as_client__ended_at__isnull=False), distinct=True),
        )
        .values_list("pk", "contracts", "ended")
    }
    releases = {
        row[0]: row[1:]
        for row in _with_closing(Milestone.objects.filter(contract__client_id__in=ids, state=S.RELEASED))
        .values("contract__client_id")
        .annotate(
            by_client=Count("pk", filter=Q(closing_action=A.RELEASE)),
            auto=Count("pk", filter=Q(closing_action=A.AUTO_RELEASE)),
        )
        .values_list("contract__client_id", "by_client", "auto")
        .order_by()
    }
    opened = disputes_opened_by_clients(user_ids=ids)
    ratings = ratings_received(user_ids=ids, role=SubjectRole.CLIENT)
    records = {}
    for user_id in ids:
        contract_count, ended = contracts.get(user_id, (0, 0))
        by_client, auto = releases.get(user_id, (0, 0))
        records[user_id] = ClientRecord(
            contracts=contract_count,
            contracts_ended=ended,
            released_by_client=by_client,
            auto_released=auto,
            disputes_opened=opened.get(user_id, 0),
            ratings=ratings.get(user_id, Ratings()),
        )
    return records


# --- Profiles ---------------------------------------------------------------------------


def _profile_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True).prefetch_related("skills")


def freelancer_get(*, user_id: int) -> User:
    """Someone who works as a freelancer, or did; raises User.DoesNotExist for anyone else."""
    return (
        _profile_users()
        .filter(Q(is_freelancer=True) | Q(contracts_as_freelancer__isnull=False))
        .distinct()
        .get(pk=user_id)
    )


def client_get(*, user_id: int) -> User:
    """Someone who hires, or did; raises User.DoesNotExist for anyone else."""
    return _profile_users().filter(Q(is_client=True) | Q(contracts_as_client__isnull=False)).distinct().get(pk=user_id)


def feedback_received(*, user: User, role: str) -> QuerySet[Feedback]:
    """The published feedback about `user` in `role`, newest first; paginate it."""
    return (
        Feedback.objects.filter(subject=user, subject_role=role, window__published_at__isnull=False)
        .select_related("author", "window__contract")
        .order_by("-window__published_at", "-pk")
    )


# --- A contract's feedback, as one party sees it ------------------------------------------


@dataclass(frozen=True)
class ContractFeedback:
    window: FeedbackWindow
    criteria: tuple[Criterion, ...]  # what the viewer rates the other party on
    mine: Feedback | None
    # The other party's feedback: only once published; before that, only whether it was left.
    theirs: Feedback | None
    theirs_left: bool
    can_leave: bool


def contract_feedback(*, contract: "Contract", viewer: User | AnonymousUser) -> ContractFeedback | None:
    """The contract's feedback for one of its parties (None for anyone else, or before the contract ended)."""
    if not contract.is_party(viewer):
        return None
    window = FeedbackWindow.objects.filter(contract_id=contract.pk).first()
    if window is None:
        return None
    mine = window.feedback.filter(author_id=viewer.pk).first()
    others = window.feedback.exclude(author_id=viewer.pk)
    # The other party's row is read only once published; before that, only whether it exists.
    theirs = others.select_related("author").first() if window.is_published else None
    is_open = not window.is_published and window.closes_at > timezone.now()
    role = SubjectRole.FREELANCER if viewer.pk == contract.client_id else SubjectRole.CLIENT
    return ContractFeedback(
        window=window,
        criteria=CRITERIA[role],
        mine=mine,
        theirs=theirs,
        theirs_left=theirs is not None or others.exists(),
        can_leave=is_open and mine is None,
    )
