"""Milestone: the project package and the marketplace app (users, jobs, proposals)."""

from marketplace.celery import app as celery_app

__all__ = ["celery_app"]
