"""Publish and dispatch domain events (ARCHITECTURE: the actions layer records, consumers react).

Two kinds of delivery:
- `emit` calls listeners at once, inside the caller's transaction. Services announce ticket activity this
  way, so that what a listener writes (the notification outbox) commits or rolls back with the change.
- `publish` records a `DomainEvent` row; a set-based job records one per batch and the batch's tickets
  with `batch_record`. `dispatch` runs after commit (a Huey task in production) and hands each pending
  event to the handlers subscribed to its name.
Both keep the dependency pointing one way: tickets and sla announce, notifications listens.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import BigIntegerField, QuerySet, Value

from otklik.core import clock
from otklik.core.bulk import insert_from_select
from otklik.core.models import DomainEvent, DomainEventTicket

log = logging.getLogger(__name__)
Handler = Callable[[DomainEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
_listeners: dict[str, list[Callable[[Any], None]]] = defaultdict(list)
_local = threading.local()
# The background job that runs `dispatch`, set by otklik.core.tasks when it is imported (CoreConfig.ready
# imports it): the kernel's events module cannot import its own task module without a cycle.
_dispatch_job: Callable[[], Any] | None = None

TICKET_REMINDER = "ticket.reminder"
TICKET_OVERDUE = "ticket.overdue"
TICKET_AUTO_CLOSED = "ticket.auto_closed"
# Emitted inside the service's transaction with a `otklik.tickets.activity.TicketActivity`.
TICKET_ACTIVITY = "ticket.activity"
# Emitted by ticket_create with the new, not yet inserted Ticket: listeners may fill in attributes that
# an app above tickets owns (the support process sets the tier of its start state) at no extra write.
TICKET_PREPARING = "ticket.preparing"
# A staff member opened a ticket page (data: {"user": User, "ticket_id": int}); in-app notifications of the
# ticket are read then.
TICKET_VIEWED = "ticket.viewed"
# Emitted inside the move's transaction with a `otklik.workflow.services.ProcessMoved` (notifications
# tell the role that must act next).
PROCESS_MOVED = "process.moved"
# Emitted by accounts inside the service's transaction (data: the dataclasses of `otklik.accounts.mailing`):
# a confirmation link to mail, a password reset link to mail, an address just confirmed for a user.
ACCOUNT_CONFIRMATION_MAIL = "account.confirmation_mail"
ACCOUNT_PASSWORD_RESET_MAIL = "account.password_reset_mail"
ACCOUNT_ADDRESS_CONFIRMED = "account.address_confirmed"
# Emitted by ticket_create inside its transaction with a `otklik.tickets.activity.CouponUsed`: a new ticket
# spent a use of a coupon (notifications tell the support admins, F-21).
COUPON_USED = "coupon.used"
# Emitted after commit with the id of an `otklik.sla.models.DeadlineRecompute`: SLA configuration changed,
# so the open tickets of those SLA levels need their deadlines computed again (tickets listens).
SLA_DEADLINES_STALE = "sla.deadlines_stale"


def listen(name: str, listener: Callable[[Any], None]) -> Callable[[], None]:
    """Call `listener(data)` synchronously for every `emit(name, data)`; return a function that stops it."""
    _listeners[name].append(listener)
    return lambda: _listeners[name].remove(listener)


@contextmanager
def muted(name: str):
    """Silence the listeners of `name` in this thread (loading demo data must not mail anybody)."""
    muted_names = _local.__dict__.setdefault("muted", set())
    was = name in muted_names
    muted_names.add(name)
    try:
        yield
    finally:
        if not was:
            muted_names.discard(name)


def emit(name: str, data: Any) -> None:
    """Hand `data` to the listeners of `name` now, in the caller's transaction; their errors propagate.

    A listener that fails rolls the change back with it: a change whose notifications cannot be
    recorded is not silently committed without them.
    """
    if name in _local.__dict__.get("muted", ()):
        return
    for listener in list(_listeners.get(name, ())):
        listener(data)


def subscribe(name: str, handler: Handler) -> Callable[[], None]:
    """Call `handler` for every dispatched event called `name`; return a function that unsubscribes."""
    _handlers[name].append(handler)
    return lambda: _handlers[name].remove(handler)


def publish(
    name: str,
    *,
    ticket_id: int | None = None,
    payload: dict | None = None,
    occurred_at: datetime | None = None,
) -> DomainEvent:
    """Record an event in the current transaction."""
    return DomainEvent.objects.create(
        name=name, ticket_id=ticket_id, occurred_at=occurred_at or clock.now(), payload=payload or {}
    )


def batch_record(event: DomainEvent, tickets: QuerySet) -> int:
    """Record `tickets` as the batch `event` is about, in one INSERT ... SELECT; return how many."""
    rows = tickets.values_list(Value(event.pk, output_field=BigIntegerField()), "pk")
    return insert_from_select(DomainEventTicket, ["event", "ticket_id"], rows)


def batch_ticket_ids(event: DomainEvent) -> list[int]:
    """Return the tickets an event is about: its recorded batch, or its one ticket."""
    if event.ticket_id is not None:
        return [event.ticket_id]
    return sorted(DomainEventTicket.objects.filter(event=event).values_list("ticket_id", flat=True))


def dispatch_job_register(job: Callable[[], Any]) -> None:
    """Make `job` the background job that `dispatch_after_commit` enqueues (otklik.core.tasks)."""
    global _dispatch_job
    _dispatch_job = job


def dispatch_after_commit() -> None:
    """Enqueue the event-dispatch job once the current transaction commits."""
    if _dispatch_job is None:
        raise RuntimeError("no event-dispatch job registered (otklik.core.tasks is not imported)")
    transaction.on_commit(_dispatch_job)


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
        for event in events:
            last_id = event.id
            try:
                # The handlers' writes and the mark commit together: a crash in between cannot make
                # them run twice (and, say, queue the same mail twice).
                with transaction.atomic():
                    for handler in list(_handlers.get(event.name, ())):
                        handler(event)
                    marked = DomainEvent.objects.filter(pk=event.pk, handled_at__isnull=True).update(
                        handled_at=clock.now()
                    )
                    if not marked:  # another dispatcher handled it meanwhile: undo ours
                        transaction.set_rollback(True)
                        continue
            except Exception:
                log.exception("event %s #%s: a handler failed; it stays pending", event.name, event.id)
                continue
            handled += 1
