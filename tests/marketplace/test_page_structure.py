"""What a person sees: every page has one h1, labelled inputs, headed tables that scroll in their own box,
buttons that say what they do, and empty states that say what to do next."""

from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from milestones.models import MilestoneState
from tests.contracts.factories import contract_started
from tests.marketplace.factories import JobFactory, proposal_with_rows
from tests.milestones.factories import client_deposit, milestone_in_state
from tests.users.factories import ClientFactory, FreelancerFactory
from users.models import User

pytestmark = pytest.mark.django_db

VAGUE_BUTTONS = {"", "submit", "ok", "go", "save", "send"}


class PageOutline(HTMLParser):
    """The parts of a page that accessibility depends on, collected in one pass."""

    def __init__(self) -> None:
        super().__init__()
        self.h1_count = 0
        self.label_targets: set[str] = set()
        self.open_labels = 0
        self.inputs: list[tuple[str, bool]] = []  # (id or name, wrapped in a label)
        self.header_cells_without_scope = 0
        self.tables_outside_scroll_box = 0
        self.scroll_boxes_open: list[str] = []
        self.buttons: list[str] = []
        self._button_text: list[str] | None = None
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "template":
            self._hidden_depth += 1  # the browser's clone source for proposal rows is not on the page
        if self._hidden_depth:
            return
        if tag == "h1":
            self.h1_count += 1
        elif tag == "label":
            self.open_labels += 1
            if attributes.get("for"):
                self.label_targets.add(attributes["for"] or "")
        elif tag in ("input", "select", "textarea") and attributes.get("type") not in ("hidden", "submit"):
            self.inputs.append((attributes.get("id") or attributes.get("name") or "?", self.open_labels > 0))
        elif tag == "th" and "scope" not in attributes:
            self.header_cells_without_scope += 1
        elif tag == "div":
            self.scroll_boxes_open.append("table-scroll" if "table-scroll" in classes else "div")
            if "table-scroll" in classes:
                assert attributes.get("tabindex") == "0" and attributes.get("role") == "region", attributes
                assert attributes.get("aria-label"), "a scrolling region needs a name"
        elif tag == "table" and "table-scroll" not in self.scroll_boxes_open:
            self.tables_outside_scroll_box += 1
        elif tag == "button":
            self._button_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self._hidden_depth -= 1
        if self._hidden_depth:
            return
        if tag == "label":
            self.open_labels -= 1
        elif tag == "div" and self.scroll_boxes_open:
            self.scroll_boxes_open.pop()
        elif tag == "button" and self._button_text is not None:
            self.buttons.append(" ".join("".join(self._button_text).split()))
            self._button_text = None

    def handle_data(self, data: str) -> None:
        if self._button_text is not None and not self._hidden_depth:
            self._button_text.append(data)

    def unlabelled_inputs(self) -> list[str]:
        return [name for name, wrapped in self.inputs if not wrapped and name not in self.label_targets]


def _outline(client: Client, url: str) -> PageOutline:
    response = client.get(url)
    assert response.status_code == 200, url
    outline = PageOutline()
    outline.feed(response.content.decode())
    return outline


def _assert_accessible(client: Client, url: str) -> None:
    outline = _outline(client, url)
    assert outline.h1_count == 1, (url, outline.h1_count)
    assert outline.unlabelled_inputs() == [], url
    assert outline.header_cells_without_scope == 0, url
    assert outline.tables_outside_scroll_box == 0, url
    vague = [text for text in outline.buttons if text.lower().strip("…. ") in VAGUE_BUTTONS]
    assert vague == [], (url, vague)


def _a_contract_in_every_state() -> tuple[User, User, int, dict[str, int], int]:
    contract = contract_started(milestones=1)
    client_deposit(user=contract.client, amount=500_000)
    milestones = {
        state: milestone_in_state(state, contract=contract, amount=10_000).pk
        for state in (
            MilestoneState.PROPOSED,
            MilestoneState.APPROVED,
            MilestoneState.FUNDED,
            MilestoneState.SUBMITTED,
            MilestoneState.DISPUTED,
            MilestoneState.RELEASED,
            MilestoneState.REFUNDED,
            MilestoneState.CANCELLED,
        )
    }
    job = JobFactory(client=contract.client)
    proposal_with_rows(job=job)
    return contract.client, contract.freelancer, contract.pk, milestones, job.pk


