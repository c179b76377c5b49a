"""Every transition, every actor, every state: only the declared actor in a declared state gets through.

A refused attempt raises MilestoneActionNotAllowed and changes nothing: not the state, not the
history, not the ledger, not the stored files. Each refused case ends with the allowed actor
succeeding on the same kind of milestone, so the refusals can't pass by accident.
"""

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django_fsm import can_proceed, has_transition_perm

from disputes.models import DisputeReason
from disputes.services import dispute_decide, dispute_escalate, dispute_open, dispute_withdraw
from milestones import services
from milestones.errors import MilestoneActionNotAllowed
from milestones.models import DeliverableFile, Milestone, MilestoneAction, MilestoneState
from milestones.transitions import PAGE_TRANSITIONS, TRANSITIONS
from payments.models import LedgerTransaction
from payments.selectors import client_balance, earnings_summary
from tests.milestones.factories import arbitrator_user, deliverable, milestone_in_state, staff_user, system_actor
from tests.users.factories import UserFactory
from users.models import User

pytestmark = pytest.mark.django_db
S = MilestoneState
ACTORS = ("client", "freelancer", "stranger", "staff", "arbitrator", "system")
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
    "settle": ({S.FUNDED, S.SUBMITTED, S.DISPUTED}, {"system"}, S.RELEASED),
    "resolve": ({S.DISPUTED}, {"arbitrator"}, S.RELEASED),
}


def _half(locked: Milestone) -> int:
    return locked.amount // 2


def _settle(m: Milestone, u: User) -> Milestone:
    """The declaration under any actor (offers always settle as the system: tests/disputes)."""
    return services.milestone_transition(
        milestone=m,
        actor=u,
        name="settle",
        arguments=lambda locked: {"freelancer_amount": _half(locked)},
        apply=lambda locked: services.milestone_escrow_divide(milestone=locked, freelancer_amount=_half(locked)),
    )


def _withdraw_dispute(m: Milestone, u: User) -> Milestone:
    case = m.open_dispute_case
    if case is None:  # nothing to withdraw: the declaration refuses the state
        return services.milestone_transition(milestone=m, actor=u, name="withdraw_dispute")
    dispute_withdraw(dispute=case, actor=u)
    return Milestone.objects.get(pk=m.pk)


def _resolve(m: Milestone, u: User) -> Milestone:
    # Refused actors and states are refused before the case is escalated for the decision.
    services.milestone_check_transition(milestone=Milestone.objects.get(pk=m.pk), name="resolve", actor=u)
    case = m.open_dispute_case
    assert case is not None
    if not case.in_arbitration:
        dispute_escalate(dispute=case, actor=m.contract.client)
    dispute_decide(dispute=case, arbitrator=u, freelancer_amount=_half(m), decision="Half each")
    return Milestone.objects.get(pk=m.pk)


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
    "open_dispute": lambda m, u: (
        dispute_open(milestone=m, actor=u, reason=DisputeReason.OTHER, statement="Late").milestone
    ),
    "withdraw_dispute": _withdraw_dispute,
    "settle": _settle,
    "resolve": _resolve,
}


