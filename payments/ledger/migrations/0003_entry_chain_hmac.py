"""Each entry's link in its account's HMAC chain (payments/ledger/chain.py), and the withdrawal kind.

Entries written before this migration are linked here, in id order per account, with the key the
settings hold now. They are append-only, so the refusal of UPDATE is lifted for this one batch of
updates and restored in the same database transaction (PostgreSQL's DDL is transactional). Every
other guard of 0002 stays in force.

SQLite rebuilds a table to add a column, which drops its triggers: the entry triggers of 0002 are
created again here, from 0002's own statements.
"""

import importlib

from django.db import migrations, models

from payments.ledger.chain import ChainLink, chain_hmac, chain_key

GUARDS = importlib.import_module("payments.ledger.migrations.0002_ledger_guards")
SQLITE_ENTRY_TRIGGERS = ("payments_entry_apply", "payments_entry_no_update")


def _links(apps, db: str) -> list[tuple[str, int]]:
    """(HMAC, entry id) for every entry, chained per account in id order."""
    Entry = apps.get_model("ledger", "Entry")
    rows = Entry.objects.using(db).order_by("account_id", "pk").values_list("pk", *ChainLink.COLUMNS)
    if not rows.exists():
        return []
    key = chain_key()
    hmacs, account_id, previous = [], None, ""
    for pk, *columns in rows.iterator(chunk_size=2000):
        link = ChainLink(*columns)
        if link.account_id != account_id:
            account_id, previous = link.account_id, ""
        previous = chain_hmac(key=key, previous=previous, link=link)
        hmacs.append((previous, pk))
    return hmacs


def chain_existing_entries(apps, schema_editor) -> None:
    hmacs = _links(apps, schema_editor.connection.alias)  # the migrating role's connection
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "postgresql" and hmacs:
            cursor.execute("ALTER TABLE payments_entry DISABLE TRIGGER payments_entry_append_only")
            cursor.executemany("UPDATE payments_entry SET chain_hmac = %s WHERE id = %s", hmacs)
            cursor.execute("ALTER TABLE payments_entry ENABLE TRIGGER payments_entry_append_only")
        elif vendor == "sqlite":
            for name in SQLITE_ENTRY_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.executemany("UPDATE payments_entry SET chain_hmac = %s WHERE id = %s", hmacs)
            for statement in GUARDS.SQLITE_FORWARD:
                if any(f"TRIGGER {name} " in statement for name in SQLITE_ENTRY_TRIGGERS):
                    cursor.execute(statement)


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
