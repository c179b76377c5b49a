"""Jobs: what a client needs done, with a budget."""

from django.conf import settings
from django.db import models

from payments.money import CURRENCY_CHOICES


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
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=models.Q(budget__gt=0), name="job_budget_positive")]

    def __str__(self) -> str:
        return self.title
