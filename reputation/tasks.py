"""Beat sweep for feedback windows. Thin: calls one service; every run is idempotent."""

from celery import shared_task

from reputation import services


@shared_task
def feedback_windows_close_due() -> int:
    return services.feedback_windows_close_due()
