"""API: a ticket's place in the support process, its moves and votes, and the process definitions (F-30).

Thin by design (ARCHITECTURE rule 9): every lookup starts from the caller's TicketPolicy (an invisible
ticket is a 404), what the caller sees and may do comes from WorkflowPolicy through
`selectors.process_view` (the process card of the ticket page reads the same), and every write is
`workflow_transition` or `workflow_vote`, which raise 403, 409 and 422 themselves.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Body, Field, Query, Router

from otklik.accounts.selectors import display_name
from otklik.core.errors import NotFound, PermissionDenied
from otklik.tickets import selectors as ticket_selectors
from otklik.tickets.models import Channel, Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.workflow.api_schemas import ErrorOut, MoveValues, ProcessOut, VoteIn, WorkflowOut
from otklik.workflow.models import ProcessVersion
from otklik.workflow.policies import WorkflowPolicy
from otklik.workflow.selectors import ProcessView, process_of, process_view, role_list, version_list
from otklik.workflow.services import workflow_transition, workflow_vote

router = Router(tags=["workflow"])


def _errors(*codes: int) -> dict[int, type[ErrorOut]]:
    """Document the error answers an operation can really give, each a JSON ErrorOut.

    400 the body cannot be read; 401 no or a bad token; 403 the caller does not hold the role; 404 no
    such ticket or process, or not visible; 409 the move is not available in the ticket's state (or waits
    for the board's votes); 413 a JSON body over OTKLIK_API_MAX_BODY_BYTES; 422 a field is wrong.
    """
    return {code: ErrorOut for code in codes}


MOVE_ERRORS = _errors(400, 401, 403, 404, 409, 413, 422)
CODE = re.compile(r"[-a-zA-Z0-9_]{1,40}")
VersionNumber = Annotated[int, Field(ge=1, le=2**31 - 1)]


def _policies(request: HttpRequest) -> WorkflowPolicy:
    return WorkflowPolicy(request.user, TicketPolicy(request.user))


# -- shaping ---------------------------------------------------------------------------------
def _person(user) -> dict | None:
    return None if user is None else {"id": user.pk, "username": user.username, "name": display_name(user)}


def _workflow(view: ProcessView) -> dict[str, Any]:
    """Shape a ticket's process as the reader may see it; the staff keys are left out for clients."""
    data: dict[str, Any] = {
        "process": view.place.version.code,
        "version": view.place.version.version,
        "state_name": view.state_name,
        "stage": view.stage,
        "transitions": [
            {
                "code": move.code,
                "name": move.name,
                "to": move.target,
                "to_name": move.target_name,
                "decision": move.decision,
                "fields": [
                    {
                        "name": f.name,
                        "label": f.label,
                        "required": f.required,
                        "type": f.type,
                        "choices": [{"value": value, "label": label} for value, label in f.choices],
                    }
                    for f in move.fields
                ],
            }
            for move in view.moves
        ],
    }
    if not view.inside:
        return data
    language = get_language()
    process = view.process
    history = []
    for move in view.history:
        step = process.transition(move.source, move.transition) if move.transition else None
        name = step.name.get(language) if step else move.transition
        history.append(
            {
                "at": move.at,
                "transition": move.transition,
                "name": name,
                "source": move.source,
                "target": move.target,
                "by": _person(move.actor),
                "acted_as": move.acted_as,
                "comment": move.comment,
                "values": move.values or {},
            }
        )
    data.update(
        state=view.place.state,
        role=view.role,
        role_name=view.role_name,
        entered_at=view.place.entered_at,
        l1_outcome=view.place.l1_outcome,
        history=history,
        votes=[
            {"voter": _person(v.voter), "vote": v.vote, "comment": v.comment, "at": v.at} for v in view.votes
        ],
        tally=view.tally,
        quorum=view.quorum,
        may_vote=view.may_vote,
        my_vote=view.my_vote.vote if view.my_vote is not None else None,
    )
    return data


def _view(policy: WorkflowPolicy, ticket: Ticket) -> dict[str, Any]:
    view = process_view(policy, ticket)
    if view is None:
        raise NotFound(_("This ticket is not in a support process."))
    return _workflow(view)


def _after_write(policy: WorkflowPolicy, ticket: Ticket) -> dict[str, Any]:
    """Answer with the process as it is now; a caller who just handed the ticket on still gets it."""
    current = policy.tickets.visible().filter(pk=ticket.pk).first()
    if current is None:
        ticket.refresh_from_db()
        current = ticket
    # A fresh policy: the move may have changed what the caller's roles let them see.
    return _view(WorkflowPolicy(policy.user), current)


