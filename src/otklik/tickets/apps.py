from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "otklik.tickets"
    label = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        # Take over an address's tickets when accounts confirm the address for a user.
        from otklik.tickets import subscribers

        subscribers.connect()
