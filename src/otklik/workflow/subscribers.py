"""Connect the support process to what tickets announce: new tickets start it, reopened ones go back."""

from __future__ import annotations

from otklik.core import events

_connected = False


def _on_preparing(ticket) -> None:
    from otklik.workflow.services import ticket_preparing

    ticket_preparing(ticket)


def _on_activity(activity) -> None:
    from otklik.workflow.services import ticket_activity_seen

    ticket_activity_seen(activity)


def _visibility(user):
    """Let a role's holders see the tickets waiting for that role (tickets.policies asks per request)."""
    from django.db.models import Q

    from otklik.tickets.policies import VisibilityGrant
    from otklik.workflow.models import TicketProcess
    from otklik.workflow.selectors import role_codes_of

    roles = role_codes_of(user)
    if not roles:
        return None
    return VisibilityGrant(
        q=Q(process__role__in=roles),
        allows=lambda ticket: TicketProcess.objects.filter(ticket_id=ticket.pk, role__in=roles).exists(),
    )


def _demo(context) -> None:
    from otklik.workflow.demo import workflow_demo

    workflow_demo(context)


def _list_filters() -> list:
    """Return the staff list's filters by the process: its state and the L1 outcome ("none": not set)."""
    from django.db.models import Q
    from django.utils.translation import gettext as _

    from otklik.tickets.panels import ListFilter
    from otklik.workflow.selectors import process_labels

    def choices(by: str):
        return lambda: [("none", _("not set")), *process_labels(by).items()]

    # The ticket's copies of its place; "" (outside the process, or no outcome yet) is "none".
    def state_q(value: str) -> Q:
        return Q(process_state="" if value == "none" else value)

    def outcome_q(value: str) -> Q:
        return Q(l1_outcome="" if value == "none" else value)

    return [
        ListFilter("process_state", lambda: _("Process state"), choices("process_state"), state_q),
        ListFilter("l1_outcome", lambda: _("L1 outcome"), choices("l1_outcome"), outcome_q),
    ]


def connect() -> None:
    """Subscribe once per process (AppConfig.ready may run more than once in tests)."""
    global _connected
    if _connected:
        return
    _connected = True
    from otklik.core.config_cache import config_models_register
    from otklik.tickets.demo_steps import demo_step_register
    from otklik.tickets.panels import list_filter_register, queue_register, ticket_panel_register
    from otklik.tickets.policies import visibility_grant_register
    from otklik.workflow import card
    from otklik.workflow.models import ProcessVersion, Role

    config_models_register(Role, ProcessVersion)
    events.listen(events.TICKET_PREPARING, _on_preparing)
    events.listen(events.TICKET_ACTIVITY, _on_activity)
    visibility_grant_register(_visibility)
    ticket_panel_register("staff", card.staff_panel)
    ticket_panel_register("client", card.client_panel)
    queue_register(card.my_queue)
    for list_filter in _list_filters():
        list_filter_register(list_filter)
    demo_step_register(_demo)
