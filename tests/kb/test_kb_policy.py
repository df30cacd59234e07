"""Who reads what: staff-only articles and sections (with their subtrees) never reach clients or visitors."""

from __future__ import annotations

import pytest

from otklik.kb import selectors
from otklik.kb.policies import ArticlePolicy, public_section_ids
from tests.conftest import logged_in
from tests.kb.kbdata import kb_build

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([], set()),
        ([(1, None, "public")], {1}),
        ([(1, None, "staff"), (2, 1, "public"), (3, 2, "public")], set()),
        ([(1, None, "public"), (2, 1, "staff"), (3, 2, "public"), (4, 1, "public")], {1, 4}),
        ([(3, 2, "public"), (2, 1, "public"), (1, None, "public")], {1, 2, 3}),
        ([(1, 2, "public"), (2, 1, "public")], set()),  # a cycle: nobody
        ([(1, 99, "public")], set()),  # a dangling parent
    ],
)
def test_public_section_ids_table(rows, expected):
    assert public_section_ids(rows) == expected


@pytest.fixture
def kb(db):
    return kb_build()


def _slugs(qs) -> set[str]:
    return {a.slug for a in qs}


def test_visible_articles_anonymous_and_client_public_only(kb, cast):
    public = {"paid", "delivery", "english-only"}
    assert _slugs(ArticlePolicy(cast.anonymous).visible_articles()) == public
    assert _slugs(ArticlePolicy(cast.client).visible_articles()) == public
    assert _slugs(ArticlePolicy(cast.demo).visible_articles()) == public


def test_visible_articles_staff_and_admin_everything(kb, cast):
    everything = {"paid", "delivery", "english-only", "staff-note", "hidden", "deep"}
    assert _slugs(ArticlePolicy(cast.staff).visible_articles()) == everything
    assert _slugs(ArticlePolicy(cast.admin).visible_articles()) == everything


def test_section_tree_client_hides_staff_subtree(kb, cast):
    tree = selectors.section_tree(ArticlePolicy(cast.client))
    assert [n.section.slug for n in tree] == ["payments"]
    assert tree[0].total == 3 and tree[0].articles == 1
    staff_tree = selectors.section_tree(ArticlePolicy(cast.staff))
    assert [n.section.slug for n in staff_tree] == ["payments", "internal"]
    assert staff_tree[1].children[0].path == "internal/internal-child"


def test_search_client_never_finds_staff_only(kb, cast):
    assert _slugs(selectors.article_search(ArticlePolicy(cast.client), "оплата")) == {"paid", "delivery"}
    assert _slugs(selectors.article_search(ArticlePolicy(cast.staff), "оплата")) == {
        "paid",
        "delivery",
        "staff-note",
        "hidden",
        "deep",
    }


def test_suggest_titles_only_never_staff_only(kb, cast):
    # "delivery" says "оплатил" in its text only: suggestions match titles.
    assert _slugs(selectors.article_suggest("оплата")) == {"paid"}
    staff = ArticlePolicy(cast.staff)
    assert _slugs(selectors.article_suggest("оплата", policy=staff)) == {
        "paid",
        "staff-note",
        "hidden",
        "deep",
    }


@pytest.mark.parametrize(
    ("who", "url", "status"),
    [
        ("anonymous", "/kb/articles/paid/", 200),
        ("anonymous", "/kb/articles/staff-note/", 404),
        ("anonymous", "/kb/articles/hidden/", 404),
        ("anonymous", "/kb/articles/deep/", 404),
        ("anonymous", "/kb/internal/", 404),
        ("anonymous", "/kb/internal/internal-child/", 404),
        ("client", "/kb/articles/staff-note/", 404),
        ("client", "/kb/articles/deep/", 404),
        ("client", "/kb/internal/internal-child/", 404),
        ("staff", "/kb/articles/staff-note/", 200),
        ("staff", "/kb/articles/deep/", 200),
        ("staff", "/kb/internal/internal-child/", 200),
    ],
)
def test_pages_visibility(kb, cast, who, url, status):
    from django.test import Client

    client = Client() if who == "anonymous" else logged_in(getattr(cast, who))
    assert client.get(url).status_code == status


def test_pages_lists_and_search_hide_staff_only_from_clients(kb, cast):
    for client in (logged_in(cast.client), __import__("django.test").test.Client()):
        home = client.get("/kb/").content.decode()
        assert "Section internal" not in home and "Раздел internal" not in home
        section = client.get("/kb/payments/").content.decode()
        assert "/kb/articles/paid/" in section and "/kb/articles/staff-note/" not in section
        found = client.get("/kb/search/", {"q": "payment"}).content.decode()
        assert "/kb/articles/paid/" in found
        assert "/kb/articles/staff-note/" not in found and "/kb/articles/hidden/" not in found
        suggested = client.get("/kb/suggest/", {"title": "оплата"}).content.decode()
        assert (
            "staff-note" not in suggested and "hidden" not in suggested and "/kb/articles/paid/" in suggested
        )
    staff_found = logged_in(cast.staff).get("/kb/search/", {"q": "payment"}).content.decode()
    assert "/kb/articles/staff-note/" in staff_found and "/kb/articles/deep/" in staff_found
    staff_suggested = logged_in(cast.staff).get("/kb/suggest/", {"title": "оплата"}).content.decode()
    assert "staff-note" not in staff_suggested and "/kb/articles/paid/" in staff_suggested


def test_kb_nav_link_for_everyone(kb, cast):
    from django.test import Client

    assert 'href="/kb/"' in Client().get("/kb/").content.decode()
    assert 'href="/kb/"' in logged_in(cast.staff).get("/kb/").content.decode()
