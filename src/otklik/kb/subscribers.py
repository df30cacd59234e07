"""What the knowledge base hooks into below it: the demo step (articles, then the wizard's questions), and
new tickets, which withdraw their author's recent "left after a suggested article" records."""

from __future__ import annotations

_connected = False


def _demo(context) -> None:
    from otklik.kb.demo import kb_demo

    kb_demo(context)


def _on_activity(activity) -> None:
    """A client who opened a suggested article and then filed a ticket was not answered by it."""
    if not activity.created or not activity.ticket.author_id:
        return
    from otklik.kb.services import suggestions_withdraw_for

    suggestions_withdraw_for(user_id=activity.ticket.author_id)


def connect() -> None:
    """Subscribe once per process (AppConfig.ready may run more than once in tests)."""
    global _connected
    if _connected:
        return
    _connected = True
    from otklik.core import events
    from otklik.tickets.demo_steps import demo_step_register

    demo_step_register(_demo)
    events.listen(events.TICKET_ACTIVITY, _on_activity)
