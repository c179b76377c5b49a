"""Periodic housekeeping for the marketplace app."""

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone


@shared_task
def sessions_clear_expired() -> int:
    """Delete expired sessions; idempotent, so overlapping runs are harmless."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
