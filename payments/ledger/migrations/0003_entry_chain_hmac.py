"""Each entry's link in its account's HMAC chain (payments/ledger/chain.py), and the withdrawal kind.

Entries written before this migration are linked here, in id order per account, with the key the
settings hold now. They are append-only, so the refusal of UPDATE is lifted for this one statement
batch and restored in the same database transaction (PostgreSQL's DDL is transactional; on SQLite
the trigger is dropped and created again). Every other guard of 0002 stays in force.
"""

from django.db import migrations, models

from payments.ledger.chain import ChainLink, chain_hmac, chain_key

SQLITE_NO_UPDATE = """
    CREATE TRIGGER payments_entry_no_update BEFORE UPDATE ON payments_entry
    BEGIN
        SELECT RAISE(ABORT, 'payments: the ledger is append-only');
    END
"""


def chain_existing_entries(apps, schema_editor) -> None:
    Entry = apps.get_model("ledger", "Entry")
    if not Entry.objects.exists():
        return
    key = chain_key()
    rows = Entry.objects.order_by("account_id", "pk").values_list("pk", *ChainLink.COLUMNS)
    hmacs, account_id, previous = [], None, ""
    for pk, *columns in rows.iterator(chunk_size=2000):
        link = ChainLink(*columns)
        if link.account_id != account_id:
            account_id, previous = link.account_id, ""
        previous = chain_hmac(key=key, previous=previous, link=link)
        hmacs.append((previous, pk))
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("ALTER TABLE payments_entry DISABLE TRIGGER payments_entry_append_only")
        elif vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS payments_entry_no_update")
        cursor.executemany("UPDATE payments_entry SET chain_hmac = %s WHERE id = %s", hmacs)
        if vendor == "postgresql":
            cursor.execute("ALTER TABLE payments_entry ENABLE TRIGGER payments_entry_append_only")
        elif vendor == "sqlite":
            cursor.execute(SQLITE_NO_UPDATE)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_ledger_guards")]

    operations = [
        migrations.AddField(
            model_name="entry",
            name="chain_hmac",
            field=models.CharField(db_default="", max_length=64),
        ),
        migrations.AlterField(
            model_name="ledgertransaction",
            name="kind",
            field=models.CharField(
                choices=[
                    ("deposit", "Deposit"),
                    ("fund", "Escrow funded"),
                    ("change", "Change order"),
                    ("release", "Escrow released"),
                    ("fee", "Platform fee"),
                    ("bonus", "Bonus"),
                    ("refund", "Escrow refunded"),
                    ("split", "Escrow split"),
                    ("mature", "Earnings available"),
                    ("payout", "Payout"),
                    ("withdrawal", "Balance withdrawn to card"),
                    ("reversal", "Reversal"),
                ],
                db_index=True,
                max_length=10,
            ),
        ),
        migrations.RunPython(chain_existing_entries, migrations.RunPython.noop, elidable=False),
    ]
