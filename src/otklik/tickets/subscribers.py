"""What the tickets layer does when a layer below announces something (accounts, sla: they emit, we listen)."""

from __future__ import annotations

from otklik.core import events

_connected = False


def _on_address_confirmed(confirmed) -> None:
    from otklik.tickets.services.ownership import tickets_claim_by_address

    tickets_claim_by_address(user=confirmed.user, email=confirmed.email, actor=confirmed.actor)


def _on_deadlines_stale(job_id: int) -> None:
    # Queued, not run here: the admin's save must not wait for thousands of tickets.
    from otklik.tickets.tasks import deadlines_recompute_task

    deadlines_recompute_task(job_id)


def connect() -> None:
    """Subscribe once per process (AppConfig.ready may run more than once in tests)."""
    global _connected
    if _connected:
        return
    _connected = True
    events.listen(events.ACCOUNT_ADDRESS_CONFIRMED, _on_address_confirmed)
    events.listen(events.SLA_DEADLINES_STALE, _on_deadlines_stale)
