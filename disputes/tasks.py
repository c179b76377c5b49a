"""Beat sweeps for dispute and offer deadlines. Thin: each calls one service; every run is idempotent."""

from celery import shared_task

from disputes import services


@shared_task
def disputes_unanswered_escalate() -> int:
    return services.disputes_unanswered_escalate()


@shared_task
def offers_expire_due() -> int:
    return services.offers_expire_due()