def _actor(name: str, milestone: Milestone) -> User:
    return {
        "client": lambda: milestone.contract.client,
        "freelancer": lambda: milestone.contract.freelancer,
        "stranger": lambda: UserFactory(),
        "staff": staff_user,
        "arbitrator": arbitrator_user,
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
        fresh.events.count(),
        LedgerTransaction.objects.filter(milestone_id=fresh.pk).count(),
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


# --- One source: the metadata table, the actor rules and conditions on the declaration ---------------
def _declared_names() -> set[str]:
    return {t.name for t in Milestone._meta.get_field("state").get_all_transitions(Milestone)}


def test_the_metadata_table_covers_exactly_the_declared_transitions():
    # Every declared transition has its words, and the table has nothing the model does not declare
    assert set(TRANSITIONS) == _declared_names()
    # The audit rows can record each of them (plus the changes that are not transitions)
    assert _declared_names() <= set(MilestoneAction.values)
    assert set(MilestoneAction.values) - _declared_names() == {"create", "change_terms", "change_order"}
    # The page offers every transition a person fires, once each, in a fixed order; timers fire auto-release,
    # and the dispute transitions come from the disputes app's forms and admin desk (with their case)
    page = [meta.name for meta in PAGE_TRANSITIONS]
    elsewhere = {"auto_release", "settle", "open_dispute", "withdraw_dispute", "resolve"}
    assert len(page) == len(set(page)) and set(page) == _declared_names() - elsewhere
    assert all(meta.label and meta.past for meta in TRANSITIONS.values())
    assert all(meta.button and meta.heading and meta.done for meta in PAGE_TRANSITIONS)


def test_only_the_opener_may_withdraw_a_dispute_as_the_transition_declares():
    # Given a submitted milestone the client disputed
    milestone = milestone_in_state(S.DISPUTED, dispute_opener="client")
    client, freelancer = milestone.contract.client, milestone.contract.freelancer

    # Then its open case records who opened it and where it came from
    case = milestone.open_dispute_case
    assert case is not None and (case.opened_by_id, case.from_state) == (client.pk, S.SUBMITTED)
    # And the declaration lets only the opener withdraw it: not the other party, not staff or an arbitrator
    assert has_transition_perm(milestone.withdraw_dispute, client)
    assert not has_transition_perm(milestone.withdraw_dispute, freelancer)
    assert not has_transition_perm(milestone.withdraw_dispute, staff_user())
    assert not has_transition_perm(milestone.withdraw_dispute, arbitrator_user())

    # When the opener withdraws it, the milestone is back where it was and no case is open
    dispute_withdraw(dispute=case, actor=client)
    milestone = Milestone.objects.get(pk=milestone.pk)
    assert milestone.state == S.SUBMITTED and milestone.auto_release_at is not None
    assert milestone.open_dispute_case is None


def test_only_arbitrators_who_are_not_parties_may_resolve():
    # Given a disputed milestone and staff with and without the arbitrate permission
    milestone = milestone_in_state(S.DISPUTED, disputed_from=S.FUNDED, dispute_opener="freelancer")
    # Then only the arbitrator may resolve it: not plain staff, not the system, not the parties
    assert has_transition_perm(milestone.resolve, arbitrator_user())
    for refused in (staff_user(), system_actor(), milestone.contract.client, milestone.contract.freelancer):
        assert not has_transition_perm(milestone.resolve, refused)


def test_a_refund_is_declared_for_the_whole_escrow_only():
    # Given a funded and a submitted milestone
    funded, submitted = milestone_in_state(S.FUNDED), milestone_in_state(S.SUBMITTED)

    # Then from either state a refund ends in refunded, never released: keeping part is an offer
    for milestone in (funded, submitted):
        declared = Milestone.refund._django_fsm.get_transition(milestone.state)  # type: ignore[attr-defined]
        assert declared is not None and declared.target == S.REFUNDED


def test_funding_is_conditional_on_an_active_contract():
    # Given an approved milestone whose contract has ended meanwhile
    milestone = milestone_in_state(S.APPROVED)
    milestone.contract.status = milestone.contract.Status.ENDED

    # Then the state allows funding, the declared condition does not, and the client is refused with why
    assert can_proceed(milestone.fund, check_conditions=False)
    assert not can_proceed(milestone.fund)
    assert not has_transition_perm(milestone.fund, milestone.contract.client)
    with pytest.raises(MilestoneActionNotAllowed, match="ended"):
        services.milestone_check_transition(milestone=milestone, name="fund", actor=milestone.contract.client)


TEMPLATES = Path(settings.BASE_DIR) / "templates"
STATE_COMPARED = re.compile(r"""\.state\s*(==|!=)\s*["']""")
# In the milestone and contract templates, statuses and kinds are asked of the model too.
STATUS_COMPARED = re.compile(r"""\.(status|kind)\s*(==|!=)\s*["']""")


def _compares_a_state(path: Path, line: str) -> bool:
    ours = path.parent.name in ("milestones", "contracts") or path.parent.parent.name in ("milestones", "contracts")
    return bool(STATE_COMPARED.search(line) or (ours and STATUS_COMPARED.search(line)))


def test_no_template_compares_a_state_with_a_string():
    # Templates ask the model (`m.is_final`, `m.awaits_submission`, `contract.is_active`, ...) instead
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if _compares_a_state(path, line)
    ]
    assert offenders == []


def test_state_groups_are_listed_only_beside_the_states():
    # A tuple or list of states is a state group: it belongs in milestones/models.py, nowhere else
    root = Path(settings.BASE_DIR)
    listed = re.compile(r"MilestoneState\.\w+\s*,\s*(MilestoneState|S)\.\w+|S\.\w+\s*,\s*S\.\w+")
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for folder in ("milestones", "contracts")
        for path in sorted((root / folder).rglob("*.py"))
        if path.name != "models.py" and "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if listed.search(line)
    ]
    assert offenders == []
