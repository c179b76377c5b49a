"""Factories for accounts: verified users, clients, freelancers; staff with an authenticator app."""

from typing import Any

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from users.models import User

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Faker("name")
    is_client = True
    is_freelancer = False

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: Any) -> None:
        obj.set_password(extracted or TEST_PASSWORD)
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def verified(obj: User, create: bool, extracted: bool | None, **kwargs: Any) -> None:
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)

    @factory.post_generation
    def totp(obj: User, create: bool, extracted: bool | None, **kwargs: Any) -> None:
        """Staff must have an authenticator app to open admin (users.middleware); factory staff have one.

        `UserFactory(is_staff=True, totp=False)` makes a staff member who has not set it up yet.
        """
        if create and (obj.is_staff if extracted is None else extracted):
            TOTP.activate(obj, generate_totp_secret())


class ClientFactory(UserFactory):
    is_client = True
    is_freelancer = False


class FreelancerFactory(UserFactory):
    is_client = False
    is_freelancer = True
