"""The Content-Security-Policy in a real browser: the main pages, htmx and the API docs run without a
single violation report.

Screenshots go to test-artifacts/browser/ (csp-*.png).
"""

from __future__ import annotations

import pytest

from otklik.accounts.models import AccessLevel
from otklik.accounts.services import user_create
from otklik.tickets import services
from tests.helpers import browser_login

pytestmark = [pytest.mark.browser]

PASSWORD = "pass-Word-123"
# Collects every violation the page reports, from the first script on (before the page's own scripts).
COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _open(context):
    """Open a page that records CSP violations from the DOM event and the console."""
    page = context.new_page()
    page.add_init_script(COLLECT_VIOLATIONS)
    console: list[str] = []
    page.on(
        "console",
        lambda m: (
            console.append(m.text) if "Content Security Policy" in m.text or m.type == "error" else None
        ),
    )
    return page, console


def _visit(page, console: list[str], url: str, artifacts, name: str) -> None:
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    assert response is not None and response.status == 200, url
    assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]
    violations = page.evaluate("window.__csp")
    page.screenshot(path=str(artifacts / f"csp-{name}.png"))
    assert violations == [], f"{url}: {violations}"
    assert not [line for line in console if "Content Security Policy" in line], f"{url}: {console}"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_csp_main_pages_and_api_docs_report_no_violation(live_server, new_context, artifacts):
    base = live_server.url
    client = user_create(
        username="klara",
        email="klara@example.com",
        password=PASSWORD,
        levels=(AccessLevel.CLIENT,),
        language="en",
    )
    user_create(
        username="stas",
        email="stas@example.com",
        password=PASSWORD,
        levels=(AccessLevel.STAFF,),
        language="en",
    )
    user_create(
        username="adam",
        email="adam@example.com",
        password=PASSWORD,
        levels=(AccessLevel.ADMIN,),
        language="en",
    )
    ticket = services.ticket_create(
        actor=client, draft=services.TicketDraft(title="VPN drops", message="The VPN drops every hour.")
    )

    page, console = _open(new_context())
    _visit(page, console, f"{base}/login/", artifacts, "login")
    browser_login(page, base, "stas")
    _visit(page, console, f"{base}/staff/tickets/", artifacts, "staff-list")
    _visit(page, console, f"{base}/staff/tickets/{ticket.pk}/", artifacts, "staff-ticket")
    assert page.evaluate("typeof window.htmx") == "object"  # htmx loaded and running under the policy
    # An htmx request runs under the policy too: the presence line polls the server.
    with page.expect_response(lambda r: "/presence/" in r.url, timeout=15_000):
        page.evaluate(
            "htmx.ajax('GET', location.pathname + 'presence/', {target: '#presence', swap: 'none'})"
        )
    assert page.evaluate("window.__csp") == []

    client_page, client_console = _open(new_context())
    browser_login(client_page, base, "klara")
    _visit(client_page, client_console, f"{base}/tickets/{ticket.pk}/", artifacts, "client-ticket")

    docs, docs_console = _open(new_context())
    elsewhere: list[str] = []
    docs.on("request", lambda r: None if r.url.startswith((base, "data:")) else elsewhere.append(r.url))
    _visit(docs, docs_console, f"{base}/api/v1/docs", artifacts, "api-docs")
    docs.wait_for_selector(".swagger-ui .info .title", timeout=15_000)  # Swagger UI rendered the schema
    assert docs.evaluate("window.__csp") == []
    assert elsewhere == []  # Swagger UI and its assets come from this server, nothing from a CDN

    admin, admin_console = _open(new_context())
    browser_login(admin, base, "adam")
    _visit(admin, admin_console, f"{base}/admin/", artifacts, "admin")
