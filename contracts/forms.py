"""Forms for the contract page: messages, change requests, ending the contract."""

from typing import Any

from django import forms

from contracts.services import MESSAGE_MAX_LENGTH
from core.forms import AmountField, FutureDateField, OneTimeTokenForm, SingleLineCharField
from core.money import format_amount_plain
from milestones.models import Milestone
from milestones.terms import MilestoneTerms


class MessageForm(OneTimeTokenForm):
    body = forms.CharField(
        label="Message",
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Plain text; links become clickable.",
    )


class ChangeRequestForm(OneTimeTokenForm):
    """New terms for a milestone, or a new one. A funded milestone may change only amount and due date."""

    title = SingleLineCharField(max_length=200)
    deliverables = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Exactly what will be handed over."
    )
    amount = AmountField(maximum_setting="MILESTONE_MAX_AMOUNT_MINOR")
    due_date = FutureDateField(label="Due date")
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why (optional)",
        help_text="The other party sees this with the change.",
    )

    def __init__(self, *args: Any, currency: str, milestone: Milestone | None = None, **kwargs: Any) -> None:
        if milestone is not None:
            kwargs.setdefault(
                "initial",
                {
                    "title": milestone.title,
                    "deliverables": milestone.deliverables,
                    "amount": format_amount_plain(milestone.amount, milestone.currency),
                    "due_date": milestone.due_date,
                },
            )
        super().__init__(*args, **kwargs)
        self.milestone = milestone
        self.fields["amount"].currency = currency  # type: ignore[attr-defined]
        if milestone is not None:
            # Keeping a due date that has already passed is allowed; moving to another past date is not.
            self.fields["due_date"].unchanged = milestone.due_date  # type: ignore[attr-defined]
        if milestone is not None and not milestone.is_unfunded:
            # A change order: what is delivered stays; only the price and the date move.
            for name in ("title", "deliverables"):
                self.fields[name].disabled = True
                self.fields[name].help_text = "Funded milestones keep their title and deliverables."

    @property
    def is_change_order(self) -> bool:
        return self.fields["title"].disabled

    def terms(self) -> MilestoneTerms:
        # The calendar date as agreed; the services turn it into a moment in the contract's zone.
        data = self.cleaned_data
        return MilestoneTerms(
            title=data["title"], deliverables=data["deliverables"], amount=data["amount"], due_date=data["due_date"]
        )


class DecisionNoteForm(forms.Form):
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Note (optional)"
    )
