"""Forms for the milestone actions. Each carries the one-time `form_token` (core.forms.OneTimeTokenForm)."""

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet

from core.forms import OneTimeTokenForm
from core.money import AmountError, parse_amount
from milestones.models import Milestone
from payments.forms import CardNumberInput

TEST_CARD_HELP = "Test mode: 4242 4242 4242 4242 succeeds; no real card is charged."


class ActionForm(OneTimeTokenForm):
    """A milestone action: its token makes a double click, a second tab or a retry count once.

    Here the token is required: an action posted without one is refused, not run unguarded.
    """

    form_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, milestone: Milestone | None = None, **kwargs: Any) -> None:
        self.milestone = milestone
        kwargs.setdefault("initial", {}).setdefault("form_token", uuid.uuid4())
        super().__init__(*args, **kwargs)

    @property
    def idempotency_key(self) -> str:
        """The token as the services take it; they store it on the audit row they write."""
        return str(self.cleaned_data["form_token"])

    def _amount(self, field: str, *, required: bool, maximum: int | None = None) -> int | None:
        text = (self.cleaned_data.get(field) or "").strip()
        if not text:
            if required:
                raise forms.ValidationError("Enter an amount.")
            return None
        currency = self.milestone.currency if self.milestone else "USD"
        try:
            return parse_amount(text, currency=currency, maximum=maximum)
        except AmountError as error:
            raise forms.ValidationError(str(error)) from error


class NoteForm(ActionForm):
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class RequiredNoteForm(ActionForm):
    note = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class FundForm(ActionForm):
    card_number = forms.CharField(
        label="Card number for the shortfall",
        required=False,
        max_length=23,
        help_text=TEST_CARD_HELP,
        widget=CardNumberInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )

    def clean_card_number(self) -> str:
        return "".join((self.cleaned_data.get("card_number") or "").split())


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented recipe)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple) and data:
            return [single(item, initial) for item in data]
        cleaned = single(data or None, initial)
        return [cleaned] if cleaned else []


class SubmitForm(ActionForm):
    message = forms.CharField(label="Message to the client", widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
    # Declared fields are popped from the class, so this does not shadow Form.files at runtime.
    files = MultipleFileField(label="Files")  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        extensions = sorted(settings.DELIVERABLE_ALLOWED_EXTENSIONS)
        mb = settings.DELIVERABLE_MAX_BYTES / (1024 * 1024)
        total_mb = settings.DELIVERABLE_MAX_REQUEST_BYTES / (1024 * 1024)
        self.fields["files"].help_text = (
            f"One or more files, up to {mb:g} MB each and {total_mb:g} MB in all. Accepted: {', '.join(extensions)}. "
            "Each file's size and SHA-256 are recorded as proof of delivery."
        )
        self.fields["files"].widget.attrs["accept"] = ",".join(f".{ext}" for ext in extensions)


class ReleaseForm(ActionForm):
    bonus = forms.CharField(label="Bonus (optional)", required=False, max_length=20)
    # The fund form's test-card field: it pays only what the balance lacks for the bonus.
    card_number = FundForm.base_fields["card_number"]
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["card_number"].label = "Card number for a bonus shortfall (optional)"

    def clean_bonus(self) -> int:
        return self._amount("bonus", required=False) or 0

    def clean_card_number(self) -> str:
        return "".join((self.cleaned_data.get("card_number") or "").split())


class FundManyForm(ActionForm):
    milestones = forms.ModelMultipleChoiceField(
        queryset=Milestone.objects.none(), widget=forms.CheckboxSelectMultiple, label="Milestones to fund"
    )
    card_number = FundForm.base_fields["card_number"]

    def __init__(self, *args: Any, fundable: QuerySet[Milestone] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        chooser = self.fields["milestones"]
        assert isinstance(chooser, forms.ModelMultipleChoiceField)
        if fundable is not None:
            chooser.queryset = fundable
        self.fields["milestones"].error_messages["invalid_choice"] = (
            "One of the chosen milestones can no longer be funded; the list below is current."
        )

    def clean_card_number(self) -> str:
        return "".join((self.cleaned_data.get("card_number") or "").split())
