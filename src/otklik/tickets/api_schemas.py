"""Schemas of the tickets API (v1): what the endpoints accept and what they answer.

Input schemas only check shapes and bounds; the rules (F-13, lengths, valid dictionary values) stay in
the services so that the web, mail and the API refuse the same things with the same messages.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, PlainValidator, StrictInt, WithJsonSchema
from pydantic_core import PydanticCustomError

from otklik.core.api_errors import ErrorOut  # noqa: F401  (re-exported: the tickets API documents it)
from otklik.core.text_input import Text, storable_text, unstorable_text_message
from otklik.tickets.fields import BODY_MAX, TITLE_MAX

# Ids are 64-bit in the database; anything larger is refused before it reaches a query.
MAX_ID = 2**63 - 1
MAX_PAGE = 1_000_000
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def _blank_to_none(value: object) -> object:
    """Treat an empty query parameter (`?author=`) as "any", the way HTML forms send it."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


# Texts the services refuse when empty (after trimming) or longer than they keep.
Title = Annotated[Text, Field(min_length=1, max_length=TITLE_MAX)]
MessageText = Annotated[Text, Field(min_length=1, max_length=BODY_MAX)]
Prompt = Annotated[Text, Field(max_length=BODY_MAX)]
AdminComment = Annotated[Text, Field(max_length=10_000)]
TicketType = Annotated[Text, Field(max_length=32)]
Tier = Annotated[Text, Field(max_length=8)]
CouponCode = Annotated[Text, Field(max_length=64)]
# A positive id.
Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]


