"""Ledger test helpers: money enters only through the services, as in production."""

from typing import Any
from uuid import uuid4

from milestones.models import Milestone
from payments.gateway import DemoCardGateway
from payments.models import LedgerTransaction
from payments.services import deposit, escrow_fund
from tests.factories import ClientFactory, MilestoneFactory

SUCCESS_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
NETWORK_ERROR_CARD = "4000 0000 0000 0119"
assert SUCCESS_CARD.replace(" ", "") == DemoCardGateway.SUCCEEDS


def deposit_for(user: Any, amount: int, *, currency: str = "USD", key: str | None = None) -> LedgerTransaction:
    """Add funds to a user's client balance with the test card that succeeds."""
    return deposit(
        user=user, amount=amount, currency=currency, card_number=SUCCESS_CARD, idempotency_key=key or uuid4().hex
    )


def client_with_balance(amount: int, *, currency: str = "USD", **user_fields: Any) -> Any:
    client = ClientFactory(**user_fields)
    deposit_for(client, amount, currency=currency)
    return client


def milestone_in_state(state: str, **fields: Any) -> Milestone:
    """A milestone put straight into a state: the FSM field is protected, so a queryset update."""
    milestone = MilestoneFactory(**fields)
    Milestone.objects.filter(pk=milestone.pk).update(state=state)
    milestone.refresh_from_db()
    return milestone


def funded_milestone(amount: int = 50_000, *, extra_balance: int = 0, **fields: Any) -> Milestone:
    """A milestone whose client deposited `amount + extra_balance` and moved `amount` into escrow."""
    milestone = milestone_in_state("approved", amount=amount, **fields)
    client = milestone.contract.client
    deposit_for(client, amount + extra_balance, currency=milestone.currency)
    escrow_fund(milestone=milestone, client=client, amount=amount, currency=milestone.currency)
    Milestone.objects.filter(pk=milestone.pk).update(state="funded")
    milestone.refresh_from_db()
    return milestone


def milestone_state_set(milestone: Milestone, state: str) -> None:
    """Mirror what the milestone service would do after the ledger call (the FSM field is protected)."""
    Milestone.objects.filter(pk=milestone.pk).update(state=state)
