"""Link tickets (issue 18, P2): parent and child, related, duplicate of; each link logged on both tickets.

A link is one `TicketLink(ticket, other, kind)` row: "child" is stored as a parent link read backwards,
so a pair has one row whichever side added it. Marking a ticket a duplicate closes it.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otklik.core import clock
from otklik.core.bulk import update_row
from otklik.core.errors import NotFound, ValidationFailed
from otklik.tickets.activity import Change
from otklik.tickets.link_selectors import ADD_KINDS
from otklik.tickets.loglines import in_both_languages
from otklik.tickets.models import Channel, LinkKind, Ticket, TicketLink
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.access import ticket_lock, writer_policy
from otklik.tickets.services.attributes import ticket_close
from otklik.tickets.services.history import (
    TOUCHED_FIELDS,
    ChangeSet,
    activity_announce,
    history_record,
    ticket_touch,
)

# How each side of a stored link reads in the history: (the link's `ticket`, its `other`).
LOG_TEXTS = {
    LinkKind.PARENT: (gettext_noop("child of #%(id)s"), gettext_noop("parent of #%(id)s")),
    LinkKind.RELATED: (gettext_noop("related to #%(id)s"), gettext_noop("related to #%(id)s")),
    LinkKind.DUPLICATE_OF: (gettext_noop("duplicate of #%(id)s"), gettext_noop("duplicated by #%(id)s")),
}
# A parent chain is walked at most this deep when looking for a cycle (deeper trees are refused).
ANCESTRY_DEPTH_MAX = 100


def _far_ticket(policy: TicketPolicy, other: Ticket | int | str | None) -> Ticket:
    """Return the visible ticket `other` names, or refuse the number (unknown and invisible read alike)."""
    if isinstance(other, Ticket):
        if policy.can_view(other):
            return other
        number: object = other.pk
    else:
        number = other
        try:
            wanted = int(str(other).strip().lstrip("#"))
        except (TypeError, ValueError):
            raise ValidationFailed(_("Enter a ticket number."), field="ticket") from None
        found = policy.visible().filter(pk=wanted).first() if 1 <= wanted <= 2**63 - 1 else None
        if found is not None:
            return found
    raise ValidationFailed(_("There is no ticket #%(id)s that you can see.") % {"id": number}, field="ticket")


def _stored(ticket: Ticket, far: Ticket, kind: str) -> tuple[Ticket, Ticket, str]:
    """Return the row a link added from `ticket`'s side is stored as: (ticket, other, stored kind)."""
    if kind == "parent":  # the far ticket becomes this one's parent
        return ticket, far, LinkKind.PARENT
    if kind == "child":  # the far ticket becomes this one's child
        return far, ticket, LinkKind.PARENT
    if kind == "related":
        return ticket, far, LinkKind.RELATED
    return ticket, far, LinkKind.DUPLICATE_OF


def _is_ancestor(candidate_id: int, of_id: int) -> bool:
    """Tell whether `candidate_id` is a parent, grandparent... of `of_id` (one query per generation)."""
    frontier, seen = {of_id}, {of_id}
    for _depth in range(ANCESTRY_DEPTH_MAX):
        parents = set(
            TicketLink.objects.filter(ticket_id__in=frontier, kind=LinkKind.PARENT).values_list(
                "other_id", flat=True
            )
        )
        if candidate_id in parents:
            return True
        frontier = parents - seen
        if not frontier:
            return False
        seen |= frontier
    return True  # deeper than any real tree: refuse rather than risk a cycle


def _refusal(child: Ticket, parent: Ticket, kind: str) -> str | None:
    """Say why the link (child, parent, stored kind) cannot be added, or None."""
    same = TicketLink.objects.filter(ticket=child, other=parent, kind=kind)
    if kind == LinkKind.RELATED:
        same = TicketLink.objects.filter(
            Q(ticket=child, other=parent) | Q(ticket=parent, other=child), kind=kind
        )
    if same.exists():
        return _("The tickets are already linked this way.")
    if kind == LinkKind.PARENT and (child.pk == parent.pk or _is_ancestor(child.pk, parent.pk)):
        return _("A ticket cannot be its own ancestor: #%(parent)s is already below #%(child)s.") % {
            "parent": parent.pk,
            "child": child.pk,
        }
    if (
        kind == LinkKind.DUPLICATE_OF
        and TicketLink.objects.filter(ticket=parent, other=child, kind=kind).exists()
    ):
        return _("Ticket #%(id)s is already a duplicate of #%(other)s.") % {
            "id": parent.pk,
            "other": child.pk,
        }
    return None


