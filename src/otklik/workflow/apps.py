from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "otklik.workflow"
    verbose_name = _("Support process")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from otklik.workflow import subscribers

        subscribers.connect()
