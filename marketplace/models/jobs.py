"""Jobs: what a client needs done, with a budget."""

from django.conf import settings
from django.db import models

from core.models import AuditEvent
from core.money import CURRENCY_CHOICES


class Job(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open for proposals"
        CLOSED = "closed", "Closed"

    class Category(models.TextChoices):
        DEVELOPMENT = "development", "Development"
        DESIGN = "design", "Design"
        WRITING = "writing", "Writing and translation"
        MARKETING = "marketing", "Marketing"
        DATA = "data", "Data and analytics"
        OTHER = "other", "Other"

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs_posted")
    title = models.CharField(max_length=200)
    description = models.TextField()
    category = models.CharField(max_length=20, choices=Category.choices, blank=True)
    budget = models.BigIntegerField(help_text="Budget in minor units (cents).")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="USD")
    deadline = models.DateField(null=True, blank=True)
    # From the shared skill list (users.Skill): freelancers who list one find the job by it.
    skills = models.ManyToManyField("users.Skill", blank=True, related_name="jobs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The form's one-time token: a double click or a replayed POST posts the job once.
    form_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=models.Q(budget__gt=0), name="job_budget_positive")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        """Open for proposals: not hired for and not closed by the client."""
        return self.status == self.Status.OPEN


class JobEvent(AuditEvent):
    """The audit trail of a job and its proposals: who did what, when."""

    class Action(models.TextChoices):
        POSTED = "posted", "posted the job"
        CLOSED = "closed", "closed the job"
        PROPOSAL_SUBMITTED = "proposal_submitted", "submitted a proposal"
        PROPOSAL_EDITED = "proposal_edited", "edited a proposal"
        PROPOSAL_WITHDRAWN = "proposal_withdrawn", "withdrew a proposal"
        PROPOSAL_DECLINED = "proposal_declined", "declined a proposal"
        PROPOSAL_ACCEPTED = "proposal_accepted", "accepted a proposal"

    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="events")
    proposal = models.ForeignKey(
        "marketplace.Proposal", on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    action = models.CharField(max_length=24, choices=Action.choices)

    class Meta(AuditEvent.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.actor} {self.get_action_display()}"
