"""Staff read jobs, proposals and contracts in admin, with their history; nothing there edits them."""

import pytest
from django.urls import reverse

from tests.contracts.factories import contract_started
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_staff_read_the_marketplace_and_contracts_in_admin(client):
    contract = contract_started(milestones=2)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    pages = [
        reverse("admin:marketplace_job_changelist"),
        reverse("admin:marketplace_job_change", args=[contract.job_id]),
        reverse("admin:marketplace_proposal_changelist"),
        reverse("admin:marketplace_proposal_change", args=[contract.proposal_id]),
        reverse("admin:contracts_contract_changelist"),
        reverse("admin:contracts_contract_change", args=[contract.pk]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
    # The contract page shows its history, and there is no way to add or save one
    html = client.get(reverse("admin:contracts_contract_change", args=[contract.pk])).content.decode()
    assert "started the contract" in html and 'name="_save"' not in html
    assert client.get(reverse("admin:contracts_contract_add")).status_code == 403
