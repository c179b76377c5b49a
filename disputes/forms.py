"""Forms for offers and disputes. Each carries the milestone forms' required one-time token."""

from typing import Any

from django import forms
from django.conf import settings

from core.humanize import duration_for_people
from core.money import format_money
from disputes.models import DisputeReason
from milestones.forms import ActionForm, MultipleFileField


def _evidence_help() -> str:
    extensions = ", ".join(sorted(settings.DELIVERABLE_ALLOWED_EXTENSIONS))
    mb = settings.DELIVERABLE_MAX_BYTES / (1024 * 1024)
    return (
        f"Optional. Up to {mb:g} MB each. Accepted: {extensions}. Each file is stored privately with its SHA-256, "
        "so the record can be checked later."
    )


class EvidenceFormMixin(forms.Form):
    # Declared fields are popped from the class, so this does not shadow Form.files at runtime.
    files = MultipleFileField(label="Evidence files", required=False)  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["files"].help_text = _evidence_help()
        self.fields["files"].widget.attrs["accept"] = ",".join(
            f".{ext}" for ext in sorted(settings.DELIVERABLE_ALLOWED_EXTENSIONS)
        )


class DisputeOpenForm(EvidenceFormMixin, ActionForm):
    reason = forms.ChoiceField(label="What is the dispute about?", choices=DisputeReason.choices)
    statement = forms.CharField(
        label="Your statement",
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=10_000,
        help_text="What went wrong, and what you want to happen. The other party and any arbitrator read it.",
    )
    field_order = ["reason", "statement", "files"]


class StatementForm(EvidenceFormMixin, ActionForm):
    text = forms.CharField(
        label="Statement", required=False, widget=forms.Textarea(attrs={"rows": 4}), max_length=10_000
    )
    field_order = ["text", "files"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not (cleaned.get("text") or "").strip() and not cleaned.get("files"):
            raise forms.ValidationError("Write a statement or attach at least one file.")
        return cleaned


class OfferForm(ActionForm):
    freelancer_amount = forms.CharField(
        label="To the freelancer", max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    message = forms.CharField(
        label="Message", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.milestone is not None:
            escrow = format_money(self.milestone.amount, self.milestone.currency)
            self.fields["freelancer_amount"].label = f"To the freelancer, in {self.milestone.currency}"
            self.fields["freelancer_amount"].help_text = (
                f"From 0 to {escrow}; the rest goes back to the client. 0 refunds everything. "
                f"The offer expires after {duration_for_people(settings.OFFER_EXPIRY_PERIOD)}."
            )

    def clean_freelancer_amount(self) -> int:
        text = (self.cleaned_data.get("freelancer_amount") or "").strip()
        if text in {"0", "0.0", "0.00"}:
            return 0
        amount = self._amount(
            "freelancer_amount", required=True, maximum=self.milestone.amount if self.milestone else None
        )
        assert amount is not None  # required: a missing amount raised above
        return amount


class NoteForm(ActionForm):
    note = forms.CharField(
        label="Note (optional)", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )


class ConfirmForm(ActionForm):
    """Only the token: accepting an offer needs nothing else."""


class DecisionForm(forms.Form):
    """The arbitration desk's intermediate form: the decision text, and the freelancer's amount for a split."""

    freelancer_amount = forms.CharField(label="To the freelancer", max_length=20, required=False)
    decision = forms.CharField(
        label="Decision (both parties read it)", widget=forms.Textarea(attrs={"rows": 6}), max_length=10_000
    )
