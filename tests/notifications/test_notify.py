"""`notify` writes one notice per recipient inside the caller's transaction, and emails only after commit."""

import pytest
from django.db import transaction

from notifications.kinds import NotificationKind
from notifications.models import Notification
from notifications.services import notify
from tests.milestones.factories import system_actor
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


def test_a_notice_is_written_in_the_transaction_and_emailed_after_commit(
    django_capture_on_commit_callbacks, mailoutbox
):
    # Given a user, and a change that notifies them inside its transaction
    user = UserFactory()
    # When the change commits
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        notify(
            recipients=[user, user],
            kind=NotificationKind.MILESTONE_FUNDED,
            subject="Logo: the client\nfunded it",
            body="The client funded this milestone.",
            link="https://example.invalid/milestones/7/",
            about=("milestone", 7),
        )
        # Then the row exists before the commit, and no email has left yet
        assert Notification.objects.filter(recipient=user).count() == 1
        assert mailoutbox == []
    # And after the commit exactly one email went, for the one notice (named twice, told once)
    notice = Notification.objects.get(recipient=user)
    assert (notice.object_type, notice.object_id) == ("milestone", 7)
    assert notice.subject == "Logo: the client funded it"
    assert notice.read_at is None
    assert len(callbacks) == 1
    assert [m.to for m in mailoutbox] == [[user.email]]


def test_a_rolled_back_change_leaves_no_notice_and_sends_nothing(django_capture_on_commit_callbacks, mailoutbox):
    # Given a user
    user = UserFactory()
    # When a change notifies them and then fails
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Rollback), transaction.atomic():
        notify(recipients=[user], kind=NotificationKind.CONTRACT_ENDED, subject="Ended", body="It ended.")
        assert Notification.objects.filter(recipient=user).exists()
        raise Rollback
    # Then no notice is left and no email was scheduled or sent
    assert not Notification.objects.filter(recipient=user).exists()
    assert callbacks == []
    assert mailoutbox == []


def test_inactive_accounts_and_the_system_actor_get_nothing(django_capture_on_commit_callbacks, mailoutbox):
    # Given an inactive user and the system actor
    inactive = UserFactory(is_active=False)
    system = system_actor()
    # When both are notified
    with django_capture_on_commit_callbacks(execute=True):
        written = notify(recipients=[inactive, system], kind=NotificationKind.PAYOUT, subject="Paid", body="Paid.")
    # Then no notice is written and nothing is sent
    assert written == []
    assert not Notification.objects.exists()
    assert mailoutbox == []
