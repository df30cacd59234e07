"""Knowledge-base deflection (F-20, F-25): the questions the support wizard and the articles answered before
they became tickets, per section, against the tickets filed.

What counts is `kb.selectors.deflections_counted()`: "this answered my question" in the wizard or under an
article, and "left after a suggested article" unless the same user filed a ticket within two hours. A
wizard left without a ticket is shown beside them but is not a deflection. share = deflected / (deflected +
tickets): of the questions that reached us, the part answered without a ticket.

Rows follow how the wizard files a ticket: at a section it files the category of the deepest section on
the path that maps to one, so a row is such a mapped section and holds the questions answered anywhere
beneath it (down to the next mapped section) and the tickets filed in its category, from any channel.
When several sections map to one category, the shallowest of them stands for all (a ticket cannot be
split between them). Questions under a top-level section with no mapped section above them stay in that
top-level section's row, which has no tickets; tickets in a category no section maps, or in none, are the
row "no section" (key null), as are answers whose section or article was deleted.

Deflections are counted whatever their author (they are not personal data and have no SLA or responsible;
the knowledge base's policy lets staff read every section); tickets are those the viewer may see
(TicketPolicy.visible). Periods are whole days in the viewer's time zone: a deflection by its time, a
ticket by its creation. The database counts, in two grouped statements: the answers by (section,
bucket, kind) and the tickets by (category, bucket); the rows and the chart's buckets are sums of those
groups, and only the sections' tree (a configuration, read once) is walked here.

At scale (1M tickets, 500k answers) both statements read indexes alone on PostgreSQL: the answers by
instant with their kind, author and place (kb `deflection_at`), the tickets by creation with their
category and the columns a viewer's scope tests (tickets `ticket_created`); and the rule that a "left
after a suggested article" does not count when its user filed a ticket within two hours probes the
user's tickets by author with their creation (tickets `ticket_author_modified`) rather than reading them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from django.db.models import Count
from django.db.models.functions import Coalesce

from otklik.kb.models import DeflectionKind, Section
from otklik.kb.policies import ArticlePolicy
from otklik.kb.selectors import deflections_counted
from otklik.reports.period import Buckets, PeriodFilters, bucket_starts, ticket_scope
from otklik.tickets.policies import TicketPolicy

# The counts of a row, as the API and the exports name them (each deflection kind, then the sums).
KINDS = {
    "wizard_answered": DeflectionKind.WIZARD_ANSWERED,
    "article_answered": DeflectionKind.ARTICLE_ANSWERED,
    "suggestion_left": DeflectionKind.SUGGESTION_LEFT,
    "abandoned": DeflectionKind.WIZARD_ABANDONED,
}
DEFLECTED = ("wizard_answered", "article_answered", "suggestion_left")
COUNTS = (*KINDS, "deflected", "tickets")


@dataclass(frozen=True)
class SectionNode:
    """What the rows need of a section: its place in the tree, its category, its titles."""

    id: int
    parent: int | None
    category: int | None
    title_ru: str = ""
    title_en: str = ""
    sort: int = 100


@dataclass(frozen=True)
class RowMap:
    """Where each section's answers and each category's tickets are counted: the row's section id."""

    of_section: dict[int, int]
    of_category: dict[int, int]
    paths: dict[int, list[int]]  # each section's ancestors, the top first, itself last


def row_map(nodes: Iterable[SectionNode]) -> RowMap:
    """Return the row of every section and of every mapped category (a pure function: table-tested)."""
    by_id = {node.id: node for node in nodes}
    paths: dict[int, list[int]] = {}
    for node in by_id.values():
        path = [node.id]
        parent = node.parent
        while parent is not None and parent in by_id and parent not in path:  # a cycle or a gap ends it
            path.append(parent)
            parent = by_id[parent].parent
        paths[node.id] = path[::-1]
    # The section standing for each category: the shallowest mapped one (then by sort and id).
    of_category: dict[int, int] = {}
    for node in sorted(by_id.values(), key=lambda n: (len(paths[n.id]), n.sort, n.id)):
        if node.category is not None:
            of_category.setdefault(node.category, node.id)
    of_section: dict[int, int] = {}
    for pk, path in paths.items():
        mapped = next((by_id[p].category for p in reversed(path) if by_id[p].category is not None), None)
        of_section[pk] = of_category[mapped] if mapped is not None else path[0]
    return RowMap(of_section=of_section, of_category=of_category, paths=paths)


