"""Admin shows money with its currency and durations rounded for people, never raw minor units or timedeltas."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from core.humanize import duration_for_people
from milestones import services
from milestones.models import MilestoneState
from payments.ledger.models import Balance, Entry
from payments.models import EarningsLot
from tests.marketplace.factories import proposal_with_rows
from tests.milestones.factories import milestone_in_state
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db
S = MilestoneState
RAW_DURATION = re.compile(r"\d+:\d\d:\d\d")


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _page(client, name: str, pk: int) -> str:
    response = client.get(reverse(f"admin:{name}_change", args=[pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_duration_for_people_rounds_to_the_two_largest_units():
    assert duration_for_people(dt.timedelta(days=13, hours=23, minutes=59, seconds=58.74)) == "13 days, 23 hours"
    assert duration_for_people(dt.timedelta(hours=5, minutes=10, seconds=3)) == "5 hours, 10 minutes"
    assert duration_for_people(dt.timedelta(seconds=20)) == "less than a minute"
    assert duration_for_people(None) == "—"


def test_the_milestone_and_dispute_pages_show_money_and_a_rounded_review_time(staff):
    # Given a $650.50 milestone disputed during review (its case keeps the remaining review time)
    milestone = milestone_in_state(S.DISPUTED, amount=65_050, disputed_from=S.SUBMITTED)
    case = milestone.open_dispute_case
    assert case is not None and case.review_time_remaining is not None

    # When staff open its change page, the list and the case's page
    html = _page(staff, "milestones_milestone", milestone.pk)
    listing = staff.get(reverse("admin:milestones_milestone_changelist")).content.decode()
    case_html = _page(staff, "disputes_dispute", case.pk)

    # Then the amount has its currency, and the review time is rounded for people
    assert "$650.50" in html and "65050" not in html
    assert "$650.50" in listing and "65050" not in listing
    assert duration_for_people(case.review_time_remaining) in case_html
    after = case_html.split("Review time remaining")[1]
    assert re.search(r"\d+ days, \d+ hours", case_html) and not RAW_DURATION.search(after.split("</div>")[1])


def test_contract_and_marketplace_change_pages_show_money_with_its_currency(staff):
    # Given a $1,500 job with a proposal of one $650.50 row, and a contract with a $100 milestone
    proposal = proposal_with_rows(amounts=(65_050,))
    milestone = milestone_in_state(S.FUNDED, amount=10_000)

    # When staff open the job, proposal and contract change pages
    pages = [
        _page(staff, "marketplace_job", proposal.job.pk),
        _page(staff, "marketplace_proposal", proposal.pk),
        _page(staff, "contracts_contract", milestone.contract.pk),
    ]

    # Then no raw minor units are shown, and the amounts carry their currency
    assert "$1,500.00" in pages[0] and "150000" not in pages[0]
    assert "$650.50" in pages[1] and "65050" not in pages[1]
    assert "10000" not in pages[2]


def test_ledger_change_pages_show_money_with_its_currency(staff):
    # Given a $650.50 milestone released to the freelancer
    milestone = milestone_in_state(S.SUBMITTED, amount=65_050)
    services.milestone_release(milestone=milestone, actor=milestone.contract.client)
    entry = Entry.objects.filter(transaction__milestone_id=milestone.pk, amount=65_050).first()
    lot = EarningsLot.objects.get(milestone_id=milestone.pk)
    balance = Balance.objects.filter(amount=lot.amount).first() or Balance.objects.exclude(amount=0).first()
    assert entry is not None and balance is not None

    # When staff open the entry, earnings lot and balance change pages
    entry_html = _page(staff, "ledger_entry", entry.pk)
    lot_html = _page(staff, "payments_earningslot", lot.pk)
    balance_html = _page(staff, "ledger_balance", balance.pk)

    # Then each amount is formatted with its currency, never in minor units
    assert "$650.50" in entry_html and ">65050<" not in entry_html
    assert f">{lot.amount}<" not in lot_html and "$585.45" in lot_html
    assert f">{balance.amount}<" not in balance_html
