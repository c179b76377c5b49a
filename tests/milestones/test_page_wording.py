"""What the milestone page tells each viewer: only what the model allows, and what is happening when nothing is."""

import pytest
from django.urls import reverse
from django.utils import timezone

from milestones.models import MilestoneState
from tests.milestones.factories import milestone_in_state

pytestmark = pytest.mark.django_db
S = MilestoneState
PARTIAL_OFFER = "part of it with the rest released to you"


def _refund_box(html: str) -> str:
    return html.split('class="action action-refund"', 1)[1].split("</article>", 1)[0]


def test_a_funded_milestone_offers_the_freelancer_only_a_full_refund(client):
    # Given a funded milestone (nothing submitted: the model allows only a full refund)
    milestone = milestone_in_state(S.FUNDED)
    assert not milestone.allows_partial_refund
    client.force_login(milestone.contract.freelancer)

    # When the freelancer opens its page
    box = _refund_box(client.get(reverse("milestones:detail", args=[milestone.pk])).content.decode())

    # Then the refund box offers the full amount only, in its help and in its choices
    assert PARTIAL_OFFER not in box
    assert "the refund is the full amount" in box
    assert "Refund part" not in box


def test_a_submitted_milestone_still_offers_the_freelancer_a_partial_refund(client):
    # Given a submitted milestone (the model allows a partial refund)
    milestone = milestone_in_state(S.SUBMITTED)
    assert milestone.allows_partial_refund
    client.force_login(milestone.contract.freelancer)

    # When the freelancer opens its page
    box = _refund_box(client.get(reverse("milestones:detail", args=[milestone.pk])).content.decode())

    # Then the partial refund is offered
    assert PARTIAL_OFFER in box and "Refund part" in box


def _actions_section(html: str) -> str:
    return html.split('id="actions-heading"', 1)[1].split("</section>", 1)[0]


def test_during_a_dispute_the_other_parties_are_told_what_is_happening(client):
    # Given a milestone the client put in dispute
    milestone = milestone_in_state(S.DISPUTED, dispute_opener="client")
    contract = milestone.contract
    opened_on = timezone.localtime(milestone.events.get(action="open_dispute").at)

    for viewer in (contract.freelancer, contract.client):
        client.force_login(viewer)

        # When the freelancer (who may do nothing) or the client (who may withdraw) opens the page
        section = _actions_section(client.get(reverse("milestones:detail", args=[milestone.pk])).content.decode())

        # Then they are told the money stays in escrow, who opened the dispute and when, and that staff decide
        assert "Nothing for you to do" not in section
        assert "This milestone is in dispute: the money stays in escrow until it is settled." in section
        opener = "You" if viewer == contract.client else str(contract.client)
        assert f"{opener} opened it on {opened_on:%-d %b %Y}" in section
        assert "staff will" in section


def test_a_milestone_waiting_on_the_other_party_still_says_there_is_nothing_to_do(client):
    # Given a submitted milestone, seen by the freelancer (the client reviews it)
    milestone = milestone_in_state(S.SUBMITTED)
    client.force_login(milestone.contract.freelancer)

    # When the freelancer opens the page
    section = _actions_section(client.get(reverse("milestones:detail", args=[milestone.pk])).content.decode())

    # Then no dispute note is shown
    assert "in dispute" not in section
