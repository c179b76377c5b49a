"""The dispute page, its files and packet, and the offer and dispute forms posted from the milestone page."""

import hashlib
import io
import json
import zipfile

import pytest
from django.urls import reverse

from disputes.models import Dispute, DisputeStatus, Offer, OfferStatus
from disputes.services import dispute_statement_add, offer_make
from milestones.models import Milestone, MilestoneState
from tests.disputes.factories import evidence, fresh, open_case
from tests.milestones.factories import milestone_in_state, staff_user
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db
S = MilestoneState


def _detail(case: Dispute) -> str:
    return reverse("disputes:detail", args=[case.pk])


def test_the_dispute_page_is_for_the_two_parties_only(client):
    case = open_case()
    contract = case.milestone.contract
    for party in (contract.client, contract.freelancer):
        client.force_login(party)
        assert client.get(_detail(case)).status_code == 200
    # Strangers and staff get a 404 (staff read the case in the admin desk)
    for outsider in (UserFactory(), staff_user()):
        client.force_login(outsider)
        assert client.get(_detail(case)).status_code == 404
    client.logout()
    assert client.get(_detail(case)).status_code == 302


def test_the_page_shows_statements_evidence_hashes_submissions_history_offers_and_the_deadline(client):
    # Given a case with evidence and the freelancer's offer
    case = open_case(files=(evidence("screen.png"),))
    contract = case.milestone.contract
    offer_make(milestone=case.milestone, actor=contract.freelancer, freelancer_amount=24_000, message="60/40?")
    client.force_login(contract.client)

    html = client.get(_detail(case)).content.decode()

    stored = case.statements.get().files.get()
    deliverable = case.milestone.submissions.get().files.get()
    assert "The work does not do what we agreed." in html
    assert stored.sha256 in html and reverse("disputes:evidence_download", args=[case.pk, stored.pk]) in html
    assert deliverable.sha256 in html and "Revision 1" in html
    assert "Opened the dispute" in html and "Submitted work for milestone" in html
    assert "$240.00" in html and "Accept: divide the escrow now" in html
    assert html.count("<h1") == 1
    # The respond-by deadline is shown in the viewer's zone while the freelancer's answer is due
    assert 'data-testid="respond-by"' not in html  # the offer answered it
    assert reverse("disputes:packet", args=[case.pk]) in html


def test_a_long_case_shows_its_latest_statements_and_events_with_the_earlier_ones_a_page_away(client):
    # Given a case with twelve statements, the last one the latest
    case = open_case()
    contract = case.milestone.contract
    for number in range(1, 12):
        author = contract.freelancer if number % 2 else contract.client
        dispute_statement_add(dispute=case, actor=author, text=f"Statement number {number:02}.")
    client.force_login(contract.client)

    def statements(page: int | None = None) -> str:
        html = client.get(_detail(case), {"statements": page} if page else {}).content.decode()
        return html[html.index('id="statements-heading"') : html.index('id="offers-heading"')]

    # When a party opens the dispute page
    html = client.get(_detail(case)).content.decode()
    section = statements()

    # Then it shows the latest five statements in order, and links to the earlier ones
    shown = [f"Statement number {n:02}." for n in range(7, 12)]
    assert all(text in section for text in shown)
    assert [section.index(text) for text in shown] == sorted(section.index(text) for text in shown)
    assert "Statement number 06." not in section and "The work does not do what we agreed." not in section
    assert "Statements 1\u20135 of 12" in section and "?statements=2#statements-heading" in section
    assert "?timeline=2#timeline-heading" in html
    # And the next pages have the earlier ones
    earlier = statements(2)
    assert "Statement number 06." in earlier and "Statement number 07." not in earlier
    assert "The work does not do what we agreed." in statements(3)


def test_the_respond_by_countdown_is_shown_in_the_viewers_time_zone(client):
    case = open_case()
    freelancer = case.milestone.contract.freelancer
    freelancer.timezone = "Asia/Tokyo"
    freelancer.save(update_fields=["timezone"])
    client.force_login(freelancer)
    html = client.get(_detail(case)).content.decode()
    assert 'data-testid="respond-by"' in html and "Your answer is due" in html
    assert "Asia/Tokyo" in html and "respond-by deadline in 4 days 23 hours" in html


def test_evidence_downloads_as_an_attachment_for_the_parties_and_staff_only(client):
    case = open_case(files=(evidence("page.png", b"<html><script>alert(1)</script>"),))
    stored = case.statements.get().files.get()
    url = reverse("disputes:evidence_download", args=[case.pk, stored.pk])
    for viewer in (case.milestone.contract.freelancer, staff_user()):
        client.force_login(viewer)
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/octet-stream"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"].startswith("attachment;")
        assert b"".join(response.streaming_content) == b"<html><script>alert(1)</script>"
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    # A file id from another case is a 404 too
    other = open_case()
    client.force_login(other.milestone.contract.client)
    assert client.get(reverse("disputes:evidence_download", args=[other.pk, stored.pk])).status_code == 404