def _both(message: str, **values: object) -> dict[str, str]:
    return {language: text % values for language, text in in_both_languages(message).items()}


def _log_both(
    link_ticket: Ticket, link_other: Ticket, kind: str, actor: User, via: str, *, added: bool
) -> None:
    """Log the link's addition or removal on both tickets (held locked by the caller), staff-only."""
    now = clock.now()
    texts = LOG_TEXTS[LinkKind(kind)]
    for side, far, text in ((link_ticket, link_other, texts[0]), (link_other, link_ticket, texts[1])):
        value = _both(text, id=far.pk)
        changes = ChangeSet(
            [Change("link", None, value, True) if added else Change("link", value, None, True)]
        )
        ticket_touch(side, actor, via, now)
        update_row(side, TOUCHED_FIELDS)
        history_record(side, actor, via, changes, at=now)
        activity_announce(side, actor, via, changes=changes, notify_author=False)


def _lock_pair(first: Ticket, second: Ticket) -> dict[int, Ticket]:
    """Lock two tickets in id order (as every writer of several tickets does); return them by id."""
    low, high = sorted((first, second), key=lambda t: t.pk)
    return {low.pk: ticket_lock(low), high.pk: ticket_lock(high)}


@transaction.atomic
def ticket_link_add(
    *,
    actor: User,
    ticket: Ticket,
    other: Ticket | int | str,
    kind: str,
    via: str = Channel.WEB,
    notify_author: bool = True,
) -> TicketLink:
    """Link `other` to `ticket` as its parent, child, related ticket, or mark `ticket` its duplicate.

    Staff who work the ticket and see the other one; no link to itself, no parent cycle, no link twice.
    A duplicate is closed with the link (the author hears of the closing unless `notify_author` is off).
    """
    policy = writer_policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    policy.require(policy.is_support and policy.works_ticket(ticket))
    if kind not in ADD_KINDS:
        raise ValidationFailed(_("Choose one of: %(kinds)s.") % {"kinds": ", ".join(ADD_KINDS)}, field="kind")
    far = _far_ticket(policy, other)
    if far.pk == ticket.pk:
        raise ValidationFailed(_("A ticket cannot be linked to itself."), field="ticket")
    locked = _lock_pair(ticket, far)
    ticket, far = locked[ticket.pk], locked[far.pk]
    link_ticket, link_other, stored = _stored(ticket, far, kind)
    refusal = _refusal(link_ticket, link_other, stored)
    if refusal:
        raise ValidationFailed(refusal, field="ticket")
    link = TicketLink.objects.create(
        ticket=link_ticket, other=link_other, kind=stored, created_at=clock.now(), created_by=actor
    )
    _log_both(link_ticket, link_other, stored, actor, via, added=True)
    if stored == LinkKind.DUPLICATE_OF and ticket.closed_at is None:
        ticket_close(actor=actor, ticket=ticket, via=via, notify_author=notify_author)
    return link


@transaction.atomic
def ticket_link_remove(
    *, actor: User, ticket: Ticket, link: TicketLink | int, via: str = Channel.WEB
) -> None:
    """Remove one of the ticket's links (either direction), logged on both tickets; a closed duplicate
    stays closed."""
    policy = writer_policy(actor)
    if not policy.can_view(ticket):
        raise NotFound()
    policy.require(policy.is_support and policy.works_ticket(ticket))
    link_id = link.pk if isinstance(link, TicketLink) else link
    found = (
        TicketLink.objects.filter(Q(ticket=ticket) | Q(other=ticket), pk=link_id).first()
        if isinstance(link_id, int)
        else None
    )
    if found is None:
        raise NotFound()
    far_id = found.other_id if found.ticket_id == ticket.pk else found.ticket_id
    far = policy.visible().filter(pk=far_id).first()
    if far is None:
        raise NotFound()  # a link to a ticket the user cannot see is not theirs to remove
    locked = _lock_pair(ticket, far)
    kind = found.kind
    found.delete()
    _log_both(locked[found.ticket_id], locked[found.other_id], kind, actor, via, added=False)
