"""The knowledge base's API: search, suggestions, articles, deflection records (F-20).

Reachable without credentials (the router is mounted with `BearerSessionOrAnonymous`): an anonymous
caller reads what a visitor of the public pages reads; a token or a session reads what its user may
(staff also get staff-only articles, marked `visibility: "staff"`). A bad token is still 401. Every read
starts from ArticlePolicy, so an article the caller may not see is a 404, like a missing one. `q` is at
most 200 characters (422 beyond).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import AfterValidator, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from otklik.core.api_errors import ErrorOut
from otklik.core.errors import NotFound
from otklik.core.markdown import render_markdown
from otklik.core.search import MAX_QUERY_CHARS
from otklik.core.text_input import storable_text
from otklik.kb import selectors, services
from otklik.kb.models import Article, DeflectionKind
from otklik.kb.policies import ArticlePolicy

router = Router(tags=["knowledge base"])

PAGE_SIZE = 20
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
SearchText = Annotated[
    str,
    Field(max_length=MAX_QUERY_CHARS, description="Words to find (at most 200 characters)."),
    AfterValidator(storable_text),  # NUL and lone surrogates: a 422 naming `q`, as everywhere in the API
]


class ArticleItemOut(Schema):
    id: int
    title: str = Field(description="In the caller's language, or the other one when missing.")
    section: str = Field(description="The title of the article's section.")
    url: str = Field(description="The article's page (absolute).")
    visibility: Literal["public", "staff"] = Field(description='"staff": readable by support staff only.')


class SearchOut(Schema):
    count: int = Field(
        description=f"Matching articles the caller may read, counted up to {selectors.SEARCH_CAP:,}: past that "
        f"`count` is {selectors.SEARCH_CAP:,}, `capped` is true and the pages end there (narrow the query)."
    )
    capped: bool = Field(description=f"More than {selectors.SEARCH_CAP:,} articles match.")
    page: int
    pages: int
    results: list[ArticleItemOut]


class SectionRefOut(Schema):
    id: int
    title: str
    path: str = Field(description="Slugs from the top level down, as in the page's URL.")


class ArticleOut(Schema):
    id: int
    slug: str
    title: str
    title_ru: str
    title_en: str
    body: str = Field(
        description="Markdown in the caller's language (or the other one, see body_is_fallback)."
    )
    body_html: str = Field(description="`body` rendered to sanitised HTML.")
    body_is_fallback: bool
    body_ru: str
    body_en: str
    section: SectionRefOut
    url: str
    visibility: Literal["public", "staff"]
    updated_at: datetime


class DeflectionIn(Schema):
    """Exactly one of `article` (an article answered the question) or `section` (the wizard's step did)."""

    model_config = ConfigDict(extra="forbid")

    article: Id | None = None
    section: Id | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> DeflectionIn:
        if (self.article is None) == (self.section is None):
            raise PydanticCustomError("exactly_one", _("Send exactly one of article or section."))
        return self


class DeflectionOut(Schema):
    id: int
    kind: str
    at: datetime
    article: int | None
    section: int | None


def _item(request: HttpRequest, policy: ArticlePolicy, article: Article) -> dict:
    return {
        "id": article.pk,
        "title": article.title,
        "section": article.section.title,
        "url": request.build_absolute_uri(reverse("kb:article", args=[article.slug])),
        "visibility": "public" if policy.is_public(article) else "staff",
    }


READ_ERRORS: dict[int, type[ErrorOut]] = {401: ErrorOut, 422: ErrorOut}


@router.get("/kb/search", response={200: SearchOut, **READ_ERRORS}, summary="Search the knowledge base")
def kb_search(
    request: HttpRequest,
    q: Annotated[SearchText, Query()] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
):
    """Find the articles the caller may read: every word must match (Russian and English word forms),
    title matches first, twenty per page; at most 1,000 are counted and paged through (see `count`)."""
    policy = ArticlePolicy(request.user)
    current = selectors.article_search_page(policy, q, page, PAGE_SIZE)
    paginator = current.paginator
    return {
        "count": paginator.count,
        "capped": paginator.capped,
        "page": current.number,
        "pages": paginator.num_pages,
        "results": [_item(request, policy, a) for a in current.object_list],
    }


@router.get("/kb/suggest", response={200: list[ArticleItemOut], **READ_ERRORS}, summary="Suggest articles")
def kb_suggest(request: HttpRequest, q: Annotated[SearchText, Query()] = ""):
    """Return at most five articles the caller may read for a ticket title being typed."""
    policy = ArticlePolicy(request.user)
    return [_item(request, policy, a) for a in selectors.article_suggest(q, policy=policy)]


@router.get(
    "/kb/articles/{article_id}",
    response={200: ArticleOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Read an article",
)
def kb_article(request: HttpRequest, article_id: Id):
    """Return an article with both languages' texts; 404 when it does not exist or the caller may not read it."""
    policy = ArticlePolicy(request.user)
    article = selectors.article_get(policy, pk=article_id)
    return {
        "id": article.pk,
        "slug": article.slug,
        "title": article.title,
        "title_ru": article.title_ru,
        "title_en": article.title_en,
        "body": article.body,
        "body_html": str(render_markdown(article.body)),
        "body_is_fallback": article.body_is_fallback,
        "body_ru": article.body_ru,
        "body_en": article.body_en,
        "section": {
            "id": article.section_id,
            "title": article.section.title,
            "path": selectors.section_path(article.section),
        },
        "url": request.build_absolute_uri(reverse("kb:article", args=[article.slug])),
        "visibility": "public" if policy.is_public(article) else "staff",
        "updated_at": article.updated_at,
    }


@router.post(
    "/kb/deflections",
    response={201: DeflectionOut, **{code: ErrorOut for code in (400, 401, 403, 404, 413, 422)}},
    summary="Record a question answered without a ticket",
)
def kb_deflection(request: HttpRequest, payload: DeflectionIn):
    """Record that an article (`article_answered`) or a wizard step's section (`wizard_answered`) answered
    the caller's question. 404 for what the caller may not read; 403 for demo access."""
    policy = ArticlePolicy(request.user)
    if payload.article is not None:
        article = selectors.article_get(policy, pk=payload.article)
        record = services.deflection_record(
            kind=DeflectionKind.ARTICLE_ANSWERED, user=request.user, article=article
        )
    else:
        section = policy.visible_sections().filter(pk=payload.section).first()
        if section is None:
            raise NotFound()
        record = services.deflection_record(
            kind=DeflectionKind.WIZARD_ANSWERED, user=request.user, section=section
        )
    return Status(
        201,
        {
            "id": record.pk,
            "kind": record.kind,
            "at": record.at,
            "article": record.article_id,
            "section": record.section_id,
        },
    )
