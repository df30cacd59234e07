"""API: macros (P5) — the caller's usable macros, creating one, applying one to a ticket.

Staff only: a client is refused (403) before anything is read. A macro or a ticket the caller cannot see
is a 404; a change the caller may not make refuses the whole macro (403, nothing applied).
"""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict, StrictInt

from otklik.accounts.selectors import display_name
from otklik.core.errors import PermissionDenied
from otklik.core.text_input import Text
from otklik.dictionaries.selectors import dictionary_list
from otklik.tickets import selectors
from otklik.tickets.api import ticket_detail_after_write
from otklik.tickets.api_schemas import ErrorOut, TicketDetailOut
from otklik.tickets.fields import DICTIONARY_FIELDS
from otklik.tickets.macro_selectors import macro_get_for, macro_list_for, macro_summaries
from otklik.tickets.models import Channel, Macro
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.actions import REPLY_MAX_LENGTH
from otklik.tickets.services.macros import (
    NAME_MAX_LENGTH,
    SORT_MAX,
    SORT_MIN,
    MacroInput,
    macro_apply,
    macro_editable,
    macro_save,
)

router = Router(tags=["macros"])

TagName = Annotated[Text, Field(max_length=200)]
# A field's new value: a dictionary entry's id or symbolic code, a person's or SLA level's id, true/false
# for "postponed", null to clear.
ChangeValue = StrictInt | bool | Annotated[Text, Field(max_length=64)] | None


class MacroActionsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    changes: dict[Annotated[str, Field(max_length=40)], ChangeValue] = Field(
        default_factory=dict,
        description="Fields to set: status, category, criticality, difficulty, mark (entry id or code), "
        "sla, responsible (id), is_postponed (true/false); null clears.",
    )
    add_tags: list[TagName] = Field(default_factory=list, max_length=30)
    remove_tags: list[TagName] = Field(default_factory=list, max_length=30)
    close: bool = False
    reopen: bool = False


class MacroCreateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, Field(min_length=1, max_length=NAME_MAX_LENGTH)]
    shared: bool = Field(False, description="true: offered to all staff (support admins only).")
    actions: MacroActionsIn = Field(default_factory=MacroActionsIn)
    reply: Annotated[Text, Field(max_length=REPLY_MAX_LENGTH)] = Field(
        "",
        description="An optional reply; placeholders {ticket.id} {ticket.title} {author.name} {agent.name}.",
    )
    reply_hidden: bool = Field(False, description="true: the reply is a hidden note.")
    active: bool = True
    sort: StrictInt = Field(100, ge=SORT_MIN, le=SORT_MAX)


class MacroOwnerOut(Schema):
    id: int
    username: str
    name: str


class MacroOut(Schema):
    id: int
    name: str
    shared: bool
    owner: MacroOwnerOut | None
    actions: dict[str, Any]
    reply: str
    reply_hidden: bool
    active: bool
    sort: int
    summary: list[str] = Field(description="What the macro does, one line a part, in the caller's language.")
    editable: bool
    created_at: Any
    updated_at: Any


def _errors(*codes: int) -> dict[int, type[ErrorOut]]:
    return {code: ErrorOut for code in codes}


def _staff_policy(request: HttpRequest) -> TicketPolicy:
    policy = TicketPolicy(request.user)
    if not policy.sees_support_view:
        raise PermissionDenied(_("Macros are for support staff."))
    return policy


def _macro(macro: Macro, policy: TicketPolicy, summary: list[str]) -> dict[str, Any]:
    owner = macro.owner
    return {
        "id": macro.pk,
        "name": macro.name,
        "shared": macro.owner_id is None,
        "owner": None
        if owner is None
        else {"id": owner.pk, "username": owner.username, "name": display_name(owner)},
        "actions": macro.actions or {},
        "reply": macro.reply,
        "reply_hidden": macro.reply_hidden,
        "active": macro.active,
        "sort": macro.sort,
        "summary": summary,
        "editable": macro_editable(policy, macro),
        "created_at": macro.created_at,
        "updated_at": macro.updated_at,
    }


def _resolved_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Turn dictionary codes into entry ids; other values go to the service to judge."""
    resolved = dict(changes)
    for name, value in changes.items():
        if name in DICTIONARY_FIELDS and isinstance(value, str) and not value.isdigit():
            entry = dictionary_list(DICTIONARY_FIELDS[name], active_only=False).filter(code=value).first()
            if entry is not None:
                resolved[name] = entry.pk
    return resolved


@router.get("/macros", response={200: list[MacroOut], **_errors(401, 403)}, summary="The caller's macros")
def macro_list(request: HttpRequest):
    """List the macros the caller may apply: their own and the shared ones, active, in menu order."""
    policy = _staff_policy(request)
    macros = list(macro_list_for(request.user).select_related("owner"))
    summaries = macro_summaries(macros)
    return [_macro(m, policy, summaries[m.pk]) for m in macros]


@router.post(
    "/macros",
    response={201: MacroOut, **_errors(400, 401, 403, 413, 422)},
    summary="Create a macro",
)
def macro_create(request: HttpRequest, payload: MacroCreateIn):
    """Create a personal macro (any staff member) or a shared one (support admins only)."""
    policy = _staff_policy(request)
    actions = payload.actions.dict()
    actions["changes"] = _resolved_changes(actions["changes"])
    macro = macro_save(
        actor=request.user,
        data=MacroInput(
            name=payload.name,
            shared=payload.shared,
            actions=actions,
            reply=payload.reply,
            reply_hidden=payload.reply_hidden,
            active=payload.active,
            sort=payload.sort,
        ),
    )
    return Status(201, _macro(macro, policy, macro_summaries([macro])[macro.pk]))


@router.post(
    "/tickets/{int:ticket_id}/macros/{int:macro_id}",
    response={200: TicketDetailOut, **_errors(401, 403, 404, 422)},
    exclude_unset=True,
    summary="Apply a macro to a ticket",
)
def macro_apply_to_ticket(request: HttpRequest, ticket_id: int, macro_id: int):
    """Apply the macro to the ticket, all or nothing; 403 names the change the caller may not make."""
    policy = _staff_policy(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    macro = macro_get_for(request.user, macro_id)
    ticket = macro_apply(actor=request.user, macro=macro, ticket=ticket, via=Channel.API)
    return ticket_detail_after_write(policy, ticket)
