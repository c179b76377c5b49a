"""Ending a contract: either party, only when no milestone holds money in escrow."""

import pytest
from django.urls import reverse

from contracts.errors import ContractError
from contracts.models import ChangeRequest, Contract, ContractEvent
from contracts.services import change_request_propose, contract_end
from milestones.models import MilestoneState
from milestones.services import milestone_create, milestone_fund
from milestones.terms import MilestoneTerms
from tests.contracts.factories import contract_started

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("who", ["client", "freelancer"])
def test_either_party_ends_and_open_milestones_are_closed_with_a_note(
    who, django_capture_on_commit_callbacks, mailoutbox
):
    # Given a contract with two approved milestones, one more proposed by the client, and an open change
    contract = contract_started(milestones=2)
    approved = list(contract.milestones.all())
    proposed = milestone_create(
        contract=contract,
        proposed_by=contract.client,
        title="Extra",
        deliverables="More",
        amount=1_000,
        due_date=approved[0].due_date,
    )
    change = change_request_propose(
        contract=contract,
        proposed_by=contract.freelancer,
        milestone=None,
        terms=MilestoneTerms(title="More", deliverables="x", amount=5, due_date=approved[0].due_date),
    )
    actor = getattr(contract, who)
    # When that party ends it
    with django_capture_on_commit_callbacks(execute=True):
        contract_end(contract=contract, actor=actor, note="Project cancelled")
    # Then the contract is ended by them, with an audit row
    contract.refresh_from_db()
    assert (contract.status, contract.ended_by) == (Contract.Status.ENDED, actor)
    assert contract.events.last().action == ContractEvent.Action.ENDED
    # And every open milestone is cancelled through its own transition, with the reason in its history
    assert set(contract.milestones.values_list("state", flat=True)) == {MilestoneState.CANCELLED}
    for milestone in approved:
        assert milestone.events.last().action == "cancel" and "Project cancelled" in milestone.events.last().note
    expected = "withdraw" if who == "client" else "decline"
    assert proposed.events.last().action == expected
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.DECLINED
    # And the other party is told, and both are asked for feedback (reputation.services.feedback_window_open)
    other = contract.freelancer if who == "client" else contract.client
    ended = [m for m in mailoutbox if "has ended" in m.subject]
    asked = [m for m in mailoutbox if "Leave feedback" in m.subject]
    assert [m.to for m in ended] == [[other.email]]
    assert sorted(m.to[0] for m in asked) == sorted([contract.client.email, contract.freelancer.email])
    assert len(mailoutbox) == 3


def test_a_contract_with_money_in_escrow_cannot_end_and_nothing_changes(client):
    # Given a contract whose first milestone is funded
    contract = contract_started(milestones=2)
    funded = contract.milestones.order_by("position").first()
    milestone_fund(milestone=funded, actor=contract.client, card_number="4242 4242 4242 4242")
    before = list(contract.milestones.order_by("pk").values_list("state", flat=True))
    # When a party tries to end it
    client.force_login(contract.freelancer)
    response = client.post(reverse("contracts:end", args=[contract.pk]), follow=True)
    # Then they are told why, and nothing changed
    assert "escrow" in " ".join(str(m) for m in response.context["messages"])
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ACTIVE
    assert list(contract.milestones.order_by("pk").values_list("state", flat=True)) == before
    # And the page doesn't offer to end it
    page = client.get(reverse("contracts:end", args=[contract.pk])).content.decode()
    assert "can't end while money is in escrow" in page


def test_an_ended_contract_takes_no_more_changes_or_ending():
    contract = contract_started(milestones=1)
    contract_end(contract=contract, actor=contract.client)
    with pytest.raises(ContractError, match="ended"):
        contract_end(contract=contract, actor=contract.freelancer)
    with pytest.raises(ContractError, match="ended"):
        change_request_propose(
            contract=contract,
            proposed_by=contract.client,
            milestone=None,
            terms=MilestoneTerms(title="x", deliverables="y", amount=1, due_date=contract.milestones.get().due_date),
        )


def test_ending_through_the_page(client):
    contract = contract_started(milestones=1)
    client.force_login(contract.client)
    assert "End the contract" in client.get(reverse("contracts:end", args=[contract.pk])).content.decode()
    client.post(reverse("contracts:end", args=[contract.pk]), {"note": "Done early"})
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ENDED
