from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "otklik.sla"
    label = "sla"
    verbose_name = _("Service levels")

    def ready(self) -> None:
        from otklik.core.config_cache import config_models_register
        from otklik.sla import signals  # noqa: F401  (connects the revision bumps)
        from otklik.sla.models import CalendarException, SlaLevel, Timetable

        # The configuration cache keeps the active SLA levels with their timetables and revisions.
        config_models_register(SlaLevel, Timetable, CalendarException)
