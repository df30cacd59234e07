"""Every write to tickets and messages (ARCHITECTURE rule 1).

Web views, the API, commands and later mail and workflow all call these functions. Each one checks
the TicketPolicy, validates, writes inside one transaction and records the change history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.contrib.auth.models import User
from django.core.files import File
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.accounts.selectors import display_name
from otklik.core import clock
from otklik.core.errors import NotFound, PermissionDenied, ValidationFailed
from otklik.sla.models import SlaLevel
from otklik.tickets import files as file_checks
from otklik.tickets.models import (
    CLIENT_VISIBLE_KINDS,
    FIELD_LABELS,
    Attachment,
    Channel,
    DictionaryEntry,
    DictionaryKind,
    Message,
    MessageKind,
    MessageRevision,
    SavedFilter,
    SpamState,
    Ticket,
    TicketEvent,
    TicketPresence,
    TicketSearchDocument,
)
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import dictionary_default, options_get

TITLE_MAX = 255
BODY_MAX = 100_000
# The regulation's prompts (F-12), in the order the form asks them.
PROMPTS = (
    ("looked", gettext_lazy("Where I already looked for an answer")),
    ("did", gettext_lazy("What I did")),
    ("expected", gettext_lazy("What I expected")),
    ("saw", gettext_lazy("What I saw (full error text)")),
)
# Changes only staff see in the history (the author is not told about them).
STAFF_ONLY_FIELDS = frozenset({"difficulty", "admin_comment", "spam", "message_edited", "message_deleted"})
DICTIONARY_FIELDS = {
    "category": DictionaryKind.CATEGORY,
    "criticality": DictionaryKind.CRITICALITY,
    "status": DictionaryKind.STATUS,
    "difficulty": DictionaryKind.DIFFICULTY,
    "mark": DictionaryKind.MARK,
    "source": DictionaryKind.SOURCE,
}


@dataclass
class Upload:
    """A file handed to a service: its name and a binary file object (a Django upload or an open file)."""

    name: str
    fileobj: BinaryIO


@dataclass
class Change:
    field: str
    old: str
    new: str
    staff_only: bool = False


@dataclass
class _ChangeSet:
    changes: list[Change] = field(default_factory=list)

    def add(self, name: str, old: Any, new: Any) -> None:
        self.changes.append(Change(name, _display(old), _display(new), name in STAFF_ONLY_FIELDS))


def _display(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, User):
        return display_name(value)
    return str(value)


# -- helpers ---------------------------------------------------------------------------------
def _policy(actor: User) -> TicketPolicy:
    policy = TicketPolicy(actor)
    policy.check_can_write()
    return policy


def _lock(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock so concurrent writers serialise (numbers, counters)."""
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _dictionary_entry(value: Any, kind: str, field_name: str) -> DictionaryEntry | None:
    if value in (None, "", 0):
        return None
    if isinstance(value, DictionaryEntry):
        entry = value
    else:
        try:
            entry = DictionaryEntry.objects.get(pk=int(value))
        except (DictionaryEntry.DoesNotExist, ValueError, TypeError):
            raise ValidationFailed(_("Choose a valid value."), field=field_name) from None
    if entry.kind != kind or not entry.active:
        raise ValidationFailed(_("Choose a valid value."), field=field_name)
    return entry


def _support_user(value: Any, field_name: str = "responsible") -> User | None:
    """Resolve a responsible: exactly one person with staff or admin rights, or nobody."""
    if value in (None, "", 0):
        return None
    user = value if isinstance(value, User) else User.objects.filter(pk=_int(value, field_name), is_active=True).first()
    # A user object passed in may be deactivated: check it the same way as a looked-up id.
    if user is None or not user.is_active or not TicketPolicy(user).is_support:
        raise ValidationFailed(_("Only a user with staff or admin rights can be responsible."), field=field_name)
    return user


