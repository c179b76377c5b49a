"""Proposals: a freelancer's answer to a job, broken into milestones."""

from django.conf import settings
from django.db import models


class Proposal(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    LIVE_STATUSES = (Status.SUBMITTED, Status.ACCEPTED)

    job = models.ForeignKey("marketplace.Job", on_delete=models.PROTECT, related_name="proposals")
    freelancer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposals_sent")
    cover_letter = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SUBMITTED, db_index=True)
    decline_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One live proposal per freelancer per job, held by the database.
            models.UniqueConstraint(
                fields=["job", "freelancer"],
                condition=models.Q(status__in=["submitted", "accepted"]),
                name="proposal_one_live_per_freelancer_job",
            ),
        ]

    def __str__(self) -> str:
        return f"Proposal #{self.pk} on {self.job}"

    @property
    def is_waiting(self) -> bool:
        """Sent and not yet decided: the client may accept or decline, the freelancer edit or withdraw."""
        return self.status == self.Status.SUBMITTED

    @property
    def is_accepted(self) -> bool:
        return self.status == self.Status.ACCEPTED

    @property
    def is_declined(self) -> bool:
        return self.status == self.Status.DECLINED


class ProposalMilestone(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="milestones")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    deliverables = models.TextField(help_text="Exactly what will be handed over.")
    amount = models.BigIntegerField(help_text="Minor units, in the job's currency.")
    due_date = models.DateField()

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="proposal_milestone_amount_positive"),
            models.UniqueConstraint(fields=["proposal", "position"], name="proposal_milestone_position_unique"),
        ]

    def __str__(self) -> str:
        return self.title
