"""Load demo data; safe to run again (everything is looked up before it is created).

It lives in the top app (disputes) because it seeds every layer: users, balances, the marketplace
and contracts, milestones in every state, and disputes in every status.
"""

from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import override_settings

from contracts.demo import (
    demo_disputes_contract,
    demo_every_state_contract,
    demo_marketplace_ensure,
    demo_reputation_ensure,
)
from disputes.demo import demo_disputes_ensure
from milestones.demo import demo_milestones_ensure
from payments.demo import demo_balances_ensure
from users.models import User

DEMO_PASSWORD = "milestone-demo"  # noqa: S105 - printed on purpose: local demo logins only

DEMO_USERS: list[dict[str, Any]] = [
    {"email": "admin@example.com", "display_name": "Ada Admin", "is_staff": True, "is_superuser": True},
    {"email": "client1@example.com", "display_name": "Carla Client", "is_client": True},
    {"email": "client2@example.com", "display_name": "Cyrus Client", "is_client": True, "timezone": "America/New_York"},
    {"email": "freelancer1@example.com", "display_name": "Fay Freelancer", "is_freelancer": True, "is_client": False},
    {
        "email": "freelancer2@example.com",
        "display_name": "Femi Freelancer",
        "is_freelancer": True,
        "is_client": False,
        "timezone": "Europe/Berlin",
    },
    {
        "email": "freelancer3@example.com",
        "display_name": "Frida Both",
        "is_freelancer": True,
        "is_client": True,
        "timezone": "Asia/Tokyo",
    },
]


def demo_users_ensure() -> dict[str, User]:
    users: dict[str, User] = {}
    for spec in DEMO_USERS:
        fields = {k: v for k, v in spec.items() if k != "email"}
        user, created = User.objects.get_or_create(email=spec["email"], defaults=fields)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
        users[spec["email"].split("@")[0]] = user
    return users


class Command(BaseCommand):
    help = "Create demo users (and, as the apps grow, jobs, proposals and contracts). Idempotent."

    def _seed(self) -> None:
        with transaction.atomic():
            users = demo_users_ensure()
            # Each demo client starts with 5,000.00 on their balance, deposited through the ledger once.
            demo_balances_ensure(users=users)
            # Jobs, proposals (open, declined, withdrawn, accepted) and contracts, through the services.
            demo_marketplace_ensure(users=users)
        # A contract with a milestone in every state, moved there through the services.
        every_state = demo_milestones_ensure(contract=demo_every_state_contract(users=users))
        # A dispute in each status: waiting for an answer, answered, negotiating, in arbitration, resolved.
        demo_disputes_ensure(
            every_state=every_state, disputes=demo_disputes_contract(users=users), arbitrator=users["admin"]
        )
        # Profiles, finished contracts and their feedback (published, and one still hidden).
        demo_reputation_ensure(users=users)

    def handle(self, *args: Any, **options: Any) -> None:
        # The demo's notification emails would bury the logins below; nobody reads them.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            self._seed()
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Log in at http://127.0.0.1:8000/accounts/login/"))
        for spec in DEMO_USERS:
            roles = (
                "admin"
                if spec.get("is_staff")
                else ", ".join(
                    role
                    for role, flag in (
                        ("client", spec.get("is_client", True)),
                        ("freelancer", spec.get("is_freelancer")),
                    )
                    if flag
                )
            )
            self.stdout.write(f"  {spec['email']:<26} password: {DEMO_PASSWORD}   ({roles})")
