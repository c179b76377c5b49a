from django.apps import AppConfig
from django.core import checks


class LedgerConfig(AppConfig):
    name = "payments.ledger"
    label = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from payments.ledger.chain import chain_key_check

        checks.register(chain_key_check)
