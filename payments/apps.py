from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments: escrow, earnings and payouts"

    def ready(self) -> None:
        from payments import checks  # noqa: F401 - registers the database role check
        from payments.database_roles import database_app_role_grant_after_migrate

        post_migrate.connect(database_app_role_grant_after_migrate, sender=self)
