"""Each milestone event carries its milestone's contract, so a contract's latest events come from one index."""

import django.db.models.deletion
from django.db import migrations, models


def contracts_copy(apps, schema_editor) -> None:
    # Through the migrating role's connection (see payments' data migrations); portable SQL.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE milestones_milestoneevent SET contract_id = (SELECT m.contract_id FROM milestones_milestone m"
            " WHERE m.id = milestones_milestoneevent.milestone_id)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0002_initial"),
        ("milestones", "0003_milestone_contract_state_due"),
    ]

    operations = [
        migrations.AddField(
            model_name="milestoneevent",
            name="contract",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contracts.contract",
            ),
        ),
        migrations.RunPython(contracts_copy, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="milestoneevent",
            name="contract",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contracts.contract",
            ),
        ),
        migrations.AddIndex(
            model_name="milestoneevent",
            index=models.Index(fields=["contract", "-at", "-id"], name="milestone_event_contract_at"),
        ),
    ]
