from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "otklik.routing"
    verbose_name = _("Choice of the responsible")

    def ready(self) -> None:
        from otklik.core.config_cache import config_models_register
        from otklik.routing.models import AgentAbsence, AgentWorkTime, AssignmentPool

        # The configuration cache keeps the active assignment pools with their members' timetables, and
        # the absences not yet over. The round-robin pointer is read under a lock, never from the cache.
        config_models_register(AssignmentPool, AgentWorkTime, AgentAbsence)
