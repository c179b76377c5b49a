"""The wallet shows each role only its own money, and the statement tells a bonus apart from its release."""

import pytest
from django.urls import reverse

from milestones import services
from milestones.models import MilestoneState
from tests.milestones.factories import milestone_in_state
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def _wallet(client, user) -> str:
    client.force_login(user)
    return client.get(reverse("payments:wallet")).content.decode()


def test_a_freelancer_only_account_sees_no_client_balance_or_add_funds_form(client):
    # Given an account that is only a freelancer
    freelancer = UserFactory(is_client=False, is_freelancer=True)

    # When they open the wallet
    html = _wallet(client, freelancer)

    # Then it shows their earnings, not a client balance with an add-funds card form
    assert "Earnings" in html
    assert "Client balance" not in html and reverse("payments:add_funds") not in html


def test_a_client_only_account_sees_its_balance_and_no_earnings(client):
    # Given an account that is only a client
    html = _wallet(client, UserFactory(is_client=True, is_freelancer=False))

    # Then it shows the client balance and the add-funds form, not earnings or withdrawals
    assert "Client balance" in html and reverse("payments:add_funds") in html
    assert 'id="earnings-heading"' not in html and reverse("payments:withdraw") not in html


def test_a_user_with_both_roles_sees_both(client):
    html = _wallet(client, UserFactory(is_client=True, is_freelancer=True))
    assert "Client balance" in html and 'id="earnings-heading"' in html


def test_the_statement_labels_a_bonus_apart_from_the_release_it_came_with(client):
    # Given a milestone released with a $50 bonus
    milestone = milestone_in_state(MilestoneState.SUBMITTED, title="Landing page")
    services.milestone_release(milestone=milestone, actor=milestone.contract.client, bonus=5_000)
    client.force_login(milestone.contract.freelancer)

    # When the freelancer reads their statement
    html = client.get(reverse("payments:statement")).content.decode()
    rows = [" ".join(row.split()) for row in html.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr>")[1:]]

    # Then the two rows differ: one is the bonus, named as such with its milestone, the other the release
    assert len(rows) == 2 and rows[0] != rows[1]
    bonus_row, release_row = rows
    assert "entry-kind-bonus" in bonus_row and ">Bonus<" in bonus_row and "Landing page" in bonus_row
    assert "entry-kind-release" in release_row and ">Bonus<" not in release_row
