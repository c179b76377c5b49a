"""`manage.py db_roles_create`: the owner and application roles, and the database owned by the owner."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.database_roles import DatabaseLogin, database_roles_create


class Command(BaseCommand):
    help = (
        "Create the database owner role (MIGRATION_DATABASE_URL), the application role (DATABASE_URL) and the "
        "database, owned by the owner, connecting with a superuser's login (--superuser-url or "
        "DATABASE_SUPERUSER_URL). Safe to run again; then run `migrate --database owner`."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--superuser-url",
            default=settings.DATABASE_SUPERUSER_URL,
            help="postgres://user:password@host:port/postgres of a superuser (default: DATABASE_SUPERUSER_URL)",
        )

    def handle(self, *args: Any, superuser_url: str, **options: Any) -> None:
        app = settings.DATABASES["default"]
        owner = settings.DATABASES.get(settings.MIGRATION_DATABASE_ALIAS)
        if not app["ENGINE"].endswith("postgresql") or owner is None:
            raise CommandError("Set DATABASE_URL and MIGRATION_DATABASE_URL to PostgreSQL URLs of the same database.")
        if not superuser_url:
            raise CommandError("Give a superuser's login with --superuser-url or DATABASE_SUPERUSER_URL.")
        try:
            database_roles_create(
                superuser_dsn=superuser_url,
                database=app["NAME"],
                owner=DatabaseLogin(role=owner["USER"], password=owner["PASSWORD"]),
                app=DatabaseLogin(role=app["USER"], password=app["PASSWORD"]),
            )
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Database {app['NAME']} is owned by {owner['USER']}; the app logs in as {app['USER']}. "
                "Now run `manage.py migrate --database owner`."
            )
        )
