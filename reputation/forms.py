"""The feedback form: a 1 to 5 rating per named criterion, a public comment, and the private question."""

from typing import Any

from django import forms

from reputation.models import RATING_CHOICES, Criterion
from reputation.services import COMMENT_MAX_LENGTH

WOULD_WORK_AGAIN_CHOICES = [("yes", "Yes"), ("no", "No")]


class FeedbackForm(forms.Form):
    comment = forms.CharField(
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Public comment",
        help_text="Shown on their profile with your ratings, once both of you have left feedback or the time is up.",
    )
    would_work_again = forms.ChoiceField(
        choices=WOULD_WORK_AGAIN_CHOICES,
        widget=forms.RadioSelect,
        label="Would you work with them again?",
        help_text="Private: it only counts towards an overall share, never shown for this contract.",
    )

    def __init__(self, *args: Any, criteria: tuple[Criterion, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        rating_fields = {
            criterion.field: forms.TypedChoiceField(
                choices=RATING_CHOICES,
                coerce=int,
                widget=forms.RadioSelect,
                label=criterion.label,
                help_text=f"{criterion.question} 1 is poor, 5 is excellent.",
            )
            for criterion in criteria
        }
        self.fields = {**rating_fields, **self.fields}

    def ratings(self) -> dict[str, int]:
        return {criterion.field: self.cleaned_data[criterion.field] for criterion in self.criteria}

    def would_work_again_answer(self) -> bool:
        return self.cleaned_data["would_work_again"] == "yes"
