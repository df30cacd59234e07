"""The public pages, the deflection records they write, the suggestions, the staff picker, the admin."""

from __future__ import annotations

import html
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from otklik.core.text import render_markup
from otklik.kb.models import Article, ArticleRevision, Deflection, DeflectionKind
from otklik.kb.selectors import deflections_counted
from tests.conftest import logged_in
from tests.kb.kbdata import kb_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def kb(db):
    return kb_build()


def test_home_tree_with_counts(kb):
    page = Client().get("/kb/").content.decode()
    assert "/kb/payments/" in page and "/kb/payments/card-payments/" in page
    assert "3 articles" in page or "3 стать" in page


def test_section_page_breadcrumbs_and_canonical_path(kb):
    response = Client().get("/kb/payments/card-payments/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'href="/kb/payments/"' in page and "/kb/articles/delivery/" in page
    assert Client().get(f"/kb/{kb.cards.pk}/").url == "/kb/payments/card-payments/"
    assert Client().get("/kb/payments/nope/").status_code == 404


def test_article_page_markdown_and_fallback_note(kb, cast):
    page = logged_in(cast.client, "ru").get("/kb/articles/english-only/").content.decode()
    assert "<strong>five</strong>" in page
    assert 'id="kb-fallback"' in page
    page_en = logged_in(cast.client, "en").get("/kb/articles/english-only/").content.decode()
    assert 'id="kb-fallback"' not in page_en
    # A Russian-only article read in English says so.
    page_en = logged_in(cast.client, "en").get("/kb/articles/delivery/").content.decode()
    assert "kb-fallback" not in page_en  # both languages present
    Article.objects.filter(slug="delivery").update(body_en="")
    page_en = logged_in(cast.client, "en").get("/kb/articles/delivery/").content.decode()
    assert "This article is not translated into English yet; shown in Russian." in page_en


def test_article_markdown_is_sanitised(kb):
    Article.objects.filter(slug="paid").update(
        body_ru='<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror="alert(3)">'
    )
    page = Client(HTTP_ACCEPT_LANGUAGE="ru").get("/kb/articles/paid/").content.decode()
    assert (
        "<script>alert(1)" not in page
        and 'href="javascript:' not in page
        and "<img src=x onerror" not in page
    )


def test_answered_records_deflection_and_thanks(kb, cast):
    client = logged_in(cast.client)
    response = client.post("/kb/articles/paid/answered/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Thank you" in response.content.decode()
    record = Deflection.objects.get()
    assert (record.kind, record.article, record.user) == (
        DeflectionKind.ARTICLE_ANSWERED,
        kb.paid,
        cast.client,
    )
    anonymous = Client()
    assert anonymous.post("/kb/articles/paid/answered/").status_code == 302
    assert Deflection.objects.filter(user=None, kind=DeflectionKind.ARTICLE_ANSWERED).count() == 1
    assert anonymous.get("/kb/articles/paid/answered/").status_code == 405
    assert Client().post("/kb/articles/staff-note/answered/").status_code == 404


def test_answered_needs_csrf(kb):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/kb/articles/paid/answered/").status_code == 403
    assert not Deflection.objects.exists()


def test_suggested_article_opened_counts_once_then_not_counted_after_a_ticket(kb, cast, make_ticket):
    client = logged_in(cast.client)
    assert "?from=suggest" in client.get("/kb/suggest/", {"title": "оплата"}).content.decode()
    client.get("/kb/articles/paid/?from=suggest")
    client.get("/kb/articles/paid/?from=suggest")
    client.get("/kb/articles/paid/")  # not from a suggestion
    assert list(Deflection.objects.values_list("kind", "article__slug", "user")) == [
        (DeflectionKind.SUGGESTION_LEFT, "paid", cast.client.pk)
    ]
    other = logged_in(cast.other_client)
    other.get("/kb/articles/delivery/?from=suggest")

    def counted() -> list[int]:
        return sorted(deflections_counted().values_list("user", flat=True))

    assert counted() == sorted([cast.client.pk, cast.other_client.pk])
    make_ticket(actor=cast.client)  # the client filed a ticket after all: the article did not answer
    assert counted() == [cast.other_client.pk]
    assert Deflection.objects.count() == 2  # the record stays; it is not counted


def test_a_ticket_long_after_a_suggestion_does_not_undo_it(kb, cast, make_ticket, frozen):
    logged_in(cast.client).get("/kb/articles/paid/?from=suggest")
    frozen.advance(seconds=3 * 3600)
    make_ticket(actor=cast.client)
    assert list(deflections_counted().values_list("user", flat=True)) == [cast.client.pk]


def test_ticket_creation_pays_nothing_for_suggestions(kb, cast, make_ticket):
    logged_in(cast.client).get("/kb/articles/paid/?from=suggest")
    make_ticket(actor=cast.client)
    with CaptureQueriesContext(connection) as captured:
        make_ticket(actor=cast.client)
    assert not [q["sql"] for q in captured.captured_queries if "kb_" in q["sql"]]


def test_suggested_then_answered_is_an_answer_not_a_left(kb, cast):
    client = logged_in(cast.client)
    client.get("/kb/articles/paid/?from=suggest")
    client.post("/kb/articles/paid/answered/")
    assert list(Deflection.objects.values_list("kind", flat=True)) == [DeflectionKind.ARTICLE_ANSWERED]


def test_demo_access_records_nothing(kb, cast):
    client = logged_in(cast.demo)
    client.get("/kb/articles/paid/?from=suggest")
    client.post("/kb/articles/paid/answered/")
    assert not Deflection.objects.exists()


def test_search_page_pagination_and_empty_states(kb):
    from otklik.kb import services

    for i in range(25):
        services.article_create(
            actor=None,
            data=services.ArticleInput(section_id=kb.payments.pk, slug=f"bulk-{i}", title_en=f"Payment {i}"),
        )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    first = client.get("/kb/search/", {"q": "payment"}).content.decode()
    assert "1 / 2" in first and "page=2" in first
    second = client.get("/kb/search/", {"q": "payment", "page": 2})
    assert second.status_code == 200
    assert "Type a few words" in client.get("/kb/search/").content.decode()
    assert "Nothing found" in client.get("/kb/search/", {"q": "zzzz"}).content.decode()
    for q in ("x" * 5000, "\x00", "оплата\x00", '"*'):
        assert client.get("/kb/search/", {"q": q}).status_code == 200
    assert client.get("/kb/search/", {"q": "payment", "page": "abc"}).status_code == 200


def test_suggest_partial_bounds(kb):
    client = Client()
    assert client.get("/kb/suggest/", {"title": "оп"}).content.decode().strip() == ""
    many = client.get("/kb/suggest/", {"title": "x" * 10_000})
    assert many.status_code == 200


def test_suggest_query_count_constant(kb, django_assert_num_queries):
    from otklik.kb import services

    for i in range(12):
        services.article_create(
            actor=None,
            data=services.ArticleInput(section_id=kb.cards.pk, slug=f"more-{i}", title_ru=f"Оплата {i}"),
        )
    client = Client()
    client.get("/kb/suggest/", {"title": "оплата"})  # warm up (session, content types)
    for text in ("оплата", "оплата картой", "курьер"):
        # The sections (visibility), then the articles with their sections.
        with django_assert_num_queries(2):
            response = client.get("/kb/suggest/", {"title": text})
        assert response.status_code == 200
    assert client.get("/kb/suggest/", {"title": "оплата"}).content.decode().count("<li>") == 5


def test_staff_picker_links_public_and_text_for_staff_only(kb, cast):
    staff = logged_in(cast.staff)
    page = staff.get("/kb/insert/", {"q": "оплата"}).content.decode()
    site = settings.OTKLIK_SITE_URL.rstrip("/")
    link = html.unescape(re.search(r'data-insert="(\[[^"]*\]\([^"]*\))"', page).group(1))
    assert f"]({site}/kb/articles/" in link and link.endswith("/)")  # a Markdown link
    # Inserted into a reply, it renders as a link with the article's title.
    assert re.search(
        rf'<a href="{re.escape(site)}/kb/articles/[^"]+"[^>]*>[^<]+</a>', str(render_markup(link))
    )
    assert "kb-insert" in page
    # A staff-only article offers its text only: a link would not open for the client.
    assert "/kb/articles/staff-note/" not in page and "Insert text" in page
    assert logged_in(cast.client).get("/kb/insert/", {"q": "оплата"}).status_code == 404
    assert Client().get("/kb/insert/", {"q": "x"}).status_code == 302  # to the login page


def test_staff_ticket_page_has_the_picker(kb, cast, make_ticket):
    ticket = make_ticket()
    page = logged_in(cast.staff).get(f"/staff/tickets/{ticket.pk}/").content.decode()
    assert 'id="kb-picker"' in page and "/kb/insert/" in page


def test_client_new_ticket_form_has_the_suggestion_box(kb, cast):
    from otklik.tickets.models import ModuleOptions

    ModuleOptions.objects.update(wizard_enabled=False)
    page = logged_in(cast.client).get("/tickets/new/").content.decode()
    assert 'id="kb-suggestions"' in page and "/kb/suggest/" in page
    assert 'hx-trigger="load, input changed delay:300ms from:#id_title"' in page


def test_admin_pages_render_and_restore(kb, cast):
    admin = logged_in(cast.admin)
    for url in (
        "/admin/kb/section/",
        "/admin/kb/section/?q=pay",
        f"/admin/kb/section/{kb.payments.pk}/change/",
        "/admin/kb/section/add/",
        "/admin/kb/article/",
        "/admin/kb/article/?visibility__exact=staff",
        f"/admin/kb/article/?section__id__exact={kb.payments.pk}",
        "/admin/kb/article/?q=оплата",
        f"/admin/kb/article/{kb.paid.pk}/change/",
        "/admin/kb/article/add/",
    ):
        assert admin.get(url).status_code == 200, url
    response = admin.post(
        f"/admin/kb/article/{kb.paid.pk}/change/",
        {
            "section": kb.payments.pk,
            "slug": "paid",
            "title_ru": "Новое название",
            "title_en": "",
            "body_ru": "Новый текст",
            "body_en": "",
            "visibility": "public",
            "sort": 5,
            "note": "renamed",
        },
    )
    assert response.status_code == 302
    assert ArticleRevision.objects.filter(article=kb.paid).count() == 2
    change = admin.get(f"/admin/kb/article/{kb.paid.pk}/change/").content.decode()
    assert "renamed" in change and f"/admin/kb/article/{kb.paid.pk}/revisions/1/restore/" in change
    confirm = admin.get(f"/admin/kb/article/{kb.paid.pk}/revisions/1/restore/")
    assert confirm.status_code == 200 and "Оплата заказа картой" in confirm.content.decode()
    assert admin.post(f"/admin/kb/article/{kb.paid.pk}/revisions/1/restore/").status_code == 302
    kb.paid.refresh_from_db()
    assert kb.paid.title_ru == "Оплата заказа картой"
    bad = admin.post(
        "/admin/kb/article/add/",
        {
            "section": kb.payments.pk,
            "slug": "paid",
            "title_ru": "",
            "title_en": "",
            "visibility": "public",
            "sort": 1,
        },
    )
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()
    refused = admin.post(f"/admin/kb/section/{kb.payments.pk}/delete/", {"post": "yes"}, follow=True)
    assert refused.status_code == 200
    assert type(kb.payments).objects.filter(pk=kb.payments.pk).exists()


def test_admin_pages_refuse_clients_and_staff(kb, cast):
    for user in (cast.client, cast.staff):
        assert logged_in(user).get("/admin/kb/article/").status_code in (302, 403)


def test_admin_lists_deflections_read_only(kb, cast):
    logged_in(cast.client).post("/kb/articles/paid/answered/")
    admin = logged_in(cast.admin)
    page = admin.get("/admin/kb/deflection/?kind__exact=article_answered")
    assert page.status_code == 200
    assert kb.paid.title in page.content.decode()
    record = Deflection.objects.get()
    assert admin.get(f"/admin/kb/deflection/{record.pk}/delete/").status_code == 403
    assert admin.get("/admin/kb/deflection/add/").status_code == 403
    assert logged_in(cast.staff).get("/admin/kb/deflection/").status_code in (302, 403)


def test_admin_section_list_costs_the_same_statements_for_more_sections(kb, cast):
    from tests.kb.kbdata import section

    admin = logged_in(cast.admin)
    admin.get("/admin/kb/section/")  # warm: the session, the admin site's caches

    def statements() -> int:
        with CaptureQueriesContext(connection) as captured:
            page = admin.get("/admin/kb/section/")
        assert page.status_code == 200
        return len(captured.captured_queries)

    few = statements()
    for n in range(8):
        section(f"more-{n}", parent=kb.payments)
    assert statements() == few
    html = admin.get("/admin/kb/section/").content.decode()
    assert "payments/more-7" in html  # each row's path is still shown
