"""Review of the contract pages' web input: bad input changes nothing, other contracts' ids are 404s."""

import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from contracts.models import ChangeRequest, ContractEvent
from contracts.services import change_request_propose
from milestones.terms import MilestoneTerms
from tests.contracts.factories import contract_started

pytestmark = pytest.mark.django_db


def _change_of(contract, **terms) -> ChangeRequest:
    milestone = contract.milestones.order_by("pk").first()
    return change_request_propose(
        contract=contract,
        proposed_by=contract.freelancer,
        milestone=milestone,
        terms=MilestoneTerms(
            title=terms.get("title", "New title"),
            deliverables=milestone.deliverables,
            amount=milestone.amount,
            due_at=milestone.due_at,
        ),
        note="",
        form_token=uuid.uuid4(),
    )


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_decline_with_a_note_too_long_declines_nothing_and_says_why(client):
    # Given a change waiting for the client's answer
    contract = contract_started(milestones=1)
    change = _change_of(contract)
    client.force_login(contract.client)

    # When the client declines it with a note over the 2,000-character limit
    response = client.post(
        reverse("contracts:change_decline", args=[contract.pk, change.pk]), {"note": "x" * 2001}, follow=True
    )

    # Then the change still waits (the note was not silently dropped) and the page says why
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.PROPOSED
    assert any("at most 2000 characters" in m and "Nothing was declined" in m for m in _messages(response))

    # And a valid note then declines it, keeping the note
    client.post(reverse("contracts:change_decline", args=[contract.pk, change.pk]), {"note": "Too expensive"})
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.DECLINED
    assert "Too expensive" in ContractEvent.objects.filter(contract=contract).latest("pk").note


@pytest.mark.parametrize("name", ["change_accept", "change_decline", "change_withdraw"])
def test_a_change_id_of_another_contract_is_a_404_and_changes_nothing(client, name):
    # Given two contracts of the same client, and a change waiting on the second
    mine = contract_started(milestones=1)
    other = contract_started(milestones=1, client=mine.client, freelancer=mine.freelancer)
    change = _change_of(other)
    client.force_login(mine.client if name != "change_withdraw" else mine.freelancer)

    # When the change's id is posted under the first contract's URL
    response = client.post(reverse(f"contracts:{name}", args=[mine.pk, change.pk]))

    # Then it is not found there, and the change still waits
    assert response.status_code == 404
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.PROPOSED


def test_a_title_with_a_line_break_is_refused_on_the_change_form(client):
    # Given the client on the form for a new milestone
    contract = contract_started(milestones=1)
    client.force_login(contract.client)
    due = timezone.localdate() + dt.timedelta(days=30)

    # When the title carries a line break (it would end up in e-mail subjects)
    response = client.post(
        reverse("contracts:change_new", args=[contract.pk]),
        {
            "title": "Extra\nBcc: someone@example.com",
            "deliverables": "One more page",
            "amount": "250",
            "due_date": due.isoformat(),
            "form_token": str(uuid.uuid4()),
        },
    )

    # Then the form comes back with a message on the title, and no change was proposed
    assert response.status_code == 200
    assert "one line" in " ".join(response.context["form"].errors["title"])
    assert not ChangeRequest.objects.filter(contract=contract).exists()
