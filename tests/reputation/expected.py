"""Each profile figure computed again, independently of `reputation.selectors`: in Python, row by row,
from the milestones, their submissions and audit rows, the ledger's entries and the earnings lots.

The selectors aggregate in SQL from the audit rows and ledger transaction kinds; this walks the
rows in Python and reads different tables where it can (the first `Submission` instead of the first
submit audit row, ledger entries instead of split transactions, earnings lots instead of entries).
"""

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from disputes.models import Dispute, DisputeOutcome
from milestones.models import Milestone, MilestoneState
from payments.models import AccountKind, EarningsLot, Entry, EntryDirection
from reputation.models import Feedback
from users.models import User

S = MilestoneState


def _average(values: list[int]) -> Decimal | None:
    if not values:
        return None
    return (Decimal(sum(values)) / Decimal(len(values))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _share(part: int, whole: int) -> int | None:
    if not whole:
        return None
    return int((Decimal(100 * part) / Decimal(whole)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


DECIDED_OUTCOMES = (DisputeOutcome.RELEASED, DisputeOutcome.REFUNDED, DisputeOutcome.SPLIT)


def _closing_action(milestone: Milestone) -> str:
    into_final = [event for event in milestone.events.order_by("at", "pk") if event.to_state == milestone.state]
    return into_final[-1].action


def _ratings(user: User, role: str) -> dict:
    published = [f for f in Feedback.objects.filter(subject=user, subject_role=role) if f.window.published_at]
    fields = ("quality", "communication", "reliability")
    count = len(published)
    again = sum(1 for f in published if f.would_work_again)
    return {
        "count": count,
        "criteria": [_average([getattr(f, name) for f in published]) for name in fields],
        "overall": _average([getattr(f, name) for f in published for name in fields]),
        "would_work_again": _share(again, count) if count >= settings.FEEDBACK_PRIVATE_MIN_ANSWERS else None,
    }


def expected_freelancer(user: User) -> dict:
    milestones = list(Milestone.objects.filter(contract__freelancer=user).select_related("contract"))
    released = [m for m in milestones if m.state == S.RELEASED]
    closed = [m for m in milestones if m.state in (S.RELEASED, S.REFUNDED)]
    on_time = 0
    for milestone in released:
        first = milestone.submissions.order_by("revision").first()
        delivered = first.submitted_at if first else milestone.closed_at
        on_time += delivered <= milestone.due_at
    endings = {"released": 0, "split": 0, "refunded": 0}
    for milestone in closed:
        # Read from the dispute cases, not the audit rows the selector uses.
        if not Dispute.objects.filter(milestone=milestone, outcome__in=DECIDED_OUTCOMES).exists():
            continue
        back_to_client = Entry.objects.filter(
            transaction__milestone_id=milestone.pk,
            account__kind=AccountKind.CLIENT_BALANCE,
            direction=EntryDirection.CREDIT,
        ).exists()
        if milestone.state == S.REFUNDED:
            endings["refunded"] += 1
        elif back_to_client:
            endings["split"] += 1
        else:
            endings["released"] += 1
    earned: dict[str, int] = defaultdict(int)
    for lot in EarningsLot.objects.filter(freelancer=user):
        earned[lot.currency] += lot.amount
    return {
        "contracts_completed": len({m.contract_id for m in released if m.contract.ended_at is not None}),
        "milestones_released": len(released),
        "released_on_time": on_time,
        "on_time_percent": _share(on_time, len(released)),
        "milestones_closed": len(closed),
        "endings": endings,
        "disputed_percent": _share(sum(endings.values()), len(closed)),
        "earned": dict(earned) if user.show_total_earned else None,
        "ratings": _ratings(user, "freelancer"),
    }


def expected_client(user: User) -> dict:
    milestones = list(Milestone.objects.filter(contract__client=user, state=S.RELEASED))
    actions = [_closing_action(m) for m in milestones]
    by_client, auto = actions.count("release"), actions.count("auto_release")
    opened = sum(
        1
        for m in Milestone.objects.filter(contract__client=user)
        for event in m.events.all()
        if event.action == "open_dispute" and event.actor_id == user.pk
    )
    contracts = list(user.contracts_as_client.all())
    return {
        "contracts": len(contracts),
        "contracts_ended": sum(1 for c in contracts if c.ended_at is not None),
        "released_by_client": by_client,
        "auto_released": auto,
        "released_on_time_percent": _share(by_client, by_client + auto),
        "disputes_opened": opened,
        "ratings": _ratings(user, "client"),
    }


def actual_freelancer(record: object) -> dict:
    r = record
    return {
        "contracts_completed": r.contracts_completed,
        "milestones_released": r.milestones_released,
        "released_on_time": r.released_on_time,
        "on_time_percent": r.on_time_percent,
        "milestones_closed": r.milestones_closed,
        "endings": {
            "released": r.dispute_endings.released,
            "split": r.dispute_endings.split,
            "refunded": r.dispute_endings.refunded,
        },
        "disputed_percent": r.disputed_percent,
        "earned": r.earned,
        "ratings": _actual_ratings(r.ratings),
    }


def actual_client(record: object) -> dict:
    r = record
    return {
        "contracts": r.contracts,
        "contracts_ended": r.contracts_ended,
        "released_by_client": r.released_by_client,
        "auto_released": r.auto_released,
        "released_on_time_percent": r.released_on_time_percent,
        "disputes_opened": r.disputes_opened,
        "ratings": _actual_ratings(r.ratings),
    }


def _actual_ratings(ratings: object) -> dict:
    return {
        "count": ratings.count,
        "criteria": [average for _criterion, average in ratings.criteria] if ratings.count else [None, None, None],
        "overall": ratings.overall,
        "would_work_again": ratings.would_work_again,
    }
