"""Accessibility of the main pages in Debian's chromium (issue 17): axe-core finds no serious or critical
violation, and no page scrolls sideways on a 390 x 844 phone or a 1366 x 900 screen.

axe-core is vendored (tests/browser/vendor/axe.min.js, MPL-2.0, licence beside it) and is served to the
page from the site's own origin through a Playwright route, so it runs under the site's real
Content-Security-Policy (script-src 'self' + nonce): no rule is switched off and the CSP is not bypassed.

Each page is its own test case (the id names the page), checked at both widths in one visit: axe-core,
the width and a screenshot at 390, then the same after a reload at 1366. The data is built afresh for
every case: the browser tests run against pytest-django's live server in transactional tests, whose flush
after each test leaves nothing to share across a module. People are signed in by a session cookie; the
login page is one of the pages checked (and the login flow has tests of its own).

Screenshots go to test-artifacts/browser/ (a11y-<page>-390.png, a11y-<page>-1366.png).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from otklik.accounts.models import AccessLevel, SupportGroup
from otklik.accounts.services import support_group_add_member, support_group_ensure, user_create
from otklik.automation.services import rule_create
from otklik.kb import services as kb_services
from otklik.kb.models import Visibility
from otklik.routing.models import AssignmentPool
from otklik.sla.models import SlaLevel
from otklik.tickets import services
from otklik.tickets.models import Ticket
from otklik.tickets.services.macros import MacroInput, macro_save
from tests.helpers import browser_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "pass-Word-123"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_PATH = "/static/__axe__/axe.min.js"  # answered by the route below, never by the server
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1366, "height": 900}
BLOCKING = {"serious", "critical"}
# A 1x1 PNG: the attachment shown as an image on the ticket pages.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)


def _open_everything(page) -> None:
    """Show what a click reveals: every <details> open, the hidden note tab, the formatting bar."""
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    note = page.locator(".composer-tabs .tab.note")
    if note.count():
        note.click()


def _open_the_bell(page) -> None:
    """Choose the first row (the bulk bar's state) and open the bell's panel."""
    choose = page.locator("input[name=ids]").first
    if choose.count():
        choose.check()
    with page.expect_response(lambda r: "/notifications/panel/" in r.url):
        page.locator(".bell-button").click()
    page.locator("#bell-panel").wait_for(state="visible")


@dataclass(frozen=True)
class Screen:
    """A main page: who looks at it, where it is (`path` gets the data built by `cast`) and, for a state
    that only a click shows, what to do first (`prepare`)."""

    name: str
    user: str | None
    path: Callable[[dict], str]
    prepare: Callable | None = None


SCREENS = [
    Screen("login", None, lambda d: "/login/"),
    Screen("register", None, lambda d: "/register/"),
    Screen("client-list", "klara", lambda d: "/tickets/"),
    Screen("client-ticket", "klara", lambda d: f"/tickets/{d['ticket'].pk}/"),
    Screen("client-new", "klara", lambda d: "/tickets/new/"),
    Screen("kb-home", "klara", lambda d: "/kb/"),
    Screen("kb-article", "klara", lambda d: f"/kb/articles/{d['article'].slug}/"),
    Screen("client-ticket-opened", "klara", lambda d: f"/tickets/{d['ticket'].pk}/", _open_everything),
    Screen("settings", "klara", lambda d: "/settings/"),
    Screen("staff-list", "stas", lambda d: "/staff/tickets/"),
    Screen("staff-ticket", "stas", lambda d: f"/staff/tickets/{d['ticket'].pk}/"),
    Screen("staff-ticket-opened", "stas", lambda d: f"/staff/tickets/{d['ticket'].pk}/", _open_everything),
    Screen("staff-list-bell", "stas", lambda d: "/staff/tickets/", _open_the_bell),
    Screen("staff-new", "stas", lambda d: "/staff/tickets/new/"),
    Screen("reports", "stas", lambda d: "/reports/"),
    Screen("notifications", "stas", lambda d: "/notifications/"),
    Screen("notification-settings", "stas", lambda d: "/settings/notifications/"),
    Screen("admin-index", "adam", lambda d: "/admin/"),
    Screen("admin-changelist", "adam", lambda d: "/admin/dictionaries/dictionaryentry/"),
    Screen("admin-sla-level", "adam", lambda d: f"/admin/sla/slalevel/{d['sla'].pk}/change/"),
    # The agent's day (issue 18).
    Screen("staff-macros", "stas", lambda d: "/staff/macros/"),
    Screen("staff-macro-new", "stas", lambda d: "/staff/macros/new/"),
    Screen("staff-merge", "stas", lambda d: f"/staff/tickets/{d['ticket'].pk}/merge/"),
    Screen("admin-rules", "adam", lambda d: "/admin/automation/automationrule/"),
    Screen("admin-rule", "adam", lambda d: f"/admin/automation/automationrule/{d['rule'].pk}/change/"),
    Screen("admin-pools", "adam", lambda d: "/admin/routing/assignmentpool/"),
]


@pytest.fixture
def cast() -> dict:
    """Build one of each kind of person and tickets with replies, a hidden note, a change and an image."""
    klara = user_create(
        username="klara", email="klara@example.com", password=PASSWORD, levels=[AccessLevel.CLIENT],
        first_name="Klara", last_name="Petrova", language="en",
    )  # fmt: skip
    stas = user_create(
        username="stas", email="stas@example.com", password=PASSWORD, levels=[AccessLevel.STAFF],
        first_name="Stas", last_name="Orlov", language="en",
    )  # fmt: skip
    adam = user_create(
        username="adam", email="adam@example.com", password=PASSWORD, levels=[AccessLevel.ADMIN],
        first_name="Adam", last_name="Root", language="en",
    )  # fmt: skip
    tickets = []
    for n, title in enumerate(("Payment fails at checkout", "VPN drops every hour", "Invoice is missing")):
        files = [services.Upload(name="screen.png", fileobj=io.BytesIO(PNG))] if n == 0 else []
        created = services.ticket_create(
            actor=klara,
            draft=services.TicketDraft(title=title, message="It does not work since Monday.", files=files),
        )
        services.ticket_update(
            actor=adam, ticket=Ticket.objects.get(pk=created.pk), changes={"responsible": stas.pk}
        )
        tickets.append(Ticket.objects.get(pk=created.pk))
    ticket = tickets[0]
    services.message_post(
        actor=stas,
        ticket=ticket,
        draft=services.MessageDraft(body="Internal: the processor rejects 3-D Secure.", hidden=True),
    )
    services.message_post(
        actor=stas,
        ticket=Ticket.objects.get(pk=ticket.pk),
        draft=services.MessageDraft(body="Please try again now, we **fixed** the payment page."),
    )
    services.message_post(
        actor=klara,
        ticket=Ticket.objects.get(pk=ticket.pk),
        draft=services.MessageDraft(body="Still the same error, see the screenshot above."),
    )
    section = kb_services.section_create(
        actor=None,
        data=kb_services.SectionInput(slug="payments", title_en="Payments", title_ru="Оплата"),
    )
    article = kb_services.article_create(
        actor=None,
        data=kb_services.ArticleInput(
            section_id=section.pk, slug="card-declined", title_en="The card is declined",
            title_ru="Карта отклонена", body_en="Call your bank, then **try again**.\n\n- one\n- two",
            body_ru="Позвоните в банк.", visibility=Visibility.PUBLIC,
        ),
    )  # fmt: skip
    sla = SlaLevel.objects.create(name="Clients: standard", code="standard", response_time=4)
    # The agent's day: a shared and a personal macro, a rule, an assignment pool of a support group.
    macro_save(
        actor=adam,
        data=MacroInput(
            name="Ask for details", shared=True, actions={"add_tags": ["needs-info"]},
            reply="Hello, {author.name}! What did you see?",
        ),
    )  # fmt: skip
    macro_save(actor=stas, data=MacroInput(name="Solved: close", actions={"close": True}, reply="Done."))
    rule = rule_create(
        actor=adam,
        data={
            "name": "Urgent first", "event": "created", "actions": {"add_tags": ["urgent"]},
            "conditions": [{"field": "message", "op": "contains", "value": "urgent"}],
        },
    )  # fmt: skip
    team = support_group_ensure(name="First line", kind=SupportGroup.Kind.STAFF)
    support_group_add_member(group=team, user=stas, can_view=True)
    AssignmentPool.objects.create(
        name_en="First line in turn", name_ru="Первая линия по очереди", support_group=team
    )
    return {"ticket": Ticket.objects.get(pk=ticket.pk), "article": article, "sla": sla, "rule": rule}


def _serve_axe(context, base: str) -> None:
    """Answer AXE_PATH on the site's origin with the vendored file (allowed by script-src 'self')."""
    body = AXE.read_bytes()
    context.route(
        f"{base}{AXE_PATH}",
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=body),
    )


