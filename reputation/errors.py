from core.errors import DomainError


class FeedbackError(DomainError):
    """Feedback can't be left: not a party, window closed, already left, or the ratings are out of range."""
