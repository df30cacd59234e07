"""API: tickets, messages, attachments, dictionaries.

Thin by design (ARCHITECTURE rule 9): parse, call a selector or a service, shape the answer. Every
lookup starts from the caller's TicketPolicy, so an invisible ticket is a 404 and a forbidden action
a 403 raised by the service itself.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db import transaction
from django.http import FileResponse, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from otklik.accounts.selectors import display_name
from otklik.core.db_routing import on_replica
from otklik.core.errors import NotFound, PermissionDenied, ValidationFailed
from otklik.core.text import render_markup
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.dictionaries.selectors import dictionary_list
from otklik.tickets import keyset, selectors, services
from otklik.tickets.api_schemas import (
    DictionaryEntryOut,
    ErrorOut,
    MessageCreateIn,
    MessageOut,
    MessagePatchIn,
    MessageText,
    TicketCreateIn,
    TicketDetailOut,
    TicketListOut,
    TicketListQuery,
    TicketPatchIn,
)
from otklik.tickets.fields import DICTIONARY_FIELDS, PROMPT_FIELDS
from otklik.tickets.models import Attachment, Channel, Message, SpamState, Ticket
from otklik.tickets.panels import list_filters
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.tag_selectors import tags_annotate, ticket_tag_names_shown

router = Router(tags=["tickets"])
# The list's count stops here ("count_capped": more match).
API_COUNT_CAP = 10_000


def _errors(*codes: int) -> dict[int, type[ErrorOut]]:
    """Document the error answers an operation can really give, each a JSON ErrorOut.

    400 the body cannot be read; 401 no or a bad token; 403 the caller may not (F-13, demo); 404 no such
    object or not visible; 413 a JSON body over OTKLIK_API_MAX_BODY_BYTES; 422 a field is wrong.
    """
    return {code: ErrorOut for code in codes}


# Every operation: 401 without a valid token or session.
READ_ERRORS = _errors(401, 404)
WRITE_ERRORS = _errors(400, 401, 403, 404, 413, 422)
# What ticket_create takes as staff fields: the rest of a new ticket's payload is the draft.
STAFF_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(services.StaffFields))
SPAM_STATES = {
    "": SpamState.NONE,
    "none": SpamState.NONE,
    "possible": SpamState.POSSIBLE,
    "definite": SpamState.DEFINITE,
}


def _policy(request: HttpRequest) -> TicketPolicy:
    return TicketPolicy(request.user)


# -- shaping ---------------------------------------------------------------------------------
def _user(user) -> dict | None:
    return None if user is None else {"id": user.pk, "username": user.username, "name": display_name(user)}


def _sla(sla) -> dict | None:
    """Shape an SLA level: its name in the caller's language and in both."""
    return (
        None
        if sla is None
        else {"id": sla.pk, "name": sla.name, "name_ru": sla.name_ru, "name_en": sla.name_en}
    )


def _entry(entry: DictionaryEntry | None) -> dict | None:
    return None if entry is None else {"id": entry.pk, "code": entry.code, "name": entry.name}


def _ticket_summary(ticket: Ticket, policy: TicketPolicy) -> dict[str, Any]:
    """Shape a ticket for the list; staff-only keys are left out entirely for clients."""
    data: dict[str, Any] = {
        "id": ticket.pk,
        "title": ticket.title,
        "indicator": selectors.indicator_for(ticket, policy),
        "is_open": ticket.closed_at is None,
        "closed_at": ticket.closed_at,
        "created_at": ticket.created_at,
        "modified_at": ticket.modified_at,
        "last_message_at": ticket.last_message_at,
        "last_message_by": _user(ticket.last_message_by),
        "last_message_by_support": ticket.last_message_by_support,
        "message_count": ticket.message_count,
        "author": _user(ticket.author),
        "responsible": _user(ticket.responsible),
        "status": _entry(ticket.status),
        "category": _entry(ticket.category),
        "criticality": _entry(ticket.criticality),
        "mark": _entry(ticket.mark),
        "source": _entry(ticket.source),
        "sla": _sla(ticket.sla),
    }
    if policy.sees_support_view:
        data.update(
            author_email=ticket.author_email,
            admin_comment=ticket.admin_comment,
            difficulty=_entry(ticket.difficulty),
            spam=ticket.spam,
            is_postponed=ticket.is_postponed,
            is_special=ticket.is_special,
            is_overdue=ticket.is_overdue,
            time_spent_minutes=ticket.time_spent_minutes,
            overdue_count=ticket.overdue_count,
            deadline_at=ticket.deadline_at,
            tags=ticket_tag_names_shown(ticket),
        )
    return data


