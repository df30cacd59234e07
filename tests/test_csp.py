"""Content-Security-Policy: on every page, with a per-request nonce that every inline script carries."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from otklik.ui.admin_site import admin_site

from .conftest import logged_in

SRC = Path(__file__).resolve().parents[1] / "src" / "otklik"
NONCE = re.compile(r"'nonce-([A-Za-z0-9_\-+/=]+)'")
EXPECTED_DIRECTIVES = {
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "img-src 'self' data:",
}


class _Tags(HTMLParser):
    """Collect every <script> tag's attributes and every on* event handler attribute of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "script":
            self.scripts.append(values)
        self.handlers += [f"<{tag} {name}=…>" for name, _ in attrs if name.startswith("on")]
        self.urls += [v for name, v in attrs if name in ("src", "href", "action") and v]


def _parse(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    return tags


def _assert_page_under_policy(response, path: str) -> None:
    header = response.headers.get("Content-Security-Policy", "")
    assert header, f"{path}: no Content-Security-Policy"
    directives = {d.strip() for d in header.split(";")}
    assert EXPECTED_DIRECTIVES <= directives, f"{path}: {header}"
    script_src = next(d for d in directives if d.startswith("script-src "))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, header
    nonce = NONCE.search(script_src)
    assert nonce, f"{path}: script-src has no nonce: {header}"
    if "text/html" not in response.headers.get("Content-Type", ""):
        return
    tags = _parse(response.content.decode())
    for script in tags.scripts:
        assert script.get("src") or script.get("nonce") == nonce.group(1), f"{path}: inline {script}"
    assert not tags.handlers, f"{path}: {tags.handlers}"


def _pages(user_pages: dict[Client, list[str]]):
    for client, paths in user_pages.items():
        for path in paths:
            yield client, path


def test_csp_every_main_page_has_policy_and_only_nonced_inline_scripts(cast, make_ticket):
    ticket = make_ticket()
    anonymous = Client()
    client, staff, admin = logged_in(cast.client), logged_in(cast.staff), logged_in(cast.admin)
    admin_paths = [reverse("admin:index")]
    for model in admin_site._registry:
        meta = model._meta
        admin_paths.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    pages = {
        anonymous: ["/login/", "/register/", "/api/v1/docs", "/no-such-page/", reverse("admin:login")],
        client: ["/tickets/", "/tickets/new/", f"/tickets/{ticket.pk}/", "/settings/", "/tickets/999999/"],
        staff: ["/staff/tickets/", "/staff/tickets/new/", f"/staff/tickets/{ticket.pk}/"],
        admin: admin_paths,
    }
    seen = 0
    for user_client, path in _pages(pages):
        response = user_client.get(path)
        assert response.status_code in (200, 302, 403, 404), f"{path}: {response.status_code}"
        _assert_page_under_policy(response, path)
        seen += response.status_code == 200
    assert seen >= 12


def test_csp_nonce_differs_between_requests(db):
    first = Client().get("/login/").headers["Content-Security-Policy"]
    second = Client().get("/login/").headers["Content-Security-Policy"]
    assert NONCE.search(first).group(1) != NONCE.search(second).group(1)


def test_csp_server_error_page_has_the_policy(db, settings):
    from django.urls import path

    def boom(request):
        raise RuntimeError("boom")

    settings.ROOT_URLCONF = type("urls", (), {"urlpatterns": [path("boom/", boom)]})
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert "script-src 'self' 'nonce-" in response.headers["Content-Security-Policy"]


def test_templates_have_no_event_handler_attributes_and_no_unnonced_inline_script():
    """No on*= handler and no inline <script> without the nonce anywhere in the templates (CSP-ready)."""
    problems = []
    for template in sorted(SRC.rglob("templates/**/*.html")):
        text = template.read_text()
        name = template.relative_to(SRC)
        for match in re.finditer(r"<[a-zA-Z][^>]*?\son[a-z]+\s*=", text):
            problems.append(f"{name}: handler in {match.group(0)[:60]!r}")
        for match in re.finditer(r"<script\b[^>]*>", text):
            tag = match.group(0)
            if "src=" not in tag and "{{ csp_nonce }}" not in tag:
                problems.append(f"{name}: inline script without nonce {tag!r}")
        if "hx-on" in text:
            problems.append(f"{name}: hx-on needs 'unsafe-eval'")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_api_docs_page_loads_swagger_from_package_files_not_a_cdn():
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    tags = _parse(html)
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html), "the docs page names an external host"
    assert all(url.startswith("/") and not url.startswith("//") for url in tags.urls), tags.urls
    scripts = [s["src"] for s in tags.scripts if s.get("src")]
    assert "/static/ninja/swagger-ui-bundle.js" in scripts
    for url in scripts + [u for u in tags.urls if u.endswith(".css")]:
        assert Client().get(url).status_code == 200, url
