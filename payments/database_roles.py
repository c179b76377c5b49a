"""Two PostgreSQL roles hold the ledger's guards (README "Database roles").

The owner role owns the tables and runs the migrations. The application role, which serves requests
and runs the workers, owns nothing: the owner of a table (and any superuser) can `ALTER TABLE ...
DISABLE TRIGGER`, `DROP TRIGGER` or `TRUNCATE` it, which would switch the ledger's guards off. So the
application role may only read and add to the ledger tables; elsewhere it has the usual reads and
writes. It may create no object at all, not even a temporary one, since a trigger of its own
(pg_trigger_depth() > 1) could write a balance row as if it were the entry trigger.

- `database_roles_create` (the `db_roles_create` command, run with a superuser's login) creates both
  roles and the database, owned by the owner role;
- `database_app_role_grant` runs as the owner after every `migrate --database owner` (a post_migrate
  handler), so tables added by later migrations are covered; default privileges give a new table only
  reads and inserts until then;
- `database_role_problems` tells what is wrong with the role a connection logged in as; the app
  refuses to start with it (`database_role_refuse_privileged`, called by WSGI, ASGI and Celery when
  DEBUG is off) and `check --deploy` reports it as an error.
"""

from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.recorder import MigrationRecorder
from psycopg import sql

from payments.ledger.models import Balance

# The privileges that would let a role rewrite or erase the ledger, or switch its triggers off.
LEDGER_FORBIDDEN_PRIVILEGES = ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER")


class Cursor(Protocol):
    """What the role functions need of a cursor: Django's and psycopg's both fit."""

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...

    def fetchall(self) -> list[Any]: ...


@dataclass(frozen=True)
class DatabaseLogin:
    """A role's name and password (empty when the server trusts the connection)."""

    role: str
    password: str = ""


def ledger_tables() -> list[str]:
    """Every table of the ledger core (payments.ledger), present and future."""
    return sorted(model._meta.db_table for model in apps.get_app_config("ledger").get_models())


def _balance_amount_column() -> str:
    return str(Balance._meta.get_field("amount").column)


def database_app_role_grant(*, cursor: Cursor, app_role: str) -> None:
    """Give the application role exactly what it needs; run as the owner of the tables.

    Idempotent: everything is revoked first, then granted again, in one transaction (the caller's).
    The one UPDATE on a ledger table is the balance's amount column: the entry trigger runs as the
    role that inserts the entry, and locking a row FOR UPDATE needs it; a direct UPDATE is refused by
    the balance guard trigger.
    """
    role = sql.Identifier(app_role)
    ledger = sql.SQL(", ").join(sql.Identifier(table) for table in ledger_tables())
    migrations_table = sql.Identifier(MigrationRecorder.Migration._meta.db_table)
    statements = [
        # No object of its own, anywhere: not in the schema and not as a temporary table.
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        "REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC, {role}",
        "GRANT CONNECT ON DATABASE {database} TO {role}",
        "GRANT USAGE ON SCHEMA public TO {role}",
        "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        "REVOKE UPDATE, DELETE ON {ledger} FROM {role}",
        "GRANT UPDATE ({amount}) ON {balance} TO {role}",
        "REVOKE INSERT, UPDATE, DELETE ON {migrations} FROM {role}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        # A table a later migration creates can be read and added to before this runs again, no more.
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT ON TABLES TO {role}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    ]
    cursor.execute("SELECT current_database()")
    (database,) = cursor.fetchall()[0]
    for statement in statements:
        cursor.execute(
            sql.SQL(statement).format(
                database=sql.Identifier(database),
                role=role,
                ledger=ledger,
                amount=sql.Identifier(_balance_amount_column()),
                balance=sql.Identifier(Balance._meta.db_table),
                migrations=migrations_table,
            )
        )


def database_app_role_grant_after_migrate(*, using: str, **kwargs: object) -> None:
    """post_migrate: after `migrate --database owner`, grant the role DATABASE_URL logs in as.

    Migrating through the default alias (one role, as on a laptop or in pytest's test database)
    grants nothing.
    """
    if using == DEFAULT_DB_ALIAS:
        return
    owner, app = connections[using], connections[DEFAULT_DB_ALIAS]
    if owner.vendor != "postgresql" or owner.settings_dict["USER"] == app.settings_dict["USER"]:
        return
    with owner.cursor() as cursor:
        database_app_role_grant(cursor=cursor, app_role=app.settings_dict["USER"])


