"""The Django project: settings, root URLs, the Celery app, WSGI/ASGI. No domain code."""

from config.celery import app as celery_app

__all__ = ["celery_app"]
