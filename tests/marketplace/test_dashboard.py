"""Dashboards: what a client and a freelancer each have to act on; a user with both roles sees both."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from contracts.selectors import dashboard_client, dashboard_freelancer
from core.money import format_money
from milestones.services import milestone_fund, milestone_release
from payments.fees import platform_fee_split
from tests.contracts.factories import contract_started
from tests.marketplace.factories import JobFactory, proposal_with_rows
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_client_sees_contracts_proposals_received_and_milestones_to_fund():
    # Given a client with a contract of two approved milestones and an open job with one proposal
    contract = contract_started(milestones=2)
    client_user = contract.client
    job = JobFactory(client=client_user)
    proposal_with_rows(job=job)
    # When their dashboard is read
    board = dashboard_client(user=client_user)
    # Then it lists the contract, the job with one waiting proposal, and both milestones to fund
    assert board.contracts == [contract]
    assert [(j.pk, j.waiting) for j in board.open_jobs] == [(job.pk, 1)]
    assert {m.pk for m in board.to_fund} == set(contract.milestones.values_list("pk", flat=True))
    assert board.to_approve == [] and board.to_review == []


def test_the_freelancer_sees_proposals_active_milestones_by_due_date_with_overdue_marked(client):
    # Given a freelancer with a contract of three milestones due a week apart, the first funded
    contract = contract_started(milestones=3)
    freelancer = contract.freelancer
    milestones = list(contract.milestones.order_by("due_at"))
    milestone_fund(milestone=milestones[0], actor=contract.client, card_number="4242 4242 4242 4242")
    sent = proposal_with_rows(freelancer=freelancer)
    # When ten days pass (the first milestone was due after seven)
    with time_machine.travel(timezone.now() + dt.timedelta(days=10)):
        board = dashboard_freelancer(user=freelancer)
        client.force_login(freelancer)
        html = client.get(reverse("home")).content.decode()
    # Then the active milestones come soonest first, only the first one overdue
    assert [(m.pk, overdue) for m, overdue in board.active_milestones] == [
        (milestones[0].pk, True),
        (milestones[1].pk, False),
        (milestones[2].pk, False),
    ]
    assert {p.pk for p in board.proposals} == {sent.pk, contract.proposal_id}
    assert "Overdue" in html and "Proposals sent" in html


def test_a_user_with_both_roles_sees_both_dashboards(client):
    user = UserFactory(is_client=True, is_freelancer=True, display_name="Bo Both")
    client.force_login(user)
    html = client.get(reverse("home")).content.decode()
    assert "Welcome, Bo Both" in html and "As a client" in html and "As a freelancer" in html


def test_a_client_only_user_sees_only_the_client_side(client):
    user = UserFactory(is_client=True, is_freelancer=False)
    client.force_login(user)
    html = client.get(reverse("home")).content.decode()
    assert "As a client" in html and "As a freelancer" not in html


def test_released_money_shows_as_the_freelancers_pending_earnings(client):
    # Given a funded milestone of $500 that the client releases
    contract = contract_started(milestones=1)
    milestone = contract.milestones.get()
    milestone_fund(milestone=milestone, actor=contract.client, card_number="4242 4242 4242 4242")
    milestone_release(milestone=milestone, actor=contract.client)
    # When the freelancer reads their dashboard
    (summary,) = dashboard_freelancer(user=contract.freelancer).earnings
    # Then the release less the platform fee is pending, none available yet
    fee = platform_fee_split(amount=50_000).fee
    assert (summary.currency, summary.pending, summary.available) == ("USD", 50_000 - fee, 0)
    client.force_login(contract.freelancer)
    assert format_money(50_000 - fee, "USD") in client.get(reverse("home")).content.decode()


def test_a_waiting_proposal_is_on_the_clients_to_do_list_not_under_nothing_to_do(client):
    # Given a client whose only open job has one waiting proposal, and nothing else to act on
    job = JobFactory(title="Logo redesign")
    proposal_with_rows(job=job)
    client.force_login(job.client)

    # When they open their dashboard
    board = dashboard_client(user=job.client)
    html = client.get(reverse("home")).content.decode()
    waiting_for_you = html.split('id="client-waiting-heading"', 1)[1].split("</article>", 1)[0]

    # Then the proposal is listed as something to answer, and the "nothing to do" message is not shown
    assert board.has_something_to_do and [j.pk for j in board.proposals_to_answer] == [job.pk]
    assert "Answer 1 proposal</a> on Logo redesign" in waiting_for_you
    assert reverse("marketplace:job_proposals", args=[job.pk]) in waiting_for_you
    assert "Nothing needs your" not in html


def test_a_client_with_truly_nothing_to_do_is_told_so(client):
    # Given a client with an open job and no proposals on it
    job = JobFactory()
    client.force_login(job.client)

    # When they open their dashboard
    html = client.get(reverse("home")).content.decode()

    # Then the "nothing to do" message is shown
    assert not dashboard_client(user=job.client).has_something_to_do
    assert "Nothing needs your answer, approval, funding or review." in html
