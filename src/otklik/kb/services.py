"""Writes of the knowledge base (F-20): sections, articles with their revisions, deflection records.

Every write is one function, keyword-only, in one transaction. Article writes keep the embedded search
index (SQLite FTS5 stems) current in the same transaction; PostgreSQL's index is a generated column.
Input arrives as dataclasses; wrong input raises ValidationFailed with a message per field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from otklik.accounts.models import AccessLevel
from otklik.accounts.roles import levels_of
from otklik.core import clock, search
from otklik.core.errors import PermissionDenied, ReadOnlyAccess, ValidationFailed
from otklik.core.text_input import unstorable_text_message
from otklik.dictionaries.models import DictionaryEntry
from otklik.kb.models import Article, ArticleRevision, Deflection, DeflectionKind, Section, Visibility
from otklik.kb.policies import ArticlePolicy

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Top-level section slugs that would shadow the knowledge base's own pages (/kb/search/, /kb/articles/...).
RESERVED_SLUGS = frozenset({"articles", "search", "suggest", "insert", "answered", "admin"})
MAX_SLUG = 80
MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
MAX_BODY = 100_000
MAX_NOTE = 200
MAX_SORT = 1_000_000


@dataclass(frozen=True)
class SectionInput:
    """A section's editable fields (the wizard's fields too: the admin edits them on the same page)."""

    slug: str
    title_ru: str = ""
    title_en: str = ""
    description_ru: str = ""
    description_en: str = ""
    visibility: str = Visibility.PUBLIC
    sort: int = 100
    parent_id: int | None = None
    in_wizard: bool = True
    category_id: int | None = None
    ask_title: bool = False
    ask_coupon: bool = False


@dataclass(frozen=True)
class ArticleInput:
    """An article's editable fields; `note` says what changed (kept on the revision)."""

    section_id: int
    slug: str
    title_ru: str = ""
    title_en: str = ""
    body_ru: str = ""
    body_en: str = ""
    visibility: str = Visibility.PUBLIC
    sort: int = 100
    note: str = ""


# -- checks --------------------------------------------------------------------------------------
def _editor(actor: User | AnonymousUser | None) -> User | None:
    """Refuse anyone but a support admin (None: the system itself, as the demo loader)."""
    if actor is None:
        return None
    if not actor.is_authenticated:
        raise PermissionDenied()
    if not ArticlePolicy(actor).can_edit:
        raise PermissionDenied()
    assert isinstance(actor, User)
    return actor


def _text(errors: dict[str, list[str]], name: str, value: str, limit: int) -> None:
    if not isinstance(value, str):
        errors.setdefault(name, []).append(_("Enter a text."))
        return
    if message := unstorable_text_message(value):
        errors.setdefault(name, []).append(message)
    elif len(value) > limit:
        errors.setdefault(name, []).append(
            _("Enter at most %(limit)s characters (it has %(count)s).")
            % {"limit": limit, "count": len(value)}
        )


def _common(errors: dict[str, list[str]], data: SectionInput | ArticleInput) -> None:
    slug = data.slug if isinstance(data.slug, str) else ""
    if not slug:
        errors.setdefault("slug", []).append(_("Enter a slug."))
    elif len(slug) > MAX_SLUG or not SLUG.match(slug):
        errors.setdefault("slug", []).append(
            _(
                "Use at most %(limit)s lower-case Latin letters, digits and single hyphens, like card-payments."
            )
            % {"limit": MAX_SLUG}
        )
    for name in ("title_ru", "title_en"):
        _text(errors, name, getattr(data, name), MAX_TITLE)
    if not (str(data.title_ru).strip() or str(data.title_en).strip()):
        errors.setdefault("title_ru", []).append(_("Enter a title in at least one language."))
    if data.visibility not in Visibility.values:
        errors.setdefault("visibility", []).append(_("Choose public or staff only."))
    if not isinstance(data.sort, int) or isinstance(data.sort, bool) or abs(data.sort) > MAX_SORT:
        errors.setdefault("sort", []).append(
            _("Enter a whole number between -%(limit)s and %(limit)s.") % {"limit": MAX_SORT}
        )


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(errors=errors)


