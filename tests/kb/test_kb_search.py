"""Search morphology and ranking, on SQLite (FTS5 of Snowball stems) and PostgreSQL (russian+english)."""

from __future__ import annotations

import pytest
from django.db import connection

from otklik.core import search
from otklik.kb import selectors, services
from otklik.kb.models import Article
from otklik.kb.policies import ArticlePolicy
from tests.kb.kbdata import article, section

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(db):
    sec = section("misc")
    article("payment-ru", sec, title_ru="Оплата заказа", body_ru="Текст про счёт.")
    article("payment-body", sec, title_ru="Касса", body_ru="Клиент оплатил заказ вчера, но оплаты нет.")
    article("delivery-ru", sec, title_ru="Курьер", body_ru="Доставка занимает два дня.")
    article("delivered", sec, title_ru="Привезли", body_ru="Посылку доставили вовремя.")
    article("refunds-en", sec, title_en="Refunds", body_en="How refunds work.")
    article("refund-en", sec, title_en="Money back", body_en="Ask for a refund in the order.")
    article("other", sec, title_ru="Пароль", body_ru="Сменить пароль.", title_en="Password")
    return sec


def _find(text: str, user=None) -> list[str]:
    from django.contrib.auth.models import AnonymousUser

    return [a.slug for a in selectors.article_search(ArticlePolicy(user or AnonymousUser()), text)]


@pytest.mark.parametrize("word", ["оплата", "оплаты", "оплатил", "Оплату", "ОПЛАТОЙ"])
def test_search_russian_payment_forms_find_each_other(corpus, word):
    assert set(_find(word)) == {"payment-ru", "payment-body"}


@pytest.mark.parametrize("word", ["доставка", "доставки", "доставили"])
def test_search_russian_delivery_forms_find_each_other(corpus, word):
    assert set(_find(word)) == {"delivery-ru", "delivered"}


@pytest.mark.parametrize("word", ["refund", "refunds", "Refunds"])
def test_search_english_plurals(corpus, word):
    assert set(_find(word)) == {"refunds-en", "refund-en"}


def test_search_title_matches_first(corpus):
    assert _find("оплата")[0] == "payment-ru"


def test_search_all_words_required_stop_words_ignored(corpus):
    assert _find("оплата заказа") == ["payment-ru", "payment-body"]
    assert _find("как оплатить заказ") == ["payment-ru", "payment-body"]
    assert _find("оплата пароль") == []


def test_search_prefix_of_a_word_being_typed(corpus):
    assert "payment-ru" in _find("опла")


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\x00", '"', "*", "AND OR NOT", "')(", "a" * 5000, "оплата" * 100, "NEAR(x y)", "\ud800"],
)
def test_search_odd_input_never_fails(corpus, text):
    _find(text)  # no exception


def test_search_index_follows_updates_and_deletes(corpus):
    target = Article.objects.get(slug="other")
    services.article_update(
        actor=None,
        article=target,
        data=services.ArticleInput(section_id=corpus.pk, slug="other", title_ru="Возврат", body_ru="Верните"),
    )
    assert _find("возвраты") == ["other"]
    assert _find("пароль") == []
    services.article_delete(actor=None, article=target)
    assert _find("возврат") == []


def test_query_stems_shape():
    assert search.query_stems("Как оплатить доставку?") == ["оплат", "достав"]
    assert search.query_stems("the") == ["the"]
    assert len(search.query_stems(" ".join(f"w{i}" for i in range(50)))) == search.MAX_QUERY_WORDS
    assert search.fts5_match(["a", "b"]) == '"a"* AND "b"*'
    assert search.tsquery(["a"], "A") == "'a':*A"


def test_search_engine_is_the_database_one(corpus):
    # SQLite: the FTS5 table holds stems; PostgreSQL: the generated column exists (GIN indexed).
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT title FROM kb_article_fts WHERE rowid = %s",
                [Article.objects.get(slug="payment-ru").pk],
            )
            assert cursor.fetchone()[0] == "оплат заказ"
        else:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'kb_article_search_gin'")
            assert "gin" in cursor.fetchone()[0].lower()


@pytest.fixture
def many(db):
    """Twelve public articles with "payment" in the title, eight with it in the text only, and staff-only
    ones of both kinds (which clients and visitors must never get, nor have counted)."""
    sec = section("many")
    secret = section("many-internal", staff=True)
    for i in range(12):
        article(f"title-{i:02}", sec, title_en=f"Payment {i}", body_en="Text.")
    for i in range(8):
        article(f"text-{i:02}", sec, title_en=f"Note {i}", body_en="Payments " * (i + 1) + "and more.")
    for i in range(3):
        article(f"staff-title-{i}", sec, staff=True, title_en=f"Payment inside {i}")
        article(f"hidden-text-{i}", secret, title_en=f"Hidden {i}", body_en="A payment.")
    return sec


def test_search_title_matches_before_every_text_match(many):
    found = _find("payment")
    assert len(found) == 20
    assert {s.split("-")[0] for s in found[:12]} == {"title"}
    # Text matches by relevance: the text saying "payments" most often comes first.
    assert found[12:] == [f"text-{i:02}" for i in reversed(range(8))]


def test_search_staff_only_never_listed_nor_counted_for_clients(many):
    from django.contrib.auth.models import AnonymousUser

    results = selectors.article_search(ArticlePolicy(AnonymousUser()), "payment")
    assert results.count() == 20 and not results.capped
    assert not [s for s in _find("payment") if "staff" in s or "hidden" in s]


def test_search_count_capped_pages_end_at_the_cap(many, monkeypatch):
    from django.contrib.auth.models import AnonymousUser
    from django.test import Client

    monkeypatch.setattr(selectors, "SEARCH_CAP", 15)
    results = selectors.article_search(ArticlePolicy(AnonymousUser()), "payment")
    assert results.count() == 15 and results.capped
    assert len(list(results)) == 15
    # The twelve title matches are all within the cap, whatever the order of the rest.
    assert {a.slug for a in results[0:12]} == {f"title-{i:02}" for i in range(12)}

    body = Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/kb/search", {"q": "payment"}).json()
    assert (body["count"], body["capped"], body["pages"]) == (15, True, 1)


def test_search_page_says_more_than_the_cap(many, cast, monkeypatch):
    from tests.conftest import logged_in

    monkeypatch.setattr(selectors, "SEARCH_CAP", 21)  # staff read 26 matches
    client = logged_in(cast.staff)
    first = client.get("/kb/search/", {"q": "payment"}).content.decode()
    assert "1–20 of more than 21" in first and "articles found" not in first
    last = client.get("/kb/search/", {"q": "payment", "page": 2}).content.decode()
    assert "21–21 of more than 21" in last


def test_search_page_queries_constant_whatever_the_matches(many):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    counts = []
    # One match; a page of title matches; a page reaching into the text matches (ranked).
    for q, page in (("note 3", 1), ("payment", 1), ("payment", 2), ("payments", 1)):
        client.get("/kb/search/", {"q": q, "page": page})  # sessions, caches
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/kb/search/", {"q": q, "page": page})
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    # The text matches' ranking is one more statement, only on PostgreSQL and only past the titles.
    assert max(counts) - min(counts) <= (1 if connection.vendor == "postgresql" else 0), counts
    assert max(counts) <= 9, counts
