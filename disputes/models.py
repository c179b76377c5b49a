"""Money offers between the parties, and dispute cases with their statements, evidence and decision.

An `Offer` divides a milestone's escrow (before or during a dispute); accepting it fires the
milestone's `settle` transition. A `Dispute` is the case behind a milestone's `disputed` state:
the milestone and its open case always change in one transaction (`disputes.services`).
"""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models

from core.models import AuditEvent, StoredFile
from milestones.models import Milestone, MilestoneState


class DisputeReason(models.TextChoices):
    QUALITY = "quality", "Quality of the work"
    NOT_DELIVERED = "not_delivered", "Not delivered"
    SCOPE = "scope", "Scope: not what was agreed"
    COMMUNICATION = "communication", "Communication"
    OTHER = "other", "Other"


class DisputeStatus(models.TextChoices):
    # Waiting for the other party's first answer; `respond_by` runs.
    AWAITING_RESPONSE = "awaiting_response", "Awaiting response"
    # The other party answered; the parties talk, no offer is open.
    OPEN = "open", "Open"
    # An offer is open on the milestone.
    NEGOTIATING = "negotiating", "Negotiating"
    # Escalated by a party, or the respond-by deadline passed unanswered: an arbitrator decides.
    IN_ARBITRATION = "in_arbitration", "In arbitration"
    RESOLVED = "resolved", "Resolved"


class DisputeOutcome(models.TextChoices):
    RELEASED = "released", "Released to the freelancer"
    REFUNDED = "refunded", "Refunded to the client"
    SPLIT = "split", "Split"
    WITHDRAWN = "withdrawn", "Withdrawn"


# Not resolved yet: the milestone is disputed, statements, evidence and offers may be added.
OPEN_DISPUTE_STATUSES = (
    DisputeStatus.AWAITING_RESPONSE,
    DisputeStatus.OPEN,
    DisputeStatus.NEGOTIATING,
    DisputeStatus.IN_ARBITRATION,
)


