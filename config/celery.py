"""The Celery app. Tasks are discovered in each app's tasks.py; the beat schedule is in settings."""

import os
from typing import Any

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("milestone")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class DatabaseRoleCheck(bootsteps.StartStopStep):
    """Workers move money too: one refuses to start on a database role that can switch the guards off.

    A bootstep, not a `worker_init` receiver: Celery logs and swallows what a signal receiver raises.
    (Beat keeps its schedule in a file and never opens the database.)
    """

    def start(self, parent: Any) -> None:
        from payments.database_roles import database_role_refuse_privileged

        database_role_refuse_privileged()


app.steps["worker"].add(DatabaseRoleCheck)
