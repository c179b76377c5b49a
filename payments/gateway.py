"""The payment gateway interface, and a built-in test gateway in the manner of Stripe's test cards.

A real provider plugs in behind `PaymentGateway` and is selected by the `PAYMENT_GATEWAY` setting.
Contract for every implementation:
- `charge` is idempotent on `idempotency_key`: a retry with the same key returns the same charge
  (same `charge_id`) and never charges twice; the ledger keys its deposit on that id.
- A declined card raises `PaymentDeclined`; a network or provider failure raises
  `PaymentGatewayUnavailable`. Either way nothing was charged and no money moves.
"""

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from payments.errors import PaymentDeclined, PaymentGatewayUnavailable


@dataclass(frozen=True)
class ChargeResult:
    charge_id: str
    amount: int  # minor units, as charged
    currency: str
    card_last4: str


class PaymentGateway(Protocol):
    def charge(self, *, amount: int, currency: str, card_number: str, idempotency_key: str) -> ChargeResult: ...


def card_number_normalize(card_number: str) -> str:
    """Drop the spaces and dashes people type; what remains must be 12 to 19 digits."""
    digits = re.sub(r"[\s-]", "", card_number or "")
    if not re.fullmatch(r"\d{12,19}", digits):
        raise PaymentDeclined("Enter the card number as 12 to 19 digits.")
    return digits


class DemoCardGateway:
    """No real money: three test card numbers, as in Stripe's test mode.

    4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined, 4000 0000 0000 0119 fails with
    a network error. Any other number is refused as an unknown test card.
    """

    SUCCEEDS = "4242424242424242"
    DECLINED = "4000000000000002"
    NETWORK_ERROR = "4000000000000119"

    def charge(self, *, amount: int, currency: str, card_number: str, idempotency_key: str) -> ChargeResult:
        digits = card_number_normalize(card_number)
        if digits == self.DECLINED:
            raise PaymentDeclined("Your card was declined by the bank. Nothing was charged; try another card.")
        if digits == self.NETWORK_ERROR:
            raise PaymentGatewayUnavailable(
                "The payment provider could not be reached. Nothing was charged; please try again in a moment."
            )
        if digits != self.SUCCEEDS:
            raise PaymentDeclined(
                "That is not one of the test cards. Use 4242 4242 4242 4242 (succeeds), "
                "4000 0000 0000 0002 (declined) or 4000 0000 0000 0119 (network error)."
            )
        # The same idempotency key yields the same charge id, as a real provider's would.
        charge_id = "ch_test_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        return ChargeResult(charge_id=charge_id, amount=amount, currency=currency, card_last4=digits[-4:])


def gateway_get() -> PaymentGateway:
    """The configured gateway (`PAYMENT_GATEWAY`, a dotted path to a class)."""
    gateway_class = import_string(settings.PAYMENT_GATEWAY)
    return gateway_class()
