"""The milestone page and its POST actions: access, the offered actions, replays and refusals as messages."""

import re
import uuid

import pytest
from django.urls import reverse

from milestones.models import Milestone, MilestoneState
from payments.selectors import client_balance, milestone_money_totals
from tests.milestones.factories import funded_contract, milestone_in_state, staff_user
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db
S = MilestoneState


def _page(client, milestone):
    return client.get(reverse("milestones:detail", args=[milestone.pk]))


def _token(response, action: str) -> str:
    for spec, form in response.context["actions"]:
        if spec.name == action:
            return str(form["form_token"].value())
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

    # Then the client may release or ask for changes; the freelancer may refund; both may make an offer or
    # open a dispute (the disputes app's panel, which posts to its own pages)
    dispute_url = reverse("disputes:open", args=[milestone.pk])
    for party, offered in (
        (milestone.contract.client, ["release", "request_changes"]),
        (milestone.contract.freelancer, ["refund"]),
    ):
        client.force_login(party)
        page = _page(client, milestone)
        assert _offered(page) == offered
        assert dispute_url in page.content.decode()
    # And staff, who aren't parties, may do nothing, and see no offers or dispute forms
    client.force_login(staff_user())
    page = _page(client, milestone)
    assert _offered(page) == [] and dispute_url not in page.content.decode()


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
    data = {"release-form_token": token, "release-bonus": "25.00", "release-note": "Thanks"}

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
    client.post(url, {"release-form_token": first_token})
    response = client.post(url, {"release-form_token": second_token}, follow=True)

    # Then the second is told it already happened
    assert response.status_code == 200
    assert _messages(response)[-1] == "This milestone was already released; nothing was done twice."


def test_request_changes_without_a_note_shows_the_error_and_changes_nothing(client):
    milestone = milestone_in_state(S.SUBMITTED)
    client.force_login(milestone.contract.client)
    token = _token(_page(client, milestone), "request_changes")
    response = client.post(
        reverse("milestones:request_changes", args=[milestone.pk]),
        {"request_changes-form_token": token, "request_changes-note": ""},
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    milestone.refresh_from_db()
    assert milestone.state == S.SUBMITTED


def test_strangers_cannot_post_actions_and_get_requests_are_refused(client):
    milestone = milestone_in_state(S.FUNDED)
    url = reverse("milestones:release", args=[milestone.pk])
    client.force_login(UserFactory())
    assert client.post(url, {"release-form_token": "6f1c4f7e-3d61-4a39-a8d3-1d7e1b6a0d11"}).status_code == 404
    client.force_login(milestone.contract.client)
    assert client.get(url).status_code == 405
    milestone.refresh_from_db()
    assert milestone.state == S.FUNDED


def test_the_freelancer_cannot_fire_the_clients_action_by_posting_it(client):
    milestone = milestone_in_state(S.FUNDED)
    client.force_login(milestone.contract.freelancer)
    response = client.post(
        reverse("milestones:release", args=[milestone.pk]),
        {"release-form_token": "6f1c4f7e-3d61-4a39-a8d3-1d7e1b6a0d11"},
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
    token = page.context["form"]["form_token"].value()

    # When the client funds two of them
    response = client.post(url, {"form_token": token, "milestones": [milestones[0].pk, milestones[2].pk]}, follow=True)

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
        {"fund-form_token": _token(page, "fund"), "fund-card_number": "4242 4242 4242 4242"},
        follow=True,
    )
    assert "The milestone is funded: its money is held in escrow." in _messages(response)
    milestone.refresh_from_db()
    assert milestone.state == S.FUNDED


def test_the_page_has_no_resolve_action_and_links_to_the_case(client):
    # Given a disputed milestone
    milestone = milestone_in_state(S.DISPUTED, amount=40_000)
    case = milestone.open_dispute_case
    assert case is not None

    # Then staff get no resolve form on the page (arbitration happens in admin), and there is no resolve URL
    client.force_login(staff_user())
    assert _offered(_page(client, milestone)) == []
    assert client.post(f"/milestones/{milestone.pk}/resolve/").status_code == 404
    # And both parties find a link to the case
    for party in (milestone.contract.client, milestone.contract.freelancer):
        client.force_login(party)
        assert reverse("disputes:detail", args=[case.pk]) in _page(client, milestone).content.decode()


def test_a_tampered_token_is_refused_with_a_message(client):
    milestone = milestone_in_state(S.SUBMITTED)
    client.force_login(milestone.contract.client)
    response = client.post(reverse("milestones:release", args=[milestone.pk]), {"release-form_token": "not-a-token"})
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


# --- Access: other milestones' ids, admin is view only ---------------------------------------------------
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
        {"milestones": [str(other.pk)], "form_token": str(uuid.uuid4())},
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


# --- Input: a refused form never shows the card number back ----------------------------------------------
TYPED_CARD = "5555555555554444"  # not one of the test cards the help text lists


def test_a_refused_fund_form_does_not_write_the_card_number_back_into_the_page(client):
    # Given an approved milestone whose client has no balance, so the fund form asks for a card
    milestone = milestone_in_state(S.APPROVED, contract=funded_contract(balance=0))
    client.force_login(milestone.contract.client)

    # When the fund form is refused (its one-time token was tampered with) after the card was typed
    response = client.post(
        reverse("milestones:fund", args=[milestone.pk]), {"fund-form_token": "tampered", "fund-card_number": TYPED_CARD}
    )

    # Then the page comes back with the error and without the card number
    assert response.status_code == 400
    html = response.content.decode()
    assert 'name="fund-card_number"' in html and TYPED_CARD not in html


def test_a_refused_fund_many_form_does_not_write_the_card_number_back_into_the_page(client):
    # Given an approved milestone on the client's fund-several page
    milestone = milestone_in_state(S.APPROVED)
    client.force_login(milestone.contract.client)

    # When the form is refused (no milestone chosen) after the card was typed
    response = client.post(
        reverse("contracts:fund_milestones", args=[milestone.contract.pk]),
        {"form_token": "tampered", "card_number": TYPED_CARD},
    )

    # Then the page comes back with the error and without the card number
    assert response.status_code == 400
    html = response.content.decode()
    assert 'name="card_number"' in html and TYPED_CARD not in html


def test_the_release_form_shows_the_balance_and_a_card_pays_the_bonus_shortfall(client):
    # Given a submitted $500 milestone whose client has nothing left after funding it
    contract = funded_contract(balance=50_000)
    milestone = milestone_in_state(S.SUBMITTED, contract=contract, amount=50_000)
    client.force_login(contract.client)

    # When the client opens the page
    page = _page(client, milestone)

    # Then the release form shows the balance beside the bonus field, and offers a card for the shortfall
    html = page.content.decode()
    release = html[html.index('class="action action-release"') :]
    release = release[: release.index("</article>")]
    assert 'data-testid="bonus-balance"' in release and "$0.00" in release
    assert 'name="release-card_number"' in release

    # When they release with a $25 bonus and the test card
    response = client.post(
        reverse("milestones:release", args=[milestone.pk]),
        {
            "release-form_token": _token(page, "release"),
            "release-bonus": "25.00",
            "release-card_number": "4242 4242 4242 4242",
        },
        follow=True,
    )

    # Then the payment is released with the bonus, the card having paid exactly the shortfall
    assert "Payment released to the freelancer." in _messages(response)
    totals = milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk]
    assert (totals.released, totals.bonus) == (50_000, 2_500)
    assert client_balance(user=contract.client, currency="USD") == 0
