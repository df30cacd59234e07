"""Connect the tickets to what accounts announce (accounts sit below tickets: they emit, we listen)."""

from __future__ import annotations

from otklik.core import events

_connected = False


def _on_address_confirmed(confirmed) -> None:
    from otklik.tickets.services.ownership import tickets_claim_by_address

    tickets_claim_by_address(user=confirmed.user, email=confirmed.email, actor=confirmed.actor)


def connect() -> None:
    """Subscribe once per process (AppConfig.ready may run more than once in tests)."""
    global _connected
    if _connected:
        return
    _connected = True
    events.listen(events.ACCOUNT_ADDRESS_CONFIRMED, _on_address_confirmed)
