"""A due date is a calendar date agreed by both parties; its exact moment is its end in the contract's zone."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from milestones import services
from milestones.models import MilestoneState as S
from milestones.terms import due_at_from_date, due_date_display
from tests.contracts.factories import ContractFactory
from tests.milestones.factories import client_deposit, milestone_in_state
from tests.users.factories import ClientFactory, FreelancerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("zone", "day", "moment_utc"),
    [
        # Berlin in winter is UTC+1, in summer UTC+2
        ("Europe/Berlin", dt.date(2026, 12, 11), dt.datetime(2026, 12, 11, 22, 59, 59, tzinfo=dt.UTC)),
        ("Europe/Berlin", dt.date(2026, 7, 1), dt.datetime(2026, 7, 1, 21, 59, 59, tzinfo=dt.UTC)),
        # Kolkata is UTC+5:30 all year
        ("Asia/Kolkata", dt.date(2026, 12, 11), dt.datetime(2026, 12, 11, 18, 29, 59, tzinfo=dt.UTC)),
        # New York springs forward on Sun 8 Mar 2026 and falls back on Sun 1 Nov 2026
        ("America/New_York", dt.date(2026, 3, 7), dt.datetime(2026, 3, 8, 4, 59, 59, tzinfo=dt.UTC)),
        ("America/New_York", dt.date(2026, 3, 8), dt.datetime(2026, 3, 9, 3, 59, 59, tzinfo=dt.UTC)),
        ("America/New_York", dt.date(2026, 10, 31), dt.datetime(2026, 11, 1, 3, 59, 59, tzinfo=dt.UTC)),
        ("America/New_York", dt.date(2026, 11, 1), dt.datetime(2026, 11, 2, 4, 59, 59, tzinfo=dt.UTC)),
        ("UTC", dt.date(2026, 12, 11), dt.datetime(2026, 12, 11, 23, 59, 59, tzinfo=dt.UTC)),
    ],
)
def test_a_due_date_ends_at_the_last_second_of_that_date_in_the_contracts_zone(zone, day, moment_utc):
    # Given an agreed date and a contract zone
    # When the moment is computed
    moment = due_at_from_date(due_date=day, timezone_name=zone)
    # Then it is 23:59:59 of that very date in that zone
    assert moment == moment_utc
    assert moment.utcoffset() == dt.timedelta(0)


def test_an_agreed_date_prints_the_same_for_everyone():
    assert due_date_display(dt.date(2026, 12, 11)) == "Fri 11 Dec 2026"
    assert due_date_display(dt.date(2027, 1, 5)) == "Tue 5 Jan 2027"


def test_a_new_milestone_and_a_change_order_keep_the_date_and_use_the_contracts_zone():
    # Given a contract in Berlin time and a funded milestone
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        contract = ContractFactory(timezone="Europe/Berlin")
        client_deposit(user=contract.client, amount=500_000)
        milestone = services.milestone_create(
            contract=contract,
            proposed_by=contract.freelancer,
            title="Design",
            deliverables="Figma file",
            amount=10_000,
            due_date=dt.date(2026, 12, 11),
        )
        # Then it keeps the agreed date and is due at its end in Berlin
        assert milestone.due_date == dt.date(2026, 12, 11)
        assert milestone.due_at == dt.datetime(2026, 12, 11, 22, 59, 59, tzinfo=dt.UTC)
        milestone = services.milestone_approve(milestone=milestone, actor=contract.client)
        milestone = services.milestone_fund(milestone=milestone, actor=contract.client)
        # When a change order moves it to 21 Dec
        milestone = services.milestone_change_order_apply(
            milestone=milestone,
            actor=contract.client,
            amount=10_000,
            due_date=dt.date(2026, 12, 21),
            change_number=1,
        )
    # Then the new date is stored as agreed, its moment again the end of the day in Berlin
    milestone.refresh_from_db()
    assert milestone.due_date == dt.date(2026, 12, 21)
    assert milestone.due_at == dt.datetime(2026, 12, 21, 22, 59, 59, tzinfo=dt.UTC)
    assert "due Mon 21 Dec 2026" in milestone.events.last().note


def test_the_review_deadline_in_the_submit_email_is_in_the_recipients_zone(django_capture_on_commit_callbacks):
    # Given a funded milestone between a client in Berlin and a freelancer in Kolkata
    client = ClientFactory(timezone="Europe/Berlin")
    freelancer = FreelancerFactory(timezone="Asia/Kolkata")
    contract = ContractFactory(client=client, freelancer=freelancer, timezone="Europe/Berlin")
    client_deposit(user=client, amount=500_000)
    with time_machine.travel(dt.datetime(2026, 12, 1, 20, 10, tzinfo=dt.UTC), tick=False):
        milestone = milestone_in_state(S.FUNDED, contract=contract)
        mail.outbox.clear()
        # When the freelancer submits at 20:10 UTC (review period: 14 days)
        with django_capture_on_commit_callbacks(execute=True):
            services.milestone_submit(
                milestone=milestone,
                actor=freelancer,
                message="Done",
                files=[SimpleUploadedFile("report.pdf", b"%PDF-1.4 report", content_type="application/pdf")],
            )
    # Then the client's email names the deadline in Berlin time, never in UTC
    (message,) = [m for m in mail.outbox if client.email in m.to]
    assert "Review it by Tue 15 Dec 2026, 21:10 (Europe/Berlin)" in message.subject
    assert "Review it by Tue 15 Dec 2026, 21:10 (Europe/Berlin)" in message.body
    assert "UTC" not in message.body


def test_a_due_reminder_names_the_agreed_date_and_the_moment_in_the_recipients_zone(
    django_capture_on_commit_callbacks,
):
    # Given funded work due Fri 11 Dec 2026 on a Berlin contract, with a freelancer in Kolkata
    client = ClientFactory(timezone="Europe/Berlin")
    freelancer = FreelancerFactory(timezone="Asia/Kolkata")
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        contract = ContractFactory(client=client, freelancer=freelancer, timezone="Europe/Berlin")
        client_deposit(user=client, amount=500_000)
        milestone = services.milestone_create(
            contract=contract,
            proposed_by=freelancer,
            title="Design",
            deliverables="Figma file",
            amount=10_000,
            due_date=dt.date(2026, 12, 11),
        )
        services.milestone_fund(milestone=services.milestone_approve(milestone=milestone, actor=client), actor=client)
    mail.outbox.clear()
    # When the sweep runs 40 hours before the deadline
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.milestone_due_reminders_send(now=milestone.due_at - dt.timedelta(hours=40))
    # Then the freelancer reads the agreed date and its end in Kolkata time (04:29 the next morning)
    assert sent == 1
    (message,) = mail.outbox
    assert "Sat 12 Dec 2026, 04:29 (Asia/Kolkata)" in message.subject
    assert "Agreed due date: Fri 11 Dec 2026 (dates are in Europe/Berlin)" in message.body
