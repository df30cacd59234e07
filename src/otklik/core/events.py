"""Publish and dispatch domain events (ARCHITECTURE: the actions layer records, consumers react).

Services call `publish` inside their transaction; set-based jobs insert `DomainEvent` rows directly.
`dispatch` runs after commit (a Huey task in production) and hands each pending event to the handlers
subscribed to its name. The notification issue subscribes the mailers; until then events are recorded,
marked handled, and kept as an audit trail.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from django.db import transaction

from otklik.core import clock
from otklik.core.models import DomainEvent

log = logging.getLogger(__name__)
Handler = Callable[[DomainEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)

TICKET_REMINDER = "ticket.reminder"
TICKET_OVERDUE = "ticket.overdue"
TICKET_AUTO_CLOSED = "ticket.auto_closed"


def subscribe(name: str, handler: Handler) -> Callable[[], None]:
    """Call `handler` for every dispatched event called `name`; return a function that unsubscribes."""
    _handlers[name].append(handler)
    return lambda: _handlers[name].remove(handler)


def publish(name: str, *, ticket_id: int | None = None, payload: dict | None = None) -> DomainEvent:
    """Record an event in the current transaction."""
    return DomainEvent.objects.create(
        name=name, ticket_id=ticket_id, occurred_at=clock.now(), payload=payload or {}
    )


def dispatch(batch: int = 500) -> int:
    """Hand pending events to their subscribers, oldest first; return how many were handled.

    A handler that raises leaves its event pending (it is retried on the next dispatch) and does not
    stop the others.
    """
    handled = 0
    last_id = 0
    while True:
        events = list(
            DomainEvent.objects.filter(handled_at__isnull=True, id__gt=last_id).order_by("id")[:batch]
        )
        if not events:
            return handled
        done = []
        for event in events:
            last_id = event.id
            try:
                with transaction.atomic():
                    for handler in list(_handlers.get(event.name, ())):
                        handler(event)
            except Exception:
                log.exception("event %s #%s: a handler failed; it stays pending", event.name, event.id)
                continue
            done.append(event.id)
        DomainEvent.objects.filter(id__in=done).update(handled_at=clock.now())
        handled += len(done)