# -- sections ------------------------------------------------------------------------------------
def section_validate(data: SectionInput, section: Section | None) -> None:
    """Raise ValidationFailed with a message per wrong field of `data` (for `section`, None: a new one)."""
    errors: dict[str, list[str]] = {}
    _common(errors, data)
    for name in ("description_ru", "description_en"):
        _text(errors, name, getattr(data, name), MAX_DESCRIPTION)
    if data.parent_id is not None:
        parent = Section.objects.filter(pk=data.parent_id).first()
        if parent is None:
            errors.setdefault("parent", []).append(_("The parent section does not exist."))
        elif section is not None:
            # The new parent may not be the section itself or anything under it.
            walk: Section | None = parent
            seen: set[int] = set()
            while walk is not None and walk.pk not in seen:
                if walk.pk == section.pk:
                    errors.setdefault("parent", []).append(
                        _("A section cannot be placed under itself or one of its subsections.")
                    )
                    break
                seen.add(walk.pk)
                walk = walk.parent
    if (
        data.category_id is not None
        and not DictionaryEntry.objects.filter(pk=data.category_id, kind="category").exists()
    ):
        errors.setdefault("category", []).append(_("The category does not exist."))
    if "slug" not in errors:
        if data.parent_id is None and data.slug in RESERVED_SLUGS:
            errors.setdefault("slug", []).append(
                _("This slug is reserved for the knowledge base's own pages; choose another.")
            )
        clash = Section.objects.filter(parent_id=data.parent_id, slug=data.slug)
        if section is not None:
            clash = clash.exclude(pk=section.pk)
        if clash.exists():
            errors.setdefault("slug", []).append(_("Another section under the same parent has this slug."))
    _raise(errors)


def _section_fields(data: SectionInput) -> dict:
    return {
        "slug": data.slug,
        "title_ru": data.title_ru.strip(),
        "title_en": data.title_en.strip(),
        "description_ru": data.description_ru,
        "description_en": data.description_en,
        "visibility": data.visibility,
        "sort": data.sort,
        "parent_id": data.parent_id,
        "in_wizard": bool(data.in_wizard),
        "category_id": data.category_id,
        "ask_title": bool(data.ask_title),
        "ask_coupon": bool(data.ask_coupon),
    }


@transaction.atomic
def section_create(*, actor: User | AnonymousUser | None, data: SectionInput) -> Section:
    """Create a section (admins only)."""
    _editor(actor)
    section_validate(data, None)
    return Section.objects.create(**_section_fields(data))


@transaction.atomic
def section_update(*, actor: User | AnonymousUser | None, section: Section, data: SectionInput) -> Section:
    """Change a section's fields, its place in the tree included (admins only)."""
    _editor(actor)
    section = Section.objects.select_for_update().get(pk=section.pk)
    section_validate(data, section)
    for name, value in _section_fields(data).items():
        setattr(section, name, value)
    section.save()
    return section


@transaction.atomic
def section_delete(*, actor: User | AnonymousUser | None, section: Section) -> None:
    """Delete an empty section; refuse one that still holds articles or subsections."""
    _editor(actor)
    section = Section.objects.select_for_update().get(pk=section.pk)
    articles = Article.objects.filter(section=section).count()
    children = Section.objects.filter(parent=section).count()
    if articles or children:
        raise ValidationFailed(
            _(
                "The section still holds %(articles)s article(s) and %(children)s subsection(s): "
                "move or delete them first."
            )
            % {"articles": articles, "children": children},
            field="__all__",
        )
    section.delete()


# -- articles ------------------------------------------------------------------------------------
def article_validate(data: ArticleInput, article: Article | None) -> None:
    """Raise ValidationFailed with a message per wrong field of `data` (for `article`, None: a new one)."""
    errors: dict[str, list[str]] = {}
    _common(errors, data)
    for name in ("body_ru", "body_en"):
        _text(errors, name, getattr(data, name), MAX_BODY)
    _text(errors, "note", data.note, MAX_NOTE)
    if not isinstance(data.section_id, int) or not Section.objects.filter(pk=data.section_id).exists():
        errors.setdefault("section", []).append(_("Choose an existing section."))
    if "slug" not in errors:
        clash = Article.objects.filter(slug=data.slug)
        if article is not None:
            clash = clash.exclude(pk=article.pk)
        if clash.exists():
            errors.setdefault("slug", []).append(_("Another article has this slug."))
    _raise(errors)


def search_index_write(article: Article) -> None:
    """Put the article's stems into the embedded search index (PostgreSQL's column is generated)."""
    if connection.vendor != "sqlite":
        return
    title = search.stemmed_text(f"{article.title_ru} {article.title_en}")
    body = search.stemmed_text(f"{article.body_ru} {article.body_en}")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM kb_article_fts WHERE rowid = %s", [article.pk])
        cursor.execute(
            "INSERT INTO kb_article_fts (rowid, title, body) VALUES (%s, %s, %s)", [article.pk, title, body]
        )


def search_index_rebuild() -> int:
    """Write every article into the embedded search index again; return how many (a repair tool)."""
    if connection.vendor != "sqlite":
        return Article.objects.count()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM kb_article_fts")
        count = 0
        for article in Article.objects.iterator():
            search_index_write(article)
            count += 1
    return count


