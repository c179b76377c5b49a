"""Demo money for `seed_demo`: each demo client starts with a balance, added through the ledger."""

from django.conf import settings

from payments.gateway import DemoCardGateway
from payments.services import deposit
from users.models import User

DEMO_OPENING_BALANCE = 500_000  # 5,000.00
DEMO_DEPOSIT_KEY = "seed-demo-opening-balance"  # one per user: running seed_demo again deposits nothing


def demo_balances_ensure(*, users: dict[str, User]) -> int:
    """Deposit the opening balance for every demo client once; returns how many were new."""
    if settings.PAYMENT_GATEWAY != "payments.gateway.DemoCardGateway":
        return 0  # a real provider is configured: never charge it for demo data
    added = 0
    for user in users.values():
        if user.is_client and not user.is_staff:
            posted = deposit(
                user=user,
                amount=DEMO_OPENING_BALANCE,
                currency="USD",
                card_number=DemoCardGateway.SUCCEEDS,
                idempotency_key=DEMO_DEPOSIT_KEY,
            )
            added += not posted.replayed
    return added
