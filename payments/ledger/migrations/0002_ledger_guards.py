"""The ledger's guards, enforced by the database itself.

PostgreSQL (production and CI):
- accounts, transactions and entries are append-only: UPDATE and DELETE raise;
- an entry's currency must be its account's, and an entry may only be added in the same database
  transaction that created its ledger transaction (old transactions cannot gain legs later);
- inserting an entry applies it to its account's balance row; a balance row cannot be written any
  other way, starts at zero, and cannot go below zero except the world's (CHECK in 0001);
- a deferred constraint trigger refuses to commit a transaction with fewer than two entries or
  whose credits and debits differ in any currency.
Every guard raises SQLSTATE class 23 (integrity), so Django surfaces it as IntegrityError.

SQLite (development, quick tests): the entry trigger that moves balances (so Python never writes
a balance on either database) and UPDATE refusals. Deletes stay possible there because Django's
test flush on SQLite deletes rows; the zero-sum rule is checked in Python before every insert.
"""

from django.db import migrations

POSTGRES_FORWARD = r"""
CREATE FUNCTION payments_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payments: % on % is refused: the ledger is append-only (post a reversing transaction instead)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER payments_account_append_only BEFORE UPDATE OR DELETE ON payments_account
    FOR EACH ROW EXECUTE FUNCTION payments_refuse_change();
CREATE TRIGGER payments_transaction_append_only BEFORE UPDATE OR DELETE ON payments_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION payments_refuse_change();
CREATE TRIGGER payments_entry_append_only BEFORE UPDATE OR DELETE ON payments_entry
    FOR EACH ROW EXECUTE FUNCTION payments_refuse_change();

-- The database transaction that created each ledger transaction; not a model field on purpose.
ALTER TABLE payments_ledgertransaction ADD COLUMN db_xact bigint;

CREATE FUNCTION payments_transaction_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.db_xact := txid_current();
    RETURN NEW;
END
$$;
CREATE TRIGGER payments_transaction_stamp BEFORE INSERT ON payments_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION payments_transaction_stamp();

CREATE FUNCTION payments_entry_admit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    account_currency text;
    transaction_xact bigint;
BEGIN
    SELECT currency INTO account_currency FROM payments_account WHERE id = NEW.account_id;
    IF account_currency IS DISTINCT FROM NEW.currency THEN
        RAISE EXCEPTION 'payments: entry currency % does not match account % (%)',
            NEW.currency, NEW.account_id, account_currency USING ERRCODE = 'check_violation';
    END IF;
    SELECT db_xact INTO transaction_xact FROM payments_ledgertransaction WHERE id = NEW.transaction_id;
    IF transaction_xact IS DISTINCT FROM txid_current() THEN
        RAISE EXCEPTION 'payments: entries can only be added while their transaction % is being created',
            NEW.transaction_id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER payments_entry_admit BEFORE INSERT ON payments_entry
    FOR EACH ROW EXECUTE FUNCTION payments_entry_admit();

CREATE FUNCTION payments_entry_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE payments_balance
       SET amount = amount + CASE WHEN NEW.direction = 'credit' THEN NEW.amount ELSE -NEW.amount END
     WHERE account_id = NEW.account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'payments: account % has no balance row', NEW.account_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER payments_entry_apply AFTER INSERT ON payments_entry
    FOR EACH ROW EXECUTE FUNCTION payments_entry_apply();

CREATE FUNCTION payments_balance_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner payments_account%ROWTYPE;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT * INTO owner FROM payments_account WHERE id = NEW.account_id;
        IF NEW.amount <> 0
           OR NEW.currency IS DISTINCT FROM owner.currency
           OR NEW.may_go_negative IS DISTINCT FROM (owner.kind = 'world') THEN
            RAISE EXCEPTION 'payments: a balance row starts at zero, in its account''s currency, and only the world may go negative'
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    ELSIF TG_OP = 'UPDATE' THEN
        -- Depth 2 means "run by payments_entry_apply"; a direct UPDATE runs at depth 1.
        IF pg_trigger_depth() < 2 THEN
            RAISE EXCEPTION 'payments: balances move only by inserting entries'
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF NEW.account_id <> OLD.account_id OR NEW.currency <> OLD.currency
           OR NEW.may_go_negative <> OLD.may_go_negative THEN
            RAISE EXCEPTION 'payments: only a balance''s amount may change' USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'payments: balance rows cannot be deleted' USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER payments_balance_guard BEFORE INSERT OR UPDATE OR DELETE ON payments_balance
    FOR EACH ROW EXECUTE FUNCTION payments_balance_guard();

CREATE FUNCTION payments_transaction_zero_sum(checked_id bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    entry_count integer;
    unbalanced record;
BEGIN
    SELECT count(*) INTO entry_count FROM payments_entry WHERE transaction_id = checked_id;
    IF entry_count < 2 THEN
        RAISE EXCEPTION 'payments: transaction % has % entries; at least two are required', checked_id, entry_count
            USING ERRCODE = 'check_violation';
    END IF;
    FOR unbalanced IN
        SELECT currency, sum(CASE WHEN direction = 'credit' THEN amount ELSE -amount END) AS net
          FROM payments_entry WHERE transaction_id = checked_id
         GROUP BY currency
        HAVING sum(CASE WHEN direction = 'credit' THEN amount ELSE -amount END) <> 0
    LOOP
        RAISE EXCEPTION 'payments: transaction % does not sum to zero in % (off by %)',
            checked_id, unbalanced.currency, unbalanced.net USING ERRCODE = 'check_violation';
    END LOOP;
END
$$;

CREATE FUNCTION payments_entry_zero_sum() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM payments_transaction_zero_sum(NEW.transaction_id);
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER payments_entry_zero_sum AFTER INSERT ON payments_entry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION payments_entry_zero_sum();

CREATE FUNCTION payments_transaction_has_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM payments_transaction_zero_sum(NEW.id);
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER payments_transaction_zero_sum AFTER INSERT ON payments_ledgertransaction
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION payments_transaction_has_entries();
"""