def _ticket_detail(ticket: Ticket, policy: TicketPolicy) -> dict[str, Any]:
    """Shape one ticket: the summary, the SLA's description (F-06), staff fields and the caller's actions."""
    data = _ticket_summary(ticket, policy)
    sla = ticket.sla
    data.update(
        sla=None
        if sla is None
        else {
            **_sla(sla),
            "description": sla.description,
            "description_ru": sla.description_ru,
            "description_en": sla.description_en,
        },
        auto_closed=ticket.auto_closed,
        split_from=ticket.split_from_id,
        merged_into=ticket.merged_into_id,
        actions={
            "editable_fields": sorted(policy.editable_fields(ticket)),
            "can_post_message": policy.can_post_message(ticket),
            "message_options": sorted(policy.message_options(ticket)),
            "can_close": policy.can_close(ticket),
            "can_reopen": policy.can_reopen(ticket),
            "can_delete": policy.can_delete(ticket),
            "can_split": policy.can_split(ticket),
            "spam_states": sorted(policy.spam_states(ticket)),
        },
    )
    if policy.sees_support_view:
        data.update(
            created_by=_user(ticket.created_by),
            created_via=ticket.created_via,
            modified_by=_user(ticket.modified_by),
            modified_via=ticket.modified_via,
            awaits_support=ticket.awaits_support,
            reminder_at=ticket.reminder_at,
            reminder_sent=ticket.reminder_sent,
            coupon_code=ticket.coupon_code,
            auto_close_days=ticket.auto_close_days,
            ticket_type=ticket.ticket_type,
            tier=ticket.tier,
            planned_effort_minutes=ticket.planned_effort_minutes,
            expected_date=ticket.expected_date,
        )
    return data


def _message(message: Message, policy: TicketPolicy) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": message.pk,
        "number": message.number,
        "kind": message.kind,
        "author": _user(message.author),
        "by_support": message.by_support,
        "via": message.via,
        "created_at": message.created_at,
        "edited_at": message.edited_at,
        # A log message's lines are data, rendered in the caller's language (and given as data too).
        "body": message.shown_text,
        "html": (
            str(format_html_join(mark_safe("<br>"), "{}", ((line,) for line in message.log_lines)))
            if message.data
            else str(render_markup(message.body))
        ),
        "data": message.data,
        "attachments": [
            {
                "id": a.pk,
                "name": a.name,
                "size": a.size,
                "content_type": a.content_type,
                "url": reverse("api-v1:attachment_download", kwargs={"attachment_id": a.pk}),
            }
            for a in message.attachments.all()
        ],
    }
    if policy.sees_support_view:
        data.update(
            author_email=message.author_email,
            posted_by=_user(message.posted_by),
            minutes=message.minutes,
            quoted=message.quoted if policy.sees_quoted else None,
        )
    return data


def _detail_after_write(policy: TicketPolicy, ticket: Ticket) -> dict[str, Any]:
    """Answer with the ticket as it is now; a caller who just gave it away (new responsible) still gets it."""
    try:
        current = selectors.ticket_get(policy, ticket.pk)
    except NotFound:
        current = ticket
    return _ticket_detail(current, policy)


def ticket_detail_after_write(policy: TicketPolicy, ticket: Ticket) -> dict[str, Any]:
    """Shape the ticket as `_detail_after_write` does, for the app's other routers (macros)."""
    return _detail_after_write(policy, ticket)


# -- parsing ---------------------------------------------------------------------------------
def _resolve_entry(kind: str, value: Any) -> Any:
    """Turn a symbolic code into its dictionary entry; ids and unknown values go to the service to judge."""
    if isinstance(value, str):
        entry = dictionary_list(kind, active_only=False).filter(code=value).first()
        if entry is not None:
            return entry
    return value


def _filter_entry_id(kind: str, field: str, value: str | None) -> int | None:
    """Resolve a list filter's dictionary value (id or code) to an id; an unknown one is a field error."""
    if value is None:
        return None
    entry = dictionary_list(kind, active_only=False).filter(code=value).first()
    if entry is None and value.isdigit():
        entry = dictionary_list(kind, active_only=False).filter(pk=int(value)).first()
    if entry is None:
        raise ValidationFailed(_("Unknown value."), field=field)
    return entry.pk


