"""Abstract models every app shares. No tables of their own."""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One audit row: who did it, when, and what they said. Subclasses add the object and a typed `action`."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        abstract = True
        ordering = ["at", "pk"]