def _dictionary_ref(value: object) -> int | str:
    """Accept a dictionary entry's id (a whole number) or its symbolic code (a short string)."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
        return value
    if isinstance(value, str) and len(value) <= 64:
        if message := unstorable_text_message(value):
            raise PydanticCustomError("unstorable_text", message)
        return value
    raise PydanticCustomError("dictionary_ref", _("Give the entry's id or its symbolic code."))


# A dictionary entry given by id or by symbolic code (F-05), e.g. 3 or "high".
DictRef = Annotated[
    int | str,
    PlainValidator(_dictionary_ref),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "maxLength": 64}]}),
]

# Query-string versions (every value arrives as text and is converted).
QId = Annotated[Annotated[int, Field(ge=1, le=MAX_ID)] | None, BeforeValidator(_blank_to_none)]
QCount = Annotated[Annotated[int, Field(ge=0, le=MAX_ID)] | None, BeforeValidator(_blank_to_none)]
QBool = Annotated[bool | None, BeforeValidator(_blank_to_none)]
QWhen = Annotated[datetime | None, BeforeValidator(_blank_to_none)]
QText = Annotated[str, Field(max_length=500), AfterValidator(storable_text)]
QTagName = Annotated[str, Field(max_length=600), AfterValidator(storable_text)]
QDictRef = Annotated[
    Annotated[str, Field(max_length=64), AfterValidator(storable_text)] | None,
    BeforeValidator(_blank_to_none),
]


# -- list query ------------------------------------------------------------------------------
class TicketListQuery(Schema):
    """Filters, sorting and paging of GET /tickets; the names follow selectors.TicketFilter."""

    id: QId = None
    indicator: Literal["", "grey", "green", "green_s", "red", "yellow"] = ""
    state: Literal["", "open", "closed"] = ""
    last_by: Literal["", "client", "support"] = Field(
        "", description="Who wrote the last message: the client (red on the desk) or support (green)."
    )
    q: QText = Field("", description="Full-text search over the title and the messages the caller may see.")
    author: QId = None
    author_text: QText = ""
    created_by: QId = None
    modified_by: QId = None
    responsible: QId = None
    responsible_none: bool = Field(False, description="Only tickets nobody is responsible for.")
    sla: QId = None
    category: QDictRef = Field(None, description="Id or symbolic code.")
    criticality: QDictRef = Field(None, description="Id or symbolic code.")
    status: QDictRef = Field(None, description="Id or symbolic code.")
    mark: QDictRef = Field(None, description="Id or symbolic code.")
    source: QDictRef = Field(None, description="Id or symbolic code.")
    difficulty: QDictRef = Field(None, description="Id or symbolic code.")
    unset: QText = Field(
        "",
        description="Comma-separated fields that must have no value: sla, category, criticality, status, "
        "mark, source, difficulty (the reports' “(none)” rows).",
    )
    process_state: QText = Field(
        "", description="The support process's state code; none: tickets outside the process."
    )
    l1_outcome: QText = Field("", description="The first line's outcome code; none: not set.")
    spam: Annotated[Literal["none", "possible", "definite"] | None, BeforeValidator(_blank_to_none)] = None
    postponed: QBool = None
    overdue: QBool = None
    special: QBool = None
    created_from: QWhen = None
    created_to: QWhen = None
    modified_from: QWhen = None
    modified_to: QWhen = None
    messages_min: QCount = None
    messages_max: QCount = None
    time_spent_min: QCount = None
    time_spent_max: QCount = None
    overdue_min: QCount = None
    auto_close_days_min: QCount = Field(
        None, description="Auto-close days (the ticket's own or the module default)."
    )
    auto_close_days_max: QCount = None
    comment: QText = ""
    client_group: QId = None
    staff_group: QId = None
    coupon: QText = ""
    ticket_type: QText = ""
    tier: QText = ""
    queue: QBool = Field(
        None, description="Staff: only the tickets waiting for a process role the caller holds."
    )
    has_open_children: QBool = Field(None, description="Staff: only tickets with an open child ticket.")
    tag: list[QTagName] = Field(
        [],
        max_length=10,
        description="Staff: tickets by their tags, names regardless of letter case (repeat the parameter "
        "or separate the names with commas); see tag_mode.",
    )
    tag_mode: Literal["", "any", "all", "none"] = Field(
        "", description="How the tags combine: any of them (the default), all of them, or none of them."
    )
    sort: QText = Field("", description="A sort key, '-' in front for descending; empty: the default order.")
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    cursor: QText = Field(
        "",
        description="Continue after the last row of a page: its `next_cursor` (with the same filters and a "
        "sort by id, created or modified). Costs the same at any depth, unlike `page`.",
    )


# -- inputs ----------------------------------------------------------------------------------
class StrictIn(Schema):
    """Refuse unknown fields: a misspelt field name must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class TicketCreateIn(StrictIn):
    title: Title
    message: MessageText
    category: DictRef | None = None
    criticality: DictRef | None = None
    # The regulation's prompts (F-12), appended to the message.
    looked: Prompt | None = None
    did: Prompt | None = None
    expected: Prompt | None = None
    saw: Prompt | None = None
    # Staff only (F-13 "staff on new"); a client sending any of them gets 403.
    status: DictRef | None = None
    difficulty: DictRef | None = None
    source: DictRef | None = None
    responsible: Id | None = None
    sla: Id | None = None
    author: Id | None = None
    admin_comment: AdminComment | None = None
    auto_close_days: StrictInt | None = None
    is_postponed: bool | None = None
    hidden: bool | None = None
    not_change_status: bool | None = None
    minutes: StrictInt | None = None
    ticket_type: TicketType | None = None
    tier: Tier | None = None
    notify_author: bool = Field(True, description="false: do not notify the ticket's author by mail (F-11).")
    coupon: CouponCode | None = Field(
        None,
        description="A coupon's code (F-21): spends one use, gives its SLA, marks the ticket special; "
        "an unknown, inactive, expired or spent coupon refuses the ticket (422, `coupon` in the errors).",
    )


class TicketPatchIn(StrictIn):
    """Only the fields present in the request are changed; null clears a field."""

    title: Title | None = None
    category: DictRef | None = None
    criticality: DictRef | None = None
    status: DictRef | None = None
    difficulty: DictRef | None = None
    mark: DictRef | None = None
    source: DictRef | None = None
    responsible: Id | None = None
    sla: Id | None = None
    author: Id | None = None
    admin_comment: AdminComment | None = None
    auto_close_days: StrictInt | None = None
    is_postponed: bool | None = None
    ticket_type: TicketType | None = None
    tier: Tier | None = None
    planned_effort_minutes: StrictInt | None = None
    expected_date: date | None = None
    closed: bool | None = Field(None, description="true closes the ticket, false reopens it.")
    spam: Literal["", "none", "possible", "definite"] | None = Field(
        None, description='"" or "none": not spam; "possible" (staff); "definite" (admins).'
    )
    notify_author: bool = Field(True, description="false: do not notify the ticket's author by mail (F-11).")


