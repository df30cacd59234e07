"""ArticlePolicy: who may read and edit the knowledge base (F-20).

Anonymous visitors and clients read public articles in public sections: a staff-only section hides its
whole subtree from them, whatever its articles say. Staff and admins read everything; admins edit. Demo
access reads what clients read (a demo login is shared: staff-only articles stay internal). Every read of
articles or sections starts from `visible_articles()` / `visible_sections()`.
"""

from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from otklik.accounts.models import AccessLevel
from otklik.accounts.roles import levels_of
from otklik.kb.models import Article, Section, Visibility


def public_section_ids(rows: list[tuple[int, int | None, str]]) -> set[int]:
    """Return the ids of the sections readable by everyone: public, under public sections only.

    `rows` are (id, parent_id, visibility) of every section (a pure function: table-tested).
    """
    by_id = {pk: (parent, visibility) for pk, parent, visibility in rows}
    public: dict[int, bool] = {}

    def is_public(pk: int) -> bool:
        chain: list[int] = []
        current: int | None = pk
        verdict = True
        while current is not None:
            if current in public:
                verdict = public[current]
                break
            if current not in by_id or current in chain:  # a dangling parent or a cycle: deny
                verdict = False
                break
            chain.append(current)
            parent, visibility = by_id[current]
            if visibility != Visibility.PUBLIC:
                verdict = False
                break
            current = parent
        # Everything walked inherits the verdict (a non-public node makes its descendants non-public).
        for node in chain:
            public[node] = verdict
        return verdict

    return {pk for pk in by_id if is_public(pk)}


class ArticlePolicy:
    """Answer "may this user read / edit the knowledge base" for one user (build one per request)."""

    def __init__(self, user: User | AnonymousUser):
        self.user = user
        self.levels = levels_of(user)

    @property
    def sees_staff_only(self) -> bool:
        """Staff and admins read staff-only sections and articles; clients, visitors and demo do not."""
        return AccessLevel.STAFF in self.levels or AccessLevel.ADMIN in self.levels

    @property
    def can_edit(self) -> bool:
        return AccessLevel.ADMIN in self.levels

    @cached_property
    def readable_section_ids(self) -> set[int] | None:
        """Return the ids of the sections this user may read, or None for all of them."""
        if self.sees_staff_only:
            return None
        return public_section_ids(list(Section.objects.values_list("id", "parent_id", "visibility")))

    def visible_sections(self) -> QuerySet[Section]:
        """Return the sections this user may read (a hidden section's subtree is hidden too)."""
        ids = self.readable_section_ids
        qs = Section.objects.all()
        return qs if ids is None else qs.filter(pk__in=ids)

    def visible_articles(self) -> QuerySet[Article]:
        """Return the articles this user may read: public ones in readable sections for clients."""
        ids = self.readable_section_ids
        qs = Article.objects.all()
        if ids is None:
            return qs
        return qs.filter(visibility=Visibility.PUBLIC, section_id__in=ids)

    # The house name: reads start from `Policy.visible(user)`.
    visible = visible_articles

    def can_read_section(self, section: Section) -> bool:
        ids = self.readable_section_ids
        return ids is None or section.pk in ids

    def can_read(self, article: Article) -> bool:
        ids = self.readable_section_ids
        return ids is None or (article.visibility == Visibility.PUBLIC and article.section_id in ids)

    def is_public(self, article: Article) -> bool:
        """Tell whether everyone may read `article` (links to it may go to clients)."""
        return article.visibility == Visibility.PUBLIC and article.section_id in self.public_section_ids

    @cached_property
    def public_section_ids(self) -> set[int]:
        """Return the ids of the sections everyone may read."""
        ids = self.readable_section_ids
        if ids is not None:
            return ids
        return public_section_ids(list(Section.objects.values_list("id", "parent_id", "visibility")))
