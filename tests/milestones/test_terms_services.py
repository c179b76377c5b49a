"""The non-money milestone services: create, approve, decline, withdraw, cancel, terms."""

import datetime as dt

import pytest
from django.utils import timezone

from milestones.errors import MilestoneActionNotAllowed, MilestoneError, MilestoneRequestReplayed
from milestones.models import MilestoneState
from milestones.services import (
    milestone_approve,
    milestone_cancel,
    milestone_create,
    milestone_decline,
    milestone_terms_apply,
    milestone_withdraw,
)
from tests.contracts.factories import ContractFactory
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def _proposed_by_freelancer():
    contract = ContractFactory()
    milestone = milestone_create(
        contract=contract,
        proposed_by=contract.freelancer,
        title="Design",
        deliverables="Figma file",
        amount=10_000,
        due_date=(timezone.now() + dt.timedelta(days=7)).date(),
    )
    return contract, milestone


def test_the_other_party_approves_and_the_history_says_so():
    contract, milestone = _proposed_by_freelancer()
    milestone = milestone_approve(milestone=milestone, actor=contract.client, note="Accepted with the proposal")
    assert milestone.state == MilestoneState.APPROVED
    assert list(milestone.events.values_list("action", "actor_id", "to_state")) == [
        ("create", contract.freelancer_id, "proposed"),
        ("approve", contract.client_id, "approved"),
    ]


@pytest.mark.parametrize("who", ["freelancer", "stranger"])
def test_the_proposer_and_strangers_cannot_approve(who):
    contract, milestone = _proposed_by_freelancer()
    actor = contract.freelancer if who == "freelancer" else UserFactory()
    with pytest.raises(MilestoneActionNotAllowed):
        milestone_approve(milestone=milestone, actor=actor)
    milestone.refresh_from_db()
    assert milestone.state == MilestoneState.PROPOSED


def test_decline_by_other_party_and_withdraw_by_proposer_cancel():
    contract, first = _proposed_by_freelancer()
    _, second = _proposed_by_freelancer()
    assert milestone_decline(milestone=first, actor=contract.client).state == MilestoneState.CANCELLED
    with pytest.raises(MilestoneActionNotAllowed):
        milestone_withdraw(milestone=second, actor=second.contract.client)
    assert milestone_withdraw(milestone=second, actor=second.contract.freelancer).state == MilestoneState.CANCELLED


def test_cancel_needs_a_note_and_an_approved_milestone():
    contract, milestone = _proposed_by_freelancer()
    with pytest.raises(MilestoneActionNotAllowed):
        milestone_cancel(milestone=milestone, actor=contract.client, note="Not needed")
    milestone_approve(milestone=milestone, actor=contract.client)
    with pytest.raises(MilestoneError):
        milestone_cancel(milestone=milestone, actor=contract.client, note="  ")
    assert milestone_cancel(milestone=milestone, actor=contract.client, note="Not needed").state == "cancelled"


def test_a_replayed_request_is_refused_and_changes_nothing():
    contract, milestone = _proposed_by_freelancer()
    milestone_approve(milestone=milestone, actor=contract.client, idempotency_key="form-1")
    with pytest.raises(MilestoneRequestReplayed):
        milestone_approve(milestone=milestone, actor=contract.client, idempotency_key="form-1")
    assert milestone.events.count() == 2


def test_terms_apply_to_unfunded_milestones_and_are_audited():
    contract, milestone = _proposed_by_freelancer()
    due = (timezone.now() + dt.timedelta(days=30)).date()
    milestone = milestone_terms_apply(
        milestone=milestone, actor=contract.client, title="Design v2", deliverables="More", amount=12_500, due_date=due
    )
    milestone.refresh_from_db()
    assert (milestone.title, milestone.amount) == ("Design v2", 12_500)
    assert "Was: 'Design', $100.00" in milestone.events.last().note
    with pytest.raises(MilestoneError):
        milestone_terms_apply(
            milestone=milestone, actor=contract.client, title="x", deliverables="y", amount=0, due_date=due
        )
