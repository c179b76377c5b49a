"""What the milestone page tells each viewer: only what the model allows, and what is happening when nothing is."""

import pytest
from django.urls import reverse
from django.utils import timezone

from milestones.models import MilestoneState
from tests.milestones.factories import milestone_in_state

pytestmark = pytest.mark.django_db
S = MilestoneState


def _box(html: str, css_class: str) -> str:
    return html.split(f'class="{css_class}"', 1)[1].split("</article>", 1)[0]


@pytest.mark.parametrize("state", [S.FUNDED, S.SUBMITTED])
def test_the_refund_is_whole_and_keeping_part_is_an_offer_the_client_accepts(client, state):
    # Given a funded or submitted milestone, seen by its freelancer
    milestone = milestone_in_state(state)
    client.force_login(milestone.contract.freelancer)

    # When the freelancer opens its page
    html = client.get(reverse("milestones:detail", args=[milestone.pk])).content.decode()

    # Then the refund box gives back everything, with no amount to type
    refund = _box(html, "action action-refund")
    assert "Refund in full" in refund and "amount" not in refund.lower().split("give all")[0]
    assert 'name="refund-amount"' not in refund
    # And keeping part of it is an offer, which the client accepts or declines
    offer = _box(html, "action")
    assert "Offer a partial refund or a split" in html
    assert reverse("disputes:offer_make", args=[milestone.pk]) in html
    assert offer


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

        # Then they are told the money stays in escrow, who opened the dispute and when, and how it ends
        assert "Nothing for you to do" not in section
        assert "This milestone is in dispute: the money stays in escrow until the case is settled" in section
        opener = "You" if viewer == contract.client else str(contract.client)
        assert f"{opener} opened it on {opened_on:%-d %b %Y}" in section
        assert "decided by an arbitrator" in section


def test_a_milestone_waiting_on_the_other_party_still_says_there_is_nothing_to_do(client):
    # Given a submitted milestone, seen by the freelancer (the client reviews it)
    milestone = milestone_in_state(S.SUBMITTED)
    client.force_login(milestone.contract.freelancer)

    # When the freelancer opens the page
    section = _actions_section(client.get(reverse("milestones:detail", args=[milestone.pk])).content.decode())

    # Then no dispute note is shown
    assert "in dispute" not in section