# -- a ticket's process ----------------------------------------------------------------------
@router.get(
    "/tickets/{int:ticket_id}/workflow",
    response={200: WorkflowOut, **_errors(401, 404)},
    exclude_unset=True,
    summary="A ticket's place in the support process",
)
def ticket_workflow(request: HttpRequest, ticket_id: int):
    """Return the ticket's state, the moves the caller may take now with their forms, the history of
    moves and the board's votes; a client gets the plain-language stage only."""
    policy = _policies(request)
    return _view(policy, ticket_selectors.ticket_get(policy.tickets, ticket_id))


@router.post(
    "/tickets/{int:ticket_id}/workflow/votes",
    response={200: WorkflowOut, **_errors(400, 401, 403, 404, 409, 413, 422)},
    exclude_unset=True,
    summary="Vote on a change request (change board)",
)
def ticket_workflow_vote(request: HttpRequest, ticket_id: int, payload: VoteIn):
    """Record the caller's vote (approve or reject, with a comment); a second vote replaces the first
    until the board's decision is taken."""
    policy = _policies(request)
    ticket = ticket_selectors.ticket_get(policy.tickets, ticket_id)
    workflow_vote(actor=request.user, ticket=ticket, vote=payload.vote, comment=payload.comment)
    return _after_write(policy, ticket)


@router.post(
    "/tickets/{int:ticket_id}/workflow/{transition}",
    response={200: WorkflowOut, **MOVE_ERRORS},
    exclude_unset=True,
    summary="Take a move of the support process",
)
def ticket_workflow_move(
    request: HttpRequest, ticket_id: int, transition: str, payload: Body[MoveValues] = None
):
    """Take `transition` from the ticket's current state with the move's fields as a JSON object
    (e.g. {"comment": "…"}); dictionary fields take an entry's id or code, `responsible` a user id,
    `planned_effort` working hours, `expected_date` YYYY-MM-DD."""
    policy = _policies(request)
    ticket = ticket_selectors.ticket_get(policy.tickets, ticket_id)
    workflow_transition(
        actor=request.user, ticket=ticket, transition=transition, values=payload or {}, via=Channel.API
    )
    return _after_write(policy, ticket)


# -- definitions -----------------------------------------------------------------------------
def _support_view(request: HttpRequest) -> None:
    if not TicketPolicy(request.user).sees_support_view:
        raise PermissionDenied()


def _process(version: ProcessVersion, role_names: dict[str, str]) -> dict[str, Any]:
    process = process_of(version)
    language = get_language()
    return {
        "code": version.code,
        "name": process.name.get(language),
        "version": version.version,
        "active": version.active,
        "starts_new_tickets": version.starts_new_tickets,
        "created_at": version.created_at,
        "start": process.start,
        "states": [
            {
                "code": state.code,
                "name": state.name.get(language),
                "role": state.role,
                "role_name": role_names.get(state.role, state.role),
                "tier": state.tier,
                "final": state.final,
                "votes": state.votes,
            }
            for state in process.states.values()
        ],
    }


@router.get(
    "/workflow/processes",
    response={200: list[ProcessOut], **_errors(401, 403)},
    summary="Process definitions (staff)",
)
def process_list(request: HttpRequest):
    """List every version of every process definition, newest first, with its states and their roles."""
    _support_view(request)
    role_names = {role.code: role.label for role in role_list()}
    return [_process(version, role_names) for version in version_list()]


@router.get(
    "/workflow/processes/{code}/diagram.svg",
    response={200: None, **_errors(401, 403, 404, 422)},
    summary="A process drawn as SVG (staff)",
    openapi_extra={
        "responses": {
            200: {
                "description": "The diagram.",
                "content": {"image/svg+xml": {"schema": {"type": "string"}}},
            }
        }
    },
)
def process_diagram(request: HttpRequest, code: str, version: Query[VersionNumber | None] = None):
    """Draw the active version of the process (or `version`) with its states, moves and roles."""
    _support_view(request)
    if not CODE.fullmatch(code):
        raise NotFound(_("There is no such process."))
    versions = version_list().filter(code=code)
    found = (
        versions.filter(version=version).first()
        if version is not None
        else versions.filter(active=True).first() or versions.first()
    )
    if found is None:
        raise NotFound(_("There is no such process."))
    # Imported here: the drawing is the heavy part, needed only by this page.
    from otklik.workflow.diagram import process_svg

    svg = process_svg(process_of(found), language=get_language())
    return HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
