"""The ledger in Django admin: searchable, read-only; payout actions go through the services."""

import datetime as dt

import pytest
from django.urls import reverse

from payments.models import (
    Account,
    Balance,
    ClientWithdrawal,
    EarningsLot,
    Entry,
    LedgerTransaction,
    Payout,
    PayoutStatus,
)
from payments.services import client_withdraw, earnings_mature_due, escrow_release, payout_request
from tests.payments.factories import (
    SUCCESS_CARD,
    client_with_balance,
    deposit_for,
    funded_milestone,
    with_payout_destination,
)
from tests.users.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db

MODELS = [Account, Balance, LedgerTransaction, Entry, EarningsLot, Payout, ClientWithdrawal]


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def requested_payout(settings) -> Payout:
    settings.EARNINGS_HOLD_PERIOD = dt.timedelta(0)
    milestone = funded_milestone(10_000)
    freelancer = milestone.contract.freelancer
    escrow_release(milestone=milestone, client=milestone.contract.client, freelancer=freelancer)
    earnings_mature_due()
    with_payout_destination(freelancer)
    return payout_request(user=freelancer, amount=9_000, currency="USD", idempotency_key="admin-test")


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_ledger_list_opens_and_searches_but_nothing_can_be_added_or_deleted(staff_client, model, settings):
    # Given some money that moved, and a client's balance withdrawn to their card
    requested_payout(settings)
    client_withdraw(
        user=client_with_balance(5_000), amount=2_000, currency="USD", card_number=SUCCESS_CARD, idempotency_key="a"
    )
    # Then each list opens, a search runs, and the add page is refused
    assert staff_client.get(admin_url(model, "changelist")).status_code == 200
    assert staff_client.get(admin_url(model, "changelist"), {"q": "example.com"}).status_code == 200
    assert staff_client.get(admin_url(model, "add")).status_code == 403
    row = model.objects.first()
    assert staff_client.post(admin_url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


def test_a_transaction_opens_read_only_with_its_entries(staff_client):
    # Given a deposit
    client = ClientFactory(email="payer@example.com")
    posted = deposit_for(client, 1_000)
    # When staff open it
    page = staff_client.get(admin_url(LedgerTransaction, "change", posted.pk))
    # Then it shows read-only, with its entries
    assert page.status_code == 200
    html = page.content.decode()
    assert "$10.00" in html and 'name="_save"' not in html
    # A forged change is refused
    # When a change is forged, it is refused
    forged = staff_client.post(admin_url(LedgerTransaction, "change", posted.pk), {"memo": "changed"})
    assert forged.status_code == 403
    assert LedgerTransaction.objects.get(pk=posted.pk).memo == posted.memo
    # Then searching by email finds it
    results = staff_client.get(admin_url(LedgerTransaction, "changelist"), {"q": "payer@example.com"})
    assert results.context["cl"].result_count == 1


@pytest.mark.parametrize(("action", "status"), [("mark_completed", "completed"), ("mark_failed", "failed")])
def test_staff_settle_payouts_through_the_service(staff_client, settings, action, status):
    # Given a requested payout
    payout = requested_payout(settings)
    # When staff run the action
    response = staff_client.post(
        admin_url(Payout, "changelist"), {"action": action, "_selected_action": [payout.pk]}, follow=True
    )
    # Then the service settled it
    assert response.status_code == 200
    payout.refresh_from_db()
    assert payout.status == status and payout.settle_transaction_id is not None
    # Settling again the other way is refused with a message, and changes nothing
    other = "mark_failed" if action == "mark_completed" else "mark_completed"
    response = staff_client.post(
        admin_url(Payout, "changelist"), {"action": other, "_selected_action": [payout.pk]}, follow=True
    )
    assert any("already" in str(m) for m in response.context["messages"])
    payout.refresh_from_db()
    assert payout.status == status


def test_staff_without_the_payout_permission_cannot_settle(client, settings):
    from django.contrib.auth.models import Permission

    # Given staff who may only view payouts
    payout = requested_payout(settings)
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_payout"))
    client.force_login(viewer)
    # When they try the action
    client.post(admin_url(Payout, "changelist"), {"action": "mark_completed", "_selected_action": [payout.pk]})
    # Then nothing happens
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.REQUESTED
