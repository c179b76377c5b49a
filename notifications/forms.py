"""The email preferences form: one checkbox per kind that may be turned off, and the digest choice.

Money kinds are always emailed at once, so they get no checkbox: the page lists them instead.
"""

from typing import Any

from django import forms

from notifications.kinds import MONEY_KINDS, NotificationKind
from notifications.models import EmailFrequency
from notifications.selectors import NotificationPreferences

FIELD_PREFIX = "email_"
CHOOSABLE_KINDS = tuple(kind for kind in NotificationKind if kind not in MONEY_KINDS)
ALWAYS_EMAILED_KINDS = tuple(kind for kind in NotificationKind if kind in MONEY_KINDS)


class NotificationPreferencesForm(forms.Form):
    email_frequency = forms.ChoiceField(
        label="How often to email",
        choices=EmailFrequency.choices,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, preferences: NotificationPreferences, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email_frequency"].initial = preferences.email_frequency
        for kind in CHOOSABLE_KINDS:
            self.fields[FIELD_PREFIX + kind.value] = forms.BooleanField(
                label=kind.label, required=False, initial=kind.value in preferences.emailed_kinds
            )

    def kind_fields(self) -> list[forms.BoundField]:
        return [self[FIELD_PREFIX + kind.value] for kind in CHOOSABLE_KINDS]

    def always_emailed(self) -> list[str]:
        """The money kinds' labels, for the page to list: no one can turn them off."""
        return [kind.label for kind in ALWAYS_EMAILED_KINDS]

    def email_kinds(self) -> set[str]:
        """The kinds ticked (valid form only); the service adds the money kinds whatever this says."""
        return {kind.value for kind in CHOOSABLE_KINDS if self.cleaned_data.get(FIELD_PREFIX + kind.value)}