def _open(new_context, base: str, screen: Screen, cast: dict, viewport: dict):
    context = new_context()
    _serve_axe(context, base)
    if screen.user:
        browser_session(context, base, screen.user)
    page = context.new_page()
    page.set_viewport_size(viewport)
    response = page.goto(base + screen.path(cast))
    assert response is not None and response.status == 200, f"{screen.name}: {response and response.status}"
    _settle(page, screen)
    return page


def _settle(page, screen: Screen) -> None:
    """Wait until the page's own requests (htmx parts) are done, then do what the screen's state needs."""
    page.wait_for_load_state("networkidle")
    if screen.prepare:
        screen.prepare(page)


def _axe_violations(page) -> list[dict]:
    """Load axe-core from the site's origin and return its violations (every rule on)."""
    page.evaluate(
        """(src) => new Promise((resolve, reject) => {
            const script = document.createElement("script");
            script.src = src;
            script.onload = resolve;
            script.onerror = () => reject(new Error("axe-core did not load"));
            document.head.appendChild(script);
        })""",
        AXE_PATH,
    )
    return page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")


def _describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} [{v['impact']}] {v['help']} ({len(v['nodes'])} nodes)")
        for node in v["nodes"][:8]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {json.dumps(node['target'])}: {summary[:300]}")
            lines.append(f"      {node.get('html', '')[:200]}")
    return "\n".join(lines)


