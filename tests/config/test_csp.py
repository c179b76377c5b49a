"""Content-Security-Policy: every page forbids inline script and framing; no template needs inline code."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.milestones.factories import milestone_in_state, staff_user

pytestmark = pytest.mark.django_db

TEMPLATES_DIR = Path(settings.BASE_DIR) / "templates"


def _directives(header: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


def _assert_strict(response) -> None:
    assert response.status_code == 200, response.status_code
    directives = _directives(response["Content-Security-Policy"])
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in directives["style-src"]


def test_every_page_carries_the_strict_policy(client):
    # Given a milestone on a contract, its freelancer signed in, and a staff member
    from tests.marketplace.factories import JobFactory

    milestone = milestone_in_state("funded")
    JobFactory()
    client.force_login(milestone.contract.freelancer)
    # When they open each kind of page
    pages = [
        reverse("home"),
        reverse("contracts:detail", args=[milestone.contract_id]),
        reverse("milestones:detail", args=[milestone.pk]),
        reverse("marketplace:jobs_list"),
        reverse("payments:wallet"),
        reverse("notifications:list"),
    ]
    # Then each response carries the policy, with no inline script allowed
    for url in pages:
        _assert_strict(client.get(url))
    client.force_login(staff_user())
    _assert_strict(client.get(reverse("admin:index")))


def test_the_deliverable_download_keeps_its_own_sandbox_policy(client):
    # Given a submitted milestone with one file, and its client signed in
    milestone = milestone_in_state("submitted")
    stored = milestone.submissions.get().files.get()
    client.force_login(milestone.contract.client)
    # When they download the file
    response = client.get(reverse("milestones:file_download", args=[milestone.pk, stored.pk]))
    # Then the download's sandbox policy is not replaced by the site policy
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def _page_templates() -> list[Path]:
    # Emails are not served under the policy, and mail clients need inline styles.
    return [p for p in TEMPLATES_DIR.rglob("*.html") if "email" not in p.relative_to(TEMPLATES_DIR).parts]


SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
HANDLER_ATTR = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.S)
STYLE_ATTR = re.compile(r"<[a-zA-Z][^>]*\sstyle\s*=", re.S)
DATA_BLOCK = re.compile(r"""type=["']application/(ld\+)?json["']""")


def test_no_page_template_has_inline_script_handlers_or_styles():
    # Given every page template
    templates = _page_templates()
    assert templates
    offenders = []
    for path in templates:
        text = path.read_text()
        name = path.relative_to(TEMPLATES_DIR)
        # Then no <script> has a body (a JSON data block is data, never run), no on*= handler, no style=
        for attrs, body in SCRIPT_TAG.findall(text):
            if body.strip() and not DATA_BLOCK.search(attrs):
                offenders.append(f"{name}: inline <script>")
            if not body.strip() and "src=" not in attrs:
                offenders.append(f"{name}: <script> without src")
        if HANDLER_ATTR.search(text):
            offenders.append(f"{name}: on*= handler")
        if STYLE_ATTR.search(text):
            offenders.append(f"{name}: style= attribute")
    assert offenders == []


@pytest.mark.parametrize("state", ["proposed", "funded", "submitted", "disputed", "released"])
def test_the_state_diagram_renders_with_no_inline_style_or_script(state):
    from milestones.state_diagram import state_diagram_svg

    # When the diagram is drawn for a state
    svg = str(state_diagram_svg(current_state=state))
    # Then it styles itself only through classes (site.css), which style-src 'self' allows
    assert "<svg" in svg
    assert not STYLE_ATTR.search(svg)
    assert "<style" not in svg and "<script" not in svg and not HANDLER_ATTR.search(svg)
