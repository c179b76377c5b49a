"""The milestone page and its POST actions: access, the offered actions, replays and refusals as messages."""

import re

import pytest
from django.urls import reverse

from milestones.models import MilestoneState
from payments.selectors import client_balance, milestone_money_totals
from tests.factories import UserFactory
from tests.milestones.factories import funded_contract, milestone_in_state, staff_user

pytestmark = pytest.mark.django_db
S = MilestoneState


def _page(client, milestone):
    return client.get(reverse("milestones:detail", args=[milestone.pk]))


def _token(response, action: str) -> str:
    for spec, form in response.context["actions"]:
        if spec.name == action:
            return str(form["token"].value())
    raise AssertionError(f"{action} is not offered; offered: {[s.name for s, _ in response.context['actions']]}")


def _offered(response) -> list[str]:
    return [spec.name for spec, _ in response.context["actions"]]


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_page_is_for_the_parties_and_staff_only(client):
    milestone = milestone_in_state(S.FUNDED)
    for user in (milestone.contract.client, milestone.contract.freelancer, staff_user()):
        client.force_login(user)
        assert _page(client, milestone).status_code == 200
    client.force_login(UserFactory())
    assert _page(client, milestone).status_code == 404
    client.logout()
    assert _page(client, milestone).status_code == 302


def test_each_viewer_is_offered_only_what_they_may_do_now(client):
    # Given a submitted milestone
    milestone = milestone_in_state(S.SUBMITTED)

    # Then the client may release, ask for changes or dispute; the freelancer may refund or dispute
    client.force_login(milestone.contract.client)
    assert _offered(_page(client, milestone)) == ["release", "request_changes", "open_dispute"]
    client.force_login(milestone.contract.freelancer)
    assert _offered(_page(client, milestone)) == ["refund", "open_dispute"]
    # And staff, who aren't parties, may do nothing until there is a dispute
    client.force_login(staff_user())
    assert _offered(_page(client, milestone)) == []


def test_the_page_shows_amount_escrow_timer_files_history_and_the_highlighted_diagram(client):
    milestone = milestone_in_state(S.SUBMITTED, amount=123_450)
    client.force_login(milestone.contract.client)
    html = _page(client, milestone).content.decode()
    assert "$1,234.50" in html
    assert "held in escrow" in html
    assert re.search(r"auto-release in 1[34] days", html)
    assert "report.pdf" in html and re.search(r"<code class=\"hash\">[0-9a-f]{64}</code>", html)
    assert "Revision 1" in html
    assert "<svg" in html and 'class="sd-node sd-node-submitted sd-node-current"' in html
    assert html.count("sd-node-current") == 1
    assert "History" in html and "Funded → Submitted" in html


def test_release_through_the_page_and_a_replayed_post_counts_once(client):
    # Given the client on a submitted milestone's page
    milestone = milestone_in_state(S.SUBMITTED, amount=50_000)
    client.force_login(milestone.contract.client)
    token = _token(_page(client, milestone), "release")
    url = reverse("milestones:release", args=[milestone.pk])
    data = {"release-token": token, "release-bonus": "25.00", "release-note": "Thanks"}

    # When they release with a $25 bonus, and the same form is posted again (a double click)
    first = client.post(url, data, follow=True)
    second = client.post(url, data, follow=True)

    # Then the first releases, the second says so plainly, and money moved once
    assert "Payment released to the freelancer." in _messages(first)
    assert _messages(second) == ["That request was already handled; nothing was done twice."]
    totals = milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk]
    assert (totals.released, totals.bonus) == (50_000, 2_500)
    assert milestone.events.filter(action="release").count() == 1


def test_a_second_tab_gets_a_clear_message_not_a_500(client):
    # Given two tabs of the client's page, each with its own token
    milestone = milestone_in_state(S.SUBMITTED)
    client.force_login(milestone.contract.client)
    first_token = _token(_page(client, milestone), "release")
    second_token = _token(_page(client, milestone), "release")
    url = reverse("milestones:release", args=[milestone.pk])

    # When both release
    client.post(url, {"release-token": first_token})
    response = client.post(url, {"release-token": second_token}, follow=True)

    # Then the second is told it already happened
    assert response.status_code == 200
    assert _messages(response)[-1] == "This milestone was already released; nothing was done twice."