def test_every_page_of_a_client_and_a_freelancer_is_structured_for_assistive_technology(client: Client) -> None:
    # Given a contract with a milestone in every state, and an open job of the client with one proposal
    hirer, freelancer, contract_id, milestones, job_id = _a_contract_in_every_state()
    shared = [
        reverse("home"),
        reverse("marketplace:jobs_list"),
        reverse("marketplace:job_detail", args=[job_id]),
        reverse("contracts:detail", args=[contract_id]),
        *[reverse("milestones:detail", args=[pk]) for pk in milestones.values()],
        reverse("payments:wallet"),
        reverse("payments:statement"),
        reverse("profile"),
    ]
    client_only = [
        reverse("marketplace:job_create"),
        reverse("marketplace:job_proposals", args=[job_id]),
        reverse("contracts:fund_milestones", args=[contract_id]),
    ]
    freelancer_only = [reverse("marketplace:proposal_create", args=[job_id])]
    # When each of them opens every page they may see
    # Then each page has one h1, labelled inputs, scoped headers, scrolling tables and clear buttons
    client.force_login(hirer)
    for url in shared + client_only:
        _assert_accessible(client, url)
    client.force_login(freelancer)
    for url in shared + freelancer_only:
        _assert_accessible(client, url)


def test_the_sign_in_pages_and_the_404_page_are_structured_for_assistive_technology(client: Client) -> None:
    # Given a visitor who is not signed in
    # When they open the sign-in, sign-up and password reset pages
    # Then each has one h1 and labelled inputs
    for url in (reverse("account_login"), reverse("account_signup"), reverse("account_reset_password")):
        _assert_accessible(client, url)
    # And a missing page says so under one h1
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    outline = PageOutline()
    outline.feed(response.content.decode())
    assert outline.h1_count == 1


def test_empty_dashboards_say_what_to_do_next(client: Client) -> None:
    # Given a new client and a new freelancer with nothing yet
    hirer, freelancer = ClientFactory(), FreelancerFactory()
    # When each opens the dashboard
    client.force_login(hirer)
    client_html = client.get(reverse("home")).content.decode()
    client.force_login(freelancer)
    freelancer_html = client.get(reverse("home")).content.decode()
    # Then each empty list points to the next step, with a link to take it
    assert "Post a job</a> to receive proposals" in client_html
    assert "A contract starts when you accept a proposal" in client_html
    assert "Find a job</a> and send a proposal" in freelancer_html
    assert "Browse open jobs</a>" in freelancer_html
    assert "A contract starts when a client accepts one of your proposals" in freelancer_html


def test_the_dashboard_links_each_task_to_the_milestone_page_where_it_is_done(client: Client) -> None:
    # Given a client with one approved milestone to fund
    contract = contract_started(milestones=1)
    milestone = contract.milestones.get()
    # When the client opens the dashboard
    client.force_login(contract.client)
    html = client.get(reverse("home")).content.decode()
    # Then "Fund" links to the milestone's page, where the Fund button is
    assert f'Fund <a href="{reverse("milestones:detail", args=[milestone.pk])}">' in html


def test_the_milestone_history_reads_in_words(client: Client) -> None:
    # Given a submitted milestone
    submitted = milestone_in_state(MilestoneState.SUBMITTED)
    # When its client opens the page
    client.force_login(submitted.contract.client)
    html = client.get(reverse("milestones:detail", args=[submitted.pk])).content.decode()
    # Then the history names the states as the badges do, and the bonus label reads once
    assert "Approved → Funded" in html and "Funded → Submitted" in html
    assert "Bonus (optional), in USD" in html