class MessageCreateIn(StrictIn):
    body: MessageText
    hidden: bool = False
    not_change_status: bool = False
    minutes: StrictInt = 0
    on_behalf_of: Id | None = None
    notify_author: bool = Field(True, description="false: do not notify the ticket's author by mail (F-11).")
    signed: bool = Field(
        False,
        description="true: add the support author's signature (from their settings) under a message the "
        "client sees; ignored for hidden messages, messages on behalf of someone else and authors without one.",
    )


class MessagePatchIn(StrictIn):
    body: MessageText


# -- outputs ---------------------------------------------------------------------------------
class EntryRef(Schema):
    id: int
    code: str
    name: str


class UserRef(Schema):
    id: int
    username: str
    name: str


class SlaRef(Schema):
    """An SLA level: `name` in the caller's language, and the name in both languages."""

    id: int
    name: str
    name_ru: str
    name_en: str


class SlaOut(SlaRef):
    description: str
    description_ru: str
    description_en: str


class TicketSummaryOut(Schema):
    """One row of the ticket list. Keys marked "staff" appear only for staff, admins and demo."""

    id: int
    title: str
    indicator: str
    is_open: bool
    closed_at: datetime | None
    created_at: datetime
    modified_at: datetime
    last_message_at: datetime | None
    last_message_by: UserRef | None
    last_message_by_support: bool
    message_count: int
    author: UserRef | None
    responsible: UserRef | None
    status: EntryRef | None
    category: EntryRef | None
    criticality: EntryRef | None
    mark: EntryRef | None
    source: EntryRef | None
    sla: SlaRef | None
    # staff
    author_email: str | None = None
    admin_comment: str | None = None
    difficulty: EntryRef | None = None
    spam: str | None = None
    is_postponed: bool | None = None
    is_special: bool | None = None
    is_overdue: bool | None = None
    time_spent_minutes: int | None = None
    overdue_count: int | None = None
    deadline_at: datetime | None = None
    tags: list[str] | None = Field(None, description="Staff: the ticket's tag names, sorted.")


class TicketListOut(Schema):
    count: int = Field(description="The matching tickets, counted up to 10,000 (see count_capped).")
    count_capped: bool = Field(False, description="True: more tickets match than `count` says.")
    page: int
    page_size: int
    next_cursor: str | None = Field(
        None,
        description="Sorted by id, created or modified: the cursor of the next page (none after the last).",
    )
    results: list[TicketSummaryOut]


class TicketActions(Schema):
    """What the caller may do to this ticket now (F-13), so clients show only what is allowed."""

    editable_fields: list[str]
    can_post_message: bool
    message_options: list[str]
    can_close: bool
    can_reopen: bool
    can_delete: bool
    can_split: bool
    spam_states: list[str]


class TicketDetailOut(TicketSummaryOut):
    sla: SlaOut | None
    auto_closed: bool
    split_from: int | None
    merged_into: int | None = Field(
        None, description="The ticket this one was merged into (it is closed; its conversation lives there)."
    )
    actions: TicketActions
    # staff
    created_by: UserRef | None = None
    created_via: str | None = None
    modified_by: UserRef | None = None
    modified_via: str | None = None
    awaits_support: bool | None = None
    reminder_at: datetime | None = None
    reminder_sent: bool | None = None
    coupon_code: str | None = None
    auto_close_days: int | None = None
    ticket_type: str | None = None
    tier: str | None = None
    planned_effort_minutes: int | None = None
    expected_date: date | None = None


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    content_type: str
    url: str


class MessageOut(Schema):
    id: int
    number: int
    kind: str
    author: UserRef | None
    by_support: bool
    via: str
    created_at: datetime
    edited_at: datetime | None
    body: str
    html: str
    # A log message's lines as data (field changes and system lines); null for other messages.
    data: list[dict[str, Any]] | None = None
    attachments: list[AttachmentOut]
    # staff
    author_email: str | None = None
    posted_by: UserRef | None = None
    minutes: int | None = None
    quoted: str | None = None  # the history a mail reply quoted (F-15)


class DictionaryEntryOut(Schema):
    id: int
    code: str
    name: str
    name_ru: str
    name_en: str
    description: str
    sort: int
    is_default: bool
