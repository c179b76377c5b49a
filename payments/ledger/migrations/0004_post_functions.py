"""Posting in two round trips on PostgreSQL: `payments_post_lock`, then `payments_post_insert`.

`payments_post_lock` finds (or creates) the accounts, locks their balance rows in account-id order,
and answers with their amounts, each account's chain head (its latest entry's HMAC), any transaction
already under the key, and the id the new transaction will have. Python then checks the balances,
builds the legs and computes the HMACs (LEDGER_CHAIN_KEY never reaches the database), and
`payments_post_insert` writes the transaction and all its entries.

Both are SECURITY INVOKER: they run with the caller's privileges (the application role may read
and add to the ledger tables, nothing more), so they open no way around a guard. Every trigger of
0002 fires on their inserts exactly as on the ORM's: an entry still moves its balance only through
`payments_entry_apply`, a direct UPDATE of a balance is still refused, and the deferred zero-sum
check still runs at commit. SQLite keeps the ORM path of `payments.ledger.posting`.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION payments_account_find(find_kind text, find_currency text, find_user bigint, find_milestone bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    found bigint;
BEGIN
    -- One branch per owner, so each lookup uses its own (partial) unique index.
    IF find_kind = 'escrow' THEN
        SELECT id INTO found FROM payments_account WHERE kind = 'escrow' AND milestone_id = find_milestone;
    ELSIF find_user IS NULL THEN
        SELECT id INTO found FROM payments_account
         WHERE kind = find_kind AND currency = find_currency AND user_id IS NULL AND milestone_id IS NULL;
    ELSE
        SELECT id INTO found FROM payments_account
         WHERE kind = find_kind AND user_id = find_user AND currency = find_currency;
    END IF;
    RETURN found;
END
$$;

CREATE FUNCTION payments_post_lock(
    kinds text[], currencies text[], user_ids bigint[], milestone_ids bigint[], key text,
    OUT account_ids bigint[], OUT account_currencies text[], OUT account_created timestamptz[],
    OUT amounts bigint[], OUT heads text[],
    OUT earlier_id bigint, OUT earlier_fingerprint text, OUT new_transaction_id bigint
) LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    found bigint;
BEGIN
    account_ids := '{}';
    FOR i IN 1 .. coalesce(array_length(kinds, 1), 0) LOOP
        found := payments_account_find(kinds[i], currencies[i], user_ids[i], milestone_ids[i]);
        IF found IS NULL THEN
            -- A racing creator makes this insert wait on the unique index, then do nothing.
            INSERT INTO payments_account (kind, currency, user_id, milestone_id, created_at)
            VALUES (kinds[i], currencies[i], user_ids[i], milestone_ids[i], clock_timestamp())
            ON CONFLICT DO NOTHING RETURNING id INTO found;
            IF found IS NULL THEN
                found := payments_account_find(kinds[i], currencies[i], user_ids[i], milestone_ids[i]);
            ELSE
                INSERT INTO payments_balance (account_id, currency, amount, may_go_negative)
                VALUES (found, currencies[i], 0, kinds[i] = 'world');
            END IF;
        END IF;
        account_ids := account_ids || found;
    END LOOP;

    PERFORM 1 FROM payments_balance WHERE account_id = ANY (account_ids) ORDER BY account_id FOR UPDATE;

    -- A new statement: after waiting for a lock it sees what the holder committed (amounts, entries).
    SELECT array_agg(a.currency ORDER BY ids.ord), array_agg(a.created_at ORDER BY ids.ord),
           array_agg(b.amount ORDER BY ids.ord),
           array_agg(coalesce((SELECT e.chain_hmac FROM payments_entry e WHERE e.account_id = ids.id
                                ORDER BY e.id DESC LIMIT 1), '') ORDER BY ids.ord)
      INTO account_currencies, account_created, amounts, heads
      FROM unnest(account_ids) WITH ORDINALITY AS ids(id, ord)
      JOIN payments_account a ON a.id = ids.id
      JOIN payments_balance b ON b.account_id = ids.id;
    IF coalesce(array_length(amounts, 1), 0) <> coalesce(array_length(account_ids, 1), 0) THEN
        RAISE EXCEPTION 'payments: a ledger account is missing its balance row' USING ERRCODE = 'foreign_key_violation';
    END IF;

    IF key IS NOT NULL THEN
        SELECT t.id, t.fingerprint INTO earlier_id, earlier_fingerprint
          FROM payments_ledgertransaction t WHERE t.idempotency_key = key;
        IF earlier_id IS NULL THEN
            new_transaction_id := nextval(pg_get_serial_sequence('payments_ledgertransaction', 'id'));
        END IF;
    END IF;
END
$$;

CREATE FUNCTION payments_post_insert(
    posted_id bigint, posted_kind text, posted_key text, posted_fingerprint text, posted_request_key text,
    posted_milestone bigint, posted_contract bigint, posted_user bigint, posted_reverses bigint,
    posted_external_ref text, posted_memo text, posted_at timestamptz,
    entry_accounts bigint[], entry_directions text[], entry_amounts bigint[], entry_currencies text[],
    entry_hmacs text[]
) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    -- A racing duplicate under the same key (or request key) that committed first: write nothing.
    INSERT INTO payments_ledgertransaction (id, kind, idempotency_key, fingerprint, request_key, milestone_id,
                                            contract_id, user_id, reverses_id, external_ref, memo, created_at)
    VALUES (posted_id, posted_kind, posted_key, posted_fingerprint, posted_request_key, posted_milestone,
            posted_contract, posted_user, posted_reverses, posted_external_ref, posted_memo, posted_at)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    -- In the order given: legs on one account are chained in insert (id) order.
    INSERT INTO payments_entry (transaction_id, account_id, direction, amount, currency, chain_hmac)
    SELECT posted_id, leg.account_id, leg.direction, leg.amount, leg.currency, leg.chain_hmac
      FROM unnest(entry_accounts, entry_directions, entry_amounts, entry_currencies, entry_hmacs)
           WITH ORDINALITY AS leg(account_id, direction, amount, currency, chain_hmac, ord)
     ORDER BY leg.ord;
    RETURN true;
END
$$;
"""

BACKWARD = r"""
DROP FUNCTION IF EXISTS payments_post_insert(bigint, text, text, text, text, bigint, bigint, bigint, bigint, text,
                                             text, timestamptz, bigint[], text[], bigint[], text[], text[]);
DROP FUNCTION IF EXISTS payments_post_lock(text[], text[], bigint[], bigint[], text);
DROP FUNCTION IF EXISTS payments_account_find(text, text, bigint, bigint);
"""


def functions_install(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        # Without parameters, so the plpgsql bodies reach the server untouched.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FORWARD)


def functions_remove(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_entry_chain_hmac")]

    operations = [migrations.RunPython(functions_install, functions_remove, elidable=False)]
