"""Create the system actor up front, so its address is taken before anyone could sign up with it."""

from django.contrib.auth.hashers import make_password
from django.db import migrations

SYSTEM_ACTOR_EMAIL = "system@milestone.invalid"


def create_system_actor(apps, schema_editor):
    User = apps.get_model("users", "User")
    # Through the migrating connection: `migrate --database owner` runs as another role than the app's.
    User.objects.using(schema_editor.connection.alias).get_or_create(
        email=SYSTEM_ACTOR_EMAIL,
        defaults={
            "display_name": "Milestone (system)",
            "is_active": False,
            "is_client": False,
            "is_freelancer": False,
            "password": make_password(None),  # unusable: the system actor never logs in
        },
    )


class Migration(migrations.Migration):
    dependencies = [("users", "0001_initial")]

    operations = [migrations.RunPython(create_system_actor, migrations.RunPython.noop)]
