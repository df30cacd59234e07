"""The knowledge base's pages: the tree, a section, an article, search; the suggestions under the new
ticket's title; the staff answer form's article picker.

The reading pages are public (`login_not_required`): what a visitor sees is decided by ArticlePolicy.

Suggestions and deflection: a suggested article opens with `?from=suggest`; opening it records a
"left after a suggested article" deflection at once (the session remembers it, so reopening records
nothing more). If the same user files a ticket within two hours, the record does not count
(`selectors.deflections_counted`, decided when counting); "this answered my question" replaces it with an
"article answered" record.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from otklik.core.errors import DomainError, NotFound
from otklik.core.markdown import markdown_plain, render_markdown
from otklik.core.search import MAX_QUERY_CHARS
from otklik.core.text import markdown_link
from otklik.kb import selectors, services
from otklik.kb.models import Article, DeflectionKind
from otklik.kb.policies import ArticlePolicy

PAGE_SIZE = 20
PAGE_SIZES = (20, 50, 100, 200)
# The session's suggested articles opened: {article id: deflection id}.
SESSION_SUGGESTED = "kb_suggested"
PICKER_RESULTS = 10


def _policy(request: HttpRequest) -> ArticlePolicy:
    policy = getattr(request, "_kb_policy", None)
    if policy is None:
        policy = ArticlePolicy(request.user)
        request._kb_policy = policy  # type: ignore[attr-defined]
    return policy


def _query(request: HttpRequest, name: str = "q") -> str:
    """Return the search text of the request, cut to the bound (longer text searches its start)."""
    return (request.GET.get(name) or "").replace("\x00", "")[:MAX_QUERY_CHARS].strip()


def _crumbs(chain: list) -> list[tuple]:
    """Pair each section of a breadcrumb chain with its slug path, for the links."""
    return [(s, "/".join(c.slug for c in chain[: i + 1])) for i, s in enumerate(chain)]


def _section_url(section) -> str:
    return reverse("kb:section", args=[selectors.section_path(section)])


@login_not_required
@require_GET
def kb_home(request: HttpRequest) -> HttpResponse:
    """Show the tree of sections the reader may see, with article counts, and the search box."""
    tree = selectors.section_tree(_policy(request))
    return render(request, "kb/home.html", {"tree": tree})


@login_not_required
@require_GET
def kb_section(request: HttpRequest, path: str) -> HttpResponse:
    """Show a section: its description, subsections and articles."""
    policy = _policy(request)
    try:
        section = selectors.section_by_path(policy, path)
    except NotFound:
        raise Http404() from None
    crumbs = selectors.section_ancestors(section)
    canonical = "/".join(s.slug for s in crumbs)
    if path.strip("/") != canonical:
        return redirect("kb:section", path=canonical)
    children = list(selectors.section_children(policy, section))
    return render(
        request,
        "kb/section.html",
        {
            "section": section,
            "crumbs": _crumbs(crumbs),
            "description": render_markdown(section.description),
            "children": [(c, f"{canonical}/{c.slug}") for c in children],
            "articles": list(selectors.article_list(policy, section).defer("body_ru", "body_en")),
        },
    )


def _suggested_open(request: HttpRequest, article: Article) -> None:
    """Record "left after a suggested article" once per article and session."""
    opened = request.session.get(SESSION_SUGGESTED) or {}
    if str(article.pk) in opened:
        return
    try:
        record = services.deflection_record(
            kind=DeflectionKind.SUGGESTION_LEFT, user=request.user, article=article
        )
    except DomainError:  # demo access records nothing
        return
    opened[str(article.pk)] = record.pk
    request.session[SESSION_SUGGESTED] = opened


@login_not_required
@require_GET
def kb_article(request: HttpRequest, slug: str) -> HttpResponse:
    """Show an article in the reader's language (the other one, with a note, when it is missing)."""
    policy = _policy(request)
    try:
        article = selectors.article_get(policy, slug=slug)
    except NotFound:
        raise Http404() from None
    if request.GET.get("from") == "suggest":
        _suggested_open(request, article)
    crumbs = selectors.section_ancestors(article.section)
    return render(
        request,
        "kb/article.html",
        {
            "article": article,
            "body": render_markdown(article.body),
            "crumbs": _crumbs(crumbs),
            "answered": request.GET.get("answered") == "1",
            "from_suggest": request.GET.get("from") == "suggest",
            "is_public": policy.is_public(article),
        },
    )


