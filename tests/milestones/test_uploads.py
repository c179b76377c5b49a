"""Deliverable files: refused when too big or of a disallowed type, stored harmlessly, served to the parties only."""

import hashlib
import io
from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from milestones import services
from milestones.errors import DeliverableRejected
from milestones.models import DeliverableFile, MilestoneState
from milestones.services import deliverable_display_name
from tests.milestones.factories import deliverable, milestone_in_state, staff_user
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db
S = MilestoneState


def _stored_paths(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _submit(milestone, *files):
    return services.milestone_submit(
        milestone=milestone, actor=milestone.contract.freelancer, message="Here", files=list(files)
    )


def _assert_nothing_changed(milestone, settings):
    milestone.refresh_from_db()
    assert milestone.state == S.FUNDED
    assert not milestone.submissions.exists()
    assert _stored_paths(settings) == []


def test_an_oversize_file_is_refused_and_nothing_is_stored(settings):
    # Given a 1 KB cap and a funded milestone
    settings.DELIVERABLE_MAX_BYTES = 1024
    milestone = milestone_in_state(S.FUNDED)

    # When the freelancer submits a good file and one of 1 KB + 1 byte
    with pytest.raises(DeliverableRejected, match="larger than the 1 KB limit"):
        _submit(milestone, deliverable("ok.pdf", b"x" * 1024), deliverable("big.pdf", b"x" * 1025))

    # Then the submission is refused as a whole: no state change, no file on disk
    _assert_nothing_changed(milestone, settings)


def test_the_size_is_measured_not_taken_from_the_upload(settings):
    # A file object that claims to be small but streams more bytes than the cap
    settings.DELIVERABLE_MAX_BYTES = 10
    milestone = milestone_in_state(S.FUNDED)
    liar = File(io.BytesIO(b"y" * 50), name="liar.txt")
    liar.size = 5
    with pytest.raises(DeliverableRejected):
        _submit(milestone, liar)
    _assert_nothing_changed(milestone, settings)


@pytest.mark.parametrize("name", ["setup.exe", "page.html", "script.js", "noextension", "archive.PHP", ".htaccess"])
def test_a_disallowed_extension_is_refused(settings, name):
    milestone = milestone_in_state(S.FUNDED)
    with pytest.raises(DeliverableRejected, match="can't be uploaded"):
        _submit(milestone, SimpleUploadedFile(name, b"content", content_type="image/png"))
    _assert_nothing_changed(milestone, settings)


def test_an_html_file_named_png_is_stored_and_only_ever_served_as_an_opaque_attachment(client, settings):
    # Given an HTML page with a script, uploaded as "cat.png" with an image content type
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    milestone = milestone_in_state(S.FUNDED)
    _submit(milestone, SimpleUploadedFile("cat.png", html, content_type="image/png"))
    stored = DeliverableFile.objects.get()

    # When the client downloads it
    client.force_login(milestone.contract.client)
    response = client.get(reverse("milestones:file_download", args=[milestone.pk, stored.pk]))

    # Then it comes back byte for byte, but as an attachment the browser won't sniff or render
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == html
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''cat.png" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert stored.sha256 == hashlib.sha256(html).hexdigest()


@pytest.mark.parametrize(
    ("raw_name", "shown"),
    [
        ("../../../../etc/cron.d/evil.txt", "evil.txt"),
        ("..\\..\\windows\\system32\\evil.pdf", "evil.pdf"),
        ("/absolute/path/report.pdf", "report.pdf"),
        ("re\x00port\n.pdf", "report.pdf"),
    ],
)
def test_a_path_traversal_name_is_stored_under_a_random_name_inside_the_store(settings, raw_name, shown):
    # Given a file object whose name tries to climb out of the upload folder
    milestone = milestone_in_state(S.FUNDED)
    upload = File(io.BytesIO(b"harmless"), name=raw_name)

    # When it is submitted
    _submit(milestone, upload)

    # Then only the last path part survives, as display text; on disk it has a random name in the store
    stored = DeliverableFile.objects.get()
    assert stored.original_name == shown
    assert stored.file.name.startswith(f"deliverables/{milestone.pk}/")
    assert Path(stored.file.name).name != shown
    paths = _stored_paths(settings)
    assert len(paths) == 1
    assert paths[0].resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert paths[0].read_bytes() == b"harmless"


def test_display_names_are_plain_text():
    assert deliverable_display_name("") == "file"
    assert deliverable_display_name("..") == "file"
    assert deliverable_display_name("a" * 300 + ".pdf").endswith(".pdf")
    assert len(deliverable_display_name("a" * 300 + ".pdf")) == 200


def test_downloads_are_for_the_parties_and_staff_only(client):
    # Given a submitted milestone with a file, and another contract's milestone with its own file
    milestone = milestone_in_state(S.SUBMITTED)
    other = milestone_in_state(S.SUBMITTED)
    own_file = DeliverableFile.objects.get(submission__milestone=milestone)
    other_file = DeliverableFile.objects.get(submission__milestone=other)
    url = reverse("milestones:file_download", args=[milestone.pk, own_file.pk])

    # Then the parties and staff get it
    for user in (milestone.contract.client, milestone.contract.freelancer, staff_user()):
        client.force_login(user)
        assert client.get(url).status_code == 200

    # And another user, or the other contract's client, gets a 404
    for user in (UserFactory(), other.contract.client):
        client.force_login(user)
        assert client.get(url).status_code == 404

    # And a file id that belongs to another milestone gives a 404 even to a party of this one
    client.force_login(milestone.contract.client)
    mismatched = reverse("milestones:file_download", args=[milestone.pk, other_file.pk])
    assert client.get(mismatched).status_code == 404

    # And anonymous visitors are sent to log in
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_submit_form_refuses_a_bad_file_with_a_message_and_changes_nothing(client, settings):
    # Given a freelancer on a funded milestone's page
    milestone = milestone_in_state(S.FUNDED)
    client.force_login(milestone.contract.freelancer)
    page = client.get(reverse("milestones:detail", args=[milestone.pk]))
    token = page.context["actions"][[a.name for a, _ in page.context["actions"]].index("submit")][1][
        "form_token"
    ].value()

    # When they upload an .exe through the form
    response = client.post(
        reverse("milestones:submit", args=[milestone.pk]),
        {
            "submit-form_token": token,
            "submit-message": "Here",
            "submit-files": [SimpleUploadedFile("tool.exe", b"MZ", content_type="application/octet-stream")],
        },
        follow=True,
    )

    # Then they see why, and the milestone is still funded with nothing stored
    assert ".exe files are not accepted" in response.content.decode()
    _assert_nothing_changed(milestone, settings)


def test_an_oversize_upload_is_dropped_while_it_is_read_and_the_form_says_why(client, settings):
    # Given a 1 KB cap and the freelancer on a funded milestone's page
    settings.DELIVERABLE_MAX_BYTES = 1024
    milestone = milestone_in_state(S.FUNDED)
    client.force_login(milestone.contract.freelancer)
    page = client.get(reverse("milestones:detail", args=[milestone.pk]))
    token = {a.name: f for a, f in page.context["actions"]}["submit"]["form_token"].value()

    # When they post a 5 KB file through the form
    response = client.post(
        reverse("milestones:submit", args=[milestone.pk]),
        {
            "submit-form_token": token,
            "submit-message": "Here",
            "submit-files": [SimpleUploadedFile("huge.pdf", b"z" * 5000, content_type="application/pdf")],
        },
        follow=True,
    )

    # Then the upload was stopped, they are told which file and why, and nothing changed
    assert "“huge.pdf” is larger than the 1.0\xa0KB limit; nothing was submitted." in [
        str(m) for m in response.context["messages"]
    ]
    _assert_nothing_changed(milestone, settings)


def test_files_that_together_pass_the_request_cap_are_dropped_while_read_and_the_page_says_why(client, settings):
    # Given a 1 KB per-file cap, a 1.5 KB cap on one request, and the freelancer on a funded milestone's page
    settings.DELIVERABLE_MAX_BYTES = 1024
    settings.DELIVERABLE_MAX_REQUEST_BYTES = 1536
    milestone = milestone_in_state(S.FUNDED)
    client.force_login(milestone.contract.freelancer)
    page = client.get(reverse("milestones:detail", args=[milestone.pk]))
    token = {a.name: f for a, f in page.context["actions"]}["submit"]["form_token"].value()

    # When they post three files of 600 bytes each: every one under the per-file cap, 1,800 bytes in all
    response = client.post(
        reverse("milestones:submit", args=[milestone.pk]),
        {
            "submit-form_token": token,
            "submit-message": "Here",
            "submit-files": [
                SimpleUploadedFile(f"part{i}.pdf", b"z" * 600, content_type="application/pdf") for i in range(3)
            ],
        },
        follow=True,
    )

    # Then the upload was stopped, the page names the total limit, and nothing was stored or changed
    assert "These files together are larger than the 1.5\xa0KB limit; nothing was submitted." in [
        str(m) for m in response.context["messages"]
    ]
    _assert_nothing_changed(milestone, settings)


def test_files_within_the_request_cap_are_accepted(client, settings):
    # Given the same caps
    settings.DELIVERABLE_MAX_BYTES = 1024
    settings.DELIVERABLE_MAX_REQUEST_BYTES = 1536
    milestone = milestone_in_state(S.FUNDED)
    client.force_login(milestone.contract.freelancer)
    page = client.get(reverse("milestones:detail", args=[milestone.pk]))
    token = {a.name: f for a, f in page.context["actions"]}["submit"]["form_token"].value()

    # When they post two files of 600 bytes (1,200 bytes in all)
    client.post(
        reverse("milestones:submit", args=[milestone.pk]),
        {
            "submit-form_token": token,
            "submit-message": "Here",
            "submit-files": [
                SimpleUploadedFile(f"part{i}.pdf", b"z" * 600, content_type="application/pdf") for i in range(2)
            ],
        },
    )

    # Then the work is submitted with both files
    milestone.refresh_from_db()
    assert milestone.state == S.SUBMITTED
    assert DeliverableFile.objects.count() == 2


def test_actions_still_need_the_csrf_token(settings):
    from django.test import Client

    milestone = milestone_in_state(S.FUNDED)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(milestone.contract.freelancer)
    response = browser.post(
        reverse("milestones:submit", args=[milestone.pk]),
        {
            "submit-form_token": "6f1c4f7e-3d61-4a39-a8d3-1d7e1b6a0d11",
            "submit-message": "x",
            "submit-files": [deliverable()],
        },
    )
    assert response.status_code == 403
    _assert_nothing_changed(milestone, settings)
