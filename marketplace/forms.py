"""Forms for the marketplace app: account pages, jobs, proposals and their milestone rows."""

import unicodedata
import uuid
from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from marketplace.models import Job, User
from marketplace.models.users import TIMEZONE_CHOICES
from marketplace.services import ProposalMilestoneTerms
from payments.money import CURRENCY_CHOICES, CURRENCY_EXPONENTS, AmountError, parse_amount


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


# --- Jobs and proposals -------------------------------------------------------------


class OneTimeTokenForm(forms.Form):
    """A hidden token, fresh on each render: the service refuses a second POST of the same form."""

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

    def clean(self, value: Any) -> int:  # type: ignore[override]
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


class JobForm(OneTimeTokenForm):
    title = SingleLineCharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), help_text="What you need, in detail.")
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, initial="USD")
    budget = AmountField(maximum_setting="JOB_MAX_BUDGET_MINOR", help_text="For example 2,500 or 2500.00.")
    category = forms.ChoiceField(choices=[("", "No category"), *Job.Category.choices], required=False)
    deadline = FutureDateField(required=False, help_text="Optional: when the whole job should be done.")

    field_order = ["title", "description", "currency", "budget", "category", "deadline", "form_token"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The budget is parsed in the currency chosen on the same form.
        currency = self.data.get(self.add_prefix("currency")) if self.is_bound else None
        if currency in CURRENCY_EXPONENTS:
            self.fields["budget"].currency = currency  # type: ignore[attr-defined]


class JobSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    budget_min = forms.CharField(required=False, max_length=32, label="Budget from")
    budget_max = forms.CharField(required=False, max_length=32, label="Budget up to")
    category = forms.ChoiceField(choices=[("", "Any category"), *Job.Category.choices], required=False)
    currency = forms.ChoiceField(choices=[("", "Any currency"), *CURRENCY_CHOICES], required=False)

    def _clean_budget(self, name: str) -> int | None:
        text = (self.cleaned_data.get(name) or "").strip()
        if not text:
            return None
        try:
            return parse_amount(text, currency=self.data.get("currency") or "USD")
        except AmountError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_budget_min(self) -> int | None:
        return self._clean_budget("budget_min")

    def clean_budget_max(self) -> int | None:
        return self._clean_budget("budget_max")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("budget_min"), cleaned.get("budget_max")
        if low is not None and high is not None and low > high:
            self.add_error("budget_max", "The upper budget must not be below the lower one.")
        return cleaned


class ProposalForm(forms.Form):
    cover_letter = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), help_text="What you will do, and why you are the right person."
    )


class ProposalMilestoneForm(forms.Form):
    title = SingleLineCharField(max_length=200)
    deliverables = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), help_text="Exactly what will be handed over."
    )
    amount = AmountField(maximum_setting="MILESTONE_MAX_AMOUNT_MINOR")
    due_date = FutureDateField(label="Due date")

    def __init__(self, *args: Any, currency: str = "USD", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["amount"].currency = currency  # type: ignore[attr-defined]

    def terms(self) -> ProposalMilestoneTerms:
        data = self.cleaned_data
        return ProposalMilestoneTerms(
            title=data["title"], deliverables=data["deliverables"], amount=data["amount"], due_date=data["due_date"]
        )


class BaseProposalMilestoneFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        maximum = settings.PROPOSAL_MAX_MILESTONES
        self.error_messages = {
            **self.error_messages,
            "too_few_forms": "Add at least one milestone.",
            "too_many_forms": f"A proposal has at most {maximum} milestones.",
        }

    def terms(self) -> list[ProposalMilestoneTerms]:
        """The filled-in rows in order; rows left completely empty are ignored."""
        return [form.terms() for form in self.forms if form.cleaned_data]


def proposal_milestone_formset(
    *, data: Any = None, initial: list[dict[str, Any]] | None = None, currency: str
) -> BaseProposalMilestoneFormSet:
    """The milestone rows of a proposal; the limit is read from settings each time."""
    formset_class = forms.formset_factory(
        ProposalMilestoneForm,
        formset=BaseProposalMilestoneFormSet,
        extra=0,
        min_num=1,
        max_num=settings.PROPOSAL_MAX_MILESTONES,
        validate_min=True,
        validate_max=True,
    )
    return formset_class(data=data, initial=initial, prefix="milestones", form_kwargs={"currency": currency})


class DeclineForm(forms.Form):
    message = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Message to the freelancer (optional)",
    )
