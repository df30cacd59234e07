from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "otklik.tickets"
    label = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        # Recompute open tickets' deadlines when the SLA configuration changes (the sla layer announces).
        from otklik.tickets import subscribers

        subscribers.connect()
