"""Write the module options row (F-16's settings page)."""

from __future__ import annotations

from django.db import transaction

from otklik.tickets.models import ModuleOptions


@transaction.atomic
def module_options_ensure() -> ModuleOptions:
    """Return the module options row, creating it with the SPEC's defaults when it is missing.

    Readers do not need the row (`options_get` answers the defaults without it); the settings page and
    writers that change one option do.
    """
    options, _created = ModuleOptions.objects.get_or_create(pk=1)
    return options
