"""Wallet forms. Each carries a one-time token that the service uses as its idempotency key."""

import uuid
from typing import Any

from django import forms
from django.conf import settings

from core.money import CURRENCY_CHOICES, AmountError, parse_amount

TEST_CARDS_HELP = (
    "Test mode, no real card is charged: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined, "
    "4000 0000 0000 0119 fails with a network error."
)

FORM_EXPIRED = "This form has expired or was changed. Reload the page and try again."


class CardNumberInput(forms.TextInput):
    """A card number is never written back into a page: a form shown again after an error
    would otherwise carry the full number in its HTML (and in the browser's cache)."""

    def format_value(self, value: Any) -> str | None:
        return None


class WalletForm(forms.Form):
    """Amount + currency + one-time token; `amount_minor` holds the parsed amount once valid."""

    amount = forms.CharField(label="Amount", max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    currency = forms.ChoiceField(label="Currency", choices=CURRENCY_CHOICES, initial="USD")
    token = forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={"required": FORM_EXPIRED, "invalid": FORM_EXPIRED},
    )
    maximum_setting = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("token", uuid.uuid4())
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        currency, text = cleaned.get("currency"), cleaned.get("amount")
        if currency and text is not None:
            try:
                cleaned["amount_minor"] = parse_amount(
                    text, currency=currency, maximum=getattr(settings, self.maximum_setting)
                )
            except AmountError as error:
                self.add_error("amount", str(error))
        return cleaned

    @property
    def idempotency_key(self) -> str:
        return str(self.cleaned_data["token"])


class AddFundsForm(WalletForm):
    prefix = "add"  # both wallet forms share a page: prefixes keep their field ids unique
    maximum_setting = "MAX_DEPOSIT_MINOR"
    card_number = forms.CharField(
        label="Card number",
        max_length=23,
        help_text=TEST_CARDS_HELP,
        widget=CardNumberInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )

    field_order = ["amount", "currency", "card_number", "token"]


class ClientWithdrawForm(WalletForm):
    """A client's unspent balance back to a card."""

    prefix = "card-withdraw"
    maximum_setting = "MAX_PAYOUT_MINOR"
    card_number = forms.CharField(
        label="Card number",
        max_length=23,
        help_text="Test mode, no real card is paid: 4242 4242 4242 4242 receives it, 4000 0000 0000 0002 refuses it.",
        widget=CardNumberInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )

    field_order = ["amount", "currency", "card_number", "token"]


class WithdrawForm(WalletForm):
    prefix = "withdraw"
    maximum_setting = "MAX_PAYOUT_MINOR"


class PayoutDestinationForm(forms.Form):
    """Where payouts go. The test gateway needs only the holder's name and an account label."""

    prefix = "destination"
    account_holder = forms.CharField(label="Account holder name", max_length=200)
    account_label = forms.CharField(
        label="Account label",
        max_length=64,
        help_text="Test mode: any label, e.g. TEST-ACCOUNT-1234; only its last four characters are kept and shown.",
        widget=CardNumberInput(attrs={"autocomplete": "off"}),
    )
