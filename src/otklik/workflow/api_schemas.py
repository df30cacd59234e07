"""Schemas of the support process API (v1): a ticket's process, its moves' forms, votes, definitions."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import ConfigDict, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from otklik.core.api_errors import ErrorOut  # noqa: F401  (re-exported: the workflow API documents it)
from otklik.core.text_input import Text, unstorable_text_message

MAX_TEXT = 10_000
MAX_ID = 2**63 - 1

# One value of a move's form: a text (comment, reply, a date as YYYY-MM-DD, a dictionary code), a whole
# number (an entry's or a user's id) or a number of hours. The service checks each against its field.
FieldName = Annotated[Text, Field(min_length=1, max_length=40)]


def _field_value(value: object) -> str | int | float | None:
    """Accept a text, a whole number, a finite number or null; name the problem in one message."""
    if value is None:
        return None
    if isinstance(value, str):
        if message := unstorable_text_message(value):
            raise PydanticCustomError("unstorable_text", message)
        if len(value) > MAX_TEXT:
            raise PydanticCustomError(
                "string_too_long", _("Enter at most %(limit)s characters.") % {"limit": MAX_TEXT}
            )
        return value
    if isinstance(value, int) and not isinstance(value, bool) and -MAX_ID <= value <= MAX_ID:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise PydanticCustomError("field_value", _("Enter a text or a number."))


FieldValue = Annotated[
    str | int | float | None,
    PlainValidator(_field_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": MAX_TEXT},
                {"type": "integer"},
                {"type": "number"},
                {"type": "null"},
            ]
        }
    ),
]
MoveValues = Annotated[dict[FieldName, FieldValue], Field(max_length=20)]


class VoteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    vote: Literal["approve", "reject"]
    comment: Annotated[Text, Field(max_length=MAX_TEXT)] = ""


class ChoiceOut(Schema):
    value: str
    label: str


class FieldOut(Schema):
    """One field of a move's form; `type` is text, dictionary:<kind>, choice, hours, date or user."""

    name: str
    label: str
    required: bool
    type: str
    choices: list[ChoiceOut]


class TransitionOut(Schema):
    """A move the caller may take now."""

    code: str
    name: str
    to: str
    to_name: str
    decision: str = Field(description='"approve" or "reject" for a board decision, else "".')
    fields: list[FieldOut]


class PersonOut(Schema):
    id: int
    username: str
    name: str


class MoveOut(Schema):
    """One move in the ticket's history ("reopen" for a reopen by the client or staff)."""

    at: datetime
    transition: str
    name: str
    source: str
    target: str
    by: PersonOut | None
    acted_as: str
    comment: str
    values: dict[str, Any]


class VoteOut(Schema):
    voter: PersonOut
    vote: str
    comment: str
    at: datetime


class TallyOut(Schema):
    approve: int
    reject: int


class WorkflowOut(Schema):
    """A ticket's place in its process. Clients get process, version, state_name, stage and an empty
    `transitions`; the keys marked "staff" appear for staff, admins and demo only."""

    process: str
    version: int
    state_name: str
    stage: str
    transitions: list[TransitionOut]
    # staff
    state: str | None = None
    role: str | None = None
    role_name: str | None = None
    entered_at: datetime | None = None
    l1_outcome: str | None = None
    history: list[MoveOut] | None = None
    votes: list[VoteOut] | None = None
    tally: TallyOut | None = None
    quorum: int | None = None
    may_vote: bool | None = None
    my_vote: str | None = None


class StateOut(Schema):
    code: str
    name: str
    role: str
    role_name: str
    tier: str
    final: bool
    votes: bool


class ProcessOut(Schema):
    """One version of a process definition."""

    code: str
    name: str
    version: int
    active: bool
    starts_new_tickets: bool
    created_at: datetime
    start: str
    states: list[StateOut]
