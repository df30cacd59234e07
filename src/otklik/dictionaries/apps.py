from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DictionariesConfig(AppConfig):
    name = "otklik.dictionaries"
    label = "dictionaries"
    verbose_name = _("dictionaries")

    def ready(self) -> None:
        from otklik.core.config_cache import config_models_register
        from otklik.dictionaries.models import DictionaryEntry

        # The configuration cache keeps the dictionaries (defaults, entries) every ticket write reads.
        config_models_register(DictionaryEntry)
