"""Tags on tickets (P4): free names, created on first use, changed by staff who work the ticket."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from otklik.core import clock
from otklik.core.errors import NotFound, PermissionDenied, ValidationFailed
from otklik.tickets.models import Channel, Tag, Ticket, TicketTag, tag_key
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.access import ticket_lock, writer_policy
from otklik.tickets.services.derived import search_document_refresh
from otklik.tickets.services.history import ChangeSet, activity_announce, history_record, ticket_touch

TAG_MAX_LENGTH = 50
# A ticket is a work item, not a word cloud: more tags than this is a mistake, not a need.
TAGS_PER_TICKET_MAX = 30
_SPACES = re.compile(r"\s+")


def tag_name_clean(raw: object) -> str:
    """Return a tag's name as stored: trimmed, inner spaces collapsed; refuse empty, long or odd names."""
    name = _SPACES.sub(" ", str(raw or "")).strip()
    if not name:
        raise ValidationFailed(_("A tag cannot be empty."), field="tags")
    if len(name) > TAG_MAX_LENGTH:
        raise ValidationFailed(
            _("A tag is at most %(n)d characters long.") % {"n": TAG_MAX_LENGTH}, field="tags"
        )
    if any(ch in name for ch in ",<>\"'`") or not name.isprintable():
        raise ValidationFailed(_("A tag cannot contain commas, quotes or angle brackets."), field="tags")
    return name


def tag_names_clean(raw: Iterable[object]) -> list[str]:
    """Clean a list of names, dropping repeats regardless of letter case (the first spelling wins)."""
    names: dict[str, str] = {}
    for item in raw:
        name = tag_name_clean(item)
        names.setdefault(name.casefold(), name)
    if len(names) > TAGS_PER_TICKET_MAX:
        raise ValidationFailed(
            _("A ticket has at most %(n)d tags.") % {"n": TAGS_PER_TICKET_MAX}, field="tags"
        )
    return list(names.values())


def tags_ensure(names: Sequence[str]) -> list[Tag]:
    """Return the tags of these (clean) names, creating the missing ones; one query when all exist."""
    if not names:
        return []
    wanted = {tag_key(name): name for name in names}
    found: dict[str, Tag] = {tag.key: tag for tag in Tag.objects.filter(key__in=[tag_key(n) for n in names])}
    for key, name in wanted.items():
        if key in found:
            continue
        try:
            # A concurrent writer may create the same name: the unique index decides, we re-read.
            with transaction.atomic():
                found[key] = Tag.objects.create(name=name, key=key, created_at=clock.now())
        except IntegrityError:
            found[key] = Tag.objects.get(key=key)
    return [found[key] for key in wanted if key in found]


def ticket_tag_names(ticket: Ticket) -> list[str]:
    """Return the ticket's tag names, sorted."""
    return sorted(
        Tag.objects.filter(ticket_links__ticket=ticket).values_list("name", flat=True), key=str.casefold
    )


def ticket_tags_change(
    *,
    actor: User,
    ticket: Ticket,
    add: Iterable[object] = (),
    remove: Iterable[object] = (),
    via: str = Channel.WEB,
    held: TicketPolicy | None = None,
) -> list[str]:
    """Add and remove tags on a ticket; log the change (staff only) and return the names it has now.

    Only staff who work the ticket may tag it. Removing a tag the ticket lacks, or adding one it has, is
    no change and writes nothing.
    """
    with transaction.atomic(savepoint=held is None):
        policy = held or writer_policy(actor)
        if not policy.can_view(ticket):
            raise NotFound()
        if not policy.works_ticket(ticket):
            raise PermissionDenied(_("Only support staff tag tickets."))
        if held is None:
            ticket = ticket_lock(ticket)
        to_add = tag_names_clean(add)
        to_remove = {name.casefold() for name in tag_names_clean(remove)}
        before = ticket_tag_names(ticket)
        have = {name.casefold() for name in before}
        new_names = [
            name for name in to_add if name.casefold() not in have and name.casefold() not in to_remove
        ]
        gone = [name for name in before if name.casefold() in to_remove]
        after_count = len(before) + len(new_names) - len(gone)
        if after_count > TAGS_PER_TICKET_MAX:
            raise ValidationFailed(
                _("A ticket has at most %(n)d tags.") % {"n": TAGS_PER_TICKET_MAX}, field="tags"
            )
        if not new_names and not gone:
            return before
        if gone:
            TicketTag.objects.filter(ticket=ticket, tag__name__in=gone).delete()
        if new_names:
            TicketTag.objects.bulk_create(
                [TicketTag(ticket=ticket, tag=tag) for tag in tags_ensure(new_names)], ignore_conflicts=True
            )
        kept = [name for name in before if name.casefold() not in to_remove]
        after = sorted([*kept, *new_names], key=str.casefold)
        # Staff find a ticket by its tags (never clients: the tags go into the staff text only).
        search_document_refresh(ticket)
        changes = ChangeSet()
        changes.add("tags", ", ".join(before) or None, ", ".join(after) or None)
        now = clock.now()
        ticket_touch(ticket, actor, via, at=now)
        ticket.save(update_fields=["modified_at", "modified_by", "modified_via"])
        history_record(ticket, actor, via, changes, at=now)
        activity_announce(ticket, actor, via, changes=changes, notify_author=False)
        return after


def ticket_tags_set(
    *, actor: User, ticket: Ticket, names: Iterable[object], via: str = Channel.WEB
) -> list[str]:
    """Make the ticket's tags exactly `names` (the API's PUT); return them."""
    wanted = tag_names_clean(names)
    current = ticket_tag_names(ticket)
    wanted_keys = {name.casefold() for name in wanted}
    return ticket_tags_change(
        actor=actor,
        ticket=ticket,
        add=wanted,
        remove=[name for name in current if name.casefold() not in wanted_keys],
        via=via,
    )
