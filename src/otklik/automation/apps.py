from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "otklik.automation"
    verbose_name = _("Automation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Run the rules on ticket activity (in its transaction) and on the SLA job's batches.
        from otklik.automation import subscribers

        subscribers.connect()

        from otklik.automation.models import AutomationRule
        from otklik.core.config_cache import config_models_register

        # Every ticket write reads the active rules: they come from the configuration cache.
        config_models_register(AutomationRule)