def _int(value: Any, field_name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Enter a whole number."), field=field_name) from None


def _sla(value: Any) -> SlaLevel | None:
    if value in (None, "", 0):
        return None
    sla = value if isinstance(value, SlaLevel) else SlaLevel.objects.filter(pk=_int(value, "sla"), active=True).first()
    if sla is None:
        raise ValidationFailed(_("Choose a valid value."), field="sla")
    return sla


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationFailed(_("Enter a title."), field="title")
    if len(title) > TITLE_MAX:
        raise ValidationFailed(_("The title must be at most %(n)s characters.") % {"n": TITLE_MAX}, field="title")
    return title


def _clean_body(body: str, field_name: str = "message") -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise ValidationFailed(_("Enter the text of the message."), field=field_name)
    if len(body) > BODY_MAX:
        raise ValidationFailed(
            _("The message must be at most %(n)s characters.") % {"n": BODY_MAX}, field=field_name
        )
    return body


def _clean_minutes(minutes: Any) -> int:
    value = _int(minutes or 0, "minutes")
    if value < 0 or value > 100_000:
        raise ValidationFailed(_("Enter a number of minutes from 0 to 100000."), field="minutes")
    return value


def compose_prompts(body: str, prompts: dict[str, str] | None) -> str:
    """Append the regulation's structured prompts (F-12) that were answered to the message."""
    parts = [body.strip()] if body and body.strip() else []
    for key, label in PROMPTS:
        answer = ((prompts or {}).get(key) or "").strip()
        if answer:
            parts.append(f"[b]{label}:[/b]\n{answer}")
    return "\n\n".join(parts)


def sla_for_author(author: User | None) -> SlaLevel | None:
    """Choose the SLA of a new ticket from the author's groups: highest priority wins, else the default."""
    if author is not None:
        sla = (
            SlaLevel.objects.filter(active=True, groups__user=author)
            .order_by("-priority", "id")
            .first()
        )
        if sla is not None:
            return sla
    return SlaLevel.objects.filter(active=True, is_default=True).first()


def responsible_for_new_ticket(*, sla: SlaLevel | None, category: DictionaryEntry | None) -> User | None:
    """Pick the responsible by the seed's order: SLA's -> category's -> module default, skipping non-staff."""
    options = options_get()
    candidates = [
        sla.responsible if sla else None,
        category.responsible if category else None,
        options.default_responsible,
    ]
    for candidate in candidates:
        if candidate is not None and candidate.is_active and TicketPolicy(candidate).is_support:
            return candidate
    return None


def upload_limits(policy: TicketPolicy) -> file_checks.UploadLimits:
    options = options_get()
    if policy.is_support:
        cap = options.staff_file_limit_mb * file_checks.MB
        return file_checks.UploadLimits(per_file=cap, per_message=cap * 10)
    return file_checks.UploadLimits(
        per_file=options.client_file_limit_mb * file_checks.MB,
        per_message=options.client_message_limit_mb * file_checks.MB,
    )


def _store_files(message: Message, uploads: Sequence[file_checks.CheckedUpload]) -> list[Attachment]:
    stored = []
    for up in uploads:
        up.fileobj.seek(0)
        attachment = Attachment(
            message=message, ticket_id=message.ticket_id, name=up.name, size=up.size,
            content_type=up.content_type, sha256=up.sha256, created_at=message.created_at,
        )
        attachment.file.save(up.name, File(up.fileobj), save=False)
        attachment.save()
        stored.append(attachment)
    return stored


def _delete_files_after_commit(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    def _delete():
        for name in names:
            try:
                default_storage.delete(name)
            except OSError:
                pass

    transaction.on_commit(_delete)


def _next_number(ticket: Ticket) -> int:
    current = Message.objects.filter(ticket=ticket).aggregate(n=Max("number"))["n"] or 0
    return current + 1


def _new_message(
    ticket: Ticket, *, kind: str, body: str, author: User | None, author_email: str = "", posted_by: User | None = None,
    by_support: bool, via: str, minutes: int = 0, source: DictionaryEntry | None = None, at=None,
) -> Message:
    return Message.objects.create(
        ticket=ticket, number=_next_number(ticket), kind=kind, body=body, author=author, author_email=author_email,
        posted_by=posted_by, by_support=by_support, via=via, minutes=minutes, source=source,
        created_at=at or clock.now(),
    )


def _record(ticket: Ticket, actor: User | None, via: str, changeset: _ChangeSet, *, at=None) -> Message | None:
    """Write the changes as events and one log message listing them (ARCHITECTURE rule 5)."""
    if not changeset.changes:
        return None
    at = at or clock.now()
    lines = [f"{FIELD_LABELS.get(c.field, c.field)}: {c.old} → {c.new}" for c in changeset.changes]
    log = _new_message(
        ticket, kind=MessageKind.LOG, body="\n".join(lines), author=actor, by_support=True, via=via, at=at
    )
    TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket=ticket, actor=actor, at=at, via=via, field=c.field, old=c.old, new=c.new,
            staff_only=c.staff_only, message=log,
        )
        for c in changeset.changes
    )
    return log


