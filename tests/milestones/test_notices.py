"""Who is told what when a milestone moves: each transition its own kind of notice, to the other party.

The kinds come from one column of the transition table (`TransitionMeta.notice_kind`); the money
ones (funded, released, auto-released, refunded, settled by an offer, resolved) are money kinds, always
emailed. The dispute transitions are fired by the disputes app, whose notices about the case (their
kinds) replace the milestone's; tests/disputes checks those.
"""

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from django.utils import timezone

from contracts.services import contract_end, proposal_accept
from milestones import services
from milestones.models import Milestone, MilestoneAction, MilestoneState
from milestones.transitions import TRANSITIONS
from notifications.kinds import MONEY_KINDS, NotificationKind
from notifications.models import EmailDelivery, Notification
from tests.marketplace.factories import JobFactory, proposal_with_rows
from tests.milestones.factories import deliverable, funded_contract, milestone_in_state, staff_user
from tests.users.factories import FreelancerFactory
from users.models import User

pytestmark = pytest.mark.django_db
S = MilestoneState
K = NotificationKind
FAR_FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def test_each_transition_has_its_own_kind_and_the_money_ones_are_money_kinds():
    kinds = [meta.notice_kind for meta in TRANSITIONS.values()]
    assert len(kinds) == len(set(kinds))
    money = {name for name, meta in TRANSITIONS.items() if meta.notice_kind in MONEY_KINDS}
    assert money == {"fund", "release", "auto_release", "refund", "settle", "resolve"}


Fire = Callable[[Milestone, User], Milestone]
# transition -> (the state it starts from, who fires it, how, who is told)
CASES: dict[str, tuple[str, str, Fire, set[str]]] = {
    "approve": (S.PROPOSED, "client", lambda m, u: services.milestone_approve(milestone=m, actor=u), {"freelancer"}),
    "decline": (
        S.PROPOSED,
        "client",
        lambda m, u: services.milestone_decline(milestone=m, actor=u, note="Not this quarter"),
        {"freelancer"},
    ),
    "withdraw": (S.PROPOSED, "freelancer", lambda m, u: services.milestone_withdraw(milestone=m, actor=u), {"client"}),
    "cancel": (
        S.APPROVED,
        "freelancer",
        lambda m, u: services.milestone_cancel(milestone=m, actor=u, note="Plans changed"),
        {"client"},
    ),
    "fund": (S.APPROVED, "client", lambda m, u: services.milestone_fund(milestone=m, actor=u), {"freelancer"}),
    "submit": (
        S.FUNDED,
        "freelancer",
        lambda m, u: services.milestone_submit(milestone=m, actor=u, message="Done", files=[deliverable()]),
        {"client"},
    ),
    "request_changes": (
        S.SUBMITTED,
        "client",
        lambda m, u: services.milestone_request_changes(milestone=m, actor=u, note="Fix the footer"),
        {"freelancer"},
    ),
    "release": (S.SUBMITTED, "client", lambda m, u: services.milestone_release(milestone=m, actor=u), {"freelancer"}),
    "auto_release": (
        S.SUBMITTED,
        "system",
        lambda m, u: services.milestone_auto_release(milestone=m, now=FAR_FUTURE),
        {"client", "freelancer"},
    ),
    "refund": (S.FUNDED, "freelancer", lambda m, u: services.milestone_refund(milestone=m, actor=u), {"client"}),
}


DISPUTE_TRANSITIONS = {"open_dispute", "withdraw_dispute", "settle", "resolve"}


def test_the_cases_cover_every_transition():
    assert set(CASES) == set(TRANSITIONS) - DISPUTE_TRANSITIONS


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_transition_tells_the_other_party_with_its_own_kind_about_the_milestone(
    name, django_capture_on_commit_callbacks, mailoutbox
):
    # Given a milestone where this transition applies
    start, actor_role, fire, told = CASES[name]
    milestone = milestone_in_state(start)
    people = {"client": milestone.contract.client, "freelancer": milestone.contract.freelancer}
    actor = people.get(actor_role) or staff_user()
    before = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    # When it fires (and commits)
    with django_capture_on_commit_callbacks(execute=True):
        fire(milestone, actor)
    # Then exactly the other party (both, when staff or the system acted) gets one notice of its kind
    notices = Notification.objects.filter(pk__gt=before)
    kind = TRANSITIONS[name].notice_kind
    assert sorted(notices.values_list("recipient_id", "kind")) == sorted((people[r].pk, kind) for r in told)
    # And each notice names the milestone, links to it and is emailed (immediate is the default)
    for notice in notices:
        assert (notice.object_type, notice.object_id) == ("milestone", milestone.pk)
        assert notice.link.endswith(f"/milestones/{milestone.pk}/")
        assert milestone.title in notice.subject
    assert EmailDelivery.objects.filter(notification__in=notices).count() == len(told)


