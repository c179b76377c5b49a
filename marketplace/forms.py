"""Forms for jobs, proposals and their milestone rows."""

from typing import Any

from django import forms
from django.conf import settings

from core.forms import AmountField, FutureDateField, OneTimeTokenForm, SingleLineCharField
from core.money import CURRENCY_CHOICES, CURRENCY_EXPONENTS, AmountError, parse_amount
from marketplace.models import Job
from marketplace.services import JOB_MAX_SKILLS, ProposalMilestoneTerms
from users.models import Skill


class JobForm(OneTimeTokenForm):
    title = SingleLineCharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), help_text="What you need, in detail.")
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, initial="USD")
    budget = AmountField(maximum_setting="JOB_MAX_BUDGET_MINOR", help_text="For example 2,500 or 2500.00.")
    category = forms.ChoiceField(choices=[("", "No category"), *Job.Category.choices], required=False)
    deadline = FutureDateField(required=False, help_text="Optional: when the whole job should be done.")
    skills = forms.ModelMultipleChoiceField(
        queryset=Skill.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=f"Optional, up to {JOB_MAX_SKILLS}: freelancers filter jobs by skill.",
    )

    field_order = ["title", "description", "currency", "budget", "category", "skills", "deadline", "form_token"]

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
    skill = forms.ModelChoiceField(queryset=Skill.objects.all(), required=False, empty_label="Any skill")

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
        self.error_messages: dict[str, str] = {
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
    formset = formset_class(data=data, initial=initial, prefix="milestones", form_kwargs={"currency": currency})
    assert isinstance(formset, BaseProposalMilestoneFormSet)
    return formset


class DeclineForm(forms.Form):
    message = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Message to the freelancer (optional)",
    )
