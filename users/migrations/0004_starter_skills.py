"""The starter skill list (users.models.STARTER_SKILLS at the time of writing); staff extend it in admin."""

from django.db import migrations

STARTER_SKILLS = (
    "Accessibility",
    "Copywriting",
    "Data analysis",
    "Django",
    "Figma",
    "Illustration",
    "JavaScript",
    "Logo design",
    "PostgreSQL",
    "Python",
    "React",
    "SEO",
    "Translation (English to German)",
    "UX research",
    "Web design",
)


def add_starter_skills(apps, schema_editor):
    Skill = apps.get_model("users", "Skill")
    for name in STARTER_SKILLS:
        Skill.objects.using(schema_editor.connection.alias).get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("users", "0003_profile_and_skills")]

    operations = [migrations.RunPython(add_starter_skills, migrations.RunPython.noop)]
