"""Every contract URL (page, messages, changes, milestone changes, end) is for the two parties and staff only."""

import pytest
from django.urls import reverse

from contracts.models import ChangeRequest, ContractMessage
from contracts.services import change_request_propose, contract_message_post
from milestones.models import MilestoneState
from milestones.terms import MilestoneTerms
from tests.contracts.factories import contract_started
from tests.users.factories import ClientFactory, FreelancerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract():
    contract = contract_started(milestones=2)
    contract_message_post(contract=contract, author=contract.client, body="Hello")
    first = contract.milestones.order_by("position").first()
    change_request_propose(
        contract=contract,
        proposed_by=contract.freelancer,
        milestone=first,
        terms=MilestoneTerms(title="New title", deliverables="More", amount=60_000, due_date=first.due_date),
    )
    return contract


def _urls(contract) -> list[tuple[str, str]]:
    milestone = contract.milestones.order_by("position").first()
    change = contract.change_requests.get()
    c = contract.pk
    return [
        ("get", reverse("contracts:detail", args=[c])),
        ("get", reverse("contracts:messages", args=[c])),
        ("post", reverse("contracts:messages", args=[c])),
        ("get", reverse("contracts:change_new", args=[c])),
        ("post", reverse("contracts:change_new", args=[c])),
        ("get", reverse("contracts:change_milestone", args=[c, milestone.pk])),
        ("post", reverse("contracts:change_milestone", args=[c, milestone.pk])),
        ("post", reverse("contracts:change_accept", args=[c, change.pk])),
        ("post", reverse("contracts:change_decline", args=[c, change.pk])),
        ("post", reverse("contracts:change_withdraw", args=[c, change.pk])),
        ("get", reverse("contracts:end", args=[c])),
        ("post", reverse("contracts:end", args=[c])),
    ]


def _post_data() -> dict:
    return {"body": "Let me in", "title": "x", "deliverables": "y", "amount": "5", "due_date": "2099-01-01"}


@pytest.mark.parametrize("outsider", ["client of other work", "freelancer", "both roles"])
def test_an_unrelated_user_gets_404_on_every_contract_url_and_nothing_changes(client, contract, outsider):
    # Given a signed-in user who is not a party (of any role)
    user = {"client of other work": ClientFactory, "freelancer": FreelancerFactory, "both roles": UserFactory}[
        outsider
    ]()
    contract_started(client=user)  # they have contracts of their own, just not this one
    client.force_login(user)
    # When they try every URL of this contract
    for method, url in _urls(contract):
        response = getattr(client, method)(url, _post_data() if method == "post" else None)
        # Then each is a 404, indistinguishable from a contract that doesn't exist
        assert response.status_code == 404, (method, url)
    # And nothing changed
    assert ContractMessage.objects.filter(contract=contract).count() == 1
    assert contract.change_requests.get().status == ChangeRequest.Status.PROPOSED
    assert set(contract.milestones.values_list("state", flat=True)) == {MilestoneState.APPROVED}
    contract.refresh_from_db()
    assert contract.status == "active"


def test_an_anonymous_visitor_is_sent_to_log_in_on_every_contract_url(client, contract):
    for method, url in _urls(contract):
        response = getattr(client, method)(url, _post_data() if method == "post" else None)
        if response.status_code == 405:  # POST-only URLs refuse a GET before anything else
            continue
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith(reverse("account_login")), (method, url)
    assert ContractMessage.objects.filter(contract=contract).count() == 1


def test_a_milestone_of_another_contract_is_404_under_this_one(client, contract):
    other = contract_started(client=contract.client)
    foreign = other.milestones.first()
    client.force_login(contract.client)
    url = reverse("contracts:change_milestone", args=[contract.pk, foreign.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, _post_data()).status_code == 404
    change = contract.change_requests.get()
    assert client.post(reverse("contracts:change_accept", args=[other.pk, change.pk])).status_code == 404


def test_state_changes_refuse_get(client, contract):
    client.force_login(contract.client)
    change = contract.change_requests.get()
    for name in ("change_accept", "change_decline", "change_withdraw"):
        assert client.get(reverse(f"contracts:{name}", args=[contract.pk, change.pk])).status_code == 405


def test_both_parties_and_staff_can_read_but_staff_cannot_act(client, contract):
    url = reverse("contracts:detail", args=[contract.pk])
    for user in (contract.client, contract.freelancer):
        client.force_login(user)
        assert client.get(url).status_code == 200
    # Staff read the contract, but may not write in its thread
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    page = client.get(url)
    assert page.status_code == 200 and 'name="body"' not in page.content.decode()
    client.post(reverse("contracts:messages", args=[contract.pk]), {"body": "Staff here"})
    assert ContractMessage.objects.filter(contract=contract).count() == 1


def test_csrf_is_required_on_contract_posts(contract):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(contract.client)
    response = browser.post(reverse("contracts:messages", args=[contract.pk]), {"body": "No token"})
    assert response.status_code == 403
    assert ContractMessage.objects.filter(contract=contract).count() == 1