def _touch(ticket: Ticket, actor: User | None, via: str, at=None) -> None:
    ticket.modified_at = at or clock.now()
    ticket.modified_by = actor
    ticket.modified_via = via


# -- derived state (F-03, F-08 first paragraph) ------------------------------------------------
def ticket_recompute(ticket: Ticket) -> Ticket:
    """Recompute the ticket's derived state from its messages and save it.

    Last message: the last public message (hidden and "do not change status" messages are not
    answers). Awaits support: open, and no support answer yet or a client message after it.
    """
    conversation = list(
        Message.objects.filter(ticket=ticket, kind__in=CLIENT_VISIBLE_KINDS)
        .order_by("number")
        .values("kind", "author_id", "by_support", "created_at", "minutes")
    )
    ticket.message_count = len(conversation)
    ticket.time_spent_minutes = sum(
        Message.objects.filter(ticket=ticket).values_list("minutes", flat=True)
    )
    public = [m for m in conversation if m["kind"] == MessageKind.PUBLIC]
    last = public[-1] if public else None
    ticket.last_message_at = last["created_at"] if last else ticket.created_at
    ticket.last_message_by_id = last["author_id"] if last else None
    ticket.last_message_by_support = bool(last and last["by_support"])
    last_support_index = max((i for i, m in enumerate(public) if m["by_support"]), default=None)
    from_creation = bool(ticket.sla_id and ticket.sla and ticket.sla.deadline_from_creation)
    # The clock (re)starts at creation, at a reopen, and at the first client reply after support's answer.
    restarts = [ticket.created_at]
    if last_support_index is None:
        ticket.first_client_message_after_support_at = None
        waiting = True
    else:
        last_support_at = public[last_support_index]["created_at"]
        after = public[last_support_index + 1:]
        ticket.first_client_message_after_support_at = after[0]["created_at"] if after else None
        reopened_since = ticket.reopened_at is not None and ticket.reopened_at > last_support_at
        waiting = bool(after) or reopened_since
        if after and not from_creation:
            restarts.append(after[0]["created_at"])
    if ticket.reopened_at is not None:
        restarts.append(ticket.reopened_at)
    ticket.awaits_support = ticket.closed_at is None and waiting
    source = max(restarts)
    if not ticket.awaits_support:
        ticket.is_overdue = False
        ticket.reminder_sent = False
        ticket.deadline_source_at = None
    elif not ticket.is_overdue:
        # While overdue the deadline does not move until support answers (F-08).
        ticket.deadline_source_at = source
    ticket.save()
    return ticket


def search_document_refresh(ticket: Ticket) -> None:
    """Rebuild the ticket's search text: clients' view (public) and staff's view (adds hidden; never log)."""
    rows = Message.objects.filter(ticket=ticket).exclude(kind=MessageKind.LOG).values_list("kind", "body")
    public = [ticket.title] + [b for k, b in rows if k in CLIENT_VISIBLE_KINDS]
    staff = [ticket.title] + [b for _k, b in rows]
    TicketSearchDocument.objects.update_or_create(
        ticket=ticket, defaults={"public_text": "\n".join(public), "staff_text": "\n".join(staff)}
    )


