"""Reads of tags (P4): a ticket's tags with their colours, the list's tag filter, name suggestions.

The lists and the ticket page read a ticket's tags in the same statement as the ticket: `tags_annotate`
adds one correlated subquery that packs the names and colours into one text, so showing tags costs no
query per row and no query per page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Aggregate, Exists, OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Concat

from otklik.tickets.models import Tag, Ticket, TicketTag, tag_key

# A filter names at most this many tags: "all" costs one EXISTS per tag.
TAG_FILTER_MAX = 10
TAG_MODES = ("any", "all", "none")
SUGGEST_LIMIT = 10
# Embedded SQLite compares only ASCII letters regardless of case; for other letters the names are matched
# in Python, reading at most this many of them.
SUGGEST_SCAN_MAX = 5000
# Separators that a tag's name cannot hold (tag_name_clean refuses unprintable characters).
_UNIT = "\x1f"
_RECORD = "\x1e"

QS = TypeVar("QS", bound=QuerySet[Any])


@dataclass(frozen=True)
class TagShown:
    """A tag as the pages show it: its name, its admin colour ('' for none) and a readable ink on it."""

    name: str
    colour: str = ""

    def __str__(self) -> str:
        return self.name

    @property
    def ink(self) -> str:
        """Return black or white, whichever reads better on the colour (WCAG relative luminance)."""
        return tag_ink(self.colour)


def tag_ink(colour: str) -> str:
    """Return the text colour for a chip of `colour`: dark on light backgrounds, white on dark ones."""
    if len(colour) != 7 or not colour.startswith("#"):
        return ""
    try:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    except ValueError:
        return ""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    # The luminance where black and white text have equal contrast ((L + 0.05)^2 = 1.05 * 0.05).
    return "#000000" if luminance > 0.179 else "#ffffff"


class _Packed(Aggregate):
    """Join a group's texts with a separator: GROUP_CONCAT on SQLite, STRING_AGG on PostgreSQL."""

    function = "GROUP_CONCAT"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="STRING_AGG", **extra_context)


def tags_annotate(queryset: QS) -> QS:
    """Add `tags_packed` to every ticket of the queryset: its tags' colours and names in one text.

    A sliced queryset (a list's page) may be annotated too: the subquery then runs for the page's rows only.
    """
    packed = (
        TicketTag.objects.filter(ticket_id=OuterRef("pk"))
        .values("ticket_id")
        .annotate(
            packed=_Packed(
                Concat("tag__colour", Value(_UNIT), "tag__name", output_field=TextField()), Value(_RECORD)
            )
        )
        .values("packed")
    )
    return queryset.annotate(tags_packed=Subquery(packed, output_field=TextField()))


def _unpack(packed: str | None) -> list[TagShown]:
    shown = []
    for record in (packed or "").split(_RECORD):
        colour, _sep, name = record.partition(_UNIT)
        if name:
            shown.append(TagShown(name=name, colour=colour))
    return sorted(shown, key=lambda tag: tag.name.casefold())


def ticket_tags(ticket: Ticket) -> list[TagShown]:
    """Return the ticket's tags sorted by name: from `tags_annotate` when it ran, else in one query."""
    cached = getattr(ticket, "tag_list", None)
    if cached is not None:
        return cached
    if hasattr(ticket, "tags_packed"):
        tags = _unpack(ticket.tags_packed)
    else:
        rows = Tag.objects.filter(ticket_links__ticket_id=ticket.pk).values_list("name", "colour")
        tags = sorted((TagShown(name=n, colour=c) for n, c in rows), key=lambda tag: tag.name.casefold())
    ticket.tag_list = tags  # type: ignore[attr-defined]  # read by the templates
    return tags


def ticket_tag_names_shown(ticket: Ticket) -> list[str]:
    """Return the names of the ticket's tags, sorted (the export's column, the API's field)."""
    return [tag.name for tag in ticket_tags(ticket)]


def tickets_tags_attach(tickets: Iterable[Ticket]) -> None:
    """Give every ticket its `tag_list` (annotated ones need no query; the rest cost one query in all)."""
    tickets = list(tickets)
    missing = [t for t in tickets if not hasattr(t, "tags_packed") and not hasattr(t, "tag_list")]
    if missing:
        found: dict[int, list[TagShown]] = {t.pk: [] for t in missing}
        rows = TicketTag.objects.filter(ticket_id__in=list(found)).values_list(
            "ticket_id", "tag__name", "tag__colour"
        )
        for ticket_id, name, colour in rows:
            found[ticket_id].append(TagShown(name=name, colour=colour))
        for t in missing:
            t.tag_list = sorted(found[t.pk], key=lambda tag: tag.name.casefold())  # type: ignore[attr-defined]
    for t in tickets:
        ticket_tags(t)


def tag_filter_names(raw: Iterable[object]) -> list[str]:
    """Split the filter's values (repeated, or comma-separated) into distinct names, in the given order."""
    names: dict[str, str] = {}
    for value in raw:
        for part in str(value or "").split(","):
            name = " ".join(part.split())
            if name:
                names.setdefault(tag_key(name), name)
    return list(names.values())


def tags_filter_q(names: Sequence[str], mode: str = "any") -> Q:
    """Select the tickets by their tags: any of the names, all of them, or none of them.

    Each condition is an EXISTS over the ticket's tag rows (the ticket-and-tag index), matched regardless
    of letter case; "all" has one EXISTS per name, so the names are capped at TAG_FILTER_MAX.
    """
    lowered = [tag_key(name) for name in tag_filter_names(names)][:TAG_FILTER_MAX]
    if not lowered:
        return Q()
    # The ids first (one small read): matched by tag id, PostgreSQL estimates a tag's tickets from the
    # ticket-tag statistics and walks the list's own order for a common tag; matched by the tag's key
    # through a join, it guessed a few hundred and joined and sorted every tagged ticket (1.4 s at 10⁶).
    ids = dict(Tag.objects.filter(key__in=lowered).values_list("key", "pk"))
    nothing = Q(pk__in=[])
    if mode == "all" and len(ids) < len(set(lowered)):
        return nothing  # a name no tag has: no ticket has them all
    if not ids:
        return Q() if mode == "none" else nothing

    def having(tag_ids: list[int]) -> Exists:
        return Exists(TicketTag.objects.filter(ticket_id=OuterRef("pk"), tag_id__in=tag_ids))

    if mode == "all":
        condition = Q()
        for tag_id in ids.values():
            condition &= Q(having([tag_id]))
        return condition
    if mode == "none":
        return ~Q(having(list(ids.values())))
    return Q(having(list(ids.values())))


def tag_suggest(text: str, *, limit: int = SUGGEST_LIMIT) -> list[str]:
    """Return up to `limit` tag names containing `text`: those starting with it first, then by name."""
    needle = " ".join(str(text or "").split()).casefold()
    tags = Tag.objects.order_by("name")
    if not needle:
        return list(tags.values_list("name", flat=True)[:limit])
    if connection.vendor == "sqlite" and not needle.isascii():
        names = [n for n in tags.values_list("name", flat=True)[:SUGGEST_SCAN_MAX] if needle in n.casefold()]
    else:
        names = list(tags.filter(name__icontains=needle).values_list("name", flat=True)[:SUGGEST_SCAN_MAX])
    names.sort(key=lambda n: (not n.casefold().startswith(needle), n.casefold()))
    return names[:limit]
