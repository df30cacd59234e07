"""The knowledge base's API: search, suggest, an article, deflection records; bad input is never a 500."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otklik.kb.models import Deflection, DeflectionKind
from tests.helpers import Api
from tests.kb.kbdata import kb_build

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def kb(db):
    return kb_build()


def _anon() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def test_api_search_anonymous_public_only(kb):
    body = _anon().get("/api/v1/kb/search", {"q": "payment"}).json()
    assert {r["id"] for r in body["results"]} == {kb.paid.pk}
    assert body["results"][0] == {
        "id": kb.paid.pk,
        "title": "Paying for an order by card",
        "section": "Payments",
        "url": "http://testserver/kb/articles/paid/",
        "visibility": "public",
    }
    assert (body["count"], body["page"], body["pages"]) == (1, 1, 1)


def test_api_search_staff_sees_staff_only_marked(kb, cast):
    body = Api(cast.staff).get("/api/v1/kb/search", {"q": "оплата"}).json()
    seen = {r["id"]: r["visibility"] for r in body["results"]}
    assert seen[kb.staff_note.pk] == "staff" and seen[kb.deep_hidden.pk] == "staff"
    assert seen[kb.paid.pk] == "public"
    client_body = Api(cast.client).get("/api/v1/kb/search", {"q": "оплата"}).json()
    assert {r["id"] for r in client_body["results"]} == {kb.paid.pk, kb.delivery.pk}


def test_api_suggest_at_most_five(kb):
    from otklik.kb import services

    for i in range(8):
        services.article_create(
            actor=None,
            data=services.ArticleInput(section_id=kb.payments.pk, slug=f"p{i}", title_ru=f"Оплата {i}"),
        )
    body = _anon().get("/api/v1/kb/suggest", {"q": "оплата"}).json()
    assert len(body) == 5 and all(item["visibility"] == "public" for item in body)
    assert _anon().get("/api/v1/kb/suggest", {"q": ""}).json() == []


def test_api_article_and_404s(kb, cast):
    body = _anon().get(f"/api/v1/kb/articles/{kb.english_only.pk}").json()
    assert body["title_en"] == "Refunds explained" and "<strong>five</strong>" in body["body_html"]
    assert body["section"]["path"] == "payments/card-payments" and body["visibility"] == "public"
    for pk in (kb.staff_note.pk, kb.hidden_by_section.pk, kb.deep_hidden.pk, 999_999):
        assert _anon().get(f"/api/v1/kb/articles/{pk}").status_code == 404
        assert Api(cast.client).get(f"/api/v1/kb/articles/{pk}").status_code == 404
    assert Api(cast.staff).get(f"/api/v1/kb/articles/{kb.deep_hidden.pk}").json()["visibility"] == "staff"
    assert _anon().get("/api/v1/kb/articles/0").status_code == 422
    assert _anon().get("/api/v1/kb/articles/abc").status_code == 422


def test_api_bad_token_is_401_not_anonymous(kb):
    response = _anon().get("/api/v1/kb/search", {"q": "x"}, HTTP_AUTHORIZATION="Bearer nope")
    assert response.status_code == 401


def test_api_q_bounded(kb):
    response = _anon().get("/api/v1/kb/search", {"q": "x" * 201})
    assert response.status_code == 422 and "q" in response.json()["errors"]
    assert _anon().get("/api/v1/kb/suggest", {"q": "x" * 200}).status_code == 200
    assert _anon().get("/api/v1/kb/search", {"q": "x", "page": 0}).status_code == 422


def test_api_deflections(kb, cast):
    api = Api(cast.client)
    created = api.send("POST", "/api/v1/kb/deflections", {"article": kb.paid.pk})
    assert created.status_code == 201
    assert created.json()["kind"] == DeflectionKind.ARTICLE_ANSWERED
    section = api.send("POST", "/api/v1/kb/deflections", {"section": kb.cards.pk})
    assert section.status_code == 201 and section.json()["kind"] == DeflectionKind.WIZARD_ANSWERED
    assert Deflection.objects.filter(user=cast.client).count() == 2
    for body in ({}, {"article": kb.paid.pk, "section": kb.cards.pk}, {"article": "x"}, {"other": 1}, []):
        assert api.send("POST", "/api/v1/kb/deflections", body).status_code == 422, body
    assert api.send("POST", "/api/v1/kb/deflections", {"article": kb.staff_note.pk}).status_code == 404
    assert api.send("POST", "/api/v1/kb/deflections", {"section": kb.under_secret.pk}).status_code == 404
    assert api.send("POST", "/api/v1/kb/deflections", raw="{not json").status_code == 400
    assert Deflection.objects.count() == 2


def test_api_deflection_anonymous_and_demo(kb, cast):
    response = _anon().post(
        "/api/v1/kb/deflections", data=json.dumps({"article": kb.paid.pk}), content_type="application/json"
    )
    assert response.status_code == 201 and Deflection.objects.get().user is None
    demo = Api(cast.demo).send("POST", "/api/v1/kb/deflections", {"article": kb.paid.pk})
    assert demo.status_code == 403


def test_api_deflection_session_needs_csrf(kb, cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.client)
    response = client.post(
        "/api/v1/kb/deflections", data=json.dumps({"article": kb.paid.pk}), content_type="application/json"
    )
    assert response.status_code == 401


@FUZZ
@given(q=st.text(max_size=60) | st.sampled_from(["\x00", "'", '"', "*", "оплата:*", "a & b", "!", "\\"]))
def test_api_search_fuzz_never_500(kb, q):
    for url in ("/api/v1/kb/search", "/api/v1/kb/suggest"):
        assert _anon().get(url, {"q": q}).status_code in (200, 422)
    assert _anon().get("/kb/search/", {"q": q}).status_code == 200
    assert _anon().get("/kb/suggest/", {"title": q}).status_code == 200


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10) | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=5,
)


@FUZZ
@given(body=st.dictionaries(st.sampled_from(["article", "section", "kind", "x"]), json_values, max_size=3))
def test_api_deflection_fuzz_never_500(kb, body):
    response = _anon().post("/api/v1/kb/deflections", data=json.dumps(body), content_type="application/json")
    assert response.status_code in (201, 400, 404, 422)