# -- create ----------------------------------------------------------------------------------
@transaction.atomic
def ticket_create(
    *,
    actor: User,
    title: str,
    message: str,
    category: Any = None,
    criticality: Any = None,
    prompts: dict[str, str] | None = None,
    files: Sequence[Upload] = (),
    via: str = Channel.WEB,
    author: Any = None,
    author_email: str = "",
    source: Any = None,
    status: Any = None,
    difficulty: Any = None,
    responsible: Any = None,
    sla: Any = None,
    admin_comment: str = "",
    auto_close_days: int | None = None,
    is_postponed: bool = False,
    hidden: bool = False,
    not_change_status: bool = False,
    minutes: int = 0,
    ticket_type: str = "",
    tier: str = "",
) -> Ticket:
    """Create a ticket with its first message; staff may fill in staff fields (F-13 "on new")."""
    policy = _policy(actor)
    if not policy.can_create():
        raise PermissionDenied(_("You are not allowed to create tickets."))
    staff_values = {
        "author": author, "source": source, "status": status, "difficulty": difficulty, "responsible": responsible,
        "sla": sla, "admin_comment": admin_comment, "auto_close_days": auto_close_days, "is_postponed": is_postponed,
        "hidden": hidden, "not_change_status": not_change_status, "minutes": minutes,
        "ticket_type": ticket_type, "tier": tier,
    }
    if not policy.is_support:
        used = sorted(k for k, v in staff_values.items() if v not in (None, "", False, 0))
        if used:
            raise PermissionDenied(
                _("Only support staff may set: %(fields)s.") % {"fields": ", ".join(used)},
                errors={name: [_("Only support staff may set this field.")] for name in used},
            )
    errors: dict[str, list[str]] = {}

    def collect(fn, *args):
        try:
            return fn(*args)
        except ValidationFailed as exc:
            for k, v in exc.errors.items():
                errors.setdefault(k, []).extend(v)
            return None

    clean_title = collect(_clean_title, title)
    body = collect(_clean_body, compose_prompts(message, prompts))
    entries = {
        name: collect(_dictionary_entry, value, DICTIONARY_FIELDS[name], name)
        for name, value in (
            ("category", category), ("criticality", criticality), ("source", source),
            ("status", status), ("difficulty", difficulty),
        )
    }
    the_author = actor
    if author not in (None, "", 0):
        the_author = author if isinstance(author, User) else User.objects.filter(pk=collect(_int, author, "author")).first()
        if the_author is None:
            errors.setdefault("author", []).append(_("Choose a valid value."))
    the_responsible = collect(_support_user, responsible)
    the_sla = collect(_sla, sla)
    minutes = collect(_clean_minutes, minutes) or 0
    if auto_close_days not in (None, ""):
        auto_close_days = collect(_int, auto_close_days, "auto_close_days")
        if auto_close_days is not None and not 0 <= auto_close_days <= 3650:
            errors.setdefault("auto_close_days", []).append(_("Enter a number of days from 0 to 3650."))
    else:
        auto_close_days = None
    checked_files = collect(
        file_checks.check_uploads, [(f.name, f.fileobj) for f in files], upload_limits(policy)
    ) or []
    if errors:
        raise ValidationFailed(errors=errors)

    now = clock.now()
    the_sla = the_sla or sla_for_author(the_author if isinstance(the_author, User) else None)
    category_entry = entries["category"] or dictionary_default(DictionaryKind.CATEGORY)
    ticket = Ticket.objects.create(
        title=clean_title, author=the_author, author_email=author_email or getattr(the_author, "email", "") or "",
        created_by=actor, created_via=via, source=entries["source"], category=category_entry,
        criticality=entries["criticality"] or dictionary_default(DictionaryKind.CRITICALITY),
        status=entries["status"] or dictionary_default(DictionaryKind.STATUS),
        difficulty=entries["difficulty"], sla=the_sla,
        responsible=the_responsible or responsible_for_new_ticket(sla=the_sla, category=category_entry),
        admin_comment=(admin_comment or "").strip(), auto_close_days=auto_close_days,
        is_postponed=bool(is_postponed), created_at=now, modified_at=now, modified_by=actor, modified_via=via,
        last_message_at=now, deadline_source_at=now, ticket_type=ticket_type or "", tier=tier or "",
    )
    on_behalf = the_author is not None and the_author != actor
    kind = MessageKind.HIDDEN if hidden else (MessageKind.NO_STATUS if not_change_status else MessageKind.PUBLIC)
    first = _new_message(
        ticket, kind=kind, body=body, author=the_author, author_email=ticket.author_email,
        posted_by=actor if on_behalf else None,
        # The opening message is the client's question, even when staff file it themselves.
        by_support=False,
        via=via, minutes=minutes, source=entries["source"], at=now,
    )
    _store_files(first, checked_files)
    # Creation is an event in the history, but not a log line in the discussion.
    TicketEvent.objects.create(ticket=ticket, actor=actor, at=now, via=via, field="created", new=f"#{ticket.pk}")
    ticket_recompute(ticket)
    search_document_refresh(ticket)
    return ticket