class Dispute(models.Model):
    """One case per disputed milestone (at most one open at a time); the source of truth while disputed."""

    milestone = models.ForeignKey(Milestone, on_delete=models.PROTECT, related_name="dispute_cases")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Where withdrawing returns the milestone, and the review time it resumes with (None: no clock ran).
    from_state = models.CharField(max_length=12, choices=MilestoneState.choices)
    review_time_remaining = models.DurationField(null=True, blank=True)
    reason = models.CharField(max_length=20, choices=DisputeReason.choices)
    status = models.CharField(
        max_length=20, choices=DisputeStatus.choices, default=DisputeStatus.AWAITING_RESPONSE, db_index=True
    )
    outcome = models.CharField(max_length=12, choices=DisputeOutcome.choices, blank=True)
    # What the freelancer received (an accepted offer or the decision), minor units in the milestone's currency.
    freelancer_amount = models.BigIntegerField(null=True, blank=True)
    # The other party's deadline for a first answer; swept into arbitration, marked `no_response`.
    respond_by = models.DateTimeField(null=True, blank=True, db_index=True)
    no_response = models.BooleanField(default=False)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # The arbitration: who decided, what they wrote, and (above the four-eyes threshold) who approved it.
    # A decision waiting for its second arbitrator has `decided_at` set and the case still open.
    arbitrator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    second_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        permissions = [("arbitrate", "Can decide disputes (release, refund or split the escrow)")]
        constraints = [
            models.UniqueConstraint(
                fields=["milestone"], condition=models.Q(closed_at__isnull=True), name="dispute_one_open_per_milestone"
            ),
            models.CheckConstraint(
                condition=models.Q(freelancer_amount__isnull=True) | models.Q(freelancer_amount__gte=0),
                name="dispute_freelancer_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(closed_at__isnull=True, outcome="")
                | (models.Q(closed_at__isnull=False) & ~models.Q(outcome="")),
                name="dispute_closed_with_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"Dispute #{self.pk} on {self.milestone}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def in_arbitration(self) -> bool:
        return self.status == DisputeStatus.IN_ARBITRATION

    @property
    def awaits_response(self) -> bool:
        return self.status == DisputeStatus.AWAITING_RESPONSE

    @property
    def awaits_second_approval(self) -> bool:
        """An arbitrator decided above the four-eyes threshold; no money moves until another approves."""
        return self.is_open and self.decided_at is not None

    @property
    def client_amount(self) -> int | None:
        """What went back to the client, once the escrow was divided."""
        return None if self.freelancer_amount is None else self.milestone.amount - self.freelancer_amount

    @property
    def was_withdrawn(self) -> bool:
        return self.outcome == DisputeOutcome.WITHDRAWN

    @property
    def decided_by_arbitration(self) -> bool:
        return not self.is_open and self.arbitrator_id is not None and self.outcome != DisputeOutcome.WITHDRAWN

    @property
    def status_label(self) -> str:
        return DisputeStatus(self.status).label

    @property
    def reason_label(self) -> str:
        return DisputeReason(self.reason).label


class DisputeAction(models.TextChoices):
    """What a case's timeline records."""

    OPEN = "open", "opened the dispute"
    STATEMENT = "statement", "added a statement"
    ESCALATE = "escalate", "escalated the case to arbitration"
    NO_RESPONSE = "no_response", "moved the case to arbitration: no response by the deadline"
    OFFER_MADE = "offer_made", "made an offer"
    OFFER_ACCEPTED = "offer_accepted", "accepted the offer"
    OFFER_DECLINED = "offer_declined", "declined the offer"
    OFFER_COUNTERED = "offer_countered", "countered the offer"
    OFFER_WITHDRAWN = "offer_withdrawn", "withdrew the offer"
    OFFER_EXPIRED = "offer_expired", "the offer expired"
    DECISION_PROPOSED = "decision_proposed", "decided; a second arbitrator must approve"
    DECIDED = "decided", "decided the case"
    WITHDRAW = "withdraw", "withdrew the dispute"


class DisputeEvent(AuditEvent):
    """The case's timeline: every step with who and when."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=20, choices=DisputeAction.choices)
    # The form's one-time token, so a replayed POST is refused, not repeated.
    idempotency_key = models.CharField(max_length=120, unique=True, null=True, blank=True)

    class Meta(AuditEvent.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.action} on dispute #{self.dispute_id}"

    @property
    def action_label(self) -> str:
        return DisputeAction(self.action).label


class Statement(models.Model):
    """What a party puts before the other party and the arbitrator: text, with any evidence files."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="statements")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Statement by {self.author} on dispute #{self.dispute_id}"


def evidence_storage_name(instance: "EvidenceFile", filename: str) -> str:
    """A random name on disk, as for deliverables; the uploader's name is display text only."""
    extension = PurePosixPath(filename).suffix.lower()
    return f"evidence/{instance.statement.dispute_id}/{uuid.uuid4().hex}{extension}"


class EvidenceFile(StoredFile):
    """A file attached to a statement, under the deliverables' rules (allow-list, size cap)."""

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="files")
    file = models.FileField(upload_to=evidence_storage_name, max_length=255)

    class Meta(StoredFile.Meta):
        constraints = [models.CheckConstraint(condition=models.Q(size__gte=0), name="evidence_size_not_negative")]


class OfferStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    COUNTERED = "countered", "Countered"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Offer(models.Model):
    """A proposal to divide a milestone's escrow: this much to the freelancer, the rest back to the client."""

    milestone = models.ForeignKey(Milestone, on_delete=models.PROTECT, related_name="offers")
    # The case it was made in, if the milestone was disputed at the time.
    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, null=True, blank=True, related_name="offers")
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    freelancer_amount = models.BigIntegerField(help_text="Minor units in the milestone's currency.")
    message = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=OfferStatus.choices, default=OfferStatus.OPEN, db_index=True)
    expires_at = models.DateTimeField(db_index=True)
    # The offer this one answers with a counter-offer.
    counter_to = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="countered_by"
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    form_token = models.CharField(max_length=120, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["milestone"], condition=models.Q(status="open"), name="offer_one_open_per_milestone"
            ),
            models.CheckConstraint(condition=models.Q(freelancer_amount__gte=0), name="offer_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Offer #{self.pk} on {self.milestone}"

    @property
    def is_open(self) -> bool:
        return self.status == OfferStatus.OPEN

    @property
    def client_amount(self) -> int:
        return self.milestone.amount - self.freelancer_amount

    @property
    def status_label(self) -> str:
        return OfferStatus(self.status).label
