"""Give every milestone already disputed before cases existed its case, from the fields the milestone kept.

Those disputes were waiting for staff, so their cases start in arbitration. Runs before
milestones 0002 removes the fields.
"""

from django.db import migrations
from django.utils import timezone


def cases_create(apps, schema_editor):
    Milestone = apps.get_model("milestones", "Milestone")
    Dispute = apps.get_model("disputes", "Dispute")
    db = schema_editor.connection.alias  # the migrating role's connection (the owner), not the app's
    now = timezone.now()
    for milestone in Milestone.objects.using(db).filter(state="disputed").select_related("contract"):
        Dispute.objects.using(db).create(
            milestone=milestone,
            opened_by_id=milestone.dispute_opened_by_id or milestone.contract.client_id,
            from_state=milestone.dispute_from_state or "submitted",
            review_time_remaining=milestone.review_time_remaining,
            reason="other",
            status="in_arbitration",
            escalated_at=now,
        )


class Migration(migrations.Migration):
    dependencies = [("disputes", "0001_initial")]

    operations = [migrations.RunPython(cases_create, migrations.RunPython.noop)]