# The elements that stick out past the right edge, innermost first: what a failure message should name.
OVERFLOWING = """(width) => {
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 0.5 && box.width > 0 && ![...el.children].some(
        (c) => c.getBoundingClientRect().right > width + 0.5)) {
      out.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${[...el.classList].join(".")}`
        + ` right=${Math.round(box.right)}`);
    }
  }
  return out.slice(0, 8);
}"""


def _width(page, viewport: dict) -> tuple[int, list[str]]:
    return page.evaluate("document.documentElement.scrollWidth"), page.evaluate(
        OVERFLOWING, viewport["width"]
    )


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: s.name)
def test_page_has_no_serious_axe_violation_and_fits_a_phone_and_a_wide_screen(
    live_server, new_context, cast, screen, artifacts
):
    problems = []
    page = _open(new_context, live_server.url, screen, cast, PHONE)
    for viewport, label in ((PHONE, "390"), (WIDE, "1366")):
        if viewport is WIDE:  # the wide layout is decided at load as well as by CSS: load it again
            page.set_viewport_size(WIDE)
            page.reload()
            _settle(page, screen)
        page.screenshot(path=str(artifacts / f"a11y-{screen.name}-{label}.png"), full_page=True)
        width, culprits = _width(page, viewport)
        if width > viewport["width"]:
            problems.append(f"{width}px wide at {label}: {culprits}")
        blocking = [v for v in _axe_violations(page) if v["impact"] in BLOCKING]
        if blocking:
            problems.append(f"axe-core at {label} found\n{_describe(blocking)}")
    assert not problems, f"{screen.name}: " + "\n".join(problems)


# For the element that has keyboard focus: how it and its near ancestors look (outline, ring, border,
# background). Compared with the same after blur(): a difference is the visible focus.
LOOK = """(el) => {
  const look = [];
  for (let node = el, depth = 0; node && node !== document.body && depth < 3; node = node.parentElement, depth++) {
    const s = getComputedStyle(node);
    look.push([s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.borderColor,
               s.backgroundColor, s.textDecorationLine].join(" "));
  }
  return look.join(" | ");
}"""
NAME = """(el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.name ? "[name=" + el.name + "]" : ""}`
  + ` "${(el.getAttribute("aria-label") || el.textContent || el.value || "").trim().slice(0, 30)}"`"""
FOCUSABLE = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex='0']"
FOCUS_SCREENS = [s for s in SCREENS if s.name in {
    "login", "client-ticket-opened", "client-new", "staff-list", "staff-ticket-opened", "admin-sla-level",
}]  # fmt: skip


@pytest.mark.parametrize("screen", FOCUS_SCREENS, ids=lambda s: s.name)
def test_keyboard_focus_is_visible_on_every_stop_and_no_tabindex_reorders_it(
    live_server, new_context, cast, screen
):
    page = _open(new_context, live_server.url, screen, cast, WIDE)
    assert (
        page.evaluate("[...document.querySelectorAll('[tabindex]')].filter((e) => e.tabIndex > 0).length")
        == 0
    ), "a positive tabindex changes the focus order"
    # Start at the top (a prepared click leaves the starting point elsewhere): the first stop is the skip link.
    page.evaluate(f"document.querySelector({FOCUSABLE!r}).focus()")
    invisible, seen = [], []
    for step in range(120):
        if step:
            page.keyboard.press("Tab")
        handle = page.evaluate_handle("document.activeElement")
        if page.evaluate("(el) => el === document.body || el === null", handle):
            break
        name = page.evaluate(NAME, handle)
        if name in seen:  # came round again
            break
        seen.append(name)
        focused = page.evaluate(LOOK, handle)
        page.evaluate("(el) => el.blur()", handle)
        if page.evaluate(LOOK, handle) == focused:
            invisible.append(name)
        page.evaluate("(el) => el.focus()", handle)
    assert len(seen) > 3, seen
    assert not invisible, f"{screen.name}: no visible focus on {invisible}"
