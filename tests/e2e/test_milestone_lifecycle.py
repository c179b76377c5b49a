"""A milestone's life in a real browser.

Fund, submit with files, request changes, resubmit, release; fund several at once; a refund.
"""

import datetime as dt
import hashlib
import re
import uuid

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from milestones import services
from milestones.models import Milestone, MilestoneState
from payments.models import AccountKind, Balance
from payments.selectors import client_balance, earnings_summary
from payments.services import deposit
from tests.contracts.factories import ContractFactory
from tests.users.factories import TEST_PASSWORD, ClientFactory, FreelancerFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
S = MilestoneState
TEST_CARD = "4242424242424242"


def _contract(*, balance: int):
    contract = ContractFactory(
        job__client=ClientFactory(display_name="Carla Client"),
        proposal__freelancer=FreelancerFactory(display_name="Fay Freelancer"),
    )
    if balance:
        deposit(
            user=contract.client,
            amount=balance,
            currency="USD",
            card_number=TEST_CARD,
            idempotency_key=uuid.uuid4().hex,
        )
    return contract


def _approved_milestone(contract, *, title: str, amount: int) -> Milestone:
    milestone = services.milestone_create(
        contract=contract,
        proposed_by=contract.freelancer,
        title=title,
        deliverables="A landing page, responsive, with its source.",
        amount=amount,
        due_date=(timezone.now() + dt.timedelta(days=9, hours=2)).date(),
    )
    return services.milestone_approve(milestone=milestone, actor=contract.client)


def _log_in(page: Page, live_server, user) -> None:
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password:", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()


def _open(page: Page, live_server, milestone: Milestone) -> None:
    page.goto(f"{live_server.url}/milestones/{milestone.pk}/")


def _action(page: Page, heading: str):
    return page.get_by_role("article", name=heading)


def _expect_state(page: Page, label: str) -> None:
    expect(page.get_by_test_id("milestone-state")).to_have_text(label)


def test_fund_submit_request_changes_resubmit_and_release(page: Page, live_server, tmp_path):
    # Given an approved $500 milestone and a client with $1,000
    contract = _contract(balance=100_000)
    milestone = _approved_milestone(contract, title="Landing page", amount=50_000)
    first_file = tmp_path / "landing-v1.zip"
    first_file.write_bytes(b"PK first version")
    second_file = tmp_path / "landing-v2.zip"
    second_file.write_bytes(b"PK second version, with the fixes")

    # When the client funds it from their balance
    _log_in(page, live_server, contract.client)
    _open(page, live_server, milestone)
    expect(page.get_by_text("due in 9 days")).to_be_visible()
    _action(page, "Fund this milestone").get_by_role("button", name="Fund milestone").click()
    expect(page.get_by_role("status")).to_contain_text("The milestone is funded")
    _expect_state(page, "Funded")
    expect(page.get_by_test_id("escrow-status")).to_contain_text("$500.00 held in escrow")

    # And the freelancer submits the work with a file
    _log_in(page, live_server, contract.freelancer)
    _open(page, live_server, milestone)
    submit = _action(page, "Submit your work")
    submit.get_by_label("Message to the client").fill("First version, deployed to staging.")
    submit.get_by_label("Files").set_input_files(str(first_file))
    submit.get_by_role("button", name="Submit work").click()
    _expect_state(page, "Submitted")
    expect(page.get_by_text(re.compile(r"auto-release in 1[34] days"))).to_be_visible()
    expect(page.get_by_role("link", name="landing-v1.zip")).to_be_visible()
    expect(page.get_by_text(hashlib.sha256(first_file.read_bytes()).hexdigest())).to_be_visible()

    # And the client asks for changes
    _log_in(page, live_server, contract.client)
    _open(page, live_server, milestone)
    changes = _action(page, "Request changes")
    changes.get_by_label("Note").fill("The header overlaps the menu on phones.")
    changes.get_by_role("button", name="Request changes").click()
    _expect_state(page, "Funded")
    expect(page.get_by_text("The header overlaps the menu on phones.").first).to_be_visible()

    # And the freelancer resubmits
    _log_in(page, live_server, contract.freelancer)
    _open(page, live_server, milestone)
    submit = _action(page, "Submit your work")
    submit.get_by_label("Message to the client").fill("Fixed the header.")
    submit.get_by_label("Files").set_input_files(str(second_file))
    submit.get_by_role("button", name="Submit work").click()
    _expect_state(page, "Submitted")
    expect(page.get_by_role("heading", name="Revision 2")).to_be_visible()
    expect(page.get_by_role("heading", name="Revision 1")).to_be_visible()

    # And the client approves and releases the payment
    _log_in(page, live_server, contract.client)
    _open(page, live_server, milestone)
    _action(page, "Approve and release payment").get_by_role("button", name="Release payment").click()
    expect(page.get_by_role("status")).to_contain_text("Payment released to the freelancer.")
    _expect_state(page, "Released")
    expect(page.get_by_role("heading", name="What you can do now")).to_be_visible()
    expect(page.get_by_text("Nothing for you to do on this milestone right now.")).to_be_visible()

    # Then the freelancer sees the pending earnings (less the 10% fee) in the wallet
    _log_in(page, live_server, contract.freelancer)
    page.goto(f"{live_server.url}/wallet/")
    expect(page.get_by_test_id("earnings-pending-USD")).to_have_text("$450.00")
    assert earnings_summary(user=contract.freelancer, currency="USD").pending == 45_000

    # And the fee account holds the fee
    fees = Balance.objects.get(account__kind=AccountKind.PLATFORM_FEES, account__currency="USD")
    assert fees.amount == 5_000


