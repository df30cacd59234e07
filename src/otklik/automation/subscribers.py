"""Connect the rule engine to what the ticket services and the SLA job announce."""

from __future__ import annotations

from otklik.core import events
from otklik.core.models import DomainEvent

_connected = False


def _on_ticket_activity(activity) -> None:
    from otklik.automation.engine import activity_run

    activity_run(activity)


def _on_sla_event(event: DomainEvent) -> None:
    from otklik.automation.services import rules_sla_run

    rules_sla_run(event)


def _demo(context) -> None:
    from otklik.automation.demo import automation_demo

    automation_demo(context)


def connect() -> None:
    """Subscribe once per process (AppConfig.ready may run more than once in tests)."""
    global _connected
    if _connected:
        return
    _connected = True
    events.listen(events.TICKET_ACTIVITY, _on_ticket_activity)
    events.subscribe(events.TICKET_REMINDER, _on_sla_event)
    events.subscribe(events.TICKET_OVERDUE, _on_sla_event)
    from otklik.tickets.demo_steps import demo_step_register

    demo_step_register(_demo)
