"""The demo contract: a milestone in every state, built through the services, safe to build twice."""

import pytest
from django.core.management import call_command

from contracts.demo import EVERY_STATE_JOB_TITLE
from contracts.models import Contract
from milestones.models import Milestone, MilestoneState
from payments.models import LedgerTransaction

pytestmark = pytest.mark.django_db


def test_the_demo_has_every_state_a_consistent_ledger_and_runs_twice_without_changes():
    # Given the demo data loaded once
    call_command("seed_demo")
    counts = (Milestone.objects.count(), LedgerTransaction.objects.count())

    # When it is loaded again
    call_command("seed_demo")

    # Then nothing was added, the demo contract has one milestone in each state, a submitted file,
    # and the ledger verifies
    assert (Milestone.objects.count(), LedgerTransaction.objects.count()) == counts
    contract = Contract.objects.get(job__title=EVERY_STATE_JOB_TITLE)
    assert sorted(set(contract.milestones.values_list("state", flat=True))) == sorted(MilestoneState.values)
    submitted = contract.milestones.get(state=MilestoneState.SUBMITTED)
    assert submitted.submissions.get().files.count() == 1
    call_command("ledger_verify")