# -- messages --------------------------------------------------------------------------------
@transaction.atomic
def message_post(
    *,
    actor: User,
    ticket: Ticket,
    body: str,
    files: Sequence[Upload] = (),
    hidden: bool = False,
    not_change_status: bool = False,
    minutes: int = 0,
    on_behalf_of: Any = None,
    via: str = Channel.WEB,
    author_email: str = "",
) -> Message:
    """Add a message to the ticket. A closed ticket takes messages from staff without reopening (F-02)."""
    policy = _policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    if not policy.can_post_message(ticket):
        if ticket.closed_at is not None:
            raise PermissionDenied(_("The ticket is closed. Reopen it to add a message."))
        raise PermissionDenied()
    options = policy.message_options(ticket)
    requested = {
        "hidden": hidden, "not_change_status": not_change_status, "minutes": bool(minutes),
        "on_behalf": on_behalf_of not in (None, "", 0),
    }
    refused = [name for name, used in requested.items() if used and name not in options]
    if refused:
        raise PermissionDenied(
            _("Only support staff may use: %(fields)s.") % {"fields": ", ".join(refused)},
            errors={name: [_("Only support staff may use this option.")] for name in refused},
        )
    if hidden and not_change_status:
        raise ValidationFailed(
            _("A message is either hidden or visible without changing the status, not both."), field="hidden"
        )
    errors: dict[str, list[str]] = {}
    try:
        body = _clean_body(body, "body")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        minutes = _clean_minutes(minutes)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    author = actor
    if requested["on_behalf"]:
        author = (
            on_behalf_of if isinstance(on_behalf_of, User)
            else User.objects.filter(pk=_int(on_behalf_of, "on_behalf_of")).first()
        )
        # Only someone who may see the ticket (its client, a colleague, support) can be its message's author.
        if author is None or not TicketPolicy(author).can_view(ticket):
            errors["on_behalf_of"] = [_("Choose a valid value.")]
    try:
        checked = file_checks.check_uploads([(f.name, f.fileobj) for f in files], upload_limits(policy))
    except ValidationFailed as exc:
        errors.update(exc.errors)
        checked = []
    if errors:
        raise ValidationFailed(errors=errors)

    ticket = _lock(ticket)
    now = clock.now()
    kind = MessageKind.HIDDEN if hidden else (MessageKind.NO_STATUS if not_change_status else MessageKind.PUBLIC)
    # The author decides: a message posted on behalf of a support member is support's answer, on behalf of a client not.
    by_support = TicketPolicy(author).is_support
    message = _new_message(
        ticket, kind=kind, body=body, author=author, author_email=author_email or getattr(author, "email", ""),
        posted_by=actor if author != actor else None, by_support=by_support, via=via, minutes=minutes, at=now,
    )
    _store_files(message, checked)
    _touch(ticket, actor, via, now)
    ticket_recompute(ticket)
    search_document_refresh(ticket)
    return message


@transaction.atomic
def message_edit(*, actor: User, message: Message, body: str, via: str = Channel.WEB) -> Message:
    """Change a message's text (admins only); the previous text is kept as a revision (F-03)."""
    policy = _policy(actor)
    if not policy.can_view(message.ticket):
        raise NotFound()
    policy.require(policy.can_edit_message(message))
    body = _clean_body(body, "body")
    if body == message.body:
        return message
    now = clock.now()
    MessageRevision.objects.create(message=message, body=message.body, edited_by=actor, edited_at=now)
    message.body = body
    message.edited_at = now
    message.edited_by = actor
    message.save(update_fields=["body", "edited_at", "edited_by"])
    ticket = _lock(message.ticket)
    changes = _ChangeSet()
    changes.add("message_edited", None, f"#{message.number}")
    _record(ticket, actor, via, changes, at=now)
    search_document_refresh(ticket)
    return message


@transaction.atomic
def message_delete(*, actor: User, message: Message, via: str = Channel.WEB) -> Ticket:
    """Delete a message and its files (admins only), then recompute the ticket's derived state."""
    policy = _policy(actor)
    if not policy.can_view(message.ticket):
        raise NotFound()
    policy.require(policy.can_delete_message(message))
    ticket = _lock(message.ticket)
    names = list(message.attachments.values_list("file", flat=True))
    number = message.number
    changes = _ChangeSet()
    changes.add("message_deleted", f"#{number}", None)
    # Log before deleting: the log line takes the next number, so a deleted number is never reused.
    _record(ticket, actor, via, changes)
    message.delete()
    _delete_files_after_commit(names)
    ticket = ticket_recompute(ticket)
    search_document_refresh(ticket)
    return ticket


