"""Contracts: an accepted proposal between one client and one freelancer."""

from django.conf import settings
from django.db import models

from payments.money import CURRENCY_CHOICES


class Contract(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    # One contract per job and per proposal: two accepts at once cannot both insert.
    job = models.OneToOneField("marketplace.Job", on_delete=models.PROTECT, related_name="contract")
    proposal = models.OneToOneField("marketplace.Proposal", on_delete=models.PROTECT, related_name="contract")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contracts_as_client")
    freelancer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contracts_as_freelancer"
    )
    title = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(client=models.F("freelancer")), name="contract_parties_differ"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_party(self, user: object) -> bool:
        return getattr(user, "pk", None) in (self.client_id, self.freelancer_id)
