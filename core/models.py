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


class StoredFile(models.Model):
    """A private uploaded file: stored under a random name, with its size and SHA-256 as proof.

    Subclasses add what the file belongs to and redeclare `file` with their own `upload_to`.
    """

    file = models.FileField(max_length=255)
    original_name = models.CharField(max_length=255, help_text="The uploader's file name, shown only as text.")
    size = models.BigIntegerField(help_text="Bytes.")
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.original_name
