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

        from otklik.core.config_cache import config_models_register
        from otklik.tickets.models import ModuleOptions

        # The configuration cache keeps the module options.
        config_models_register(ModuleOptions)

        from otklik.coupons.masks import mask_source_set
        from otklik.tickets.selectors import options_cached

        # Coupons sit below tickets: their admin page and command read the mask option through this.
        mask_source_set(lambda: options_cached().coupon_mask)
