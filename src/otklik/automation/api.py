"""API: automation rules (P6) — list, create, change, delete, dry-run and firings; support admins only.

Thin by design (ARCHITECTURE rule 9): the services check the caller and the definition and raise 403,
404 and 422 with field messages themselves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict

from otklik.automation.definition import HOURS_MAX
from otklik.automation.models import AutomationRule
from otklik.automation.selectors import firing_list, rule_list
from otklik.automation.services import (
    ORDER_MAX,
    rule_create,
    rule_definition_values,
    rule_delete,
    rule_dry_run,
    rule_for_actor,
    rule_update,
    rules_manage_allowed,
)
from otklik.core.api_errors import ErrorOut
from otklik.core.errors import PermissionDenied
from otklik.core.text_input import Text

router = Router(tags=["automation"])

Event = Literal["created", "updated", "client_replied", "sla_reminder", "sla_overdue", "pending_hours"]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


def _errors(*codes: int) -> dict[int, type[ErrorOut]]:
    """400 unreadable body; 401 no or a bad token; 403 not a support admin; 404 no such rule; 413 a body
    over the limit; 422 a field is wrong."""
    return {code: ErrorOut for code in codes}


class RuleIn(Schema):
    """A rule's definition. `conditions`: [{"field", "op", "value"}]; `actions`: the macro action set
    (changes, add_tags, remove_tags, close, reopen) plus reply, reply_hidden, transition and notify
    ({"users": [ids], "responsible": true, "text": "..."})."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, Field(min_length=1, max_length=100)]
    active: bool = True
    order: Annotated[int, Field(ge=0, le=ORDER_MAX)] = 100
    event: Event
    hours: Annotated[int, Field(ge=1, le=HOURS_MAX)] | None = None
    conditions: Annotated[list[dict[str, Any]], Field(max_length=30)] = []
    match: Literal["all", "any"] = "all"
    actions: dict[str, Any] = {}
    stop_processing: bool = False
    run_as: Id | None = None


class RulePatch(Schema):
    """Fields to change; those left out keep their values."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, Field(min_length=1, max_length=100)] | None = None
    active: bool | None = None
    order: Annotated[int, Field(ge=0, le=ORDER_MAX)] | None = None
    event: Event | None = None
    hours: Annotated[int, Field(ge=1, le=HOURS_MAX)] | None = None
    conditions: Annotated[list[dict[str, Any]], Field(max_length=30)] | None = None
    match: Literal["all", "any"] | None = None
    actions: dict[str, Any] | None = None
    stop_processing: bool | None = None
    run_as: Id | None = None


class RuleOut(Schema):
    id: int
    name: str
    active: bool
    order: int
    event: str
    hours: int | None
    conditions: list[dict[str, Any]]
    match: str
    actions: dict[str, Any]
    stop_processing: bool
    run_as: int | None
    created_at: datetime
    updated_at: datetime
    last_fired_at: datetime | None = None
    last_outcome: str | None = None


class DryRunOut(Schema):
    id: int
    title: str


class FiringOut(Schema):
    rule: int
    ticket: int
    event: str
    fired_at: datetime
    outcome: str
    detail: str


def _rule_out(rule: AutomationRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        **rule_definition_values(rule),
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
        "last_fired_at": getattr(rule, "last_fired_at", None),
        "last_outcome": getattr(rule, "last_outcome", None),
    }


def _admin(request: HttpRequest) -> None:
    if not rules_manage_allowed(request.user):
        raise PermissionDenied()


@router.get("/rules", response={200: list[RuleOut], **_errors(401, 403)}, summary="List automation rules")
def rules_list(request: HttpRequest):
    """Every rule in its order, with its last firing."""
    _admin(request)
    return [_rule_out(rule) for rule in rule_list()]


@router.post(
    "/rules", response={201: RuleOut, **_errors(400, 401, 403, 413, 422)}, summary="Create an automation rule"
)
def rules_create(request: HttpRequest, payload: RuleIn):
    """Create a rule; it acts as `run_as` (a support admin; the caller when left out)."""
    rule = rule_create(actor=request.user, data=payload.dict())
    return Status(201, _rule_out(rule))


@router.get(
    "/rules/{int:rule_id}",
    response={200: RuleOut, **_errors(401, 403, 404)},
    summary="Read an automation rule",
)
def rules_get(request: HttpRequest, rule_id: int):
    return _rule_out(rule_for_actor(actor=request.user, rule_id=rule_id))


@router.put(
    "/rules/{int:rule_id}",
    response={200: RuleOut, **_errors(400, 401, 403, 404, 413, 422)},
    summary="Change an automation rule",
)
def rules_update(request: HttpRequest, rule_id: int, payload: RulePatch):
    rule = rule_for_actor(actor=request.user, rule_id=rule_id)
    data = payload.dict(exclude_unset=True)
    return _rule_out(rule_update(actor=request.user, rule=rule, data=data))


@router.delete(
    "/rules/{int:rule_id}",
    response={204: None, **_errors(401, 403, 404)},
    summary="Delete an automation rule",
)
def rules_delete(request: HttpRequest, rule_id: int):
    rule_delete(actor=request.user, rule=rule_for_actor(actor=request.user, rule_id=rule_id))
    return HttpResponse(status=204)


@router.post(
    "/rules/{int:rule_id}/dry-run",
    response={200: list[DryRunOut], **_errors(401, 403, 404)},
    summary="Which open tickets the rule matches now",
)
def rules_dry_run(request: HttpRequest, rule_id: int):
    """The open tickets the rule's conditions match now (at most 200), without changing anything."""
    rule = rule_for_actor(actor=request.user, rule_id=rule_id)
    return [{"id": m.id, "title": m.title} for m in rule_dry_run(actor=request.user, rule=rule)]


@router.get(
    "/rules/{int:rule_id}/firings",
    response={200: list[FiringOut], **_errors(401, 403, 404)},
    summary="The rule's newest firings",
)
def rules_firings(request: HttpRequest, rule_id: int):
    rule = rule_for_actor(actor=request.user, rule_id=rule_id)
    return [
        {
            "rule": f.rule_id,
            "ticket": f.ticket_id,
            "event": f.event,
            "fired_at": f.fired_at,
            "outcome": f.outcome,
            "detail": f.detail,
        }
        for f in firing_list(rule)
    ]