def test_fund_several_milestones_at_once_with_a_card_for_the_shortfall(page: Page, live_server):
    # Given three approved milestones ($300, $200, $400) and a client with $500
    contract = _contract(balance=50_000)
    design = _approved_milestone(contract, title="Design", amount=30_000)
    build = _approved_milestone(contract, title="Build", amount=20_000)
    launch = _approved_milestone(contract, title="Launch", amount=40_000)

    # When the client follows "Fund milestones" from the contract page, none is ticked and the total says $0
    _log_in(page, live_server, contract.client)
    page.goto(f"{live_server.url}/contracts/{contract.pk}/")
    page.get_by_role("button", name="Fund milestones (3 approved)").click()
    expect(page.locator("[data-fund-total]")).to_have_text("$0.00")

    # And they tick "Design" and "Launch", then pay the $200 shortfall by test card
    page.get_by_label("Design").check()
    page.get_by_label("Launch").check()
    expect(page.locator("[data-fund-total]")).to_have_text("$700.00")
    page.get_by_label(re.compile("Card number")).fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Fund selected milestones").click()

    # Then both are funded together, the balance is used up, and "Build" is still waiting
    expect(page.get_by_role("status")).to_contain_text("2 milestones funded: $700.00 is held in escrow.")
    states = {m.title: m.state for m in Milestone.objects.filter(pk__in=[design.pk, build.pk, launch.pk])}
    assert states == {"Design": S.FUNDED, "Build": S.APPROVED, "Launch": S.FUNDED}
    assert client_balance(user=contract.client, currency="USD") == 0
    # And they are back on the contract page, one approved milestone still to fund
    expect(page).to_have_url(f"{live_server.url}/contracts/{contract.pk}/")
    expect(page.get_by_role("button", name="Fund milestones (1 approved)")).to_be_visible()


def test_a_freelancer_refunds_a_funded_milestone(page: Page, live_server):
    # Given a funded $300 milestone
    contract = _contract(balance=30_000)
    milestone = _approved_milestone(contract, title="Logo", amount=30_000)
    services.milestone_fund(milestone=milestone, actor=contract.client)
    assert client_balance(user=contract.client, currency="USD") == 0

    # When the freelancer refunds it in full
    _log_in(page, live_server, contract.freelancer)
    _open(page, live_server, milestone)
    refund = _action(page, "Refund the client")
    refund.get_by_label("Note").fill("I can't take this on after all.")
    refund.get_by_role("button", name="Refund in full").click()

    # Then the milestone is refunded and the client has the money back
    expect(page.get_by_role("status")).to_contain_text("The refund was made.")
    _expect_state(page, "Refunded")
    expect(page.get_by_test_id("escrow-status")).to_contain_text("$300.00 refunded")
    assert client_balance(user=contract.client, currency="USD") == 30_000
