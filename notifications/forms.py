"""The email preferences form: one checkbox per kind (money kinds checked and disabled) and the digest choice."""

from typing import Any

from django import forms

from notifications.kinds import MONEY_KINDS, NotificationKind
from notifications.models import EmailFrequency
from notifications.selectors import NotificationPreferences

FIELD_PREFIX = "email_"


class NotificationPreferencesForm(forms.Form):
    email_frequency = forms.ChoiceField(
        label="How often to email",
        choices=EmailFrequency.choices,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, preferences: NotificationPreferences, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email_frequency"].initial = preferences.email_frequency
        for kind in NotificationKind:
            is_money = kind in MONEY_KINDS
            self.fields[FIELD_PREFIX + kind.value] = forms.BooleanField(
                label=kind.label,
                required=False,
                # A disabled field ignores whatever is posted and keeps its initial value: money is always emailed.
                disabled=is_money,
                initial=True if is_money else kind.value in preferences.emailed_kinds,
                help_text="About money: always emailed at once." if is_money else "",
            )

    def kind_fields(self) -> list[forms.BoundField]:
        return [self[FIELD_PREFIX + kind.value] for kind in NotificationKind]

    def email_kinds(self) -> set[str]:
        """The kinds ticked (valid form only); money kinds are in it because their field is disabled and checked."""
        return {kind.value for kind in NotificationKind if self.cleaned_data.get(FIELD_PREFIX + kind.value)}