def test_the_packet_manifest_lists_every_file_with_hashes_matching_the_stored_files(client):
    # Given a case with evidence from both parties and a submitted deliverable
    case = open_case(files=(evidence("a.png", b"\x89PNG first"),))
    contract = case.milestone.contract
    dispute_statement_add(
        dispute=case, actor=contract.freelancer, text="See attached", files=[evidence("b.txt", b"second file")]
    )
    client.force_login(contract.client)

    # When a party downloads the packet
    response = client.get(reverse("disputes:packet", args=[case.pk]))
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment;")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    manifest = json.loads(archive.read("manifest.json"))

    # Then the manifest covers every other file of the packet, each hash matching the bytes inside
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == set(archive.namelist()) - {"manifest.json"}
    for path, entry in listed.items():
        assert hashlib.sha256(archive.read(path)).hexdigest() == entry["sha256"]
    # And every stored file is in it, with the hash recorded at upload equal to the hash of what was packed
    stored = [f for s in case.statements.all() for f in s.files.all()]
    stored += list(case.milestone.submissions.get().files.all())
    recorded = sorted(e["recorded_sha256"] for e in listed.values() if "recorded_sha256" in e)
    assert recorded == sorted(f.sha256 for f in stored)
    for entry in listed.values():
        if "recorded_sha256" in entry:
            assert entry["sha256"] == entry["recorded_sha256"]
    assert {"case.json", "statements.json", "timeline.json", "offers.json", "messages.json"} <= set(listed)
    # And outsiders can't have it; staff can
    client.force_login(UserFactory())
    assert client.get(reverse("disputes:packet", args=[case.pk])).status_code == 404
    client.force_login(staff_user())
    assert client.get(reverse("disputes:packet", args=[case.pk])).status_code == 200


def test_offers_from_the_milestone_page_accept_and_counter(client):
    # Given a submitted $400 milestone
    milestone = milestone_in_state(S.SUBMITTED, amount=40_000)
    contract = milestone.contract
    page = reverse("milestones:detail", args=[milestone.pk])

    # When the freelancer offers $240 from the milestone page's form
    client.force_login(contract.freelancer)
    form = client.get(page).context["panels"][0].context["offer_form"]
    client.post(
        reverse("disputes:offer_make", args=[milestone.pk]),
        {"offer-form_token": form["form_token"].value(), "offer-freelancer_amount": "240", "offer-message": "60/40"},
    )
    offer = Offer.objects.get(milestone=milestone)
    assert offer.freelancer_amount == 24_000

    # Then the client sees it with accept, decline and counter, and counters with $200
    client.force_login(contract.client)
    html = client.get(page).content.decode()
    assert "Accept: divide the escrow now" in html and "Counter with another split" in html
    panel = client.get(page).context["panels"][0].context
    client.post(
        reverse("disputes:offer_answer", args=[offer.pk, "counter"]),
        {
            "counter-form_token": panel["answer_forms"]["counter"]["form_token"].value(),
            "counter-freelancer_amount": "200",
        },
    )
    counter = Offer.objects.get(milestone=milestone, status=OfferStatus.OPEN)
    assert (counter.freelancer_amount, counter.made_by) == (20_000, contract.client)

    # When the freelancer accepts the counter, the money moves
    client.force_login(contract.freelancer)
    panel = client.get(page).context["panels"][0].context
    response = client.post(
        reverse("disputes:offer_answer", args=[counter.pk, "accept"]),
        {"accept-form_token": panel["answer_forms"]["accept"]["form_token"].value()},
        follow=True,
    )
    assert "You accepted the offer: the escrow was divided as it said." in [
        str(m) for m in response.context["messages"]
    ]
    assert Milestone.objects.get(pk=milestone.pk).state == S.RELEASED


def test_a_bad_offer_amount_is_refused_with_the_form_and_nothing_sent(client):
    milestone = milestone_in_state(S.FUNDED, amount=40_000)
    client.force_login(milestone.contract.client)
    form = client.get(reverse("milestones:detail", args=[milestone.pk])).context["panels"][0].context["offer_form"]
    response = client.post(
        reverse("disputes:offer_make", args=[milestone.pk]),
        {"offer-form_token": form["form_token"].value(), "offer-freelancer_amount": "400.01"},
    )
    assert response.status_code == 400 and "at most $400.00" in response.content.decode()
    assert not Offer.objects.exists()
    # And an outsider gets a 404
    client.force_login(UserFactory())
    assert client.post(reverse("disputes:offer_make", args=[milestone.pk]), {}).status_code == 404


def test_opening_a_dispute_from_its_page_with_an_evidence_file(client):
    milestone = milestone_in_state(S.SUBMITTED, amount=40_000)
    client.force_login(milestone.contract.client)
    url = reverse("disputes:open", args=[milestone.pk])
    form = client.get(url).context["form"]
    response = client.post(
        url,
        {
            "dispute-form_token": form["form_token"].value(),
            "dispute-reason": "quality",
            "dispute-statement": "Broken on phones",
            "dispute-files": [evidence("phone.png")],
        },
        follow=True,
    )
    case = Dispute.objects.get(milestone=milestone)
    assert response.redirect_chain[-1][0] == _detail(case)
    assert case.status == DisputeStatus.AWAITING_RESPONSE and case.statements.get().files.count() == 1
    # The same form again is refused and opens nothing more
    response = client.post(
        url,
        {"dispute-form_token": form["form_token"].value(), "dispute-reason": "quality", "dispute-statement": "Again"},
        follow=True,
    )
    assert Dispute.objects.filter(milestone=milestone).count() == 1
    # And the milestone and contract pages link to the case
    for page in (
        reverse("milestones:detail", args=[milestone.pk]),
        reverse("contracts:detail", args=[milestone.contract_id]),
    ):
        assert _detail(case) in client.get(page).content.decode()


def test_the_opener_withdraws_from_the_dispute_page(client):
    case = open_case(by="freelancer")
    client.force_login(case.milestone.contract.freelancer)
    form = client.get(_detail(case)).context["withdraw_form"]
    client.post(
        reverse("disputes:withdraw", args=[case.pk]), {"withdraw_dispute-form_token": form["form_token"].value()}
    )
    assert not fresh(case).is_open and Milestone.objects.get(pk=case.milestone_id).state == S.SUBMITTED
    # The other party is never offered it
    other = open_case(by="freelancer")
    client.force_login(other.milestone.contract.client)
    assert "Withdraw your dispute" not in client.get(_detail(other)).content.decode()