# -- attributes ------------------------------------------------------------------------------
@transaction.atomic
def ticket_update(*, actor: User, ticket: Ticket, changes: dict[str, Any], via: str = Channel.WEB) -> Ticket:
    """Change ticket attributes, each allowed by F-13 for this user; log every change."""
    policy = _policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    allowed = policy.editable_fields(ticket)
    refused = sorted(name for name in changes if name not in allowed)
    if refused:
        raise PermissionDenied(
            _("You may not change: %(fields)s.") % {"fields": ", ".join(refused)},
            errors={name: [_("You may not change this field.")] for name in refused},
        )
    ticket = _lock(ticket)
    cleaned, errors = _clean_changes(ticket, changes)
    if errors:
        raise ValidationFailed(errors=errors)
    changeset = _ChangeSet()
    custom = cleaned.pop("custom", None)
    if custom is not None:
        merged = dict(ticket.custom or {})
        for code, value in custom.items():
            if merged.get(code) != value:
                changeset.add(f"custom:{code}"[:40], merged.get(code), value)
                if value is None:
                    merged.pop(code, None)
                else:
                    merged[code] = value
        ticket.custom = merged
    for name, value in cleaned.items():
        old = getattr(ticket, name)
        if old == value:
            continue
        changeset.add(name, old, value)
        setattr(ticket, name, value)
    if not changeset.changes:
        return ticket
    now = clock.now()
    _touch(ticket, actor, via, now)
    ticket.save()
    _record(ticket, actor, via, changeset, at=now)
    if "sla" in cleaned:
        ticket_recompute(ticket)
    if "title" in cleaned:
        search_document_refresh(ticket)
    return ticket