@dataclass
class DeflectionRow:
    """One section's answers and tickets (key None: no section)."""

    key: int | None
    name: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))

    @property
    def share(self) -> float | None:
        return share_of(self.counts)


@dataclass(frozen=True)
class DeflectionBucket:
    start: dt.date
    deflected: int
    tickets: int


@dataclass
class Deflection:
    rows: list[DeflectionRow]
    totals: dict[str, int]
    buckets: list[DeflectionBucket]

    @property
    def share(self) -> float | None:
        return share_of(self.totals)


def share_of(counts: dict[str, int]) -> float | None:
    """Return deflected / (deflected + tickets), or None when both are zero."""
    asked = counts["deflected"] + counts["tickets"]
    return counts["deflected"] / asked if asked else None


def _title(node: SectionNode, language: str) -> str:
    first, second = (node.title_en, node.title_ru) if language == "en" else (node.title_ru, node.title_en)
    return first or second or str(node.id)


def deflection(
    policy: TicketPolicy,
    filters: PeriodFilters,
    *,
    tz: dt.tzinfo | None = None,
    language: str = "ru",
    none_name: str = "—",
    hidden_name: str = "—",
) -> Deflection:
    """Count the answered questions per section against the visible tickets filed in the period."""
    filters = replace(filters, sla=None, group=None)  # an answer has no SLA or responsible: all or nothing
    start, end = filters.bounds(tz)
    nodes = [
        SectionNode(*values)
        for values in Section.objects.values_list(
            "id", "parent_id", "category_id", "title_ru", "title_en", "sort"
        )
    ]
    rows_of = row_map(nodes)
    by_id = {node.id: node for node in nodes}
    readable = ArticlePolicy(policy.user).readable_section_ids  # None: every section

    def row_name(pk: int) -> str:
        if readable is not None and pk not in readable:
            return hidden_name
        return " › ".join(_title(by_id[p], language) for p in rows_of.paths[pk])

    rows: dict[int | None, DeflectionRow] = {}

    def row(pk: int | None) -> DeflectionRow:
        key = None if pk is None else rows_of.of_section.get(pk)
        if key not in rows:
            rows[key] = DeflectionRow(key, none_name if key is None else row_name(key))
        return rows[key]

    # One pass over the period's answers and one over its tickets, each grouped by (row key, bucket): the
    # sections' rows and the chart's buckets are both sums of these groups (a few per section and day).
    in_buckets: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
    buckets = Buckets(filters, tz)
    kind_names = {kind: name for name, kind in KINDS.items()}
    answered = (
        deflections_counted()
        .filter(at__gte=start, at__lt=end)
        .annotate(place=Coalesce("section_id", "article__section_id"), bucket=buckets.of("at"))
        .values_list("place", "bucket", "kind")
        .annotate(n=Count("*"))
        .order_by()
    )
    for place, bucket, kind, n in answered:
        name = kind_names.get(kind)
        if name is None:
            continue
        counts = row(place).counts
        counts[name] += n
        if name in DEFLECTED:
            counts["deflected"] += n
            in_buckets[buckets.day(bucket)][0] += n
    tickets = (
        ticket_scope(policy, filters)
        .filter(created_at__gte=start, created_at__lt=end)
        .annotate(bucket=buckets.of("created_at"))
        .values_list("category_id", "bucket")
        .annotate(n=Count("*"))
        .order_by()
    )
    for category, bucket, filed in tickets:
        row(rows_of.of_category.get(category)).counts["tickets"] += filed
        in_buckets[buckets.day(bucket)][1] += filed
    ordered = sorted(rows.values(), key=lambda r: (r.key is None, r.name.casefold(), r.key or 0))
    totals = {name: sum(r.counts[name] for r in ordered) for name in COUNTS}
    return Deflection(
        rows=ordered,
        totals=totals,
        buckets=[DeflectionBucket(day, *in_buckets.get(day, (0, 0))) for day in bucket_starts(filters)],
    )
