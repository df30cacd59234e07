"""The knowledge base's writes: field messages, revisions and restore, deleting sections."""

from __future__ import annotations

import pytest
from django.utils import translation

from otklik.core.errors import PermissionDenied, ValidationFailed
from otklik.kb import services
from otklik.kb.models import ArticleRevision, Section
from tests.kb.kbdata import article, section

pytestmark = pytest.mark.django_db


def _errors(call) -> dict:
    with pytest.raises(ValidationFailed) as caught:
        call()
    return caught.value.errors


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"slug": ""}, "slug"),
        ({"slug": "Bad Slug"}, "slug"),
        ({"slug": "a" * 81}, "slug"),
        ({"slug": "search"}, "slug"),  # reserved at the top level
        ({"title_ru": "", "title_en": ""}, "title_ru"),
        ({"title_en": "x" * 201}, "title_en"),
        ({"description_ru": "a\x00b"}, "description_ru"),
        ({"visibility": "secret"}, "visibility"),
        ({"sort": 10**9}, "sort"),
        ({"parent_id": 999999}, "parent"),
    ],
)
def test_section_create_bad_input_field_message(db, changes, field):
    data = services.SectionInput(**{"slug": "ok", "title_ru": "Раздел", **changes})
    assert field in _errors(lambda: services.section_create(actor=None, data=data))
    assert not Section.objects.exists()


def test_section_slug_unique_under_parent(db):
    top = section("top")
    section("child", parent=top)
    data = services.SectionInput(slug="child", title_en="x", parent_id=top.pk)
    assert "slug" in _errors(lambda: services.section_create(actor=None, data=data))
    section("child")  # the same slug elsewhere is fine


def test_section_update_refuses_a_cycle(db):
    top = section("top")
    child = section("child", parent=top)
    data = services.SectionInput(slug="top", title_en="x", parent_id=child.pk)
    assert "parent" in _errors(lambda: services.section_update(actor=None, section=top, data=data))


def test_section_delete_refused_with_articles_or_children(db):
    top = section("top")
    child = section("child", parent=top)
    article("a", child, title_en="A")
    with pytest.raises(ValidationFailed) as caught:
        services.section_delete(actor=None, section=top)
    assert "subsection" in caught.value.text()
    with pytest.raises(ValidationFailed) as caught:
        services.section_delete(actor=None, section=child)
    assert "article" in caught.value.text()
    empty = section("empty")
    services.section_delete(actor=None, section=empty)
    assert not Section.objects.filter(pk=empty.pk).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"slug": "-x"}, "slug"),
        ({"title_ru": "  ", "title_en": ""}, "title_ru"),
        ({"body_en": "x" * 100_001}, "body_en"),
        ({"body_ru": "\x00"}, "body_ru"),
        ({"note": "n" * 201}, "note"),
        ({"section_id": 999999}, "section"),
    ],
)
def test_article_create_bad_input_field_message(db, changes, field):
    sec = section("s")
    data = services.ArticleInput(**{"section_id": sec.pk, "slug": "ok", "title_ru": "Статья", **changes})
    assert field in _errors(lambda: services.article_create(actor=None, data=data))


def test_article_slug_unique(db):
    sec = section("s")
    article("same", sec, title_en="A")
    data = services.ArticleInput(section_id=sec.pk, slug="same", title_en="B")
    assert "slug" in _errors(lambda: services.article_create(actor=None, data=data))


def test_article_writes_need_an_admin(cast):
    sec = section("s")
    data = services.ArticleInput(section_id=sec.pk, slug="x", title_en="X")
    for user in (cast.client, cast.staff, cast.demo, cast.anonymous):
        with pytest.raises(PermissionDenied):
            services.article_create(actor=user, data=data)
    assert services.article_create(actor=cast.admin, data=data).updated_by == cast.admin


def test_article_update_writes_revisions_and_restore_brings_texts_back(cast, frozen):
    sec = section("s")
    data = services.ArticleInput(section_id=sec.pk, slug="a", title_en="First", body_en="one", note="start")
    first = services.article_create(actor=cast.admin, data=data)
    frozen.advance(seconds=60)
    services.article_update(
        actor=cast.admin,
        article=first,
        data=services.ArticleInput(
            section_id=sec.pk, slug="a", title_en="Second", body_en="two", note="typo"
        ),
    )
    # The same texts again: no new revision.
    services.article_update(
        actor=cast.admin,
        article=first,
        data=services.ArticleInput(section_id=sec.pk, slug="a", title_en="Second", body_en="two"),
    )
    revisions = list(ArticleRevision.objects.filter(article=first).order_by("number"))
    assert [(r.number, r.title_en, r.note, r.author) for r in revisions] == [
        (1, "First", "start", cast.admin),
        (2, "Second", "typo", cast.admin),
    ]
    assert revisions[1].at > revisions[0].at
    with translation.override("en"):
        restored = services.article_revision_restore(actor=cast.admin, revision=revisions[0])
    assert (restored.title_en, restored.body_en) == ("First", "one")
    last = ArticleRevision.objects.filter(article=first).order_by("-number").first()
    assert last.number == 3 and last.note == "Restored revision 1"
    with pytest.raises(PermissionDenied):
        services.article_revision_restore(actor=cast.staff, revision=revisions[1])
