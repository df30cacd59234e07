from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "otklik.tickets"
    label = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        # Take over an address's tickets when accounts confirm it; recompute open tickets' deadlines when the
        # SLA configuration changes (the lower layers announce, tickets listen).
        from otklik.tickets import subscribers

        subscribers.connect()
