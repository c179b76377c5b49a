"""Reads about users."""

from users.models import SYSTEM_ACTOR_EMAIL, User


def user_system_actor() -> User:
    """The account that timers and settlements act as; it cannot log in."""
    user, _ = User.objects.get_or_create(
        email=SYSTEM_ACTOR_EMAIL,
        defaults={"display_name": "Milestone (system)", "is_active": False, "is_client": False},
    )
    return user