def database_role_problems(*, cursor: Cursor) -> list[str]:
    """Why the role this cursor is logged in as must not serve the app; empty when it is fit."""
    cursor.execute(
        "SELECT rolsuper, rolcreaterole,"
        " has_database_privilege(current_database(), 'TEMPORARY'),"
        " has_schema_privilege('public', 'CREATE'), current_user"
        " FROM pg_roles WHERE rolname = current_user"
    )
    superuser, create_role, temporary, create, role = cursor.fetchall()[0]
    if superuser:
        return [f"The database role {role} is a superuser, which can switch the ledger's guards off."]
    problems = []
    if create_role:
        problems.append(f"The database role {role} may create roles (and so grant itself the owner's).")
    if temporary or create:
        problems.append(
            f"The database role {role} may create tables or functions (a trigger of its own could"
            " write balances); revoke CREATE on schema public and TEMPORARY on the database."
        )
    # The privileges in the order of LEDGER_FORBIDDEN_PRIVILEGES.
    cursor.execute(
        "SELECT c.relname, pg_has_role(current_user, c.relowner, 'MEMBER'),"
        " has_table_privilege(c.oid, 'UPDATE'), has_table_privilege(c.oid, 'DELETE'),"
        " has_table_privilege(c.oid, 'TRUNCATE'), has_table_privilege(c.oid, 'TRIGGER')"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname = ANY(%s) ORDER BY c.relname",
        [ledger_tables()],
    )
    owned = []
    for table, owns, *privileges in cursor.fetchall():
        held = [name for name, has in zip(LEDGER_FORBIDDEN_PRIVILEGES, privileges, strict=True) if has]
        if owns:
            owned.append(table)
        elif held:
            problems.append(f"The database role {role} may {', '.join(held)} {table}.")
    if owned:
        problems.append(f"The database role {role} owns {', '.join(owned)} (or is a member of their owner).")
    return problems


def database_role_problems_of(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The problems of the role a Django database alias logs in as (none to report off PostgreSQL)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        return database_role_problems(cursor=cursor)


def database_role_refuse_privileged() -> None:
    """Refuse to start (DEBUG off) when the app would log in as a role that can undo the guards."""
    if settings.DEBUG:
        return
    problems = database_role_problems_of()
    connections[DEFAULT_DB_ALIAS].close()  # a forking server must not share this connection
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start: " + " ".join(problems) + ' Set DATABASE_URL to the application role (README "Database'
            ' roles").'
        )


def database_roles_create(*, superuser_dsn: str, database: str, owner: DatabaseLogin, app: DatabaseLogin) -> None:
    """Create (or update the passwords of) the two roles, and the database owned by the owner role.

    Connects with a superuser's (or a CREATEROLE and CREATEDB role's) login; safe to run again.
    Refuses a database that already exists under another owner: its tables would be out of the
    owner role's reach, so `migrate --database owner` could not change them.
    """
    if owner.role == app.role:
        raise ImproperlyConfigured("The owner and the application role must be two different roles.")
    with psycopg.connect(superuser_dsn, autocommit=True) as connection:
        for login in (owner, app):
            _role_ensure(connection.cursor(), login)
        existing = connection.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [database]
        ).fetchall()
        if not existing:
            connection.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(owner.role))
            )
        elif existing[0][0] != owner.role:
            raise ImproperlyConfigured(
                f"The database {database} exists and is owned by {existing[0][0]}, not {owner.role}."
            )
    target = psycopg.conninfo.make_conninfo(superuser_dsn, dbname=database)
    with psycopg.connect(target, autocommit=True) as connection:
        for statement in (
            "ALTER SCHEMA public OWNER TO {owner}",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            "REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC",
            "GRANT CONNECT ON DATABASE {database} TO {app}",
        ):
            connection.execute(
                sql.SQL(statement).format(
                    owner=sql.Identifier(owner.role), app=sql.Identifier(app.role), database=sql.Identifier(database)
                )
            )


def _role_ensure(cursor: Cursor, login: DatabaseLogin) -> None:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [login.role])
    rows = cursor.fetchall()
    if rows and rows[0][0]:
        raise ImproperlyConfigured(f"The role {login.role} is a superuser; the app's roles must not be.")
    verb = "ALTER" if rows else "CREATE"
    password = sql.SQL(" PASSWORD {}").format(sql.Literal(login.password)) if login.password else sql.SQL("")
    cursor.execute(
        sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE{}").format(
            sql.Identifier(login.role), password
        )
    )
