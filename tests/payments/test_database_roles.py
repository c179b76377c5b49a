"""The two database roles: the application role cannot switch the ledger's guards off, and the app
refuses to start as a role that could.

The module builds the production set-up on a database of its own: `database_roles_create` makes an
owner and an application role (names unique to this run, since roles are shared by the whole
server), `migrate --database owner` runs as the owner and grants the application role, and
`seed_demo` does the app's normal work (deposits, funding, submissions, releases, refunds, disputes,
change orders) through the services as the application role. Every connection here is its own.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from psycopg import errors

from payments.checks import database_role_check
from payments.database_roles import (
    DatabaseLogin,
    database_role_problems,
    database_role_refuse_privileged,
    database_roles_create,
    ledger_tables,
)

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
LEDGER_TABLES = ("payments_account", "payments_balance", "payments_entry", "payments_ledgertransaction")


@dataclass(frozen=True)
class TwoRoles:
    database: str
    owner: DatabaseLogin
    app: DatabaseLogin

    def url(self, login: DatabaseLogin) -> str:
        base = settings.DATABASES["default"]
        return f"postgres://{login.role}:{login.password}@{base['HOST']}:{base['PORT']}/{self.database}"

    def connect(self, login: DatabaseLogin) -> psycopg.Connection:
        """Autocommit: each `with connection.transaction()` is a real transaction that commits."""
        return psycopg.connect(self.url(login), autocommit=True)


def _superuser_dsn(database: str = "postgres") -> str:
    base = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        host=base["HOST"], port=base["PORT"], user=base["USER"], password=base["PASSWORD"] or None, dbname=database
    )


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def production_env(roles: TwoRoles, login: DatabaseLogin) -> dict[str, str]:
    inherited = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {
        **inherited,
        "DJANGO_ENV": "production",
        "SECRET_KEY": uuid.uuid4().hex * 2,
        "LEDGER_CHAIN_KEY": uuid.uuid4().hex * 2,
        "ALLOWED_HOSTS": "milestone.example.com",
        "DATABASE_URL": roles.url(login),
    }


@pytest.fixture(scope="module")
def roles() -> Iterator[TwoRoles]:
    suffix = uuid.uuid4().hex[:8]
    roles = TwoRoles(
        database=f"milestone_roles_{suffix}",
        owner=DatabaseLogin(role=f"ms_{suffix}_owner", password=uuid.uuid4().hex),
        app=DatabaseLogin(role=f"ms_{suffix}_app", password=uuid.uuid4().hex),
    )
    try:
        database_roles_create(superuser_dsn=_superuser_dsn(), database=roles.database, owner=roles.owner, app=roles.app)
        env = {**os.environ, "DATABASE_URL": roles.url(roles.app), "MIGRATION_DATABASE_URL": roles.url(roles.owner)}
        migrated = manage("migrate", "--database", "owner", "--noinput", env=env)
        assert migrated.returncode == 0, migrated.stderr
        # The app's normal work, through the services, as the application role.
        seeded = manage("seed_demo", env={**env, "MIGRATION_DATABASE_URL": ""})
        assert seeded.returncode == 0, seeded.stderr
        yield roles
    finally:
        with psycopg.connect(_superuser_dsn(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{roles.database}" WITH (FORCE)')
            for login in (roles.app, roles.owner):
                connection.execute(f'DROP ROLE IF EXISTS "{login.role}"')


def refused(connection: psycopg.Connection, statement: str) -> type[Exception] | None:
    """Run one statement in a savepoint; the class of the error it raised, or None if it went through."""
    try:
        with connection.transaction():
            connection.execute(statement)
    except psycopg.Error as error:
        return type(error)
    return None


def test_the_ledger_tables_are_the_ledger_apps_tables():
    # The grants and the check cover every table of payments.ledger (the other payments tables are ordinary).
    assert set(LEDGER_TABLES) <= set(ledger_tables())
    assert "payments_payout" not in ledger_tables()


SWITCHING_THE_GUARDS_OFF = [
    "ALTER TABLE payments_entry DISABLE TRIGGER USER",
    "ALTER TABLE payments_entry DISABLE TRIGGER payments_entry_append_only",
    "ALTER TABLE payments_balance DISABLE TRIGGER ALL",
    "DROP TRIGGER payments_entry_append_only ON payments_entry",
    "DROP TRIGGER payments_balance_guard ON payments_balance",
    "DROP FUNCTION payments_refuse_change() CASCADE",
    "ALTER TABLE payments_balance DROP CONSTRAINT payments_balance_not_negative",
    "SET session_replication_role = replica",
    *(f"TRUNCATE {table} CASCADE" for table in LEDGER_TABLES),
    *(f"DELETE FROM {table}" for table in LEDGER_TABLES),
    "UPDATE payments_entry SET amount = amount + 1",
    "UPDATE payments_ledgertransaction SET memo = 'rewritten'",
    "UPDATE payments_account SET kind = 'world'",
    "UPDATE payments_balance SET may_go_negative = true",
    # An object of its own could host a trigger that writes balances from inside a trigger.
    "CREATE TEMP TABLE scratch (id int)",
    "CREATE TABLE public.scratch (id int)",
    "CREATE FUNCTION public.scratch() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE FUNCTION pg_temp.scratch() RETURNS int LANGUAGE sql AS 'SELECT 1'",
]


@pytest.mark.parametrize("statement", SWITCHING_THE_GUARDS_OFF)
def test_the_application_role_cannot_switch_the_guards_off(roles, statement):
    # Given the application role, which owns nothing
    with roles.connect(roles.app) as connection:
        # When it tries to disable, drop, truncate, rewrite or go around a guard, PostgreSQL refuses
        assert refused(connection, statement) is errors.InsufficientPrivilege


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE payments_entry DISABLE TRIGGER USER",
        "DROP TRIGGER payments_entry_append_only ON payments_entry",
        "TRUNCATE payments_entry CASCADE",
    ],
)
def test_the_owner_could_which_is_why_the_app_never_logs_in_as_it(roles, statement):
    # The refusals above come from the role, not the statements: the owner is allowed (rolled back here).
    with roles.connect(roles.owner) as connection, connection.transaction():
        connection.execute(statement)
        raise psycopg.Rollback


def test_a_table_a_later_migration_adds_can_only_be_read_and_added_to(roles):
    # Given the owner creates a table after the grants ran (as a later migration would, before its post_migrate)
    with roles.connect(roles.owner) as owner:
        owner.execute("CREATE TABLE payments_later (id int)")
        try:
            # Then the default privileges let the application role read and insert, nothing more
            with roles.connect(roles.app) as connection:
                assert refused(connection, "INSERT INTO payments_later VALUES (1)") is None
                assert refused(connection, "SELECT * FROM payments_later") is None
                for statement in (
                    "UPDATE payments_later SET id = 2",
                    "DELETE FROM payments_later",
                    "TRUNCATE payments_later",
                ):
                    assert refused(connection, statement) is errors.InsufficientPrivilege, statement
        finally:
            owner.execute("DROP TABLE payments_later")


def test_a_balance_written_directly_is_refused_by_its_trigger(roles):
    # The application role may update a balance's amount only so the entry trigger (running as it) can;
    # the balance guard refuses any direct write.
    with roles.connect(roles.app) as connection:
        assert refused(connection, "UPDATE payments_balance SET amount = amount + 100") is errors.RestrictViolation


def test_the_application_role_did_the_apps_work_and_adds_a_balanced_transaction(roles):
    # Given seed_demo ran through the services as the application role, and the ledger verifies as it
    app_env = {**os.environ, "DATABASE_URL": roles.url(roles.app)}
    verified = manage("ledger_verify", env=app_env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    with roles.connect(roles.app) as connection:
        kinds = {kind for (kind,) in connection.execute("SELECT DISTINCT kind FROM payments_ledgertransaction")}
        assert {"deposit", "fund", "release", "refund"} <= kinds
        world, client = connection.execute(
            "SELECT (SELECT account_id FROM payments_balance b JOIN payments_account a ON a.id = b.account_id"
            "        WHERE a.kind = 'world' AND a.currency = 'USD'),"
            "       (SELECT account_id FROM payments_balance b JOIN payments_account a ON a.id = b.account_id"
            "        WHERE a.kind = 'client_balance' AND a.currency = 'USD' ORDER BY a.id LIMIT 1)"
        ).fetchone()
        (before,) = connection.execute("SELECT amount FROM payments_balance WHERE account_id = %s", [client]).fetchone()
        # When it inserts a balanced transaction with plain SQL and commits
        with connection.transaction():
            (transaction_id,) = connection.execute(
                "INSERT INTO payments_ledgertransaction (kind, idempotency_key, fingerprint, memo, created_at,"
                " external_ref) VALUES ('deposit', %s, 'raw', 'as the app role', now(), '') RETURNING id",
                [f"roles-{uuid.uuid4().hex}"],
            ).fetchone()
            for account, direction in ((world, "debit"), (client, "credit")):
                connection.execute(
                    "INSERT INTO payments_entry (transaction_id, account_id, direction, amount, currency)"
                    " VALUES (%s, %s, %s, 700, 'USD')",
                    [transaction_id, account, direction],
                )
        # Then the entry trigger moved the balance
        (after,) = connection.execute("SELECT amount FROM payments_balance WHERE account_id = %s", [client]).fetchone()
        assert after == before + 700
    # And ledger_verify names it: raw SQL has neither the chain's HMAC nor a gateway charge behind it
    tampered = manage("ledger_verify", env=app_env)
    assert tampered.returncode != 0
    assert "no gateway charge" in tampered.stdout + tampered.stderr


def test_the_posting_functions_run_with_the_callers_rights_and_go_around_no_guard(roles):
    with roles.connect(roles.app) as connection:
        # Given the ledger's posting functions: the application role may call them, and none is SECURITY DEFINER
        functions = connection.execute(
            "SELECT proname, prosecdef, has_function_privilege(oid, 'EXECUTE') FROM pg_proc"
            " WHERE proname LIKE 'payments\\_post\\_%' OR proname = 'payments_account_find' ORDER BY proname"
        ).fetchall()
        assert functions == [
            ("payments_account_find", False, True),
            ("payments_post_insert", False, True),
            ("payments_post_lock", False, True),
        ]
        (user_id,) = connection.execute("SELECT id FROM users_user ORDER BY id LIMIT 1").fetchone()
        key = f"roles-{uuid.uuid4().hex}"
        # When it writes an unbalanced transaction through them
        with pytest.raises(errors.CheckViolation, match="does not sum to zero"), connection.transaction():
            (accounts, transaction_id) = connection.execute(
                "SELECT account_ids, new_transaction_id FROM payments_post_lock(ARRAY['world', 'client_balance'],"
                " ARRAY['USD', 'USD'], ARRAY[NULL, %s]::bigint[], ARRAY[NULL, NULL]::bigint[], %s)",
                [user_id, key],
            ).fetchone()
            connection.execute(
                "SELECT payments_post_insert(%s, 'deposit', %s, 'raw', NULL, NULL, NULL, NULL, NULL, '', 'unbalanced',"
                " now(), %s::bigint[], ARRAY['debit', 'credit'], ARRAY[700, 500]::bigint[], ARRAY['USD', 'USD'],"
                " ARRAY['', ''])",
                [transaction_id, key, accounts],
            )
        # Then the deferred zero-sum trigger refused it at commit, and nothing was kept
        assert (
            connection.execute("SELECT 1 FROM payments_ledgertransaction WHERE id = %s", [transaction_id]).fetchall()
            == []
        )


def test_the_application_role_has_no_problems_and_the_owner_has(roles):
    with roles.connect(roles.app) as connection:
        assert database_role_problems(cursor=connection.cursor()) == []
    with roles.connect(roles.owner) as connection:
        problems = " ".join(database_role_problems(cursor=connection.cursor()))
    assert "owns payments_account, payments_balance, payments_entry, payments_ledgertransaction" in problems


def test_a_role_that_may_update_the_ledger_is_refused(roles):
    # Given an application role someone granted UPDATE on the entries
    with roles.connect(roles.owner) as owner:
        owner.execute(f'GRANT UPDATE, TRUNCATE ON payments_entry TO "{roles.app.role}"')
        try:
            with roles.connect(roles.app) as connection:
                # Then it is reported
                assert database_role_problems(cursor=connection.cursor()) == [
                    f"The database role {roles.app.role} may UPDATE, TRUNCATE payments_entry."
                ]
        finally:
            owner.execute(f'REVOKE UPDATE, TRUNCATE ON payments_entry FROM "{roles.app.role}"')


@pytest.mark.django_db
def test_check_deploy_and_startup_refuse_a_superuser(settings):
    # Given pytest's own connection, which logs in as a superuser
    # Then the deploy check reports it as an error
    messages = database_role_check()
    assert [message.id for message in messages] == ["payments.E001"]
    assert "superuser" in messages[0].msg
    # And the app refuses to start with DEBUG off, but not on a laptop (DEBUG on)
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured, match=r"Refusing to start: .* is a superuser"):
        database_role_refuse_privileged()
    settings.DEBUG = True
    database_role_refuse_privileged()


def test_gunicorn_and_check_deploy_start_as_the_application_role_only(roles):
    # When the WSGI application is loaded (what gunicorn does) in production as the owner, it refuses
    as_owner = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=ROOT,
        env=production_env(roles, roles.owner),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert as_owner.returncode != 0
    assert "Refusing to start" in as_owner.stderr and "owns payments_account" in as_owner.stderr
    deploy_as_owner = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(roles, roles.owner))
    assert deploy_as_owner.returncode != 0 and "payments.E001" in deploy_as_owner.stderr
    # And as the application role, both start cleanly
    as_app = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=ROOT,
        env=production_env(roles, roles.app),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert as_app.returncode == 0, as_app.stderr
    deploy_as_app = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(roles, roles.app))
    assert deploy_as_app.returncode == 0, deploy_as_app.stderr


def test_a_celery_worker_refuses_to_start_as_the_owner(roles):
    worker = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-Q", f"roles-{uuid.uuid4().hex}"],
        cwd=ROOT,
        env=production_env(roles, roles.owner),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode != 0
    assert "Refusing to start" in worker.stderr
