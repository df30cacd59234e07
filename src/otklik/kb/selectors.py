"""Reads of the knowledge base, all starting from ArticlePolicy: the tree, a section, an article, search.

Search uses the database's engine (otklik.core.search): PostgreSQL matches the generated `search_tsv`
column (russian + english configurations, GIN index), SQLite the FTS5 table of Snowball stems. Either
way the query words are stems matched as prefixes, all required; articles whose title matches come first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import BooleanField, Count, FloatField, QuerySet
from django.db.models.expressions import RawSQL

from otklik.core import search
from otklik.core.errors import NotFound
from otklik.kb.models import Article, Section
from otklik.kb.policies import ArticlePolicy

SUGGESTIONS = 5


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


def section_ancestors(section: Section) -> list[Section]:
    """Return the section's path from the top level down to the section itself (breadcrumbs)."""
    by_id = {s.pk: s for s in Section.objects.only("id", "parent_id", "slug", "title_ru", "title_en")}
    chain: list[Section] = []
    current: Section | None = by_id.get(section.pk, section)
    while current is not None and current not in chain and len(chain) < 50:
        chain.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    return list(reversed(chain))


def section_path(section: Section) -> str:
    """Return the slug path of a section, "payments/card-payments/refunds"."""
    return "/".join(s.slug for s in section_ancestors(section))


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


def article_search(policy: ArticlePolicy, text: str) -> QuerySet[Article]:
    """Return the readable articles matching `text`, title matches first, then by relevance.

    Empty or word-less text finds nothing (the pages show their empty state).
    """
    stems = search.query_stems(text)
    qs = policy.visible_articles().select_related("section")
    if not stems:
        return qs.none()
    if connection.vendor == "postgresql":
        query = search.tsquery(stems)
        qs = qs.alias(
            hit=RawSQL(
                "kb_article.search_tsv @@ to_tsquery('simple', %s)", [query], output_field=BooleanField()
            )
        ).filter(hit=True)
        qs = qs.annotate(
            # The titles' own small column answers "in the title" cheaper than the weights of the whole.
            in_title=RawSQL(
                "kb_article.title_tsv @@ to_tsquery('simple', %s)", [query], output_field=BooleanField()
            ),
            rank=RawSQL(
                "ts_rank(kb_article.search_tsv, to_tsquery('simple', %s))", [query], output_field=FloatField()
            ),
        )
        return qs.order_by("-in_title", "-rank", "sort", "id")
    match = search.fts5_match(stems)
    title_match = search.fts5_match(stems, "title")
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
