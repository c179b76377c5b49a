"""Periodic work of the payments app: thin wrappers around services."""

from celery import shared_task

from payments.services import earnings_mature_due


@shared_task
def earnings_mature_due_task() -> int:
    """Hourly: move every earnings lot whose hold has passed from pending to available."""
    return earnings_mature_due()
