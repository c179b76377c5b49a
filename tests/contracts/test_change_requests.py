"""Changing milestones after the start: nothing changes until the other party accepts."""

import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from contracts.errors import ChangeRequestError
from contracts.models import ChangeRequest, ContractEvent
from contracts.services import (
    change_request_accept,
    change_request_decline,
    change_request_propose,
    change_request_withdraw,
)
from milestones.models import MilestoneState
from milestones.services import milestone_fund
from milestones.terms import MilestoneTerms
from payments.selectors import milestone_money_totals
from tests.contracts.factories import contract_started

pytestmark = pytest.mark.django_db

TEST_CARD = "4242 4242 4242 4242"


def _terms(milestone=None, **changes) -> MilestoneTerms:
    base = {
        "title": milestone.title if milestone else "Extra page",
        "deliverables": milestone.deliverables if milestone else "One more page",
        "amount": milestone.amount if milestone else 25_000,
        "due_date": milestone.due_date if milestone else (timezone.now() + dt.timedelta(days=20)).date(),
    }
    return MilestoneTerms(**(base | changes))


def _snapshot(contract):
    return list(contract.milestones.order_by("pk").values_list("title", "deliverables", "amount", "due_at", "state"))


@pytest.fixture
def contract():
    return contract_started(milestones=2)


def test_a_new_milestone_is_added_only_when_the_other_party_accepts(contract):
    # Given the freelancer proposes a new milestone
    change = change_request_propose(
        contract=contract, proposed_by=contract.freelancer, milestone=None, terms=_terms(), note="Scope grew"
    )
    # Then nothing changed yet
    assert contract.milestones.count() == 2 and change.status == ChangeRequest.Status.PROPOSED
    # And the proposer can't accept their own change
    with pytest.raises(ChangeRequestError, match="other party"):
        change_request_accept(change_request=change, actor=contract.freelancer)
    # When the client accepts
    change = change_request_accept(change_request=change, actor=contract.client)
    # Then the milestone exists, approved, proposed by the freelancer and approved by the client
    added = change.milestone
    assert (added.title, added.amount, added.state, added.position) == ("Extra page", 25_000, "approved", 3)
    assert list(added.events.values_list("action", "actor_id")) == [
        ("create", contract.freelancer_id),
        ("approve", contract.client_id),
    ]
    assert change.status == ChangeRequest.Status.ACCEPTED and change.decided_by == contract.client
    actions = list(contract.events.values_list("action", flat=True))
    assert actions[-2:] == [ContractEvent.Action.CHANGE_PROPOSED, ContractEvent.Action.CHANGE_ACCEPTED]


def test_new_terms_for_an_unfunded_milestone_apply_on_acceptance(contract):
    milestone = contract.milestones.order_by("position").first()
    new_due = (timezone.now() + dt.timedelta(days=40)).date()
    change = change_request_propose(
        contract=contract,
        proposed_by=contract.client,
        milestone=milestone,
        terms=_terms(milestone, title="Design v2", amount=75_000, due_date=new_due),
    )
    assert (change.kind, change.number) == (ChangeRequest.Kind.TERMS, 1)
    change_request_accept(change_request=change, actor=contract.freelancer)
    milestone.refresh_from_db()
    assert (milestone.title, milestone.amount, milestone.due_date) == ("Design v2", 75_000, new_due)
    assert milestone.events.last().action == "change_terms"


@pytest.mark.parametrize("ending", ["declined", "withdrawn"])
def test_a_declined_or_withdrawn_change_leaves_everything_as_it_was(contract, ending):
    milestone = contract.milestones.first()
    before = _snapshot(contract)
    change = change_request_propose(
        contract=contract, proposed_by=contract.freelancer, milestone=milestone, terms=_terms(milestone, amount=1)
    )
    if ending == "declined":
        change_request_decline(change_request=change, actor=contract.client, note="No")
    else:
        change_request_withdraw(change_request=change, actor=contract.freelancer)
    change.refresh_from_db()
    assert change.status == ending
    assert _snapshot(contract) == before
    # And an answered change can't be answered again
    with pytest.raises(ChangeRequestError, match="already"):
        change_request_accept(change_request=change, actor=contract.client)
    assert _snapshot(contract) == before


