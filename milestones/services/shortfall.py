"""Paying by card what the client balance lacks, once however many tabs ask at the same time."""

import hashlib

from payments.selectors import client_balance_state
from payments.services import deposit
from users.models import User


def card_shortfall_charge(*, actor: User, currency: str, needed: int, paying_for: str, card_number: str) -> None:
    """Charge the card for what the client's balance lacks of `needed`, onto the balance.

    The caller holds the locks of the milestones it pays for, so requests paying for the same
    thing take turns: the first charges and commits, the next finds the balance covers it. The
    charge is keyed by what it pays for (`paying_for`, e.g. the milestones and their amounts) and
    the balance's version, never by the form, so asking again against the same balance is the
    same charge at the gateway, not a second one.
    """
    balance, version = client_balance_state(user=actor, currency=currency)
    shortfall = needed - balance
    if shortfall <= 0:
        return
    digest = hashlib.sha256(f"{actor.pk}|{currency}|{paying_for}|{balance}@{version}".encode()).hexdigest()
    deposit(
        user=actor,
        amount=shortfall,
        currency=currency,
        card_number=card_number,
        idempotency_key=f"shortfall:{digest[:40]}",
    )
