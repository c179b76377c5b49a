"""Every transition, every actor, every state: only the declared actor in a declared state gets through.

A refused attempt raises MilestoneActionNotAllowed and changes nothing: not the state, not the
history, not the ledger, not the stored files. Each refused case ends with the allowed actor
succeeding on the same kind of milestone, so the refusals can't pass by accident.
"""

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django_fsm import has_transition_perm

from milestones import services
from milestones.errors import MilestoneActionNotAllowed
from milestones.models import DeliverableFile, Milestone, MilestoneState
from payments.models import LedgerTransaction
from payments.selectors import client_balance, earnings_summary
from tests.factories import UserFactory
from tests.milestones.factories import deliverable, milestone_in_state, staff_user, system_actor
from users.models import User

pytestmark = pytest.mark.django_db
S = MilestoneState
ACTORS = ("client", "freelancer", "stranger", "staff", "system")
FAR_FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)

# transition -> (the states it leaves from, the actors allowed there, the state it ends in).
# The fixture milestones are proposed by the freelancer; disputes are opened by the client from submitted.
ALLOWED: dict[str, tuple[set[str], set[str], str]] = {
    "approve": ({S.PROPOSED}, {"client"}, S.APPROVED),
    "decline": ({S.PROPOSED}, {"client"}, S.CANCELLED),
    "withdraw": ({S.PROPOSED}, {"freelancer"}, S.CANCELLED),
    "cancel": ({S.APPROVED}, {"client", "freelancer"}, S.CANCELLED),
    "fund": ({S.APPROVED}, {"client"}, S.FUNDED),
    "submit": ({S.FUNDED}, {"freelancer"}, S.SUBMITTED),
    "request_changes": ({S.SUBMITTED}, {"client"}, S.FUNDED),
    "release": ({S.FUNDED, S.SUBMITTED}, {"client"}, S.RELEASED),
    "auto_release": ({S.SUBMITTED}, {"system"}, S.RELEASED),
    "refund": ({S.FUNDED, S.SUBMITTED}, {"freelancer"}, S.REFUNDED),
    "open_dispute": ({S.FUNDED, S.SUBMITTED}, {"client", "freelancer"}, S.DISPUTED),
    "withdraw_dispute": ({S.DISPUTED}, {"client"}, S.SUBMITTED),
    "resolve": ({S.DISPUTED}, {"staff", "system"}, S.RELEASED),
}

Call = Callable[[Milestone, User], Milestone]
CALLS: dict[str, Call] = {
    "approve": lambda m, u: services.milestone_approve(milestone=m, actor=u),
    "decline": lambda m, u: services.milestone_decline(milestone=m, actor=u),
    "withdraw": lambda m, u: services.milestone_withdraw(milestone=m, actor=u),
    "cancel": lambda m, u: services.milestone_cancel(milestone=m, actor=u, note="Plans changed"),
    "fund": lambda m, u: services.milestone_fund(milestone=m, actor=u),
    "submit": lambda m, u: services.milestone_submit(milestone=m, actor=u, message="Done", files=[deliverable()]),
    "request_changes": lambda m, u: services.milestone_request_changes(milestone=m, actor=u, note="Fix it"),
    "release": lambda m, u: services.milestone_release(milestone=m, actor=u),
    # The system is the only actor the service acts as; other actors are refused by the declaration.
    "auto_release": lambda m, u: services.milestone_auto_release(milestone=m, now=FAR_FUTURE),
    "refund": lambda m, u: services.milestone_refund(milestone=m, actor=u, note=""),
    "open_dispute": lambda m, u: services.milestone_open_dispute(milestone=m, actor=u, reason="Late"),
    "withdraw_dispute": lambda m, u: services.milestone_withdraw_dispute(milestone=m, actor=u),
    "resolve": lambda m, u: services.milestone_resolve(
        milestone=m, actor=u, freelancer_amount=m.amount // 2, note="Half each"
    ),
}


def _actor(name: str, milestone: Milestone) -> User:
    return {
        "client": lambda: milestone.contract.client,
        "freelancer": lambda: milestone.contract.freelancer,
        "stranger": lambda: UserFactory(),
        "staff": staff_user,
        "system": system_actor,
    }[name]()


def _stored_files(milestone: Milestone) -> int:
    folder = Path(settings.MEDIA_ROOT) / "deliverables" / str(milestone.pk)
    return sum(1 for path in folder.rglob("*") if path.is_file()) if folder.exists() else 0


def _snapshot(milestone: Milestone) -> tuple:
    """Everything a refused attempt could have touched on this milestone (other tests' rows don't count)."""
    fresh = Milestone.objects.get(pk=milestone.pk)
    contract = fresh.contract
    return (
        fresh.state,
        fresh.auto_release_at,
        fresh.review_time_remaining,
        fresh.events.count(),
        LedgerTransaction.objects.filter(milestone=fresh).count(),
        client_balance(user=contract.client, currency=fresh.currency),
        earnings_summary(user=contract.freelancer, currency=fresh.currency).pending,
        DeliverableFile.objects.filter(submission__milestone=fresh).count(),
        _stored_files(fresh),
    )


def test_the_table_covers_every_declared_transition():
    declared = {t.name for t in Milestone._meta.get_field("state").get_all_transitions(Milestone)}
    assert declared == set(ALLOWED) == set(CALLS)


@pytest.mark.parametrize("state", S.values)
def test_only_the_declared_actor_in_a_declared_state_can_fire(state, subtests):
    # Given a milestone in `state`, shared by every refused attempt (each must leave it exactly as it was)
    milestone = milestone_in_state(state)
    before = _snapshot(milestone)
    actors = {name: _actor(name, milestone) for name in ACTORS}

    for transition, (sources, allowed_actors, target) in ALLOWED.items():
        allowed_here = allowed_actors if state in sources else set()
        with subtests.test(transition=transition):
            # When each actor that may not fire it tries, they are refused and nothing changes
            for name, actor in actors.items():
                if name in allowed_here:
                    continue
                if transition == "auto_release" and name != "system":
                    # Nobody else can even reach this service; the declaration refuses them.
                    assert not has_transition_perm(Milestone.objects.get(pk=milestone.pk).auto_release, actor)
                    continue
                with pytest.raises(MilestoneActionNotAllowed):
                    CALLS[transition](milestone, actor)
                assert _snapshot(milestone) == before, f"{name} changed something with {transition}"

            # Then each allowed actor succeeds on a fresh milestone like it
            for name in sorted(allowed_here):
                fresh = milestone_in_state(state)
                result = CALLS[transition](fresh, _actor(name, fresh))
                assert result.state == target
                assert Milestone.objects.get(pk=fresh.pk).state == target
