from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "otklik.notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # Subscribe the mailers to ticket activity and to the SLA job's batch events.
        from otklik.notifications import subscribers

        subscribers.connect()

        from otklik.core.config_cache import config_models_register
        from otklik.notifications.models import MailTemplate, NotificationPreference

        # The configuration cache keeps the saved mail templates and everybody's switched-off channels.
        config_models_register(MailTemplate, NotificationPreference)
