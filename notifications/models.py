"""Notices (one row per recipient), the record of every email sent for them, and each user's email preferences."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from notifications.kinds import kind_choices


class Notification(models.Model):
    """One thing one user was told, written in the transaction of the change it tells of."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40, choices=kind_choices)
    subject = models.TextField()
    body = models.TextField(blank=True)
    # An absolute URL (core.links.absolute_url) or a site path; `/notifications/<id>/open/` redirects there.
    link = models.CharField(max_length=2000, blank=True)
    # What it is about, e.g. ("milestone", 7): plain and indexed, no generic relation.
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The unread count (recipient, read_at IS NULL) and the list (recipient, newest first).
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx"),
            models.Index(fields=["object_type", "object_id"], name="notification_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.recipient_id}: {self.subject[:60]}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class EmailFrequency(models.TextChoices):
    IMMEDIATE = "immediate", "Email each notice as it happens"
    DAILY = "daily", "One daily digest email (payments and payouts are still emailed at once)"


class NotificationSettings(models.Model):
    """A user's choice between immediate emails and one daily digest; no row means immediate."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    email_frequency = models.CharField(max_length=16, choices=EmailFrequency.choices, default=EmailFrequency.IMMEDIATE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.email_frequency}"


class NotificationPreference(models.Model):
    """Whether one kind is emailed to one user; no row means yes. Money kinds ignore it (always emailed)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=40, choices=kind_choices)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {'email' if self.email else 'no email'}"


class NotificationDigest(models.Model):
    """One daily digest email sent to one user, covering the notices created up to `period_end`."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_digests")
    period_end = models.DateTimeField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-period_end"]
        indexes = [models.Index(fields=["user", "-period_end"], name="notification_digest_user_idx")]

    def __str__(self) -> str:
        return f"Digest for {self.user_id} up to {self.period_end:%Y-%m-%d %H:%M}"


class EmailDelivery(models.Model):
    """The record that a notice was emailed, alone or in a digest: at most one per notice, ever.

    Written in the same transaction as the send, under the notice's row lock, so a redelivered
    task or a second worker finds it and sends nothing.
    """

    notification = models.OneToOneField(Notification, on_delete=models.CASCADE, related_name="email_delivery")
    digest = models.ForeignKey(
        NotificationDigest, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "email deliveries"

    def __str__(self) -> str:
        return f"Email for notice {self.notification_id}" + (f" in digest {self.digest_id}" if self.digest_id else "")
