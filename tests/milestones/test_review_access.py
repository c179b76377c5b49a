"""Review of milestone access: ids of other milestones and contracts are refused; admin is view only."""

import uuid

import pytest
from django.urls import reverse

from milestones.models import Milestone
from milestones.models import MilestoneState as S
from tests.factories import UserFactory
from tests.milestones.factories import funded_contract, milestone_in_state

pytestmark = pytest.mark.django_db


def test_a_file_id_of_another_milestone_is_a_404_even_for_a_party(client):
    # Given two submitted milestones of the same contract, each with its own file
    first = milestone_in_state(S.SUBMITTED)
    second = milestone_in_state(S.SUBMITTED, contract=first.contract)
    second_file = second.submissions.get().files.get()
    client.force_login(first.contract.client)

    # When the second milestone's file is asked for under the first milestone's URL
    response = client.get(reverse("milestones:file_download", args=[first.pk, second_file.pk]))

    # Then it is not found (the pair must match), while the right pair downloads
    assert response.status_code == 404
    assert client.get(reverse("milestones:file_download", args=[second.pk, second_file.pk])).status_code == 200


def test_fund_many_refuses_a_milestone_of_another_contract_posted_by_hand(client):
    # Given a client with two contracts, each with an approved milestone, and money to fund both
    mine = milestone_in_state(S.APPROVED)
    other_contract = funded_contract(client=mine.contract.client)
    other = milestone_in_state(S.APPROVED, contract=other_contract)
    client.force_login(mine.contract.client)

    # When the first contract's fund-many page is posted with the other contract's milestone id
    response = client.post(
        reverse("contracts:fund_milestones", args=[mine.contract.pk]),
        {"milestones": [str(other.pk)], "token": str(uuid.uuid4())},
    )

    # Then the form is refused and neither milestone is funded
    assert response.status_code == 400
    assert Milestone.objects.get(pk=other.pk).state == S.APPROVED
    assert Milestone.objects.get(pk=mine.pk).state == S.APPROVED


@pytest.mark.parametrize("model", ["milestone", "deliverablefile"])
def test_milestones_and_files_are_view_only_in_admin(client, model):
    # Given a submitted milestone and a superuser in admin
    milestone = milestone_in_state(S.SUBMITTED)
    obj = milestone if model == "milestone" else milestone.submissions.get().files.get()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse(f"admin:milestones_{model}_change", args=[obj.pk])

    # When they open the row, and post its change form anyway
    page = client.get(url)
    response = client.post(url, {"_save": "Save"})

    # Then the row is shown without a save button, the post is forbidden, and nothing changed
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert response.status_code == 403
    assert Milestone.objects.get(pk=milestone.pk).state == S.SUBMITTED
