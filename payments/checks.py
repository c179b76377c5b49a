"""`manage.py check --deploy`: the app must not log in as a role that can switch the ledger's guards off."""

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register
from django.db import DatabaseError

from payments.database_roles import database_role_problems_of

HINT = 'Point DATABASE_URL at the application role; migrations run as the owner (README "Database roles").'


@register(Tags.security, deploy=True)
def database_role_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        problems = database_role_problems_of()
    except DatabaseError as error:
        return [Error(f"Could not check the database role: {error}", hint=HINT, id="payments.E002")]
    return [Error(problem, hint=HINT, id="payments.E001") for problem in problems]
