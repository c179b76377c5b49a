"""The one base of every domain error: views, admin actions and tasks catch this type alone."""


class DomainError(Exception):
    """An action was refused and nothing changed; the message is safe to show to the user."""
