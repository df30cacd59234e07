"""Change a ticket: attributes per F-13, close and reopen, spam, delete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import CharField
from django.utils.translation import gettext as _

from otklik.accounts.selectors import display_name
from otklik.core import clock
from otklik.core.bulk import update_row
from otklik.core.errors import NotFound, PermissionDenied, ValidationFailed
from otklik.tickets.activity import Change
from otklik.tickets.fields import DICTIONARY_FIELDS
from otklik.tickets.history import history_head
from otklik.tickets.models import (
    CONVERSATION_KINDS,
    Attachment,
    Channel,
    SpamState,
    Ticket,
    TicketDeletion,
)
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import options_cached
from otklik.tickets.services.access import ticket_lock, writer_policy
from otklik.tickets.services.attachments import files_delete_after_commit
from otklik.tickets.services.cleaning import (
    entries_outside_sla,
    entry_clean,
    int_clean,
    sla_clean,
    support_user_clean,
    title_clean,
)
from otklik.tickets.services.derived import (
    search_document_refresh,
    sla_changed,
    sla_pause,
    sla_resume,
    ticket_recompute,
)
from otklik.tickets.services.history import (
    TOUCHED_FIELDS,
    ChangeSet,
    activity_announce,
    history_actor,
    history_record,
    ticket_touch,
)


def ticket_update(
    *,
    actor: User,
    ticket: Ticket,
    changes: dict[str, Any],
    via: str = Channel.WEB,
    notify_author: bool = True,
    recorded: Sequence[Change] = (),
    notes: Sequence[dict] = (),
    held: TicketPolicy | None = None,
    copies: Mapping[str, Any] | None = None,
) -> Ticket:
    """Change ticket attributes, each allowed by F-13 for this user; log every change and announce it.

    `recorded` are changes an app above tickets made to its own rows (the process stage) that belong in
    the same history line, with `notes` (log items) saying why; they are written even when no attribute
    changes. `held`: the actor's writer policy of a caller that already locked `ticket` in its own
    transaction (a process move), so neither is done twice. `copies`: values of the ticket's columns that
    copy the caller's own rows (the process place), written in the same UPDATE without a history entry.
    """
    # A caller holding the lock runs us inside its own transaction: no savepoint of our own (two round
    # trips less per process move); an error then rolls the caller's whole transaction back.
    with transaction.atomic(savepoint=held is None):
        return _ticket_update(
            actor=actor,
            ticket=ticket,
            changes=changes,
            via=via,
            notify_author=notify_author,
            recorded=recorded,
            notes=notes,
            held=held,
            copies=copies or {},
        )


def _ticket_update(
    *,
    actor: User,
    ticket: Ticket,
    changes: dict[str, Any],
    via: str,
    notify_author: bool,
    recorded: Sequence[Change],
    notes: Sequence[dict],
    held: TicketPolicy | None,
    copies: Mapping[str, Any],
) -> Ticket:
    policy = held or writer_policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    if held is None:
        ticket = ticket_lock(ticket)
    # Judged on the locked row: what the author may change depends on the ticket's state (closed,
    # answered by support), which a concurrent writer may just have changed.
    allowed = policy.editable_fields(ticket)
    refused = sorted(name for name in changes if name not in allowed)
    if refused:
        raise PermissionDenied(
            _("You may not change: %(fields)s.") % {"fields": ", ".join(refused)},
            errors={name: [policy.edit_refusal(ticket, name)] for name in refused},
        )
    cleaned, errors = _clean_changes(ticket, changes)
    if not policy.works_ticket(ticket):
        # Only the author's own choices are limited by the SLA (F-06); staff may pick any entry (F-13).
        for name, messages in entries_outside_sla(ticket.sla, cleaned, ticket=ticket).items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationFailed(errors=errors)
    changeset = ChangeSet()
    saved: list[str] = []  # the columns this write changes, saved with the "touched" ones below
    custom = cleaned.pop("custom", None)
    if custom is not None:
        saved.append("custom")
        merged = dict(ticket.custom or {})
        for code, value in custom.items():
            if merged.get(code) != value:
                changeset.add(f"custom:{code}"[:40], merged.get(code), value)
                if value is None:
                    merged.pop(code, None)
                else:
                    merged[code] = value
        ticket.custom = merged
    old_sla = ticket.sla if ticket.sla_id else None
    was_postponed = ticket.is_postponed
    for name, value in cleaned.items():
        old = getattr(ticket, name)
        if old == value:
            continue
        changeset.add(name, old, value)
        setattr(ticket, name, value)
        saved.append(name)
    changeset.changes.extend(recorded)
    if not changeset.changes:
        return ticket
    now = clock.now()
    ticket_touch(ticket, actor, via, now)
    for name, value in copies.items():
        setattr(ticket, name, value)
    update_row(ticket, [*saved, *copies, *TOUCHED_FIELDS])
    history_record(ticket, actor, via, changeset, at=now, notes=notes)
    if any(c.field == "sla" for c in changeset.changes):
        sla_changed(ticket, old_sla)
    if ticket.is_postponed != was_postponed and options_cached().postponed_pauses_sla:
        (sla_pause if ticket.is_postponed else sla_resume)(ticket)
    if "title" in cleaned:
        search_document_refresh(ticket)
    activity_announce(ticket, actor, via, changes=changeset, notify_author=notify_author)
    return ticket


@transaction.atomic
def ticket_consequence_record(
    *,
    ticket: Ticket,
    actor: User | None,
    via: str,
    recorded: Sequence[Change],
    notes: Sequence[dict] = (),
    tier: str | None = None,
    actor_email: str = "",
    copies: Mapping[str, Any] | None = None,
) -> Ticket:
    """Record what an app above tickets changed because of a change the actor was allowed to make.

    A client who reopens their ticket sends it back to the start of the support process: the stage (and
    the tier it implies) changes although the client may not set either. Only the tier can change here;
    the rest are `recorded` changes of the upper app's own rows, written to the ticket's history with
    `notes`. Nobody is notified (the reopening was). `actor_email` names an actor known only by address
    (a sender whose mail reopened the ticket). `copies` as in `ticket_update`.
    """
    ticket = ticket_lock(ticket)
    changeset = ChangeSet()
    if tier is not None and tier != ticket.tier:
        changeset.add("tier", ticket.tier, tier)
        ticket.tier = tier
    changeset.changes.extend(recorded)
    if not changeset.changes:
        return ticket
    now = clock.now()
    ticket_touch(ticket, actor, via, now)
    for name, value in (copies or {}).items():
        setattr(ticket, name, value)
    ticket.save()
    history_record(ticket, actor, via, changeset, at=now, notes=notes, actor_email=actor_email)
    return ticket


def _clean_changes(ticket: Ticket, changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        try:
            if name in DICTIONARY_FIELDS:
                cleaned[name] = entry_clean(value, DICTIONARY_FIELDS[name], name)
            elif name == "title":
                cleaned[name] = title_clean(value)
            elif name == "responsible":
                cleaned[name] = support_user_clean(value)
            elif name == "sla":
                cleaned[name] = sla_clean(value)
            elif name == "author":
                user = (
                    value
                    if isinstance(value, User)
                    else User.objects.filter(pk=int_clean(value, "author")).first()
                )
                if user is None:
                    raise ValidationFailed(_("Choose a valid value."), field="author")
                cleaned[name] = user
            elif name == "admin_comment":
                cleaned[name] = (value or "").strip()[:10_000]
            elif name in ("auto_close_days", "planned_effort_minutes"):
                number = None if value in (None, "") else int_clean(value, name)
                if number is not None and not 0 <= number <= 1_000_000:
                    raise ValidationFailed(_("Enter a non-negative number."), field=name)
                cleaned[name] = number
            elif name == "is_postponed":
                cleaned[name] = bool(value)
            elif name in ("ticket_type", "tier"):
                # Cut to the column's length (tier: 8): a longer value is a database error on PostgreSQL.
                cleaned[name] = str(value or "")[: cast(CharField, Ticket._meta.get_field(name)).max_length]
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
                raise ValidationFailed(
                    _("%(name)s: enter a number.") % {"name": definition.name}, field="custom"
                ) from None
        elif definition.kind == CustomField.Kind.DATE:
            try:
                cleaned[code] = _date(value).isoformat()
            except ValidationFailed:
                raise ValidationFailed(
                    _("%(name)s: enter a date as YYYY-MM-DD.") % {"name": definition.name}, field="custom"
                ) from None
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
def ticket_close(
    *, actor: User, ticket: Ticket, via: str = Channel.WEB, notify_author: bool = True
) -> Ticket:
    """Close the ticket (author or staff)."""
    policy = writer_policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    ticket = ticket_lock(ticket)
    if ticket.closed_at is not None:
        return ticket
    policy.require(policy.can_close(ticket))
    return _set_closed(ticket, actor, via, closed=True, notify_author=notify_author)


@transaction.atomic
def ticket_reopen(
    *,
    actor: User,
    ticket: Ticket,
    via: str = Channel.WEB,
    notify_author: bool = True,
    on_behalf_of: User | None = None,
    author_address: str = "",
) -> Ticket:
    """Reopen the ticket (author or staff); the response clock restarts from now (F-02).

    The mail principal reopens only for the sender of a mail: a user (`on_behalf_of`) or an address
    (`author_address`), whom the history names; nobody else may give either.
    """
    policy = writer_policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    for_sender = on_behalf_of is not None or bool(author_address)
    if for_sender != policy.is_mail_principal:
        raise PermissionDenied()
    ticket = ticket_lock(ticket)
    if ticket.closed_at is None:
        return ticket
    policy.require(policy.can_reopen(ticket))
    history = history_actor(policy, actor, author=on_behalf_of, address=author_address)
    return _set_closed(
        ticket, history.user, via, closed=False, notify_author=notify_author, actor_email=history.email
    )


def _set_closed(
    ticket: Ticket,
    actor: User | None,
    via: str,
    *,
    closed: bool,
    notify_author: bool = True,
    actor_email: str = "",
) -> Ticket:
    now = clock.now()
    changeset = ChangeSet()
    changeset.add("closed", ticket.closed_at is not None, closed)
    ticket.auto_closed = False  # a person closed or reopened it (the SLA tick's auto-close is its own write)
    if closed:
        ticket.closed_at = now
    else:
        ticket.closed_at = None
        ticket.reopened_at = now
        ticket.is_overdue = False
    ticket_touch(ticket, actor, via, now)
    ticket.save()
    history_record(ticket, actor, via, changeset, at=now, actor_email=actor_email)
    # Reopening means the client is waiting again, from now (reopened_at restarts the clock).
    ticket_recompute(ticket)
    activity_announce(
        ticket, actor, via, changes=changeset, notify_author=notify_author, actor_email=actor_email
    )
    return ticket


@transaction.atomic
def ticket_set_spam(*, actor: User, ticket: Ticket, state: str, via: str = Channel.WEB) -> Ticket:
    """Mark spam: staff set "possible" (or clear it), admins also "definite" (F-13)."""
    policy = writer_policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    if state not in SpamState.values:
        raise ValidationFailed(_("Choose a valid value."), field="spam")
    policy.require(state in policy.spam_states(ticket))
    ticket = ticket_lock(ticket)
    if ticket.spam == state:
        return ticket
    changeset = ChangeSet()
    changeset.add("spam", SpamState(ticket.spam).label, SpamState(state).label)
    ticket.spam = state
    ticket_touch(ticket, actor, via)
    ticket.save()
    history_record(ticket, actor, via, changeset)
    activity_announce(ticket, actor, via, changes=changeset)
    return ticket


@transaction.atomic
def ticket_delete(*, actor: User, ticket: Ticket) -> None:
    """Delete the ticket with its messages and files (admins only)."""
    policy = writer_policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    policy.require(policy.can_delete(ticket))
    ticket = ticket_lock(ticket)
    names = list(Attachment.objects.filter(ticket=ticket).values_list("file", flat=True))
    _deletion_record(actor=actor, ticket=ticket, attachment_count=len(names))
    ticket.delete()
    files_delete_after_commit(names)


def _deletion_record(*, actor: User, ticket: Ticket, attachment_count: int) -> TicketDeletion:
    """Keep what is left of a ticket about to be deleted: who, when, what it was, its history's last hash.

    Called by `ticket_delete` in its transaction, holding the ticket's lock (so the history is complete).
    """
    author = ticket.author
    record = TicketDeletion(
        ticket_id=ticket.pk,
        title=ticket.title,
        author=author,
        author_email=ticket.author_email,
        author_name=display_name(author) if author is not None else "",
        created_at=ticket.created_at,
        deleted_at=clock.now(),
        deleted_by=actor,
        deleted_by_name=display_name(actor),
        message_count=ticket.messages.filter(kind__in=CONVERSATION_KINDS).count(),  # not log lines
        attachment_count=attachment_count,
        event_count=ticket.events.count(),
        last_event_hash=history_head(ticket.pk),  # seals what a set-based writer left unsealed
    )
    record.save()
    return record