def _clean_changes(ticket: Ticket, changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        try:
            if name in DICTIONARY_FIELDS:
                cleaned[name] = _dictionary_entry(value, DICTIONARY_FIELDS[name], name)
            elif name == "title":
                cleaned[name] = _clean_title(value)
            elif name == "responsible":
                cleaned[name] = _support_user(value)
            elif name == "sla":
                cleaned[name] = _sla(value)
            elif name == "author":
                user = value if isinstance(value, User) else User.objects.filter(pk=_int(value, "author")).first()
                if user is None:
                    raise ValidationFailed(_("Choose a valid value."), field="author")
                cleaned[name] = user
            elif name == "admin_comment":
                cleaned[name] = (value or "").strip()[:10_000]
            elif name in ("auto_close_days", "planned_effort_minutes"):
                number = None if value in (None, "") else _int(value, name)
                if number is not None and not 0 <= number <= 1_000_000:
                    raise ValidationFailed(_("Enter a non-negative number."), field=name)
                cleaned[name] = number
            elif name == "is_postponed":
                cleaned[name] = bool(value)
            elif name in ("ticket_type", "tier"):
                cleaned[name] = str(value or "")[:32]
            elif name == "expected_date":
                cleaned[name] = _date(value)
            elif name == "custom":
                cleaned[name] = _clean_custom(value)
            else:
                raise ValidationFailed(_("Unknown field."), field=name)
        except ValidationFailed as exc:
            for k, v in exc.errors.items():
                errors.setdefault(k, []).extend(v)
    return cleaned, errors


def _clean_custom(values: Any) -> dict[str, Any]:
    """Validate custom field values against the admins' definitions; None clears a value."""
    from otklik.tickets.models import CustomField

    if not isinstance(values, dict):
        raise ValidationFailed(_("Custom fields must be given as an object."), field="custom")
    definitions = {f.code: f for f in CustomField.objects.filter(active=True, code__in=list(values))}
    cleaned: dict[str, Any] = {}
    for code, value in values.items():
        definition = definitions.get(code)
        if definition is None:
            raise ValidationFailed(_("Unknown custom field: %(code)s.") % {"code": code}, field="custom")
        if value in (None, ""):
            cleaned[code] = None
        elif definition.kind == CustomField.Kind.NUMBER:
            try:
                cleaned[code] = float(value) if "." in str(value) else int(value)
            except (TypeError, ValueError):
                raise ValidationFailed(_("%(name)s: enter a number.") % {"name": definition.name}, field="custom") from None
        elif definition.kind == CustomField.Kind.DATE:
            try:
                cleaned[code] = _date(value).isoformat()
            except ValidationFailed:
                raise ValidationFailed(_("%(name)s: enter a date as YYYY-MM-DD.") % {"name": definition.name}, field="custom") from None
        elif definition.kind == CustomField.Kind.BOOLEAN:
            cleaned[code] = value in (True, "true", "1", "on", "yes", 1)
        else:
            cleaned[code] = str(value).strip()[:1000]
    return cleaned


def _date(value: Any):
    import datetime as dt

    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(_("Enter a date as YYYY-MM-DD."), field="expected_date") from None


@transaction.atomic
def ticket_close(*, actor: User, ticket: Ticket, via: str = Channel.WEB) -> Ticket:
    """Close the ticket (author or staff)."""
    policy = _policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    ticket = _lock(ticket)
    if ticket.closed_at is not None:
        return ticket
    policy.require(policy.can_close(ticket))
    return _set_closed(ticket, actor, via, closed=True)


@transaction.atomic
def ticket_reopen(*, actor: User, ticket: Ticket, via: str = Channel.WEB) -> Ticket:
    """Reopen the ticket (author or staff); the response clock restarts from now (F-02)."""
    policy = _policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    ticket = _lock(ticket)
    if ticket.closed_at is None:
        return ticket
    policy.require(policy.can_reopen(ticket))
    return _set_closed(ticket, actor, via, closed=False)


def _set_closed(ticket: Ticket, actor: User | None, via: str, *, closed: bool, auto: bool = False) -> Ticket:
    now = clock.now()
    changeset = _ChangeSet()
    changeset.add("closed", ticket.closed_at is not None, closed)
    if closed:
        ticket.closed_at = now
        ticket.auto_closed = auto
    else:
        ticket.closed_at = None
        ticket.auto_closed = False
        ticket.reopened_at = now
        ticket.is_overdue = False
    _touch(ticket, actor, via, now)
    ticket.save()
    _record(ticket, actor, via, changeset, at=now)
    # Reopening means the client is waiting again, from now (reopened_at restarts the clock).
    ticket_recompute(ticket)
    return ticket


@transaction.atomic
def ticket_set_spam(*, actor: User, ticket: Ticket, state: str, via: str = Channel.WEB) -> Ticket:
    """Mark spam: staff set "possible" (or clear it), admins also "definite" (F-13)."""
    policy = _policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    if state not in SpamState.values:
        raise ValidationFailed(_("Choose a valid value."), field="spam")
    policy.require(state in policy.spam_states(ticket))
    ticket = _lock(ticket)
    if ticket.spam == state:
        return ticket
    changeset = _ChangeSet()
    changeset.add("spam", SpamState(ticket.spam).label, SpamState(state).label)
    ticket.spam = state
    _touch(ticket, actor, via)
    ticket.save()
    _record(ticket, actor, via, changeset)
    return ticket


@transaction.atomic
def ticket_delete(*, actor: User, ticket: Ticket) -> None:
    """Delete the ticket with its messages and files (admins only)."""
    policy = _policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    policy.require(policy.can_delete(ticket))
    names = list(Attachment.objects.filter(ticket=ticket).values_list("file", flat=True))
    ticket.delete()
    _delete_files_after_commit(names)


@transaction.atomic
def ticket_split(
    *, actor: User, ticket: Ticket, message: Message, title: str = "", attachment_ids: Iterable[int] = ()
) -> Ticket:
    """Copy a message into a new ticket for the same author; both get a visible cross-reference (F-02)."""
    policy = _policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    policy.require(policy.can_split(ticket))
    if message.ticket_id != ticket.pk or message.kind == MessageKind.LOG:
        raise ValidationFailed(_("Choose a message of this ticket."), field="message")
    new_title = _clean_title(title or f"{ticket.title} ({_('split')})"[:TITLE_MAX])
    wanted = set(int(i) for i in attachment_ids)
    chosen = list(message.attachments.filter(pk__in=wanted))
    if len(chosen) != len(wanted):
        raise ValidationFailed(_("Choose files of this message."), field="attachments")
    now = clock.now()
    original = _lock(ticket)
    new = Ticket.objects.create(
        title=new_title, author=original.author, author_email=original.author_email, created_by=actor,
        created_via=original.created_via, source=original.source, category=original.category,
        criticality=original.criticality, status=dictionary_default(DictionaryKind.STATUS), sla=original.sla,
        responsible=original.responsible, created_at=now, modified_at=now, modified_by=actor,
        modified_via=Channel.WEB, last_message_at=now, deadline_source_at=now, split_from=original,
    )
    copy = _new_message(
        new, kind=message.kind, body=message.body, author=message.author, author_email=message.author_email,
        posted_by=message.posted_by, by_support=message.by_support, via=message.via, source=message.source,
        at=message.created_at,
    )
    copied = []
    for attachment in chosen:
        with attachment.file.open("rb") as fh:
            dup = Attachment(
                message=copy, ticket=new, name=attachment.name, size=attachment.size,
                content_type=attachment.content_type, sha256=attachment.sha256, created_at=now,
            )
            dup.file.save(attachment.name, File(fh), save=False)
            dup.save()
            copied.append(dup)
    note_new = _("This ticket was split from ticket #%(id)s.") % {"id": original.pk}
    note_old = _("Message #%(n)s was split into ticket #%(id)s.") % {"n": message.number, "id": new.pk}
    _new_message(new, kind=MessageKind.NO_STATUS, body=note_new, author=actor, by_support=True, via=Channel.WEB, at=now)
    _new_message(original, kind=MessageKind.NO_STATUS, body=note_old, author=actor, by_support=True,
                 via=Channel.WEB, at=now)
    for target, value in ((original, f"→ #{new.pk}"), (new, f"#{original.pk} →")):
        changeset = _ChangeSet()
        changeset.add("split", None, value)
        _record(target, actor, Channel.WEB, changeset, at=now)
    _touch(original, actor, Channel.WEB, now)
    for t in (original, new):
        ticket_recompute(t)
        search_document_refresh(t)
    return new


@transaction.atomic
def presence_touch(*, user: User, ticket: Ticket, answering: bool = False) -> None:
    """Record that the user is looking at (or answering) the ticket now. Demo viewers leave no trace."""
    policy = TicketPolicy(user)
    if not user.is_authenticated or policy.is_demo or not policy.can_view(ticket):
        return
    now = clock.now()
    defaults: dict[str, Any] = {"seen_at": now}
    if answering:
        defaults["answering_at"] = now
    TicketPresence.objects.update_or_create(ticket=ticket, user=user, defaults=defaults)


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


BULK_ACTIONS = ("close", "open", "assign", "spam", "possible_spam", "not_spam", "delete")


def tickets_bulk(*, actor: User, ticket_ids: Iterable[int], action: str, responsible: Any = None) -> BulkResult:
    """Apply one action to many tickets, each through its own service call; report what failed and why."""
    policy = _policy(actor)
    if action not in BULK_ACTIONS:
        raise ValidationFailed(_("Choose an action."), field="action")
    result = BulkResult()
    tickets = {t.pk: t for t in policy.visible().filter(pk__in=[int(i) for i in ticket_ids])}
    for tid in ticket_ids:
        tid = int(tid)
        ticket = tickets.get(tid)
        if ticket is None:
            result.failed[tid] = str(_("Not found."))
            continue
        try:
            if action == "close":
                ticket_close(actor=actor, ticket=ticket)
            elif action == "open":
                ticket_reopen(actor=actor, ticket=ticket)
            elif action == "assign":
                ticket_update(actor=actor, ticket=ticket, changes={"responsible": responsible})
            elif action in ("spam", "possible_spam", "not_spam"):
                state = {"spam": SpamState.DEFINITE, "possible_spam": SpamState.POSSIBLE, "not_spam": SpamState.NONE}
                ticket_set_spam(actor=actor, ticket=ticket, state=state[action])
            elif action == "delete":
                ticket_delete(actor=actor, ticket=ticket)
            result.done.append(tid)
        except (PermissionDenied, ValidationFailed, NotFound) as exc:
            result.failed[tid] = exc.message
    return result


@transaction.atomic
def saved_filter_save(*, user: User, name: str, query: str) -> SavedFilter:
    """Save (or overwrite) a named staff-list filter for the user."""
    TicketPolicy(user).check_can_write()
    name = " ".join((name or "").split())[:100]
    if not name:
        raise ValidationFailed(_("Enter a name for the filter."), field="name")
    saved, _created = SavedFilter.objects.update_or_create(user=user, name=name, defaults={"query": query[:4000]})
    return saved


@transaction.atomic
def saved_filter_delete(*, user: User, filter_id: int) -> None:
    TicketPolicy(user).check_can_write()
    deleted, _rows = SavedFilter.objects.filter(user=user, pk=filter_id).delete()
    if not deleted:
        raise NotFound()