def _aware(value):
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _ticket_filter(query: TicketListQuery) -> selectors.TicketFilter:
    values = query.dict()
    for name, kind in DICTIONARY_FIELDS.items():
        values[name] = _filter_entry_id(kind, name, values[name])
    if values["spam"] is not None:
        values["spam"] = SPAM_STATES[values["spam"]]
    for name in ("created_from", "created_to", "modified_from", "modified_to"):
        values[name] = _aware(values[name])
    unset = {name.strip() for name in values["unset"].split(",") if name.strip()}
    if unset - selectors.UNSETTABLE:
        raise ValidationFailed(_("Unknown field."), field="unset")
    values["unset"] = frozenset(unset)
    # The filters apps above tickets registered (the process's); unknown to this install: ignored.
    values["extra"] = {f.name: values[f.name] for f in list_filters() if values.get(f.name)}
    fields = {f.name for f in dataclasses.fields(selectors.TicketFilter)}
    return selectors.TicketFilter(**{k: v for k, v in values.items() if k in fields})


def _sort_key(sort: str) -> str:
    if sort and sort.lstrip("-") not in selectors.SORT_FIELDS:
        raise ValidationFailed(
            _("Unknown sort key. Use one of: %(keys)s.") % {"keys": ", ".join(selectors.SORT_FIELDS)},
            field="sort",
        )
    return sort


# -- tickets ---------------------------------------------------------------------------------
@router.get(
    "/tickets", response={200: TicketListOut, **_errors(401, 422)}, exclude_unset=True, summary="List tickets"
)
def ticket_list(request: HttpRequest, filters: Query[TicketListQuery]):
    """List the tickets the caller may see, filtered, sorted and paged like the staff list (F-14)."""
    policy = _policy(request)
    flt = _ticket_filter(filters)
    sort = _sort_key(filters.sort)
    qs = selectors.ticket_list(policy, flt, sort)
    if filters.cursor:  # keyset paging: the next page starts at the cursor's row, from the sort's index
        page = keyset.after_cursor(qs, sort, filters.cursor)[: filters.page_size]
    else:
        start = (filters.page - 1) * filters.page_size
        page = qs[start : start + filters.page_size]
    # Staff see each row's tags: read in the rows' own statement (tickets.tag_selectors).
    rows = list(tags_annotate(page) if policy.sees_support_view else page)
    # A capped count (as the staff list's): counting 10⁶ visible tickets cost more than the page.
    # From the read replica when one is set and fresh enough.
    counted = on_replica(qs.order_by()[: API_COUNT_CAP + 1].count)
    answer = {
        "count": min(counted, API_COUNT_CAP),
        "count_capped": counted > API_COUNT_CAP,
        "page": filters.page,
        "page_size": filters.page_size,
        "results": [_ticket_summary(t, policy) for t in rows],
    }
    if keyset.keyset_sort(sort):
        full = len(rows) == filters.page_size
        answer["next_cursor"] = keyset.cursor_encode(rows[-1], sort) if full else None
    return answer


@router.post(
    "/tickets",
    response={201: TicketDetailOut, **_errors(400, 401, 403, 413, 422)},
    exclude_unset=True,
    summary="Create a ticket",
)
def ticket_create(request: HttpRequest, payload: TicketCreateIn):
    """Create a ticket with its first message; staff fields are refused for clients (F-13)."""
    policy = _policy(request)
    data = payload.dict(exclude_unset=True)
    prompts = {name: data.pop(name) or "" for name in PROMPT_FIELDS if name in data}
    for name, kind in DICTIONARY_FIELDS.items():
        if name in data:
            data[name] = _resolve_entry(kind, data[name])
    # Absent booleans and texts mean "not set"; the service treats None, "", False and 0 alike.
    data = {k: v for k, v in data.items() if v is not None}
    staff = {name: data.pop(name) for name in list(data) if name in STAFF_FIELD_NAMES}
    ticket = services.ticket_create(
        actor=request.user,
        draft=services.TicketDraft(prompts=prompts, **data),
        staff=services.StaffFields(**staff) if staff else None,
        via=Channel.API,
    )
    # The service returns the ticket exactly as written, its relations attached: no need to read it back.
    return Status(201, _ticket_detail(ticket, policy))


