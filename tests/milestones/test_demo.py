"""The demo contract: a milestone in every state, built through the services, safe to build twice."""

import pytest
from django.core.management import call_command

from milestones.demo import demo_milestones_ensure
from milestones.models import Milestone, MilestoneState
from payments.models import LedgerTransaction
from tests.factories import ClientFactory, FreelancerFactory

pytestmark = pytest.mark.django_db


def test_the_demo_has_every_state_a_consistent_ledger_and_runs_twice_without_changes():
    # Given a demo client and freelancer
    client, freelancer = ClientFactory(), FreelancerFactory()

    # When the demo is built twice
    contract = demo_milestones_ensure(client=client, freelancer=freelancer)
    counts = (Milestone.objects.count(), LedgerTransaction.objects.count())
    again = demo_milestones_ensure(client=client, freelancer=freelancer)

    # Then it is the same contract with one milestone in each state, a submitted file, and a verified ledger
    assert again.pk == contract.pk
    assert (Milestone.objects.count(), LedgerTransaction.objects.count()) == counts
    assert sorted(contract.milestones.values_list("state", flat=True)) == sorted(MilestoneState.values)
    submitted = contract.milestones.get(state=MilestoneState.SUBMITTED)
    assert submitted.submissions.get().files.count() == 1
    call_command("ledger_verify")
