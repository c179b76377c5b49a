"""The custom user: email is the login; one account can act as client, freelancer, or both."""

import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models, transaction
from django.db.models.functions import Lower

# The actor recorded when a timer or an accepted settlement changes something.
SYSTEM_ACTOR_EMAIL = "system@milestone.invalid"

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name or name == "UTC"]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        """The `createsuperuser` command's path: email and password are enough.

        The display name defaults to the part of the address before the @, and the address is
        recorded as verified and primary, so the new superuser can log in (verification is
        mandatory) and go on to set up two-factor authentication for admin.
        """
        from allauth.account.models import EmailAddress  # allauth's models load after ours

        extra.update(is_staff=True, is_superuser=True)
        if not extra.get("display_name"):
            extra["display_name"] = self.normalize_email(email).split("@")[0] if email else ""
        with transaction.atomic(using=self._db):
            user = self._create_user(email, password, **extra)
            EmailAddress.objects.using(self._db).update_or_create(
                user=user, email=user.email, defaults={"verified": True, "primary": True}
            )
        return user


PORTFOLIO_MAX_LINKS = 5


class Skill(models.Model):
    """One entry of the shared skill list: freelancers choose theirs from it, jobs ask for some of it.

    A starter list comes with migration 0004; staff keep the list in admin.
    """

    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(max_length=80, help_text="Shown to the people you work with.")
    timezone = models.CharField(max_length=64, choices=TIMEZONE_CHOICES, default="UTC")
    is_client = models.BooleanField("acts as client", default=True)
    is_freelancer = models.BooleanField("acts as freelancer", default=False)
    # The public profile (/freelancers/<id>/, /clients/<id>/); the record beside it is computed, never typed.
    headline = models.CharField(max_length=120, blank=True, help_text="One line: what you do best.")
    bio = models.TextField(blank=True, help_text="A few paragraphs about your work and experience.")
    skills = models.ManyToManyField(Skill, blank=True, related_name="users")
    # One address per line, at most PORTFOLIO_MAX_LINKS; checked by the profile form.
    portfolio_links = models.TextField(blank=True)
    show_total_earned = models.BooleanField(
        "show my total earned on my profile",
        default=True,
        help_text="Your other figures are always shown; only the amount can be hidden.",
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    # createsuperuser asks for the email and password only; the display name defaults (see the manager).
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def is_system_actor(self) -> bool:
        return self.email == SYSTEM_ACTOR_EMAIL

    @property
    def portfolio_urls(self) -> list[str]:
        return [line.strip() for line in self.portfolio_links.splitlines() if line.strip()]

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name
