"""The process card's pages: a move's form and its submission, a board vote, the card, role instructions.

Every page answers an htmx request with the card or the form alone and a plain request with a whole page,
so the card works without JavaScript too. Errors keep the form: 422 with field messages, 403 for a user
without the role, 409 for a move not available now.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from otklik.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import ticket_get
from otklik.workflow.card import card_context
from otklik.workflow.definition import Process
from otklik.workflow.models import VoteChoice
from otklik.workflow.policies import WorkflowPolicy
from otklik.workflow.selectors import (
    MoveOption,
    move_option,
    place_of,
    process_of,
    process_view,
    role_get,
    role_members,
    transition_fields,
    version_list,
)
from otklik.workflow.services import workflow_transition, workflow_vote


def _ticket_policy(request: HttpRequest) -> TicketPolicy:
    """Return the request's TicketPolicy (shared with the ticket pages' context), built once."""
    policy = getattr(request, "_ticket_policy", None)
    if policy is None or policy.user is not request.user:
        policy = TicketPolicy(request.user)
        request._ticket_policy = policy  # type: ignore[attr-defined]
    return policy


def _staff(request: HttpRequest) -> TicketPolicy:
    policy = _ticket_policy(request)
    if not policy.sees_support_view:
        raise PermissionDenied(_("The staff workspace is for support staff."))
    return policy


def _errors_as_pages(view):
    """Turn "not found" into 404 and the other domain errors into the error page with their status."""

    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404() from None
        except DomainError as exc:
            return render(request, "ui/error.html", {"message": exc.message}, status=exc.status)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _back_to_ticket(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """After a move or a vote show the whole ticket page again (the card, the discussion, the fields)."""
    url = reverse("tickets:staff_detail", args=[ticket_id])
    if request.htmx:  # type: ignore[attr-defined]
        response = HttpResponse()
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _option(process: Process, state: str, code: str) -> MoveOption | None:
    """Describe a transition from `state` (also one the user may not take: the form shows why)."""
    step = process.transition(state, code)
    return None if step is None else move_option(process, step, get_language())


def _card_response(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    """Render the card alone for htmx, or the move's page for a plain request."""
    template = "workflow/_card.html" if request.htmx else "workflow/move.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=status)


@require_http_methods(["GET"])
@_errors_as_pages
def process_card(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Render the process card alone (htmx: closing a move's form)."""
    policy = _staff(request)
    ticket = ticket_get(policy, ticket_id)
    context = card_context(request, ticket, ticket_policy=policy)
    if context is None:
        raise NotFound()
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("tickets:staff_detail", ticket_id=ticket.pk)
    return render(request, "workflow/_card.html", context)


@require_http_methods(["GET", "POST"])
@_errors_as_pages
def process_move(request: HttpRequest, ticket_id: int, transition: str) -> HttpResponse:
    """Show a move's form (GET) or take the move with the submitted fields (POST)."""
    policy = _staff(request)
    ticket = ticket_get(policy, ticket_id)
    view = process_view(WorkflowPolicy(request.user, policy), ticket)
    if view is None:
        raise Conflict(_("This ticket is not in a support process."))
    mine = next((m for m in view.moves if m.code == transition), None)
    option = mine or _option(view.process, view.place.state, transition)
    if request.method == "GET":
        if option is None:
            raise Conflict(
                _("The move %(move)s is not available in the state %(state)s.")
                % {"move": transition, "state": view.state_name}
            )
        if mine is None:
            raise PermissionDenied(_("Only the role that must act here may take this move."))
        context = card_context(request, ticket, ticket_policy=policy, view=view, open_move=option)
        return _card_response(request, context or {})
    values = {
        name: value
        for name, value in request.POST.items()
        if name != "csrfmiddlewaretoken" and value.strip() != ""
    }
    try:
        workflow_transition(actor=request.user, ticket=ticket, transition=transition, values=values)
    except (ValidationFailed, PermissionDenied, Conflict) as exc:
        errors = {name: list(texts) for name, texts in exc.errors.items()}
        message = exc.message
        if isinstance(exc, ValidationFailed) and errors:
            message = _("Please correct the errors below.")
        context = card_context(
            request,
            ticket,
            ticket_policy=policy,
            view=view,
            open_move=option,
            values=values,
            errors=errors,
            message=message,
        )
        return _card_response(request, context or {}, status=exc.status)
    place = place_of(ticket.pk)
    state = process_of(place.version).state(place.state) if place else None
    messages.success(
        request,
        _("Done: %(move)s. The ticket is now at “%(state)s”.")
        % {
            "move": option.name if option else transition,
            "state": state.name.get(get_language()) if state else "",
        },
    )
    return _back_to_ticket(request, ticket.pk)


@require_POST
@_errors_as_pages
def process_vote(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Record the board member's vote (approve or reject, with a comment)."""
    policy = _staff(request)
    ticket = ticket_get(policy, ticket_id)
    vote = request.POST.get("vote", "")
    try:
        workflow_vote(actor=request.user, ticket=ticket, vote=vote, comment=request.POST.get("comment", ""))
    except (ValidationFailed, PermissionDenied, Conflict) as exc:
        context = card_context(
            request,
            ticket,
            ticket_policy=policy,
            vote_errors={name: list(texts) for name, texts in exc.errors.items()},
            vote_message=exc.message,
            values={"vote_comment": request.POST.get("comment", "")},
        )
        if context is None:
            raise
        return _card_response(request, context, status=exc.status)
    messages.success(request, _("Your vote is recorded: %(vote)s.") % {"vote": VoteChoice(vote).label})
    return _back_to_ticket(request, ticket.pk)


@require_http_methods(["GET"])
@_errors_as_pages
def role_instructions(request: HttpRequest, code: str) -> HttpResponse:
    """One role's instructions and the states of the active processes where it acts."""
    _staff(request)
    role = role_get(code)
    if role is None:
        raise NotFound()
    language = get_language()
    processes = []
    for version in version_list().filter(active=True):
        process = process_of(version)
        states = []
        for state in process.states.values():
            steps = [t for t in process.transitions_from(state.code) if code in t.roles]
            if state.role != code and not steps:
                continue
            states.append(
                {
                    "code": state.code,
                    "name": state.name.get(language),
                    "acts": state.role == code,
                    "votes": state.votes and state.role == code,
                    "quorum": state.quorum,
                    "moves": [
                        {
                            "name": t.name.get(language),
                            "target": (
                                process.state(t.target).name.get(language)
                                if process.state(t.target)
                                else t.target
                            ),
                            "fields": [f.label for f in transition_fields(t) if f.required],
                        }
                        for t in steps
                    ],
                }
            )
        if states:
            processes.append(
                {"name": process.name.get(language), "version": version.version, "states": states}
            )
    return render(
        request,
        "workflow/role.html",
        {
            "role": role,
            "processes": processes,
            "members": list(role_members(code)),
            "held": code in WorkflowPolicy(request.user, _ticket_policy(request)).roles,
        },
    )
