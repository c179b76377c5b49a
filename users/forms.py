"""Account forms: the extra sign-up fields and the profile page."""

from typing import Any

from django import forms
from django.core.validators import URLValidator
from django.http import HttpRequest

from users.models import PORTFOLIO_MAX_LINKS, TIMEZONE_CHOICES, Skill, User

BIO_MAX_LENGTH = 3000


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
    skills = forms.ModelMultipleChoiceField(
        queryset=Skill.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Choose every skill you offer; they show on your profile, and the job list filters by skill.",
    )
    bio = forms.CharField(
        required=False,
        max_length=BIO_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="A few paragraphs about your work and experience.",
    )
    portfolio_links = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Portfolio links",
        help_text=f"Up to {PORTFOLIO_MAX_LINKS} web addresses (https://…), one per line.",
    )

    class Meta:
        model = User
        fields = [
            "display_name",
            "timezone",
            "is_client",
            "is_freelancer",
            "headline",
            "bio",
            "skills",
            "portfolio_links",
            "show_total_earned",
        ]

    def clean_headline(self) -> str:
        return " ".join((self.cleaned_data.get("headline") or "").split())

    def clean_portfolio_links(self) -> str:
        lines = [line.strip() for line in (self.cleaned_data.get("portfolio_links") or "").splitlines()]
        links = [line for line in lines if line]
        if len(links) > PORTFOLIO_MAX_LINKS:
            raise forms.ValidationError(f"List at most {PORTFOLIO_MAX_LINKS} links.")
        # Only web addresses: a `javascript:` or `data:` link would run in the reader's browser.
        check = URLValidator(schemes=["http", "https"])
        for link in links:
            try:
                check(link)
            except forms.ValidationError as exc:
                raise forms.ValidationError(f"“{link[:80]}” is not a web address (https://…).") from exc
        return "\n".join(links)
