"""Beat sweeps for milestone deadlines. Thin: each calls one service; every run is idempotent."""

from celery import shared_task

from milestones import services


@shared_task
def milestones_auto_release_due() -> int:
    return services.milestone_auto_release_due()


@shared_task
def milestones_review_reminders_send() -> int:
    return services.milestone_review_reminders_send()


@shared_task
def milestones_due_reminders_send() -> int:
    return services.milestone_due_reminders_send()
