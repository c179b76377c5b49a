"""Review: the payout services check who settles a withdrawal, not only the admin in front of them."""

import pytest

from payments.errors import PayoutStateError
from payments.models import Payout, PayoutStatus
from payments.services import payout_complete, payout_fail, payout_request
from payments.verification import ledger_verify
from tests.factories import UserFactory
from tests.payments.test_services import freelancer_with_available

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("settle", [payout_complete, lambda **kw: payout_fail(reason="Bank said no", **kw)])
@pytest.mark.parametrize("who", ["owner", "other user", "staff owner"])
def test_only_staff_other_than_the_owner_settle_a_withdrawal(settle, who):
    # Given a requested withdrawal of 40.00
    freelancer = freelancer_with_available(10_000)
    payout = payout_request(user=freelancer, amount=4_000, currency="USD", idempotency_key="w-1")
    if who == "staff owner":
        freelancer.is_staff = True
        freelancer.save(update_fields=["is_staff"])
    actor = {"owner": freelancer, "staff owner": freelancer, "other user": UserFactory()}[who]

    # When someone who is not an independent staff member marks it paid or failed, it is refused
    with pytest.raises(PayoutStateError, match="Only staff"):
        settle(payout=payout, actor=actor)

    # Then it is still in flight, and staff can settle it
    assert Payout.objects.get(pk=payout.pk).status == PayoutStatus.REQUESTED
    settle(payout=payout, actor=UserFactory(is_staff=True))
    assert Payout.objects.get(pk=payout.pk).status != PayoutStatus.REQUESTED
    assert ledger_verify().ok
