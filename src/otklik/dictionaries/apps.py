from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DictionariesConfig(AppConfig):
    name = "otklik.dictionaries"
    label = "dictionaries"
    verbose_name = _("dictionaries")
