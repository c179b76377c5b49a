"""Account forms: the extra sign-up fields and the profile page."""

from typing import Any

from django import forms
from django.http import HttpRequest

from users.models import TIMEZONE_CHOICES, User


class RolesMixin(forms.Form):
    def clean_display_name(self) -> str:
        name = " ".join((self.cleaned_data.get("display_name") or "").split())
        if not name:
            raise forms.ValidationError("Enter the name the people you work with will see.")
        # Timers and settlements act as "Milestone (system)"; nobody may look like them in a timeline.
        if "system" in name.casefold() and "milestone" in name.casefold():
            raise forms.ValidationError("That name is reserved for the platform's own actions; choose another.")
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("is_client") and not cleaned.get("is_freelancer"):
            raise forms.ValidationError("Choose at least one role: client, freelancer, or both.")
        return cleaned


class SignupProfileForm(RolesMixin):
    """Extra sign-up fields; allauth calls `signup()` once the user row exists."""

    display_name = forms.CharField(max_length=80, help_text="Shown to the people you work with.")
    is_client = forms.BooleanField(required=False, initial=True, label="I want to hire (client)")
    is_freelancer = forms.BooleanField(required=False, label="I want to work (freelancer)")
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES, initial="UTC", label="Time zone")

    def signup(self, request: HttpRequest, user: User) -> None:
        user.display_name = self.cleaned_data["display_name"]
        user.is_client = self.cleaned_data["is_client"]
        user.is_freelancer = self.cleaned_data["is_freelancer"]
        user.timezone = self.cleaned_data["timezone"]
        user.save(update_fields=["display_name", "is_client", "is_freelancer", "timezone"])


class ProfileForm(RolesMixin, forms.ModelForm):
    class Meta:
        model = User
        fields = ["display_name", "timezone", "is_client", "is_freelancer"]
