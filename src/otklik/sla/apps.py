from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "otklik.sla"
    label = "sla"
    verbose_name = _("Service levels")

    def ready(self):
        from otklik.sla import signals  # noqa: F401  (connects the revision bumps)
