"""Staff workspace writes: split, presence, bulk actions, saved filters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.files import File
from django.db import transaction
from django.utils.translation import gettext as _

from otklik.core import clock
from otklik.core.errors import NotFound, PermissionDenied, ValidationFailed
from otklik.dictionaries.models import DictionaryKind
from otklik.dictionaries.selectors import dictionary_default
from otklik.tickets.fields import TITLE_MAX
from otklik.tickets.loglines import log_text_default
from otklik.tickets.models import (
    Attachment,
    Channel,
    Message,
    MessageKind,
    SavedFilter,
    SpamState,
    Ticket,
    TicketFollower,
    TicketPresence,
)
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.access import ticket_lock, writer_policy
from otklik.tickets.services.attributes import (
    ticket_close,
    ticket_delete,
    ticket_reopen,
    ticket_set_spam,
    ticket_update,
)
from otklik.tickets.services.cleaning import title_clean
from otklik.tickets.services.derived import search_document_refresh, ticket_recompute
from otklik.tickets.services.history import (
    ChangeSet,
    activity_announce,
    history_record,
    message_insert,
    ticket_touch,
)
from otklik.tickets.services.tags import tag_name_clean, ticket_tags_change


@transaction.atomic
def ticket_split(
    *, actor: User, ticket: Ticket, message: Message, title: str = "", attachment_ids: Iterable[int] = ()
) -> Ticket:
    """Copy a message into a new ticket for the same author; both get a visible cross-reference (F-02)."""
    policy = writer_policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    policy.require(policy.can_split(ticket))
    if message.ticket_id != ticket.pk or message.kind == MessageKind.LOG:
        raise ValidationFailed(_("Choose a message of this ticket."), field="message")
    policy.require(policy.can_split_message(message, ticket=ticket))
    new_title = title_clean(title or f"{ticket.title} ({_('split')})"[:TITLE_MAX])
    wanted = set(int(i) for i in attachment_ids)
    chosen = list(message.attachments.filter(pk__in=wanted))
    if len(chosen) != len(wanted):
        raise ValidationFailed(_("Choose files of this message."), field="attachments")
    now = clock.now()
    original = ticket_lock(ticket)
    new = Ticket.objects.create(
        title=new_title,
        author=original.author,
        author_email=original.author_email,
        created_by=actor,
        created_via=original.created_via,
        source=original.source,
        category=original.category,
        criticality=original.criticality,
        status=dictionary_default(DictionaryKind.STATUS),
        sla=original.sla,
        responsible=original.responsible,
        created_at=now,
        modified_at=now,
        modified_by=actor,
        modified_via=Channel.WEB,
        last_message_at=now,
        deadline_source_at=now,
        split_from=original,
    )
    copy = message_insert(
        new,
        kind=message.kind,
        body=message.body,
        author=message.author,
        author_email=message.author_email,
        posted_by=message.posted_by,
        by_support=message.by_support,
        via=message.via,
        source=message.source,
        at=message.created_at,
    )
    copied = []
    for attachment in chosen:
        with attachment.file.open("rb") as fh:
            dup = Attachment(
                message=copy,
                ticket=new,
                name=attachment.name,
                size=attachment.size,
                content_type=attachment.content_type,
                sha256=attachment.sha256,
                created_at=now,
            )
            dup.file.save(attachment.name, File(fh), save=False)
            dup.save()
            copied.append(dup)
    # The notes are data too, so each reader sees them in their language (the body: the site's).
    data_new = [{"code": "split_from", "id": original.pk}]
    data_old = [{"code": "split_into", "n": message.number, "id": new.pk}]
    message_insert(
        new,
        kind=MessageKind.NO_STATUS,
        body=log_text_default(data_new),
        data=data_new,
        author=actor,
        by_support=True,
        via=Channel.WEB,
        at=now,
    )
    note = message_insert(
        original,
        kind=MessageKind.NO_STATUS,
        body=log_text_default(data_old),
        data=data_old,
        author=actor,
        by_support=True,
        via=Channel.WEB,
        at=now,
    )
    for target, value in ((original, f"→ #{new.pk}"), (new, f"#{original.pk} →")):
        changeset = ChangeSet()
        changeset.add("split", None, value)
        history_record(target, actor, Channel.WEB, changeset, at=now)
    ticket_touch(original, actor, Channel.WEB, now)
    for t in (original, new):
        ticket_recompute(t)
        search_document_refresh(t)
    # The author hears of the new ticket's number, and of the note in the original.
    activity_announce(new, actor, Channel.WEB, created=True, message=copy)
    activity_announce(original, actor, Channel.WEB, message=note)
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


@transaction.atomic
def ticket_follow(*, actor: User, ticket: Ticket, follow: bool = True) -> bool:
    """Follow (or stop following) a ticket as staff; return whether the actor follows it now.

    Only support staff who may see the ticket follow it; demo access saves nothing. Following twice or
    leaving a ticket one does not follow changes nothing.
    """
    policy = writer_policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    policy.require(policy.is_support)
    if follow:
        TicketFollower.objects.get_or_create(ticket=ticket, user=actor, defaults={"created_at": clock.now()})
    else:
        TicketFollower.objects.filter(ticket=ticket, user=actor).delete()
    return follow


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


BULK_ACTIONS = (
    "close",
    "close_notify",
    "open",
    "open_notify",
    "assign",
    "spam",
    "possible_spam",
    "not_spam",
    "delete",
    "tag_add",
    "tag_remove",
)
# The bulk actions that take a tag's name (P4).
BULK_TAG_ACTIONS = ("tag_add", "tag_remove")


def tickets_bulk(
    *, actor: User, ticket_ids: Iterable[int], action: str, responsible: Any = None, tag: str = ""
) -> BulkResult:
    """Apply one action to many tickets, each through its own service call; report what failed and why.

    "close" and "open" are quiet for the author (support still gets its copy); "close_notify" and
    "open_notify" mail the author exactly as a single close or reopen by staff does (F-14).
    """
    policy = writer_policy(actor)
    if action not in BULK_ACTIONS:
        raise ValidationFailed(_("Choose an action."), field="action")
    if action in BULK_TAG_ACTIONS:
        tag = tag_name_clean(tag)  # a bad name refuses the whole action before any ticket
    result = BulkResult()
    tickets = {t.pk: t for t in policy.visible().filter(pk__in=[int(i) for i in ticket_ids])}
    for tid in ticket_ids:
        tid = int(tid)
        ticket = tickets.get(tid)
        if ticket is None:
            result.failed[tid] = str(_("Not found."))
            continue
        try:
            if action in ("close", "close_notify"):
                ticket_close(actor=actor, ticket=ticket, notify_author=action == "close_notify")
            elif action in ("open", "open_notify"):
                ticket_reopen(actor=actor, ticket=ticket, notify_author=action == "open_notify")
            elif action == "assign":
                ticket_update(actor=actor, ticket=ticket, changes={"responsible": responsible})
            elif action in ("spam", "possible_spam", "not_spam"):
                state = {
                    "spam": SpamState.DEFINITE,
                    "possible_spam": SpamState.POSSIBLE,
                    "not_spam": SpamState.NONE,
                }
                ticket_set_spam(actor=actor, ticket=ticket, state=state[action])
            elif action == "delete":
                ticket_delete(actor=actor, ticket=ticket)
            elif action in BULK_TAG_ACTIONS:
                ticket_tags_change(
                    actor=actor,
                    ticket=ticket,
                    add=[tag] if action == "tag_add" else [],
                    remove=[tag] if action == "tag_remove" else [],
                )
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
    saved, _created = SavedFilter.objects.update_or_create(
        user=user, name=name, defaults={"query": query[:4000]}
    )
    return saved


@transaction.atomic
def saved_filter_delete(*, user: User, filter_id: int) -> None:
    TicketPolicy(user).check_can_write()
    deleted, _rows = SavedFilter.objects.filter(user=user, pk=filter_id).delete()
    if not deleted:
        raise NotFound()
