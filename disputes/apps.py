from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "disputes"

    def ready(self) -> None:
        # The milestone page shows offers and the case without the milestones app importing this one.
        from disputes.panels import milestone_offers_panel
        from milestones.panels import milestone_panel_register

        milestone_panel_register(milestone_offers_panel)
