import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

from payments.database_roles import database_role_refuse_privileged  # noqa: E402 - needs the apps loaded

database_role_refuse_privileged()
