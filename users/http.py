"""Request types for views: behind `login_required`, `request.user` is a real account."""

from django.http import HttpRequest

from users.models import User


class AuthenticatedRequest(HttpRequest):
    """The request of a view behind `login_required` (annotation only; Django builds the object)."""

    user: User
