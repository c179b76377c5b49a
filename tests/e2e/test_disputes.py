"""A dispute in a real browser: submit, dispute with evidence, a 60/40 offer, accepted; both see the outcome."""

import hashlib
import re

import pytest
from playwright.sync_api import Page, expect

from disputes.models import Dispute
from milestones import services
from milestones.models import MilestoneState
from payments.ledger.models import LedgerTransaction, TransactionKind
from payments.selectors import client_balance, earnings_summary
from tests.e2e.test_milestone_lifecycle import _action, _approved_milestone, _contract, _expect_state, _log_in, _open

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
S = MilestoneState


def test_a_dispute_settled_by_a_60_40_offer(page: Page, live_server, tmp_path):
    # Given a funded $500 milestone
    contract = _contract(balance=50_000)
    milestone = _approved_milestone(contract, title="Landing page", amount=50_000)
    services.milestone_fund(milestone=milestone, actor=contract.client)
    work = tmp_path / "landing.zip"
    work.write_bytes(b"PK the landing page")
    screenshot = tmp_path / "broken-menu.png"
    screenshot.write_bytes(b"\x89PNG\r\n\x1a\n the menu overlaps the logo")

    # When the freelancer submits the work
    _log_in(page, live_server, contract.freelancer)
    _open(page, live_server, milestone)
    submit = _action(page, "Submit your work")
    submit.get_by_label("Message to the client").fill("Deployed to staging.")
    submit.get_by_label("Files").set_input_files(str(work))
    submit.get_by_role("button", name="Submit work").click()
    _expect_state(page, "Submitted")

    # And the client opens a dispute with a screenshot as evidence
    _log_in(page, live_server, contract.client)
    _open(page, live_server, milestone)
    page.get_by_test_id("open-dispute-link").click()
    page.get_by_label("What is the dispute about?").select_option("quality")
    page.get_by_label("Your statement").fill("The menu overlaps the logo on phones.")
    page.get_by_label("Evidence files").set_input_files(str(screenshot))
    page.get_by_role("button", name="Open the dispute").click()
    expect(page.get_by_role("status")).to_contain_text("The dispute is open")
    expect(page.get_by_test_id("dispute-status")).to_have_text("Awaiting response")
    expect(page.get_by_role("link", name="broken-menu.png")).to_be_visible()
    expect(page.get_by_text(hashlib.sha256(screenshot.read_bytes()).hexdigest())).to_be_visible()
    expect(page.get_by_test_id("respond-by")).to_contain_text(re.compile(r"respond-by deadline in 4 days"))
    case_url = page.url

    # And the freelancer, told by a notice, offers 60/40 on the dispute page
    _log_in(page, live_server, contract.freelancer)
    _open(page, live_server, milestone)
    page.get_by_test_id("dispute-link").click()
    expect(page).to_have_url(case_url)
    offer = _action(page, "Make an offer")
    offer.get_by_label("To the freelancer, in USD").fill("300")
    offer.get_by_label("Message").fill("I'll fix the menu in the next milestone; 60/40?")
    offer.get_by_role("button", name="Send offer").click()
    expect(page.get_by_role("status")).to_contain_text("Your offer was sent")
    expect(page.get_by_test_id("dispute-status")).to_have_text("Negotiating")

    # And the client accepts it
    _log_in(page, live_server, contract.client)
    page.goto(case_url)
    expect(page.get_by_text("$300.00 to the freelancer, $200.00 back to the client.").first).to_be_visible()
    page.get_by_role("button", name="Accept: divide the escrow now").click()
    expect(page.get_by_role("status")).to_contain_text("You accepted the offer")

    # Then the ledger shows one split, the milestone is settled, and the money went where the offer said
    case = Dispute.objects.get(milestone=milestone)
    split = LedgerTransaction.objects.get(milestone_id=milestone.pk, kind=TransactionKind.SPLIT)
    assert split.memo.startswith("Split of milestone")
    assert client_balance(user=contract.client, currency="USD") == 20_000
    assert earnings_summary(user=contract.freelancer, currency="USD").pending == 27_000
    _open(page, live_server, milestone)
    _expect_state(page, "Released")
    expect(page.get_by_test_id("escrow-status")).to_contain_text("$300.00 released")
    expect(page.get_by_test_id("escrow-status")).to_contain_text("$200.00 refunded")

    # And both parties' dispute pages show the outcome
    for party in (contract.client, contract.freelancer):
        _log_in(page, live_server, party)
        page.goto(f"{live_server.url}/disputes/{case.pk}/")
        expect(page.get_by_test_id("dispute-status")).to_have_text("Resolved")
        expect(page.get_by_test_id("dispute-outcome")).to_have_text("Split")
        expect(page.get_by_test_id("dispute-result")).to_contain_text("Settled by an accepted offer: $300.00")