def test_request_changes_without_a_note_shows_the_error_and_changes_nothing(client):
    milestone = milestone_in_state(S.SUBMITTED)
    client.force_login(milestone.contract.client)
    token = _token(_page(client, milestone), "request_changes")
    response = client.post(
        reverse("milestones:request_changes", args=[milestone.pk]),
        {"request_changes-token": token, "request_changes-note": ""},
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    milestone.refresh_from_db()
    assert milestone.state == S.SUBMITTED


def test_bad_amounts_are_refused_by_the_form(client):
    milestone = milestone_in_state(S.SUBMITTED, amount=40_000)
    client.force_login(milestone.contract.freelancer)
    token = _token(_page(client, milestone), "refund")
    response = client.post(
        reverse("milestones:refund", args=[milestone.pk]),
        {"refund-token": token, "refund-kind": "partial", "refund-amount": "400.01"},
    )
    assert response.status_code == 400
    assert "at most $400.00" in response.content.decode()
    milestone.refresh_from_db()
    assert milestone.state == S.SUBMITTED


def test_strangers_cannot_post_actions_and_get_requests_are_refused(client):
    milestone = milestone_in_state(S.FUNDED)
    url = reverse("milestones:release", args=[milestone.pk])
    client.force_login(UserFactory())
    assert client.post(url, {"release-token": "6f1c4f7e-3d61-4a39-a8d3-1d7e1b6a0d11"}).status_code == 404
    client.force_login(milestone.contract.client)
    assert client.get(url).status_code == 405
    milestone.refresh_from_db()
    assert milestone.state == S.FUNDED


def test_the_freelancer_cannot_fire_the_clients_action_by_posting_it(client):
    milestone = milestone_in_state(S.FUNDED)
    client.force_login(milestone.contract.freelancer)
    response = client.post(
        reverse("milestones:release", args=[milestone.pk]),
        {"release-token": "6f1c4f7e-3d61-4a39-a8d3-1d7e1b6a0d11"},
        follow=True,
    )
    assert _messages(response) == ["Your account can't do that on this milestone."]
    milestone.refresh_from_db()
    assert milestone.state == S.FUNDED


def test_fund_several_milestones_from_the_fund_page(client):
    # Given a contract with three approved milestones and a client with $1,000
    contract = funded_contract(balance=100_000)
    milestones = [milestone_in_state(S.APPROVED, contract=contract, amount=30_000) for _ in range(3)]
    url = reverse("contracts:fund_milestones", args=[contract.pk])
    client.force_login(contract.client)
    page = client.get(url)
    assert page.status_code == 200
    token = page.context["form"]["token"].value()

    # When the client funds two of them
    response = client.post(url, {"token": token, "milestones": [milestones[0].pk, milestones[2].pk]}, follow=True)

    # Then both are funded and the third still waits
    assert "2 milestones funded: $600.00 is held in escrow." in _messages(response)
    states = [m.state for m in type(milestones[0]).objects.filter(pk__in=[m.pk for m in milestones]).order_by("pk")]
    assert states == [S.FUNDED, S.APPROVED, S.FUNDED]
    assert client_balance(user=contract.client, currency="USD") == 40_000


def test_the_fund_page_is_the_clients_only(client):
    contract = funded_contract()
    url = reverse("contracts:fund_milestones", args=[contract.pk])
    for user in (contract.freelancer, UserFactory()):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.force_login(contract.client)
    assert client.get("/contracts/nonsense/fund/").status_code == 404


def test_fund_from_the_page_with_a_card_for_the_shortfall(client):
    contract = funded_contract(balance=10_000)
    milestone = milestone_in_state(S.APPROVED, contract=contract, amount=25_000)
    client.force_login(contract.client)
    page = client.get(reverse("milestones:detail", args=[milestone.pk]))
    assert "$150.00" in page.content.decode()  # the shortfall is shown
    response = client.post(
        reverse("milestones:fund", args=[milestone.pk]),
        {"fund-token": _token(page, "fund"), "fund-card_number": "4242 4242 4242 4242"},
        follow=True,
    )
    assert "The milestone is funded: its money is held in escrow." in _messages(response)
    milestone.refresh_from_db()
    assert milestone.state == S.FUNDED


def test_staff_resolve_a_dispute_from_the_page(client):
    # Given a disputed $400 milestone and a staff arbitrator
    milestone = milestone_in_state(S.DISPUTED, amount=40_000)
    client.force_login(staff_user())
    page = _page(client, milestone)
    assert _offered(page) == ["resolve"]

    # When they give $250 to the freelancer
    response = client.post(
        reverse("milestones:resolve", args=[milestone.pk]),
        {"resolve-token": _token(page, "resolve"), "resolve-freelancer_amount": "250", "resolve-note": "Half done"},
        follow=True,
    )

    # Then the split is made and recorded
    assert "The dispute is resolved." in _messages(response)
    milestone.refresh_from_db()
    assert milestone.state == S.RELEASED
    assert "$250.00 to the freelancer, $150.00 back to the client" in milestone.events.last().note


def test_a_tampered_token_is_refused_with_a_message(client):
    milestone = milestone_in_state(S.SUBMITTED)
    client.force_login(milestone.contract.client)
    response = client.post(reverse("milestones:release", args=[milestone.pk]), {"release-token": "not-a-token"})
    assert response.status_code == 400
    assert "This form has expired" in response.content.decode()
    milestone.refresh_from_db()
    assert milestone.state == S.SUBMITTED


def test_the_admin_lists_and_shows_milestones_read_only(admin_client):
    milestone = milestone_in_state(S.SUBMITTED)
    assert admin_client.get(reverse("admin:milestones_milestone_changelist")).status_code == 200
    change = admin_client.get(reverse("admin:milestones_milestone_change", args=[milestone.pk]))
    assert change.status_code == 200
    assert "Open the milestone page" in change.content.decode()
    deliverable = milestone.submissions.get().files.get()
    assert (
        admin_client.get(reverse("admin:milestones_deliverablefile_change", args=[deliverable.pk])).status_code == 200
    )


def test_a_stale_form_for_an_action_no_longer_offered_says_so(client):
    # Given a milestone the client already released, and the old page's release form (now invalid)
    milestone = milestone_in_state(S.RELEASED)
    client.force_login(milestone.contract.client)
    response = client.post(reverse("milestones:release", args=[milestone.pk]), {"release-bonus": "x"}, follow=True)
    assert _messages(response) == ["That action isn't available on this milestone now; here is where it stands."]
