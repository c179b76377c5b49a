"""The beat sweeps: an unanswered case goes to arbitration once, marked "no response"; offers expire."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings

from disputes import tasks
from disputes.errors import DisputeError
from disputes.models import DisputeEvent, DisputeStatus, Offer, OfferStatus
from disputes.services import (
    dispute_statement_add,
    disputes_unanswered_escalate,
    offer_accept,
    offer_make,
    offers_expire_due,
)
from milestones import services
from milestones.models import MilestoneState
from notifications.kinds import NotificationKind
from notifications.models import Notification
from payments.selectors import milestone_money_totals
from tests.disputes.factories import fresh, open_case
from tests.milestones.factories import milestone_in_state

pytestmark = pytest.mark.django_db
S = MilestoneState
START = dt.datetime(2030, 5, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def test_an_unanswered_case_moves_to_arbitration_once_marked_no_response():
    # Given two cases opened at START: one the freelancer answers, one they ignore
    with time_machine.travel(START, tick=False):
        ignored, answered = open_case(), open_case()
        dispute_statement_add(dispute=answered, actor=answered.milestone.contract.freelancer, text="Here is why")
    deadline = START + settings.DISPUTE_RESPOND_PERIOD

    # When the sweep runs just before the deadline, nothing moves
    assert disputes_unanswered_escalate(now=deadline - dt.timedelta(minutes=1)) == 0
    assert fresh(ignored).status == DisputeStatus.AWAITING_RESPONSE

    # When it runs after the deadline (twice, as overlapping beats would), the ignored case moves once
    with time_machine.travel(deadline + dt.timedelta(minutes=5), tick=False):
        assert tasks.disputes_unanswered_escalate() == 1
        assert disputes_unanswered_escalate() == 0

    # Then it is in arbitration, marked "no response", with one timeline row; the answered one is untouched
    case = fresh(ignored)
    assert (case.status, case.no_response, case.respond_by) == (DisputeStatus.IN_ARBITRATION, True, None)
    assert DisputeEvent.objects.filter(dispute=case, action="no_response").count() == 1
    assert fresh(answered).status == DisputeStatus.OPEN
    # And both parties were told; no money moved
    contract = case.milestone.contract
    for party in (contract.client, contract.freelancer):
        assert Notification.objects.filter(recipient=party, kind=NotificationKind.DISPUTE_ESCALATED).count() == 1
    assert milestone_money_totals(milestone_ids=[case.milestone_id])[case.milestone_id].in_escrow == 40_000


def test_offers_expire_after_their_days_and_can_no_longer_be_accepted():
    # Given an offer made at START on a submitted milestone
    with time_machine.travel(START, tick=False):
        milestone = milestone_in_state(S.FUNDED, amount=40_000)
        contract = milestone.contract
        offer = offer_make(milestone=milestone, actor=contract.freelancer, freelancer_amount=20_000)
    expiry = START + settings.OFFER_EXPIRY_PERIOD
    assert offer.expires_at == expiry

    # When the sweep runs before expiry, it stays open
    assert offers_expire_due(now=expiry - dt.timedelta(minutes=1)) == 0
    # When it is accepted after expiry but before the sweep, that is refused
    with time_machine.travel(expiry + dt.timedelta(minutes=1), tick=False):
        with pytest.raises(DisputeError, match="expired"):
            offer_accept(offer=offer, actor=contract.client)
        # When the sweep runs (twice), it expires once and both parties are told
        assert tasks.offers_expire_due() == 1
        assert offers_expire_due() == 0
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.EXPIRED
    for party in (contract.client, contract.freelancer):
        assert Notification.objects.filter(recipient=party, kind=NotificationKind.OFFER_EXPIRED).count() == 1
    assert milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk].in_escrow == 40_000
    # And a new offer may be made
    offer_make(milestone=milestone, actor=contract.client, freelancer_amount=10_000)


def test_an_offer_on_a_milestone_released_meanwhile_lapses_at_the_next_sweep():
    milestone = milestone_in_state(S.SUBMITTED, amount=40_000)
    contract = milestone.contract
    offer = offer_make(milestone=milestone, actor=contract.freelancer, freelancer_amount=20_000)
    services.milestone_release(milestone=milestone, actor=contract.client)
    assert offers_expire_due() == 1
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.EXPIRED
    # Nobody is told about an offer on money that already moved
    assert not Notification.objects.filter(kind=NotificationKind.OFFER_EXPIRED).exists()
