"""The contract's message thread: plain text, escaped, links clickable; a replayed POST posts once."""

import uuid

import pytest
from django.urls import reverse

from contracts.errors import ContractMessageError
from contracts.models import ContractMessage
from contracts.services import MESSAGE_MAX_LENGTH, contract_message_post
from tests.contracts.factories import contract_started

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract():
    return contract_started(milestones=1)


def test_a_message_is_escaped_and_its_links_are_clickable(client, contract):
    # Given a freelancer who writes markup and a link
    client.force_login(contract.freelancer)
    body = 'Draft ready: https://example.com/draft?a=1&b=2 <script>alert("x")</script> <b>bold</b>'
    client.post(reverse("contracts:messages", args=[contract.pk]), {"body": body})
    # When the client reads the thread
    client.force_login(contract.client)
    html = client.get(reverse("contracts:detail", args=[contract.pk])).content.decode()
    # Then the markup shows as text, never runs, and the link is a link
    assert "<script>alert" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert '<a href="https://example.com/draft?a=1&amp;b=2" rel="nofollow">' in html


def test_a_javascript_url_is_not_made_a_link(client, contract):
    contract_message_post(contract=contract, author=contract.client, body="javascript:alert(1)")
    client.force_login(contract.client)
    html = client.get(reverse("contracts:messages", args=[contract.pk])).content.decode()
    assert 'href="javascript:' not in html and "javascript:alert(1)" in html


def test_the_other_party_is_emailed_after_commit(contract, django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        contract_message_post(contract=contract, author=contract.client, body="Any update?")
    assert [m.to for m in mailoutbox] == [[contract.freelancer.email]]
    assert "Any update?" in mailoutbox[0].body


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "This field is required."), ("   ", "This field is required."), ("x" * (MESSAGE_MAX_LENGTH + 1), "at most")],
)
def test_an_empty_or_too_long_message_is_refused(client, contract, body, message):
    client.force_login(contract.client)
    response = client.post(reverse("contracts:messages", args=[contract.pk]), {"body": body}, follow=True)
    assert message in " ".join(str(m) for m in response.context["messages"])
    assert not ContractMessage.objects.exists()


def test_a_replayed_message_form_posts_once(client, contract):
    client.force_login(contract.client)
    data = {"body": "Only once", "form_token": str(uuid.uuid4())}
    client.post(reverse("contracts:messages", args=[contract.pk]), data)
    response = client.post(reverse("contracts:messages", args=[contract.pk]), data, follow=True)
    assert "already sent" in " ".join(str(m) for m in response.context["messages"])
    assert ContractMessage.objects.count() == 1


def test_htmx_gets_the_thread_back_in_place(client, contract):
    client.force_login(contract.client)
    response = client.post(
        reverse("contracts:messages", args=[contract.pk]), {"body": "Via htmx"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="message-thread">')
    assert "Via htmx" in html


def test_the_service_refuses_outsiders_and_empty_text(contract):
    from tests.users.factories import UserFactory

    with pytest.raises(ContractMessageError, match="Only the contract"):
        contract_message_post(contract=contract, author=UserFactory(is_staff=True), body="Hi")
    with pytest.raises(ContractMessageError, match="Write a message"):
        contract_message_post(contract=contract, author=contract.client, body=" \n ")
    assert not ContractMessage.objects.exists()
