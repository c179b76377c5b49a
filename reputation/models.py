"""Double-blind feedback after a contract ends.

When a contract ends, a `FeedbackWindow` opens for it. Each party may leave one `Feedback` about
the other while it is open. Nobody reads any of it until the window is published: the moment the
second party submits, or when the window closes (swept by beat). Both are published together and
never change afterwards. `would_work_again` is private: it only feeds aggregate numbers.

The contract is referenced by a string foreign key: reputation sits below contracts and
marketplace in the import layers, so those apps can show records and feedback.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import models


class SubjectRole(models.TextChoices):
    """Whom a feedback is about: the contract's freelancer (written by the client) or its client."""

    FREELANCER = "freelancer", "Freelancer"
    CLIENT = "client", "Client"


@dataclass(frozen=True)
class Criterion:
    field: str
    label: str
    question: str


# The named criteria, per whom the feedback is about; the three rating columns are shared.
CRITERIA: dict[str, tuple[Criterion, ...]] = {
    SubjectRole.FREELANCER: (
        Criterion("quality", "Quality of work", "How good was the work that was delivered?"),
        Criterion("communication", "Communication", "How clear and responsive were they?"),
        Criterion("reliability", "Meeting deadlines", "Did they deliver when they said they would?"),
    ),
    SubjectRole.CLIENT: (
        Criterion("quality", "Clarity of the brief", "How clear were the requirements and the feedback on the work?"),
        Criterion("communication", "Communication", "How clear and responsive were they?"),
        Criterion("reliability", "Paying promptly", "Did they fund and release payment promptly and fairly?"),
    ),
}
RATING_FIELDS = ("quality", "communication", "reliability")
RATING_CHOICES = [(value, str(value)) for value in range(1, 6)]


class FeedbackWindow(models.Model):
    """The time after a contract ended in which its parties may leave feedback; published once."""

    contract = models.OneToOneField("contracts.Contract", on_delete=models.PROTECT, related_name="feedback_window")
    opened_at = models.DateTimeField()
    closes_at = models.DateTimeField(db_index=True)
    # Set once, when both feedbacks are in or the window closed: from then on both are public, together.
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opened_at")), name="feedback_window_order"
            ),
        ]

    def __str__(self) -> str:
        return f"Feedback window of contract #{self.contract_id}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class Feedback(models.Model):
    """One party's feedback about the other; written once, public only once its window is published."""

    window = models.ForeignKey(FeedbackWindow, on_delete=models.PROTECT, related_name="feedback")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="feedback_given")
    subject = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="feedback_received")
    subject_role = models.CharField(max_length=10, choices=SubjectRole.choices)
    quality = models.PositiveSmallIntegerField(choices=RATING_CHOICES)
    communication = models.PositiveSmallIntegerField(choices=RATING_CHOICES)
    reliability = models.PositiveSmallIntegerField(choices=RATING_CHOICES)
    comment = models.TextField(help_text="Public, shown on the other party's profile once published.")
    # Private: only ever counted into aggregates (and only above a minimum number of answers).
    would_work_again = models.BooleanField()
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["window", "author"], name="feedback_once_per_party"),
            models.CheckConstraint(condition=~models.Q(author=models.F("subject")), name="feedback_not_about_self"),
            *(
                models.CheckConstraint(
                    condition=models.Q(**{f"{field}__gte": 1, f"{field}__lte": 5}), name=f"feedback_{field}_1_to_5"
                )
                for field in RATING_FIELDS
            ),
        ]
        indexes = [models.Index(fields=["subject", "subject_role", "submitted_at"], name="feedback_subject_idx")]

    def __str__(self) -> str:
        return f"Feedback by {self.author} about {self.subject}"

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        return CRITERIA[self.subject_role]

    @property
    def ratings(self) -> list[tuple[str, int]]:
        return [(criterion.label, getattr(self, criterion.field)) for criterion in self.criteria]
