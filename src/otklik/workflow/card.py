"""The process card on the staff ticket page, the stage on the client's, and the "my queue" filter (F-30).

Tickets sits below workflow, so these are registered into `tickets.panels` from `subscribers.connect`;
the card's own pages (a move's form, a vote) are in `workflow.views`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from otklik.accounts.selectors import display_name
from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.workflow.definition import Process
from otklik.workflow.diagram import process_svg, svg_inline
from otklik.workflow.models import Move
from otklik.workflow.policies import ADMIN, WorkflowPolicy
from otklik.workflow.selectors import MoveOption, ProcessView, process_view, queue_ticket_ids, role_codes_of


@dataclass(frozen=True)
class HistoryLine:
    """One move as the card shows it."""

    move: Move
    actor: str
    source: str
    target: str
    name: str
    as_admin: bool
    override: bool
    assignment: str  # "Petrov (the least loaded: 2 open tickets)" or ""


def outcome_label(process: Process, code: str, moves: list[Move] | None = None) -> str:
    """Return the name of the L1 class `code`: the name of the move that recorded it (the last one that
    did), else of the first move that records it, else the code."""
    if not code:
        return ""
    recorded = [process.transition(m.source, m.transition) for m in moves or []]
    steps = [t for t in recorded if t is not None and t.outcome == code]
    step = steps[-1] if steps else next((t for t in process.transitions if t.outcome == code), None)
    return step.name.get(get_language()) if step else code


def history_lines(process: Process, moves: list[Move]) -> list[HistoryLine]:
    """Describe the moves in the active language, newest first."""
    language = get_language()

    def state_name(code: str) -> str:
        state = process.state(code)
        return state.name.get(language) if state else code

    lines = []
    for move in moves:
        step = process.transition(move.source, move.transition)
        if move.transition == "reopen":
            name = _("reopened")
        elif move.transition == "closed" and step is None:
            name = _("closed outside the process")
        elif not move.transition:
            name = _("started")
        else:
            name = step.name.get(language) if step else move.transition
        values = move.values or {}
        assignment = ""
        if isinstance(values.get("assignment"), dict):
            given = values["assignment"]
            reason = given.get("reason") or {}
            why = reason.get(language[:2]) or reason.get("en") or reason.get("ru") or ""
            assignment = f"{given.get('name', '')} ({why})" if why else str(given.get("name", ""))
        lines.append(
            HistoryLine(
                move=move,
                actor=display_name(move.actor) or _("the system"),
                source=state_name(move.source) if move.source else "",
                target=state_name(move.target),
                name=name,
                as_admin=move.acted_as == ADMIN,
                override=bool(values.get("override")),
                assignment=assignment,
            )
        )
    lines.reverse()
    return lines


def card_context(
    request: HttpRequest,
    ticket: Ticket,
    *,
    ticket_policy: TicketPolicy | None = None,
    view: ProcessView | None = None,
    open_move: MoveOption | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    message: str = "",
    vote_errors: dict[str, list[str]] | None = None,
    vote_message: str = "",
) -> dict[str, Any] | None:
    """Return what the card template needs, or None when the ticket is in no process."""
    policy = WorkflowPolicy(request.user, ticket_policy)
    view = view or process_view(policy, ticket)
    if view is None:
        return None
    return {
        "ticket": ticket,
        "view": view,
        "outcome": outcome_label(view.process, view.place.l1_outcome, view.history),
        "history": history_lines(view.process, view.history),
        "open_move": open_move,
        "values": values or {},
        "errors": errors or {},
        "message": message,
        "vote_errors": vote_errors or {},
        "vote_message": vote_message,
        "decisions_wait": view.tally["approve"] + view.tally["reject"] < view.quorum,
        "is_admin": policy.is_admin,
        # The definition drawn with the ticket's state filled in (cached per version, state and language).
        "diagram": (
            svg_inline(process_svg(view.process, current=view.place.state, role_names=view.role_names))
            if view.inside
            else ""
        ),
    }


def staff_panel(request: HttpRequest, ticket_policy: TicketPolicy, ticket: Ticket) -> str:
    """Render the process card for the staff ticket page ("" when the ticket is in no process)."""
    context = card_context(request, ticket, ticket_policy=ticket_policy)
    if context is None:
        return ""
    return render_to_string("workflow/_card.html", context, request=request)


def client_panel(request: HttpRequest, ticket_policy: TicketPolicy, ticket: Ticket) -> str:
    """Render the plain-language stage for the client's ticket page: nothing internal."""
    view = process_view(WorkflowPolicy(request.user, ticket_policy), ticket)
    if view is None or not view.stage:
        return ""
    return render_to_string("workflow/_stage.html", {"stage": view.stage}, request=request)


def my_queue(user) -> Q | None:
    """Return the tickets waiting for a role the user holds (the staff list's "my queue")."""
    if not getattr(user, "is_authenticated", False):
        return None
    roles = role_codes_of(user)
    if not roles:
        return None
    return Q(pk__in=queue_ticket_ids(roles))
