from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "otklik.routing"
    verbose_name = _("Choice of the responsible")
