from django.apps import AppConfig

# Models whose rows the configuration cache holds (directly, or inside what it derives from them).
CONFIG_MODELS = frozenset(
    {
        "tickets.moduleoptions",
        "dictionaries.dictionaryentry",
        "sla.slalevel",
        "auth.group",
        "auth.user",
        "accounts.groupaccess",
        "accounts.profile",
        "accounts.apitoken",
        "notifications.mailtemplate",
        "accounts.supportgroup",
        "accounts.supportgroupmember",
        "sla.timetable",
        "sla.calendarexception",
    }
)


def _forget_on_config_change(sender, **kwargs) -> None:
    meta = getattr(sender, "_meta", None)
    if meta is None:
        return
    # Many-to-many changes arrive with the auto-created through model as sender (e.g. sla.slalevel_groups).
    label = meta.label_lower
    owner = meta.auto_created._meta.label_lower if meta.auto_created else label
    if label in CONFIG_MODELS or owner in CONFIG_MODELS:
        from otklik.core.config_cache import config_forget

        config_forget()


class CoreConfig(AppConfig):
    name = "otklik.core"
    label = "core"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        for signal in (post_save, post_delete, m2m_changed):
            signal.connect(_forget_on_config_change, dispatch_uid=f"otklik-config-{id(signal)}")