@router.get(
    "/tickets/{int:ticket_id}",
    response={200: TicketDetailOut, **READ_ERRORS},
    exclude_unset=True,
    summary="One ticket",
)
def ticket_get(request: HttpRequest, ticket_id: int):
    """Return the ticket with the actions the caller may take on it."""
    policy = _policy(request)
    return _ticket_detail(selectors.ticket_get(policy, ticket_id), policy)


@router.patch(
    "/tickets/{int:ticket_id}",
    response={200: TicketDetailOut, **WRITE_ERRORS},
    exclude_unset=True,
    summary="Change a ticket",
)
def ticket_patch(request: HttpRequest, ticket_id: int, payload: TicketPatchIn):
    """Change the fields present in the request; all of them or none (F-13 decides who may change what)."""
    policy = _policy(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    changes = payload.dict(exclude_unset=True)
    closed = changes.pop("closed", None)
    spam = changes.pop("spam", None)
    quiet = {"notify_author": changes.pop("notify_author", True)}
    for name, kind in DICTIONARY_FIELDS.items():
        if name in changes:
            changes[name] = _resolve_entry(kind, changes[name])
    actor = request.user
    with transaction.atomic():
        if closed is False:
            ticket = services.ticket_reopen(actor=actor, ticket=ticket, via=Channel.API, **quiet)
        if changes:
            ticket = services.ticket_update(
                actor=actor, ticket=ticket, changes=changes, via=Channel.API, **quiet
            )
        if spam is not None:
            ticket = services.ticket_set_spam(
                actor=actor, ticket=ticket, state=SPAM_STATES[spam], via=Channel.API
            )
        if closed is True:
            ticket = services.ticket_close(actor=actor, ticket=ticket, via=Channel.API, **quiet)
    return _detail_after_write(policy, ticket)


@router.delete(
    "/tickets/{int:ticket_id}", response={204: None, **_errors(401, 403, 404)}, summary="Delete a ticket"
)
def ticket_delete(request: HttpRequest, ticket_id: int):
    """Delete the ticket with its messages and files (admins only)."""
    ticket = selectors.ticket_get(_policy(request), ticket_id)
    services.ticket_delete(actor=request.user, ticket=ticket)
    return Status(204, None)


# -- messages --------------------------------------------------------------------------------
@router.get(
    "/tickets/{int:ticket_id}/messages",
    response={200: list[MessageOut], **READ_ERRORS},
    exclude_unset=True,
    summary="Messages of a ticket",
)
def message_list(request: HttpRequest, ticket_id: int):
    """List the messages the caller may see (clients: never hidden or log messages)."""
    policy = _policy(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    return [_message(m, policy) for m in selectors.message_list(policy, ticket)]


def _written_message(policy: TicketPolicy, ticket: Ticket, message: Message) -> Message:
    """Re-read a message the caller just wrote, with the relations its answer shows."""
    return (
        policy.messages(ticket)
        .select_related("author", "posted_by")
        .prefetch_related("attachments")
        .get(pk=message.pk)
    )


def _post(request: HttpRequest, ticket_id: int, fields: dict[str, Any], files: list) -> Status:
    policy = _policy(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    message = services.message_post(
        actor=request.user,
        ticket=ticket,
        draft=services.MessageDraft(files=[services.Upload(name=f.name, fileobj=f) for f in files], **fields),
        via=Channel.API,
    )
    return Status(201, _message(_written_message(policy, ticket, message), policy))


@router.post(
    "/tickets/{int:ticket_id}/messages",
    response={201: MessageOut, **WRITE_ERRORS},
    exclude_unset=True,
    summary="Add a message",
)
def message_post(request: HttpRequest, ticket_id: int, payload: MessageCreateIn):
    """Add a message; hidden, do-not-change-status, minutes and on-behalf are staff options (F-13)."""
    return _post(request, ticket_id, payload.dict(), [])


@router.post(
    "/tickets/{int:ticket_id}/messages/upload",
    response={201: MessageOut, **_errors(400, 401, 403, 404, 422)},
    exclude_unset=True,
    summary="Add a message with files (multipart)",
)
def message_upload(
    request: HttpRequest,
    ticket_id: int,
    body: Form[MessageText],
    files: File[list[UploadedFile]] = None,
    hidden: Form[bool] = False,
    not_change_status: Form[bool] = False,
    minutes: Form[int] = 0,
    on_behalf_of: Form[int | None] = None,
    notify_author: Form[bool] = True,
    signed: Form[bool] = False,
):
    """Add a message with files sent as multipart/form-data (`files`, or `files[]`); types are checked by content."""
    uploads = list(files or []) + request.FILES.getlist("files[]")
    fields = {
        "body": body,
        "hidden": hidden,
        "not_change_status": not_change_status,
        "minutes": minutes,
        "on_behalf_of": on_behalf_of,
        "notify_author": notify_author,
        "signed": signed,
    }
    return _post(request, ticket_id, fields, uploads)


def _visible_message(policy: TicketPolicy, ticket: Ticket, number: int) -> Message:
    message = policy.messages(ticket).filter(number=number).select_related("ticket").first()
    if message is None:
        raise NotFound()
    return message


@router.patch(
    "/tickets/{int:ticket_id}/messages/{int:number}",
    response={200: MessageOut, **WRITE_ERRORS},
    exclude_unset=True,
    summary="Edit a message (admins)",
)
def message_edit(request: HttpRequest, ticket_id: int, number: int, payload: MessagePatchIn):
    """Change a message's text; the previous text is kept (F-03)."""
    policy = _policy(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    message = services.message_edit(
        actor=request.user,
        message=_visible_message(policy, ticket, number),
        body=payload.body,
        via=Channel.API,
    )
    return _message(_written_message(policy, ticket, message), policy)


@router.delete(
    "/tickets/{int:ticket_id}/messages/{int:number}",
    response={204: None, **_errors(401, 403, 404)},
    summary="Delete a message (admins)",
)
def message_delete(request: HttpRequest, ticket_id: int, number: int):
    """Delete a message and its files, then recompute the ticket (F-03)."""
    policy = _policy(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    services.message_delete(
        actor=request.user, message=_visible_message(policy, ticket, number), via=Channel.API
    )
    return Status(204, None)


# -- attachments -----------------------------------------------------------------------------
@router.get(
    "/attachments/{int:attachment_id}",
    response={200: None, **READ_ERRORS},
    url_name="attachment_download",
    summary="Download a file",
    # The file itself, sent with the type its content was checked to be (F-04).
    openapi_extra={
        "responses": {
            200: {
                "description": "The file, as an attachment.",
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def attachment_download(request: HttpRequest, attachment_id: int):
    """Send the file if the caller may see its ticket and its message (hidden-message files never reach clients)."""
    policy = _policy(request)
    attachment = Attachment.objects.filter(
        pk=attachment_id,
        ticket__in=policy.visible().values("pk"),
        message__kind__in=policy.visible_message_kinds(),
    ).first()
    if attachment is None:
        raise NotFound()
    try:
        handle = attachment.file.open("rb")
    except OSError:
        raise NotFound(_("The file is missing from the storage.")) from None
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# -- dictionaries ----------------------------------------------------------------------------
def _dictionary_kinds(policy: TicketPolicy) -> list[str]:
    """Dictionaries the caller may read: difficulty for the staff view, frequent answers for support only."""
    kinds = []
    for kind in DictionaryKind.values:
        if kind == DictionaryKind.DIFFICULTY and not policy.sees_support_view:
            continue
        if kind == DictionaryKind.FREQUENT_ANSWER and not policy.is_support:
            continue
        kinds.append(kind)
    return kinds


def _dictionary_entry(entry: DictionaryEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "code": entry.code,
        "name": entry.name,
        "name_ru": entry.name_ru,
        "name_en": entry.name_en,
        "description": entry.description,
        "sort": entry.sort,
        "is_default": entry.is_default,
    }


@router.get(
    "/dictionaries",
    response={200: dict[str, list[DictionaryEntryOut]], **_errors(401)},
    summary="Every dictionary the caller may read",
)
def dictionaries(request: HttpRequest):
    """Return the active entries of every dictionary the caller may read, keyed by kind (F-05)."""
    allowed = _dictionary_kinds(_policy(request))
    grouped = selectors.dictionaries_for_forms()
    return {kind: [_dictionary_entry(e) for e in grouped[kind]] for kind in allowed}


@router.get(
    "/dictionaries/{kind}",
    response={200: list[DictionaryEntryOut], **_errors(401, 403, 404)},
    summary="One dictionary",
)
def dictionary(request: HttpRequest, kind: str):
    """Return the active entries of one dictionary (category, criticality, status, mark, answer, source, difficulty)."""
    if kind not in DictionaryKind.values:
        raise NotFound(_("Unknown dictionary."))
    if kind not in _dictionary_kinds(_policy(request)):
        raise PermissionDenied()
    return [_dictionary_entry(e) for e in dictionary_list(kind)]