def _revision_write(article: Article, author: User | None, note: str) -> ArticleRevision:
    number = (ArticleRevision.objects.filter(article=article).aggregate(n=Max("number"))["n"] or 0) + 1
    return ArticleRevision.objects.create(
        article=article,
        number=number,
        at=article.updated_at,
        author=author,
        note=note[:MAX_NOTE],
        section_id_then=article.section_id,
        title_ru=article.title_ru,
        title_en=article.title_en,
        body_ru=article.body_ru,
        body_en=article.body_en,
        visibility=article.visibility,
    )


def _article_fields(data: ArticleInput) -> dict:
    return {
        "section_id": data.section_id,
        "slug": data.slug,
        "title_ru": data.title_ru.strip(),
        "title_en": data.title_en.strip(),
        "body_ru": data.body_ru,
        "body_en": data.body_en,
        "visibility": data.visibility,
        "sort": data.sort,
    }


@transaction.atomic
def article_create(*, actor: User | AnonymousUser | None, data: ArticleInput) -> Article:
    """Create an article and its first revision (admins only)."""
    author = _editor(actor)
    article_validate(data, None)
    now = clock.now()
    article = Article.objects.create(
        **_article_fields(data), created_at=now, updated_at=now, updated_by=author
    )
    _revision_write(article, author, data.note or _("Created"))
    search_index_write(article)
    return article


@transaction.atomic
def article_update(*, actor: User | AnonymousUser | None, article: Article, data: ArticleInput) -> Article:
    """Save an article's new state as its next revision (who, when, note, texts); admins only.

    Saving the same texts again writes no revision.
    """
    author = _editor(actor)
    article = Article.objects.select_for_update().get(pk=article.pk)
    article_validate(data, article)
    fields = _article_fields(data)
    if all(getattr(article, name) == value for name, value in fields.items()):
        return article
    for name, value in fields.items():
        setattr(article, name, value)
    article.updated_at = clock.now()
    article.updated_by = author
    article.save()
    _revision_write(article, author, data.note or _("Edited"))
    search_index_write(article)
    return article


@transaction.atomic
def article_revision_restore(
    *, actor: User | AnonymousUser | None, revision: ArticleRevision, note: str = ""
) -> Article:
    """Make a past revision's texts current again, as a new revision (nothing of the history is lost)."""
    article = revision.article
    section_id = (
        revision.section_id_then
        if Section.objects.filter(pk=revision.section_id_then).exists()
        else article.section_id
    )
    data = ArticleInput(
        section_id=section_id,
        slug=article.slug,
        title_ru=revision.title_ru,
        title_en=revision.title_en,
        body_ru=revision.body_ru,
        body_en=revision.body_en,
        visibility=revision.visibility,
        sort=article.sort,
        note=note or _("Restored revision %(number)s") % {"number": revision.number},
    )
    return article_update(actor=actor, article=article, data=data)


@transaction.atomic
def article_delete(*, actor: User | AnonymousUser | None, article: Article) -> None:
    """Delete an article with its revisions; deflection records keep their time and kind."""
    _editor(actor)
    pk = article.pk
    Article.objects.filter(pk=pk).delete()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM kb_article_fts WHERE rowid = %s", [pk])


# -- deflection ----------------------------------------------------------------------------------
@transaction.atomic
def deflection_record(
    *,
    kind: str,
    user: User | AnonymousUser | None,
    section: Section | None = None,
    article: Article | None = None,
) -> Deflection:
    """Record a question that ended without a ticket: the kind, who (None: anonymous), where.

    The caller has checked the user may read the section or article. Demo access records nothing.
    """
    if kind not in DeflectionKind.values:
        raise ValidationFailed(_("Unknown outcome."), field="kind")
    if (section is None) == (article is None):
        raise ValidationFailed(_("Name either a section or an article."), field="__all__")
    levels = levels_of(user) if user is not None else frozenset()
    if AccessLevel.DEMO in levels and not levels & {AccessLevel.ADMIN, AccessLevel.STAFF}:
        raise ReadOnlyAccess()
    who = user if isinstance(user, User) and user.is_authenticated else None
    return Deflection.objects.create(kind=kind, at=clock.now(), user=who, section=section, article=article)


@transaction.atomic
def deflection_withdraw(*, ids: Iterable[int], kind: str = DeflectionKind.SUGGESTION_LEFT) -> int:
    """Delete deflection records of `kind` that turned out not to be (a ticket followed); return how many."""
    return Deflection.objects.filter(pk__in=list(ids), kind=kind).delete()[0]
