"""The payment gateway interface, and a built-in test gateway in the manner of Stripe's test cards.

A real provider plugs in behind `PaymentGateway` and is selected by the `PAYMENT_GATEWAY` setting.
Contract for every implementation:
- `charge` and `refund_to_card` are idempotent on `idempotency_key`: a retry with the same key
  returns the same result (same id) and never moves money twice; the ledger keys its deposit on
  the charge id.
- A declined card raises `PaymentDeclined`; a network or provider failure raises
  `PaymentGatewayUnavailable`. Either way nothing was charged or paid and no money moves.
- `charge_confirm` and `refund_confirm` answer from the provider's own records whether it made
  that charge (or refund) for that amount: `ledger_verify` reconciles the ledger against them.
"""

import hashlib
import hmac
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


@dataclass(frozen=True)
class RefundResult:
    refund_id: str
    amount: int  # minor units, as paid to the card
    currency: str
    card_last4: str


class PaymentGateway(Protocol):
    def charge(self, *, amount: int, currency: str, card_number: str, idempotency_key: str) -> ChargeResult: ...

    def refund_to_card(self, *, amount: int, currency: str, card_number: str, idempotency_key: str) -> RefundResult: ...

    def charge_confirm(self, *, charge_id: str, amount: int, currency: str) -> bool: ...

    def refund_confirm(self, *, refund_id: str, amount: int, currency: str) -> bool: ...


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
        digits = self._card_check(card_number)
        charge_id = self._record_id("ch_test_", idempotency_key, amount, currency)
        return ChargeResult(charge_id=charge_id, amount=amount, currency=currency, card_last4=digits[-4:])

    def refund_to_card(self, *, amount: int, currency: str, card_number: str, idempotency_key: str) -> RefundResult:
        digits = self._card_check(card_number)
        refund_id = self._record_id("re_test_", idempotency_key, amount, currency)
        return RefundResult(refund_id=refund_id, amount=amount, currency=currency, card_last4=digits[-4:])

    def charge_confirm(self, *, charge_id: str, amount: int, currency: str) -> bool:
        return self._record_confirm("ch_test_", charge_id, amount, currency)

    def refund_confirm(self, *, refund_id: str, amount: int, currency: str) -> bool:
        return self._record_confirm("re_test_", refund_id, amount, currency)

    def _card_check(self, card_number: str) -> str:
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
        return digits

    # The test gateway keeps no table: its "records" are its ids. The same idempotency key yields
    # the same id, as a real provider's would, and each id carries a MAC of its amount and currency
    # under a secret the database does not hold, so only the gateway can confirm an id it issued.
    @staticmethod
    def _record_mac(prefix: str, nonce: str, amount: int, currency: str) -> str:
        secret = hashlib.sha256(f"payments.gateway.DemoCardGateway|{settings.SECRET_KEY}".encode()).digest()
        message = f"{prefix}|{nonce}|{amount}|{currency}".encode()
        return hmac.new(secret, message, hashlib.sha256).hexdigest()[:24]

    def _record_id(self, prefix: str, idempotency_key: str, amount: int, currency: str) -> str:
        nonce = hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        return f"{prefix}{nonce}{self._record_mac(prefix, nonce, amount, currency)}"

    def _record_confirm(self, prefix: str, record_id: str, amount: int, currency: str) -> bool:
        body = record_id.removeprefix(prefix)
        if body == record_id or len(body) != 48:
            return False
        nonce, mac = body[:24], body[24:]
        return hmac.compare_digest(mac, self._record_mac(prefix, nonce, amount, currency))


def gateway_get() -> PaymentGateway:
    """The configured gateway (`PAYMENT_GATEWAY`, a dotted path to a class)."""
    gateway_class = import_string(settings.PAYMENT_GATEWAY)
    return gateway_class()