@login_not_required
@require_POST
def kb_article_answered(request: HttpRequest, slug: str) -> HttpResponse:
    """Record that the article answered the reader's question, and thank them."""
    policy = _policy(request)
    try:
        article = selectors.article_get(policy, slug=slug)
    except NotFound:
        raise Http404() from None
    thanks = _("Thank you! We are glad the article helped.")
    try:
        services.deflection_record(kind=DeflectionKind.ARTICLE_ANSWERED, user=request.user, article=article)
    except DomainError as exc:
        thanks = exc.message
    else:
        # The suggestion it came from is now an answer, not a "left".
        opened = request.session.get(SESSION_SUGGESTED) or {}
        record = opened.pop(str(article.pk), None)
        if record is not None:
            services.deflection_withdraw(ids=[record])
            request.session[SESSION_SUGGESTED] = opened
    if request.htmx:
        return render(request, "kb/_answered.html", {"thanks": thanks})
    messages.success(request, thanks)
    return redirect(reverse("kb:article", args=[article.slug]) + "?answered=1")


@login_not_required
@require_GET
def kb_search(request: HttpRequest) -> HttpResponse:
    """Search the articles the reader may see, a page at a time (at most SEARCH_CAP results listed)."""
    text = _query(request)
    try:
        size = int(request.GET.get("size", PAGE_SIZE))
    except ValueError:
        size = PAGE_SIZE
    size = size if size in PAGE_SIZES else PAGE_SIZE
    page = selectors.article_search_page(_policy(request), text, request.GET.get("page"), size)
    items = [(a, markdown_plain(a.body)) for a in page.object_list]
    sizeless = urlencode({"q": text})
    return render(
        request,
        "kb/search.html",
        {
            "q": text,
            "page": page,
            "items": items,
            "too_long": len(request.GET.get("q") or "") > MAX_QUERY_CHARS,
            # What ui/_pagination.html links with.
            "query": f"{sizeless}&size={size}" if size != PAGE_SIZE else sizeless,
            "query_sizeless": sizeless,
            "size": size,
            "page_sizes": PAGE_SIZES,
        },
    )


@login_not_required
@require_GET
def kb_suggest(request: HttpRequest) -> HttpResponse:
    """Return the suggestions for a ticket title being typed: at most five public articles (a partial)."""
    text = _query(request, "title") or _query(request)
    found = selectors.article_suggest(text) if len(text) >= 3 else []
    return render(request, "kb/_suggestions.html", {"suggestions": found, "q": text})


@require_GET
def kb_insert_picker(request: HttpRequest) -> HttpResponse:
    """List articles staff may insert into a reply (link or text); a partial for the answer form."""
    policy = _policy(request)
    if not policy.sees_staff_only:
        raise Http404()
    text = _query(request)
    found = list(selectors.article_search(policy, text)[:PICKER_RESULTS]) if text else []
    items = []
    for a in found:
        # The site's public address (as in mail), not the host this staff member reached the server by.
        url = settings.OTKLIK_SITE_URL.rstrip("/") + reverse("kb:article", args=[a.slug])
        # A Markdown link, as the reply is Markdown; its title escaped so "]" or "*" in it stays text.
        items.append({"article": a, "link": markdown_link(a.title, url), "public": policy.is_public(a)})
    return render(request, "kb/_insert_picker.html", {"items": items, "q": text})
