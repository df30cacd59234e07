"""Reads of the knowledge base, all starting from ArticlePolicy: the tree, a section, an article, search.

Search uses the database's engine (otklik.core.search): PostgreSQL matches the generated `search_tsv`
column (russian + english configurations, GIN index), SQLite the FTS5 table of Snowball stems. Either
way the query words are stems matched as prefixes, all required; articles whose title matches come first.
A search lists at most SEARCH_CAP articles (ArticleSearch): a word most texts contain costs a bounded
amount, and the pages say "more than 1,000".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from django.contrib.auth.models import AnonymousUser
from django.core.paginator import Page, Paginator
from django.db import connection, transaction
from django.db.models import BooleanField, Count, Exists, FloatField, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from otklik.core import search
from otklik.core.errors import NotFound
from otklik.kb.models import Article, Deflection, DeflectionKind, Section, Visibility
from otklik.kb.policies import ArticlePolicy
from otklik.tickets.models import Ticket

SUGGESTIONS = 5
# A suggested article opened this long before the same user files a ticket did not answer the question.
SUGGESTION_WINDOW = timedelta(hours=2)


@dataclass
class SectionNode:
    """A section of the tree as a reader sees it: its visible children and articles counted."""

    section: Section
    children: list[SectionNode] = field(default_factory=list)
    articles: int = 0  # visible articles directly in the section
    path: str = ""  # the slug path of its page, "payments/card-payments"

    @property
    def total(self) -> int:
        """Return the visible articles in the section and everything under it."""
        return self.articles + sum(child.total for child in self.children)


def section_tree(policy: ArticlePolicy) -> list[SectionNode]:
    """Return the top-level sections the user may read, each with its readable subtree and counts."""
    sections = list(policy.visible_sections().order_by("sort", "id"))
    counts = dict(
        policy.visible_articles().values("section_id").annotate(n=Count("id")).values_list("section_id", "n")
    )
    nodes = {s.pk: SectionNode(section=s, articles=counts.get(s.pk, 0)) for s in sections}
    roots: list[SectionNode] = []
    for s in sections:
        parent = nodes.get(s.parent_id) if s.parent_id else None
        if parent is not None:
            parent.children.append(nodes[s.pk])
        elif s.parent_id is None:
            roots.append(nodes[s.pk])

    def set_paths(items: list[SectionNode], prefix: str, depth: int) -> None:
        for node in items:
            node.path = f"{prefix}{node.section.slug}"
            if depth < 50:
                set_paths(node.children, node.path + "/", depth + 1)

    set_paths(roots, "", 0)
    return roots


def section_by_path(policy: ArticlePolicy, path: str) -> Section:
    """Return the readable section at a slug path ("payments/card-payments") or a numeric id."""
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts or len(parts) > 20:
        raise NotFound()
    qs = policy.visible_sections()
    if len(parts) == 1 and parts[0].isdigit() and len(parts[0]) < 15:
        found = qs.filter(pk=int(parts[0])).first()
        if found is None:
            raise NotFound()
        return found
    parent: Section | None = None
    for slug in parts:
        parent = qs.filter(parent=parent, slug=slug).first()
        if parent is None:
            raise NotFound()
    assert parent is not None
    return parent


def section_index() -> dict[int, Section]:
    """Return every section by id with what a path needs (one statement; the tree is small)."""
    return {s.pk: s for s in Section.objects.only("id", "parent_id", "slug", "title_ru", "title_en")}


def section_ancestors(section: Section, by_id: dict[int, Section] | None = None) -> list[Section]:
    """Return the section's path from the top level down to the section itself (breadcrumbs).

    `by_id` (section_index()) lets a caller that needs many paths read the tree once.
    """
    by_id = section_index() if by_id is None else by_id
    chain: list[Section] = []
    current: Section | None = by_id.get(section.pk, section)
    while current is not None and current not in chain and len(chain) < 50:
        chain.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    return list(reversed(chain))


def section_path(section: Section, by_id: dict[int, Section] | None = None) -> str:
    """Return the slug path of a section, "payments/card-payments/refunds"."""
    return "/".join(s.slug for s in section_ancestors(section, by_id))


def section_children(policy: ArticlePolicy, section: Section) -> QuerySet[Section]:
    return policy.visible_sections().filter(parent=section).order_by("sort", "id")


def article_list(policy: ArticlePolicy, section: Section) -> QuerySet[Article]:
    """Return the readable articles directly in `section`, in their order."""
    return policy.visible_articles().filter(section=section).order_by("sort", "id")


def article_get(policy: ArticlePolicy, *, slug: str | None = None, pk: int | None = None) -> Article:
    """Return a readable article by slug or id with its section, or raise NotFound."""
    qs = policy.visible_articles().select_related("section", "updated_by")
    if slug is None and pk is None:
        raise NotFound()
    found = qs.filter(slug=slug).first() if slug is not None else qs.filter(pk=pk or 0).first()
    if found is None:
        raise NotFound()
    return found


# Search counts and pages through at most this many results: past it the reader narrows the query
# ("1–20 of more than 1,000"). Bounds what a common word costs: its matches are ranked within the cap only.
SEARCH_CAP = 1000

# PostgreSQL: the matches straight from the GIN index (no recheck: the query has no weights), the policy's
# filter on the materialized rows. Whole texts are TOASTed (~9 kB of tsvector each): the planner does not
# cost their detoasting and would scan every row, decompressing each (~12 µs; 120 ms at 10,000 articles),
# so the statement runs with sequential scans off. Titles are ranked by their own small column, inline.
_PG_CANDIDATES = """
WITH matched AS MATERIALIZED (
    SELECT id, section_id, visibility, sort,
           title_tsv @@ to_tsquery('simple', %(q)s) AS in_title,
           ts_rank(title_tsv, to_tsquery('simple', %(q)s)) AS title_rank
    FROM kb_article
    WHERE search_tsv @@ to_tsquery('simple', %(q)s)
)
SELECT id, in_title FROM matched
WHERE %(all)s OR (visibility = %(public)s AND section_id = ANY(%(sections)s))
ORDER BY in_title DESC, title_rank DESC, sort, id
LIMIT %(limit)s
"""
# The text matches of a page past the title matches, by relevance (detoasts at most SEARCH_CAP texts).
_PG_RANK_TEXTS = """
SELECT id FROM kb_article WHERE id = ANY(%(ids)s)
ORDER BY ts_rank(search_tsv, to_tsquery('simple', %(q)s)) DESC, sort, id
"""


class ArticleSearch:
    """The readable articles matching a query, in order: title matches first, then by relevance.

    At most SEARCH_CAP of them are listed (`count()`, slices, iteration); `capped` tells that there are
    more. A slice costs a constant number of queries: the matching ids (one query, evaluated once), on
    PostgreSQL the ranking of the text matches when the slice reaches past the title matches, then the
    slice's articles with their sections. Order on PostgreSQL: title matches by the title's rank, then
    the others by the whole article's rank, each then by `sort`, `id`; SQLite: FTS5's bm25 with titles
    weighted tenfold after the title matches.
    """

    def __init__(self, policy: ArticlePolicy, stems: list[str]):
        self.policy = policy
        self.stems = stems

    @cached_property
    def _candidates(self) -> list[tuple[int, bool]]:
        """Return (id, matches in the title) of the first SEARCH_CAP + 1 matches, title matches first."""
        if not self.stems:
            return []
        if connection.vendor != "postgresql":
            # `in_title` is the RawSQL annotation of _sqlite_search, unknown to the stubs' plugin.
            qs = _sqlite_search(self.policy, self.stems).values_list("id", "in_title")  # type: ignore[misc]
            return [(pk, bool(in_title)) for pk, in_title in qs[: SEARCH_CAP + 1]]
        ids = self.policy.readable_section_ids
        params: dict[str, bool | int | str | list[int]] = {
            "q": search.tsquery(self.stems),
            "all": ids is None,
            "public": Visibility.PUBLIC.value,
            "sections": sorted(ids or ()),
            "limit": SEARCH_CAP + 1,
        }
        # A savepoint when already in a transaction: SET LOCAL then ends with it, not with the request.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(_PG_CANDIDATES, params)
            rows = cursor.fetchall()
            cursor.execute("SET LOCAL enable_seqscan = on")
        return rows

    @property
    def capped(self) -> bool:
        """Tell whether more articles match than are listed."""
        return len(self._candidates) > SEARCH_CAP

    def count(self) -> int:
        return min(len(self._candidates), SEARCH_CAP)

    def __len__(self) -> int:
        return self.count()

    @cached_property
    def _title_ids(self) -> list[int]:
        return [pk for pk, in_title in self._candidates[:SEARCH_CAP] if in_title]

    @cached_property
    def _ranked_ids(self) -> list[int]:
        """Return the listed ids in their final order (ranks the text matches on PostgreSQL)."""
        listed = [pk for pk, _ in self._candidates[:SEARCH_CAP]]
        if connection.vendor != "postgresql":
            return listed  # already in bm25 order
        texts = listed[len(self._title_ids) :]
        if texts:
            with connection.cursor() as cursor:
                cursor.execute(_PG_RANK_TEXTS, {"ids": texts, "q": search.tsquery(self.stems)})
                texts = [row[0] for row in cursor.fetchall()]
        return self._title_ids + texts

    def _ids(self, stop: int) -> list[int]:
        # A page among the title matches needs no text ranked.
        return self._title_ids if stop <= len(self._title_ids) else self._ranked_ids

    def __getitem__(self, key: slice) -> list[Article]:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("ArticleSearch supports plain slices only")
        start, stop, _ = key.indices(self.count())
        ids = self._ids(stop)[start:stop]
        if not ids:
            return []
        # The policy again: the ids came from raw SQL, the articles come from the policy's queryset.
        found = {a.pk: a for a in self.policy.visible_articles().select_related("section").filter(pk__in=ids)}
        return [found[pk] for pk in ids if pk in found]

    def __iter__(self):
        return iter(self[0 : self.count()])


def article_search(policy: ArticlePolicy, text: str) -> ArticleSearch:
    """Return the readable articles matching `text` (at most SEARCH_CAP), title matches first, then by
    relevance. Empty or word-less text finds nothing (the pages show their empty state)."""
    return ArticleSearch(policy, search.query_stems(text))


class SearchPaginator(Paginator):
    """Pages through an ArticleSearch: its count stops at SEARCH_CAP (`capped` says there were more)."""

    @property
    def capped(self) -> bool:
        return bool(getattr(self.object_list, "capped", False))


def article_search_page(policy: ArticlePolicy, text: str, number, size: int) -> Page:
    """Return page `number` (clamped into range) of `size` results of article_search."""
    # Slices only (no indexing): all a Paginator takes of its list.
    return SearchPaginator(article_search(policy, text), size).get_page(number)  # type: ignore[arg-type]


def _sqlite_search(policy: ArticlePolicy, stems: list[str]) -> QuerySet[Article]:
    """Return the readable articles matching `stems` through the FTS5 table, in their order."""
    match = search.fts5_match(stems)
    title_match = search.fts5_match(stems, "title")
    qs = policy.visible_articles()
    qs = qs.filter(pk__in=RawSQL("SELECT rowid FROM kb_article_fts WHERE kb_article_fts MATCH %s", [match]))
    qs = qs.annotate(
        in_title=RawSQL(
            "kb_article.id IN (SELECT rowid FROM kb_article_fts WHERE kb_article_fts MATCH %s)",
            [title_match],
            output_field=BooleanField(),
        ),
        rank=RawSQL(
            "(SELECT -bm25(kb_article_fts, 10.0, 1.0) FROM kb_article_fts"
            " WHERE kb_article_fts MATCH %s AND rowid = kb_article.id)",
            [match],
            output_field=FloatField(),
        ),
    )
    return qs.order_by("-in_title", "-rank", "sort", "id")


def article_suggest(text: str, *, policy: ArticlePolicy | None = None) -> list[Article]:
    """Return at most five articles whose title matches a ticket title being typed: public ones only
    unless `policy` (the API's caller) is given. Two queries, whatever the text: the sections (for the
    policy), then the articles with their sections.

    Titles only: they are short and specific, and PostgreSQL has a GIN index over them alone (title_tsv),
    so a word every text contains cannot make the request rank thousands of articles.
    """
    policy = policy or ArticlePolicy(AnonymousUser())
    stems = search.query_stems(text)
    if not stems:
        return []
    qs = policy.visible_articles().select_related("section").only(*SUGGEST_FIELDS)
    if connection.vendor == "postgresql":
        query = search.tsquery(stems)
        qs = qs.alias(
            hit=RawSQL(
                "kb_article.title_tsv @@ to_tsquery('simple', %s)", [query], output_field=BooleanField()
            )
        ).filter(hit=True)
        qs = qs.annotate(
            rank=RawSQL(
                "ts_rank(kb_article.title_tsv, to_tsquery('simple', %s))", [query], output_field=FloatField()
            )
        )
    else:
        match = search.fts5_match(stems, "title")
        qs = qs.filter(
            pk__in=RawSQL("SELECT rowid FROM kb_article_fts WHERE kb_article_fts MATCH %s", [match])
        ).annotate(
            rank=RawSQL(
                "(SELECT -bm25(kb_article_fts) FROM kb_article_fts"
                " WHERE kb_article_fts MATCH %s AND rowid = kb_article.id)",
                [match],
                output_field=FloatField(),
            )
        )
    return list(qs.order_by("-rank", "sort", "id")[:SUGGESTIONS])


# What a suggestion shows and the policy reads: no texts.
SUGGEST_FIELDS = (
    "id",
    "slug",
    "title_ru",
    "title_en",
    "visibility",
    "sort",
    "section_id",
    "section__id",
    "section__slug",
    "section__title_ru",
    "section__title_en",
)


def deflections_counted() -> QuerySet[Deflection]:
    """Return the questions answered without a ticket, as the reports count them.

    A "left after a suggested article" record does not count when the same user filed a ticket within
    SUGGESTION_WINDOW after it: the article did not answer them. Decided here, when counting, rather than
    by deleting records when a ticket is created, so that ticket creation (every channel's hot path) does
    not pay for it; the user's tickets are few and indexed by author.
    """
    ticket_after = Ticket.objects.filter(
        author_id=OuterRef("user_id"),
        created_at__gte=OuterRef("at"),
        created_at__lt=OuterRef("at") + SUGGESTION_WINDOW,
    )
    return Deflection.objects.exclude(
        Q(kind=DeflectionKind.SUGGESTION_LEFT, user__isnull=False) & Exists(ticket_after)
    )
