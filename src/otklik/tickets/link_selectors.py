"""Reads for merged and linked tickets (issue 18, P1 and P2): the links a viewer sees, where a merge ends.

A `TicketLink(ticket, other, kind)` says that `ticket` is a child of, related to or a duplicate of
`other`; read from the other side the same row is a child, a relation or a "duplicated by". The readers
here name each link from the side of the ticket being read, so pages and the API never flip kinds.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import pgettext_lazy

from otklik.tickets.models import LinkKind, Ticket, TicketLink
from otklik.tickets.policies import TicketPolicy

# The kinds as read from one ticket's side: what the *other* ticket is to it.
READ_KINDS = ("parent", "child", "related", "duplicate_of", "duplicated_by")
# The kinds one may add from a ticket's side ("duplicated by" is added from the duplicate).
ADD_KINDS = ("parent", "child", "related", "duplicate_of")
KIND_LABELS = {
    "parent": pgettext_lazy("ticket link, the other ticket is", "Parent"),
    "child": pgettext_lazy("ticket link, the other ticket is", "Child"),
    "related": pgettext_lazy("ticket link, the other ticket is", "Related"),
    "duplicate_of": pgettext_lazy("ticket link, this ticket is a", "Duplicate of"),
    "duplicated_by": pgettext_lazy("ticket link, this ticket is", "Duplicated by"),
}
# A merge chain longer than this is not followed further (the merge service refuses chains into
# merged tickets, so a real chain grows only when a target is merged on later: a few steps at most).
MERGE_CHAIN_MAX = 50


@dataclass(frozen=True)
class LinkRow:
    """One link of a ticket, read from its side: `kind` names what `other` is to it."""

    id: int
    kind: str
    other: Ticket

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.kind])


def read_kind(link: TicketLink, ticket_id: int) -> str:
    """Return what the link's far ticket is to `ticket_id` (one of READ_KINDS)."""
    outgoing = link.ticket_id == ticket_id
    if link.kind == LinkKind.PARENT:
        return "parent" if outgoing else "child"
    if link.kind == LinkKind.DUPLICATE_OF:
        return "duplicate_of" if outgoing else "duplicated_by"
    return "related"


def ticket_links(ticket: Ticket, policy: TicketPolicy) -> list[LinkRow]:
    """Return the ticket's links in both directions whose far ticket the viewer may see (one query).

    Ordered by kind (parents first, as READ_KINDS) and then by the far ticket's number.
    """
    visible = policy.visible().values("pk")
    rows = (
        TicketLink.objects.filter(Q(ticket=ticket, other__in=visible) | Q(other=ticket, ticket__in=visible))
        .select_related("ticket__status", "other__status")
        .order_by("id")
    )
    found = []
    for link in rows:
        other = link.other if link.ticket_id == ticket.pk else link.ticket
        found.append(LinkRow(id=link.pk, kind=read_kind(link, ticket.pk), other=other))
    found.sort(key=lambda row: (READ_KINDS.index(row.kind), row.other.pk))
    return found


def open_children_q() -> Q:
    """Select the tickets with at least one open child ticket (the staff list's filter), as an EXISTS."""
    children = TicketLink.objects.filter(
        other=OuterRef("pk"), kind=LinkKind.PARENT, ticket__closed_at__isnull=True
    )
    return Q(Exists(children))


def merge_chain_end(ticket: Ticket) -> Ticket:
    """Return the ticket a merged ticket lives on in: its `merged_into`, followed to the end.

    A ticket that was not merged is returned as it is (no query). The target comes with its author.
    """
    current = ticket
    for _step in range(MERGE_CHAIN_MAX):
        if current.merged_into_id is None:
            return current
        following = Ticket.objects.select_related("author").filter(pk=current.merged_into_id).first()
        if following is None:  # the target was deleted: the merged ticket is where it ends
            return current
        current = following
    return current
