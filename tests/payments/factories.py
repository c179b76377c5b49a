"""Ledger test helpers: money enters only through the services, and milestones move only through
the milestone services, as in production."""

from typing import Any
from uuid import uuid4

from contracts.models import Contract
from milestones.models import Milestone, MilestoneState
from payments.gateway import DemoCardGateway
from payments.models import LedgerTransaction
from payments.services import deposit, payout_destination_set
from tests.contracts.factories import ContractFactory
from tests.milestones import factories as milestone_factories
from tests.users.factories import ClientFactory

SUCCESS_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
NETWORK_ERROR_CARD = "4000 0000 0000 0119"
assert SUCCESS_CARD.replace(" ", "") == DemoCardGateway.SUCCEEDS

# The states a milestone only reaches by being funded first: its client must have deposited its amount.
S = MilestoneState
_FUNDED_FIRST = frozenset({S.FUNDED, S.SUBMITTED, S.DISPUTED, S.RELEASED, S.REFUNDED})


def deposit_for(user: Any, amount: int, *, currency: str = "USD", key: str | None = None) -> LedgerTransaction:
    """Add funds to a user's client balance with the test card that succeeds."""
    return deposit(
        user=user, amount=amount, currency=currency, card_number=SUCCESS_CARD, idempotency_key=key or uuid4().hex
    )


def with_payout_destination(user: Any, *, holder: str = "Ada Lovelace", label: str = "TEST-ACCOUNT-1234") -> Any:
    """Record the test gateway's payout destination for `user` (a payout needs one); returns the user."""
    payout_destination_set(user=user, account_holder=holder, account_label=label)
    return user


def client_with_balance(amount: int, *, currency: str = "USD", **user_fields: Any) -> Any:
    client = ClientFactory(**user_fields)
    deposit_for(client, amount, currency=currency)
    return client


def milestone_in_state(
    state: str,
    *,
    contract: Contract | None = None,
    amount: int = 50_000,
    currency: str | None = None,
    extra_balance: int = 0,
    **fields: Any,
) -> Milestone:
    """A milestone moved to `state` through the milestone services (tests.milestones.factories).

    The client deposits exactly what getting there costs (the amount, if the state is reached
    through `funded`) plus `extra_balance`, which is left on their balance: an `approved`
    milestone's client has nothing to spend unless the test deposits it. `contract` defaults to
    a new one in `currency` (USD); other `fields` (title, disputed_from, dispute_opener) go to
    tests.milestones.factories.milestone_in_state.
    """
    if contract is None:
        contract = ContractFactory(currency=currency or "USD")
    elif currency is not None and currency != contract.currency:
        raise ValueError(f"The contract is in {contract.currency}, not {currency}.")
    to_deposit = extra_balance + (amount if state in _FUNDED_FIRST else 0)
    if to_deposit:
        deposit_for(contract.client, to_deposit, currency=contract.currency)
    return milestone_factories.milestone_in_state(state, contract=contract, amount=amount, **fields)


def funded_milestone(amount: int = 50_000, *, extra_balance: int = 0, **fields: Any) -> Milestone:
    """A funded milestone: its client deposited `amount + extra_balance` and `milestone_fund` moved
    `amount` into escrow, leaving `extra_balance` on their balance."""
    return milestone_in_state(MilestoneState.FUNDED, amount=amount, extra_balance=extra_balance, **fields)
