"""Form pieces every app uses: the one-time token, money typed as text, one-line titles, future dates."""

import unicodedata
import uuid
from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from core.money import AmountError, parse_amount


class OneTimeTokenForm(forms.Form):
    """A hidden token, fresh on each render: the service refuses a second POST of the same form.

    The one idempotency convention for forms: every form whose POST creates or changes something
    inherits this class and carries its hidden `form_token` (a UUID, new on each render). The view
    hands the token to the service, which stores it in a unique column of the row it creates or the
    audit row it writes (`ContractMessage.form_token`, `ChangeRequest.form_token`,
    `MilestoneEvent.idempotency_key`), checks it first, and refuses a second use with a domain error
    ("That form was already sent; nothing was done twice.") while the unique column settles a race.
    A POST that state alone makes single (accepting or declining a change, ending a contract) needs
    no token; the ledger's keys (`fund:<milestone>`, ...) come from the milestone, never the form.
    """

    form_token = forms.UUIDField(widget=forms.HiddenInput, required=False, initial=uuid.uuid4)


class AmountField(forms.CharField):
    """Money typed as text ("1,250.50"), cleaned into integer minor units by `parse_amount`."""

    def __init__(self, *, maximum_setting: str, **kwargs: Any) -> None:
        self.maximum_setting = maximum_setting
        self.currency = "USD"
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        return {**super().widget_attrs(widget), "inputmode": "decimal", "autocomplete": "off"}

    def clean(self, value: Any) -> int:
        text = super().clean(value)
        try:
            return parse_amount(text, currency=self.currency, maximum=getattr(settings, self.maximum_setting))
        except AmountError as exc:
            raise forms.ValidationError(str(exc), code="amount") from exc


class SingleLineCharField(forms.CharField):
    """A title: one line of text. Titles go into e-mail subjects, where a line break is refused
    when the mail is built (after the change committed), so it is refused here instead."""

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        # A disabled field keeps the title already agreed; only new text is checked.
        if not self.disabled and any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text):
            raise forms.ValidationError(
                "Keep the title on one line, without tabs or control characters.", code="single_line"
            )
        return text


class FutureDateField(forms.DateField):
    """A calendar day after today, today being the viewer's own (their time zone is active)."""

    widget = forms.DateInput(attrs={"type": "date"})
    unchanged: date | None = None  # a date already agreed, accepted even if it has passed

    def clean(self, value: Any) -> date | None:
        day = super().clean(value)
        if day is not None and day <= timezone.localdate() and day != self.unchanged:
            raise forms.ValidationError("Choose a date in the future.", code="past")
        return day