@pytest.mark.parametrize(
    ("name", "note"), [("cancel", "Plans changed"), ("decline", "Not this quarter"), ("request_changes", "Fix the")]
)
def test_the_actors_note_is_quoted_in_the_notice(name, note):
    start, actor_role, fire, _ = CASES[name]
    milestone = milestone_in_state(start)
    actor = getattr(milestone.contract, actor_role)
    fire(milestone, actor)
    notice = Notification.objects.filter(object_id=milestone.pk, kind=TRANSITIONS[name].notice_kind).get()
    assert f"{actor} wrote:\n{note}" in notice.body


def test_the_release_email_shows_the_amount_and_the_freelancers_own_time_zone(
    settings, django_capture_on_commit_callbacks, mailoutbox
):
    # Given a freelancer in Berlin and a submitted milestone of $1,234.56
    settings.SITE_URL = "https://milestone.example"
    contract = funded_contract(balance=200_000)
    contract.freelancer.timezone = "Europe/Berlin"
    contract.freelancer.save(update_fields=["timezone"])
    milestone = milestone_in_state(S.SUBMITTED, contract=contract, amount=123_456)
    mailoutbox.clear()
    # When the client releases it at 23:30 UTC on 1 March 2030
    moment = time_machine.travel(dt.datetime(2030, 3, 1, 23, 30, tzinfo=dt.UTC), tick=False)
    with moment, django_capture_on_commit_callbacks(execute=True):
        services.milestone_release(milestone=milestone, actor=contract.client, bonus=1_000)
    # Then the freelancer's email is the release kind's, with the amounts and the moment in Berlin
    (message,) = [m for m in mailoutbox if m.to == [contract.freelancer.email]]
    html = message.alternatives[0][0]
    for part in (message.body, html):
        assert "Released $1,234.56 with a bonus of $10.00." in part
        assert "Sat 2 Mar 2030, 00:30 (Europe/Berlin)" in part
        assert f"https://milestone.example/milestones/{milestone.pk}/" in part
        assert "always emailed at once" in part
    assert "pending earnings" in message.body


def test_the_submit_notice_names_the_auto_release_moment_in_the_clients_zone():
    # Given a client in Tokyo
    contract = funded_contract()
    contract.client.timezone = "Asia/Tokyo"
    contract.client.save(update_fields=["timezone"])
    milestone = milestone_in_state(S.FUNDED, contract=contract)
    # When the freelancer submits on 1 March 2030 at 23:30 UTC (a 14-day review period)
    with time_machine.travel(dt.datetime(2030, 3, 1, 23, 30, tzinfo=dt.UTC), tick=False):
        services.milestone_submit(milestone=milestone, actor=contract.freelancer, message="Here", files=[deliverable()])
    # Then the client reads the deadline in Tokyo time
    notice = Notification.objects.get(object_id=milestone.pk, kind=K.MILESTONE_SUBMITTED)
    assert "Review it by Sat 16 Mar 2030, 08:30 (Asia/Tokyo)" in notice.subject


def test_accepting_a_proposal_tells_the_freelancer_once_not_once_per_milestone():
    # Given a proposal with three milestones
    job = JobFactory()
    proposal = proposal_with_rows(job=job, freelancer=FreelancerFactory())
    # When the client accepts it (which approves the three milestones)
    contract = proposal_accept(proposal=proposal, actor=job.client)
    # Then the freelancer has one notice, that the proposal was accepted, about the proposal
    notices = Notification.objects.filter(recipient=contract.freelancer)
    assert list(notices.values_list("kind", "object_type", "object_id")) == [
        (K.PROPOSAL_ACCEPTED, "proposal", proposal.pk)
    ]
    assert contract.milestones.filter(state=S.APPROVED).count() == 3


def test_ending_a_contract_tells_the_other_party_once_not_once_per_cancelled_milestone():
    # Given a contract with two approved milestones
    contract = funded_contract()
    for _ in range(2):
        milestone_in_state(S.APPROVED, contract=contract)
    before = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    # When the client ends it (cancelling both)
    contract_end(contract=contract, actor=contract.client, note="Done for now")
    # Then the freelancer gets one notice that it ended, about the contract (and each party one asking for feedback)
    notices = Notification.objects.filter(pk__gt=before).exclude(kind=K.FEEDBACK_REQUESTED)
    assert list(notices.values_list("recipient_id", "kind", "object_type")) == [
        (contract.freelancer_id, K.CONTRACT_ENDED, "contract")
    ]
    assert contract.milestones.filter(state=S.CANCELLED).count() == 2
    assert Milestone.objects.filter(contract=contract, events__action=MilestoneAction.CANCEL).count() == 2


def test_every_notice_of_a_whole_milestone_life_says_what_it_is_about():
    # Given a milestone taken from proposal to release, then one auto-released
    milestone_in_state(S.RELEASED)
    auto = milestone_in_state(S.SUBMITTED)
    services.milestone_auto_release(milestone=auto, now=timezone.now() + dt.timedelta(days=30))
    # Then every notice written names its object
    assert Notification.objects.exists()
    assert not Notification.objects.filter(object_type="").exists()
    assert not Notification.objects.filter(object_id__isnull=True).exists()