POSTGRES_BACKWARD = r"""
DROP TRIGGER IF EXISTS payments_transaction_zero_sum ON payments_ledgertransaction;
DROP TRIGGER IF EXISTS payments_entry_zero_sum ON payments_entry;
DROP TRIGGER IF EXISTS payments_balance_guard ON payments_balance;
DROP TRIGGER IF EXISTS payments_entry_apply ON payments_entry;
DROP TRIGGER IF EXISTS payments_entry_admit ON payments_entry;
DROP TRIGGER IF EXISTS payments_transaction_stamp ON payments_ledgertransaction;
DROP TRIGGER IF EXISTS payments_entry_append_only ON payments_entry;
DROP TRIGGER IF EXISTS payments_transaction_append_only ON payments_ledgertransaction;
DROP TRIGGER IF EXISTS payments_account_append_only ON payments_account;
DROP FUNCTION IF EXISTS payments_transaction_has_entries();
DROP FUNCTION IF EXISTS payments_entry_zero_sum();
DROP FUNCTION IF EXISTS payments_transaction_zero_sum(bigint);
DROP FUNCTION IF EXISTS payments_balance_guard();
DROP FUNCTION IF EXISTS payments_entry_apply();
DROP FUNCTION IF EXISTS payments_entry_admit();
DROP FUNCTION IF EXISTS payments_transaction_stamp();
DROP FUNCTION IF EXISTS payments_refuse_change();
ALTER TABLE payments_ledgertransaction DROP COLUMN IF EXISTS db_xact;
"""

SQLITE_FORWARD = [
    """
    CREATE TRIGGER payments_entry_apply AFTER INSERT ON payments_entry
    BEGIN
        SELECT RAISE(ABORT, 'payments: account has no balance row')
         WHERE NOT EXISTS (SELECT 1 FROM payments_balance WHERE account_id = NEW.account_id);
        SELECT RAISE(ABORT, 'payments: entry currency does not match its account')
         WHERE NEW.currency IS NOT (SELECT currency FROM payments_account WHERE id = NEW.account_id);
        UPDATE payments_balance
           SET amount = amount + (CASE WHEN NEW.direction = 'credit' THEN NEW.amount ELSE -NEW.amount END)
         WHERE account_id = NEW.account_id;
    END
    """,
    *(
        f"""
        CREATE TRIGGER payments_{table}_no_update BEFORE UPDATE ON payments_{table}
        BEGIN
            SELECT RAISE(ABORT, 'payments: the ledger is append-only');
        END
        """
        for table in ("account", "ledgertransaction", "entry")
    ),
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS payments_entry_apply",
    *(f"DROP TRIGGER IF EXISTS payments_{table}_no_update" for table in ("account", "ledgertransaction", "entry")),
]


def guards_install(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # Without parameters, so the plpgsql bodies' % signs reach the server untouched.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(POSTGRES_FORWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def guards_remove(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(POSTGRES_BACKWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunPython(guards_install, guards_remove, elidable=False)]
