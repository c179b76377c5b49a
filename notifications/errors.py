"""Refusals of the notifications app; the message is safe to show."""

from core.errors import DomainError


class NotificationError(DomainError):
    """A notifications action was refused and nothing changed."""
