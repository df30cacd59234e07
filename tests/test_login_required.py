"""Deny by default (issue 12): every page needs a login unless its view opts out explicitly."""

from __future__ import annotations

import re

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, include, path, reverse
from django.urls.converters import IntConverter

pytestmark = pytest.mark.django_db

# The views a visitor may open without logging in (each one opts out with `login_not_required`).
PUBLIC = {
    "accounts:login",
    "accounts:register",
    "accounts:set_language",
    "accounts:confirm",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
    "admin:login",
    "set_language",
    # The knowledge base's reading pages (its policy shows visitors the public articles only).
    "kb:home",
    "kb:search",
    "kb:suggest",
    "kb:section",
    "kb:article",
    "kb:article_answered",
    # Operations (issue 19): the probes, and the figures with their own protection (token or address).
    "healthz",
    "readyz",
    "metrics",
}
# The API does its own authentication and answers 401 as JSON, never a login redirect.
API_NAMESPACE = re.compile(r"^api-")


def named_patterns(resolver=None, prefix: str = "", namespace: str = ""):
    """Yield (name, example path) for every named URL pattern, dummy values in its arguments."""
    resolver = resolver or get_resolver()
    for item in resolver.url_patterns:
        if isinstance(item, URLResolver):
            ns = f"{namespace}{item.namespace}:" if item.namespace else namespace
            yield from named_patterns(item, prefix + str(item.pattern), ns)
        elif isinstance(item, URLPattern) and item.name:
            yield f"{namespace}{item.name}", item


def example_url(name: str, pattern: URLPattern) -> str:
    converters = getattr(pattern.pattern, "converters", {})
    kwargs = {key: 1 if isinstance(conv, IntConverter) else "x" for key, conv in converters.items()}
    regex_groups = re.findall(r"\(\?P<(\w+)>", str(pattern.pattern))
    for group in regex_groups:
        kwargs.setdefault(group, "auth" if group == "app_label" else "1")
    if name.startswith("admin:") and name.count("_") >= 2 and "app_label" not in regex_groups:
        kwargs = {k: ("1" if k == "object_id" else v) for k, v in kwargs.items()}
    return reverse(name, kwargs=kwargs or None)


def all_routes() -> list[tuple[str, str]]:
    routes = []
    for name, pattern in named_patterns():
        try:
            routes.append((name, example_url(name, pattern)))
        except Exception as exc:  # a pattern this walk cannot fill is a test bug, not a pass
            raise AssertionError(f"cannot build a URL for {name}: {exc}") from exc
    return routes


def test_url_walk_covers_every_app():
    names = {name for name, _url in all_routes()}
    assert {"home", "tickets:client_list", "tickets:staff_detail", "mail:message_original"} <= names
    assert any(name.startswith("admin:") for name in names)
    assert any(API_NAMESPACE.match(name) for name in names)


def test_anonymous_get_every_page_redirects_to_login_unless_public():
    logins = (reverse("accounts:login") + "?next=", reverse("admin:login") + "?next=")
    wrong = []
    for name, url in all_routes():
        response = Client().get(url)
        location = response.get("Location", "")
        # The admin site's own pages send a visitor to its login page (it checks access itself).
        allowed = logins if name.startswith("admin:") else logins[:1]
        redirected = response.status_code == 302 and location.startswith(allowed)
        if API_NAMESPACE.match(name):
            if redirected or response.status_code == 200 and name.split(":")[-1] not in PUBLIC_API:
                wrong.append((name, url, response.status_code, location))
        elif name in PUBLIC:
            if redirected:
                wrong.append((name, url, response.status_code, location))
        elif not redirected:
            wrong.append((name, url, response.status_code, location))
    assert wrong == [], "\n".join(map(str, wrong))


# API operations a visitor may read (the schema and its docs page).
PUBLIC_API = {"openapi-json", "openapi-view", "kb_search", "kb_suggest"}  # and the public kb articles


def test_api_anonymous_answers_401_json_not_a_redirect():
    response = Client().get("/api/v1/tickets")
    assert response.status_code == 401 and response["Content-Type"].startswith("application/json")


def _naked_view(request):
    """A page whose author forgot every decorator."""
    return HttpResponse("secret")


urlpatterns = [path("naked/", _naked_view), path("", include("otklik.urls"))]


@pytest.mark.urls(__name__)
def test_view_without_decorator_still_needs_login():
    response = Client().get("/naked/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
