"""What a contract's changes tell the other party: a proposed milestone, a change, an accepted change order (money)."""

import datetime as dt

import pytest
from django.utils import timezone

from contracts.services import (
    change_request_accept,
    change_request_decline,
    change_request_propose,
    contract_message_post,
)
from milestones.services import milestone_fund
from milestones.terms import MilestoneTerms
from notifications.kinds import MONEY_KINDS, NotificationKind
from notifications.models import EmailDelivery, Notification
from notifications.services import notification_preferences_update
from tests.contracts.factories import contract_started

pytestmark = pytest.mark.django_db
K = NotificationKind
TEST_CARD = "4242 4242 4242 4242"


def _terms(*, amount: int = 25_000, milestone=None) -> MilestoneTerms:
    return MilestoneTerms(
        title=milestone.title if milestone else "Extra page",
        deliverables=milestone.deliverables if milestone else "One more page",
        amount=amount,
        due_date=milestone.due_date if milestone else (timezone.now() + dt.timedelta(days=20)).date(),
    )


@pytest.fixture
def contract():
    return contract_started(milestones=1)


def _latest(user) -> Notification:
    return Notification.objects.filter(recipient=user).latest("pk")


def test_a_proposed_new_milestone_is_its_own_kind_and_new_terms_are_a_change(contract):
    # When the freelancer proposes a new milestone / Then the client is told a milestone was proposed
    added = change_request_propose(contract=contract, proposed_by=contract.freelancer, milestone=None, terms=_terms())
    notice = _latest(contract.client)
    assert (notice.kind, notice.object_type, notice.object_id) == (K.MILESTONE_PROPOSED, "change_request", added.pk)
    # When the client declines it / Then the freelancer is told, about the same change
    change_request_decline(change_request=added, actor=contract.client, note="Not now")
    notice = _latest(contract.freelancer)
    assert (notice.kind, notice.object_id) == (K.CHANGE_DECLINED, added.pk)
    # When the client proposes new terms for the existing milestone / Then that is a change
    milestone = contract.milestones.get()
    change_request_propose(
        contract=contract, proposed_by=contract.client, milestone=milestone, terms=_terms(milestone=milestone)
    )
    assert _latest(contract.freelancer).kind == K.CHANGE_PROPOSED


def test_an_accepted_change_order_is_a_money_notice_emailed_even_when_changes_are_turned_off(
    contract, django_capture_on_commit_callbacks, mailoutbox
):
    # Given a funded milestone, and a client who turned every email off
    milestone = contract.milestones.get()
    milestone_fund(milestone=milestone, actor=contract.client, card_number=TEST_CARD)
    milestone.refresh_from_db()
    notification_preferences_update(user=contract.client, email_kinds=[], email_frequency="immediate")
    change = change_request_propose(
        contract=contract,
        proposed_by=contract.client,
        milestone=milestone,
        terms=_terms(milestone=milestone, amount=40_000),
    )
    mailoutbox.clear()
    # When the freelancer accepts the client's change order ($100 back out of escrow to the client)
    with django_capture_on_commit_callbacks(execute=True):
        change_request_accept(change_request=change, actor=contract.freelancer)
    # Then the client is told with a money kind, and emailed although they turned emails off
    notice = _latest(contract.client)
    assert notice.kind == K.CHANGE_ORDER_ACCEPTED and notice.kind in MONEY_KINDS
    assert EmailDelivery.objects.filter(notification=notice).exists()
    assert [m.to for m in mailoutbox] == [[contract.client.email]]


def test_a_message_notice_is_about_the_contract(contract):
    contract_message_post(contract=contract, author=contract.client, body="Any news?")
    notice = _latest(contract.freelancer)
    assert (notice.kind, notice.object_type, notice.object_id) == (K.CONTRACT_MESSAGE, "contract", contract.pk)
