"""Connect the mailers to what the tickets and the SLA job announce."""

from __future__ import annotations

from otklik.core import events
from otklik.core.models import DomainEvent
from otklik.notifications import catalog
from otklik.notifications.services import AUTO_CLOSED

_connected = False

# The SLA job's batch events and the mail each one causes.
SLA_EVENTS = {
    events.TICKET_REMINDER: catalog.REMINDER,
    events.TICKET_OVERDUE: catalog.OVERDUE,
    events.TICKET_AUTO_CLOSED: AUTO_CLOSED,
}


def _on_sla_event(event: DomainEvent) -> None:
    from otklik.notifications.services import sla_batch_notify
    from otklik.sla.jobs import marked_ticket_ids

    if event.payload.get("notify") is False:  # "notify when overdue" was off when the tick ran
        return
    sla_batch_notify(SLA_EVENTS[event.name], marked_ticket_ids(event))


def _on_ticket_activity(activity) -> None:
    from otklik.notifications.services import ticket_activity_notify

    ticket_activity_notify(activity)


def connect() -> None:
    """Subscribe once per process (AppConfig.ready may run more than once in tests)."""
    global _connected
    if _connected:
        return
    _connected = True
    events.listen(events.TICKET_ACTIVITY, _on_ticket_activity)
    for name in SLA_EVENTS:
        events.subscribe(name, _on_sla_event)