def test_only_the_right_party_declines_or_withdraws(contract):
    change = change_request_propose(contract=contract, proposed_by=contract.client, milestone=None, terms=_terms())
    with pytest.raises(ChangeRequestError):
        change_request_decline(change_request=change, actor=contract.client)
    with pytest.raises(ChangeRequestError):
        change_request_withdraw(change_request=change, actor=contract.freelancer)
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.PROPOSED


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": 0}, "greater than zero"),
        ({"amount": 10**12}, "at most"),
        ({"title": "  "}, "title"),
        ({"due_date": dt.date(2001, 1, 1)}, "future"),
    ],
)
def test_bad_terms_are_refused_and_nothing_is_saved(contract, changes, message):
    with pytest.raises(ChangeRequestError, match=message):
        change_request_propose(contract=contract, proposed_by=contract.client, milestone=None, terms=_terms(**changes))
    assert not ChangeRequest.objects.exists()


def test_unchanged_terms_and_a_second_open_change_are_refused(contract):
    milestone = contract.milestones.first()
    with pytest.raises(ChangeRequestError, match="current terms"):
        change_request_propose(
            contract=contract, proposed_by=contract.client, milestone=milestone, terms=_terms(milestone)
        )
    change_request_propose(
        contract=contract, proposed_by=contract.client, milestone=milestone, terms=_terms(milestone, amount=1_000)
    )
    with pytest.raises(ChangeRequestError, match="already has a change waiting"):
        change_request_propose(
            contract=contract, proposed_by=contract.freelancer, milestone=milestone, terms=_terms(milestone, amount=2)
        )
    assert ChangeRequest.objects.count() == 1


def test_a_funded_milestone_changes_only_by_a_change_order_that_moves_the_escrow(contract):
    # Given a funded milestone of $500
    milestone = contract.milestones.order_by("position").first()
    milestone_fund(milestone=milestone, actor=contract.client, card_number=TEST_CARD)
    milestone.refresh_from_db()
    # Then its title can't change
    with pytest.raises(ChangeRequestError, match="only its amount and due date"):
        change_request_propose(
            contract=contract, proposed_by=contract.client, milestone=milestone, terms=_terms(milestone, title="New")
        )
    # When the freelancer asks for $400 instead and the client accepts
    change = change_request_propose(
        contract=contract, proposed_by=contract.freelancer, milestone=milestone, terms=_terms(milestone, amount=40_000)
    )
    assert change.kind == ChangeRequest.Kind.CHANGE_ORDER
    change_request_accept(change_request=change, actor=contract.client)
    # Then the amount is $400 and $100 went back out of escrow
    milestone.refresh_from_db()
    assert (milestone.amount, milestone.state) == (40_000, MilestoneState.FUNDED)
    assert milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk].in_escrow == 40_000
    assert milestone.events.last().action == "change_order"


def test_the_change_form_refuses_bad_input_on_its_field(client, contract):
    client.force_login(contract.freelancer)
    url = reverse("contracts:change_new", args=[contract.pk])
    base = {"title": "Extra", "deliverables": "More", "amount": "100", "due_date": "2099-01-01"}
    for field, value in (("amount", "-5"), ("amount", "1e9"), ("amount", "1.001"), ("due_date", "2001-01-01")):
        response = client.post(url, base | {field: value})
        assert response.status_code == 200 and response.context["form"].errors[field], (field, value)
    assert not ChangeRequest.objects.exists()
    # And a good one goes through once, even if the form is sent twice
    token = str(uuid.uuid4())
    client.post(url, base | {"form_token": token})
    response = client.post(url, base | {"form_token": token})
    assert "already sent" in " ".join(str(m) for m in response.context["messages"])
    assert ChangeRequest.objects.count() == 1


def test_the_change_form_for_a_milestone_starts_from_its_terms(client, contract):
    milestone = contract.milestones.first()
    client.force_login(contract.client)
    form = client.get(reverse("contracts:change_milestone", args=[contract.pk, milestone.pk])).context["form"]
    assert form["title"].value() == milestone.title and form["amount"].value() == "500.00"


def test_accept_and_decline_through_the_page(client, contract):
    change = change_request_propose(contract=contract, proposed_by=contract.client, milestone=None, terms=_terms())
    client.force_login(contract.freelancer)
    html = client.get(reverse("contracts:detail", args=[contract.pk])).content.decode()
    assert "Accept the change" in html and "Extra page" in html
    client.post(reverse("contracts:change_accept", args=[contract.pk, change.pk]))
    assert contract.milestones.count() == 3
    response = client.post(reverse("contracts:change_accept", args=[contract.pk, change.pk]), follow=True)
    assert "already accepted" in " ".join(str(m) for m in response.context["messages"])
    assert contract.milestones.count() == 3


# --- Web input: bad input changes nothing, other contracts' ids are 404s ---------------------------------
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
            due_date=milestone.due_date,
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
