"""Keyboard shortcuts (issue 17) in a real browser, on test pages that do not depend on the staff pages.

Playwright's router serves the pages (no test-only route in the product): each includes the real partial
ui/_shortcuts.html rendered by Django, whose script and stylesheet are answered from the package's static
files, under the site's own Content-Security-Policy; a violation or a script error fails the test.

Screenshots go to test-artifacts/browser/ (shortcuts-list.png, shortcuts-help.png).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import translation

from otklik.core.csp import policy

pytestmark = [pytest.mark.browser]
ORIGIN = "http://otklik.test"
HTML_HEADERS = {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": policy("test-nonce")}


def _rows(ids) -> str:
    # The client's link comes first: Enter / o must open the ticket's link (data-nav-link), not the first one.
    return "".join(
        f'<tr data-nav-row="{n}"><td><input type="checkbox" name="ids" value="{n}"></td>'
        f'<td><a href="/staff/clients/{n}/">Client {n}</a></td>'
        f'<td><a data-nav-link href="/staff/tickets/{n}/">Ticket {n}</a></td></tr>'
        for n in ids
    )


def _list_page(partial: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tickets</title>
<link rel="stylesheet" href="/static/otklik/otklik.css"></head><body>
<form role="search" action="/staff/tickets/"><input type="search" name="q" id="search"
  placeholder="Search tickets" data-shortcut="/"></form>
<main>
<button type="button" id="reply-hidden" data-shortcut="r" data-shortcut-label="Hidden reply" hidden>Hidden</button>
<button type="button" id="reply" data-shortcut="r" data-shortcut-label="Reply to the client">Reply</button>
<button type="button" id="assign" data-shortcut="A" data-shortcut-label="Assign to me">Assign</button>
<button type="button" id="queue" data-shortcut="g i" data-shortcut-label="Go to my queue">Queue</button>
<textarea id="note" name="body"></textarea>
<div id="editor" contenteditable="true">Draft</div>
<table class="list"><tbody id="rows" data-nav-list>{_rows([1, 2, 3])}</tbody></table>
<p><a rel="next" href="/staff/tickets/?page=2">Next page</a></p>
<dialog id="other"><p>Another dialog</p></dialog>
</main>
{partial}
</body></html>"""


def _ticket_page(partial: str, number: int) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Ticket {number}</title>
<link rel="stylesheet" href="/static/otklik/otklik.css">
<link rel="next" href="/staff/tickets/{number + 1}/"></head><body>
<main><h1>Ticket {number}</h1>
<a rel="prev" href="/staff/tickets/{number - 1}/">Previous ticket</a>
<label for="id_body">Answer</label><textarea id="id_body" data-shortcut="r"></textarea>
</main>
{partial}
</body></html>"""


@pytest.fixture
def desk(new_context):
    """Open a page on the routed test site; collect console errors (CSP violations) and page errors."""
    with translation.override("en"):
        partial = render_to_string("ui/_shortcuts.html")

    def serve(route):
        path = urlsplit(route.request.url).path
        ticket = re.fullmatch(r"/staff/tickets/(\d+)/", path)
        if path.startswith("/static/"):
            found = finders.find(path.removeprefix("/static/"))
            if found:
                route.fulfill(path=found)
            else:
                route.fulfill(status=404, body="")
        elif path == "/staff/tickets/":
            route.fulfill(body=_list_page(partial), headers=HTML_HEADERS)
        elif ticket:
            route.fulfill(body=_ticket_page(partial, int(ticket.group(1))), headers=HTML_HEADERS)
        else:
            route.fulfill(body="<!doctype html><title>Other</title><p>Other page</p>", headers=HTML_HEADERS)

    context = new_context()
    context.route(f"{ORIGIN}/**", serve)
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    assert page.errors == []


def _open_list(page):
    page.goto(f"{ORIGIN}/staff/tickets/")
    page.wait_for_function("() => window.otklikShortcuts === true")
    # Record the ids of the clicked elements (evaluate is not bound by the page's CSP).
    page.evaluate(
        "() => { window.clicked = [];"
        " document.addEventListener('click', (e) => { if (e.target.id) window.clicked.push(e.target.id); }); }"
    )


def _current(page) -> list[str]:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('.is-current[aria-current=true]'), (row) => row.dataset.navRow)"
    )


def _clicked(page) -> list[str]:
    return page.evaluate("() => window.clicked")


def _focused(page) -> str:
    return page.evaluate(
        "() => { const el = document.activeElement;"
        " return el === document.body ? 'body' : (el.id || el.getAttribute('href') || el.tagName); }"
    )


def test_shortcuts_j_k_move_current_row_and_enter_opens_its_link(desk, artifacts):
    _open_list(desk)
    assert _current(desk) == []

    desk.keyboard.press("j")
    assert _current(desk) == ["1"]
    assert _focused(desk) == "/staff/tickets/1/"  # the row's data-nav-link, not its first link
    desk.keyboard.press("j")
    desk.keyboard.press("j")
    desk.keyboard.press("j")  # the last row stays current
    assert _current(desk) == ["3"]
    desk.keyboard.press("k")
    assert _current(desk) == ["2"]
    # On a Russian layout the physical keys count: "л" is on K, "о" on J.
    desk.evaluate(
        "() => document.activeElement.dispatchEvent("
        "new KeyboardEvent('keydown', {key: 'л', code: 'KeyK', bubbles: true, cancelable: true}))"
    )
    assert _current(desk) == ["1"]
    desk.evaluate(
        "() => document.activeElement.dispatchEvent("
        "new KeyboardEvent('keydown', {key: 'о', code: 'KeyJ', bubbles: true, cancelable: true}))"
    )
    assert _current(desk) == ["2"]
    desk.screenshot(path=str(artifacts / "shortcuts-list.png"))

    desk.keyboard.press("Enter")
    desk.wait_for_url(f"{ORIGIN}/staff/tickets/2/")


def test_shortcuts_page_keys_click_the_first_visible_element_and_focus_fields(desk):
    _open_list(desk)

    desk.keyboard.press("r")
    assert _clicked(desk) == ["reply"]  # the hidden element with the same key is skipped
    desk.keyboard.press("a")  # data-shortcut="A": letters ignore case
    assert _clicked(desk) == ["reply", "assign"]
    desk.keyboard.press("g")
    desk.keyboard.press("i")
    assert _clicked(desk) == ["reply", "assign", "queue"]
    desk.keyboard.press("g")
    desk.keyboard.press("j")  # not a sequence: j counts on its own
    assert _clicked(desk) == ["reply", "assign", "queue"]
    assert _current(desk) == ["1"]

    desk.keyboard.press("/")
    assert _focused(desk) == "search"
    assert desk.input_value("#search") == ""  # the "/" was not typed into the box
    desk.keyboard.type("jr")
    assert desk.input_value("#search") == "jr"
    assert _current(desk) == ["1"]
    assert _clicked(desk) == ["reply", "assign", "queue"]
    desk.keyboard.press("Escape")  # a search box with text: Escape clears it first
    assert desk.input_value("#search") == ""
    assert _focused(desk) == "search"
    desk.keyboard.press("Escape")  # now it leaves the field
    assert _focused(desk) == "body"
    desk.keyboard.press("j")
    assert _current(desk) == ["2"]


def test_shortcuts_never_fire_while_typing_with_modifiers_or_behind_another_dialog(desk):
    _open_list(desk)
    desk.keyboard.press("j")
    desk.keyboard.press("j")
    assert _current(desk) == ["2"]

    desk.click("#note")
    desk.keyboard.type("jkr/?g i")
    assert desk.input_value("#note") == "jkr/?g i"
    assert _current(desk) == ["2"]
    assert _clicked(desk) == ["note"]
    assert desk.is_hidden("#shortcut-help")
    desk.keyboard.press("Escape")  # leaves the answer box, keeps its text
    assert _focused(desk) == "body"
    assert desk.input_value("#note") == "jkr/?g i"

    desk.click("#editor")
    desk.keyboard.type("j")
    assert _current(desk) == ["2"]
    desk.keyboard.press("Escape")
    assert _focused(desk) == "body"

    desk.keyboard.press("Control+k")
    desk.keyboard.press("Alt+k")
    desk.keyboard.press("Meta+r")
    assert _current(desk) == ["2"]
    assert _clicked(desk) == ["note", "editor"]

    desk.evaluate("() => document.getElementById('other').showModal()")
    desk.keyboard.press("k")
    desk.keyboard.press("?")
    assert _current(desk) == ["2"]
    assert desk.is_hidden("#shortcut-help")
    desk.keyboard.press("Escape")  # closes that dialog natively
    assert desk.is_hidden("#other")

    desk.evaluate("() => { document.documentElement.dataset.shortcuts = 'off'; }")
    desk.keyboard.press("k")
    desk.keyboard.press("r")
    assert _current(desk) == ["2"]
    assert _clicked(desk) == ["note", "editor"]
    desk.evaluate("() => { delete document.documentElement.dataset.shortcuts; }")
    desk.keyboard.press("k")
    assert _current(desk) == ["1"]


def test_shortcuts_help_overlay_lists_the_page_keys_and_escape_closes_it(desk, artifacts):
    _open_list(desk)
    dialog = desk.locator("#shortcut-help")
    assert dialog.is_hidden()

    desk.keyboard.press("?")
    dialog.wait_for(state="visible")
    assert dialog.get_attribute("aria-labelledby") == "shortcut-help-title"
    assert desk.locator("#shortcut-help-title").inner_text() == "Keyboard shortcuts"
    page_rows = dialog.locator("[data-shortcut-help-rows] tr").all_inner_texts()
    assert [" ".join(text.split()) for text in page_rows] == [
        "/ Search tickets",
        "r Reply to the client",
        "a Assign to me",
        "g then i Go to my queue",
    ]
    builtin = [
        " ".join(t.split()) for t in dialog.locator("[data-shortcut-builtin]:visible").all_inner_texts()
    ]
    assert builtin == [
        "j / k Next / previous row of the list",
        "Enter / o Open the current row",
        "? Show or hide this list",
        "Esc Close this list; in a text field, leave the field so that the keys work again",
    ]
    assert desk.evaluate("() => Boolean(document.activeElement.closest('#shortcut-help'))")
    desk.screenshot(path=str(artifacts / "shortcuts-help.png"))

    desk.keyboard.press("j")  # nothing fires behind the overlay
    desk.keyboard.press("r")
    assert _current(desk) == []
    assert _clicked(desk) == []

    desk.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    desk.keyboard.press("?")
    dialog.wait_for(state="visible")
    desk.keyboard.press("?")  # ? closes it too
    dialog.wait_for(state="hidden")
    desk.keyboard.press("?")
    dialog.get_by_role("button", name="Close").click()
    dialog.wait_for(state="hidden")
    desk.keyboard.press("j")
    assert _current(desk) == ["1"]


def test_shortcuts_keep_working_after_an_htmx_like_swap_of_the_list(desk):
    _open_list(desk)
    desk.keyboard.press("j")
    desk.keyboard.press("j")
    assert _current(desk) == ["2"]

    # The rows are replaced (a new ticket arrived on top) the way htmx swaps them, then htmx's event fires.
    desk.evaluate(
        "(html) => { const list = document.getElementById('rows'); list.innerHTML = html;"
        " list.dispatchEvent(new CustomEvent('htmx:afterSwap', {bubbles: true})); }",
        _rows([4, 1, 2, 3]),
    )
    assert _current(desk) == ["2"]  # the current row is found again by its id
    assert _focused(desk) == "/staff/tickets/2/"
    desk.keyboard.press("k")
    assert _current(desk) == ["1"]

    # The whole list element is replaced and no event comes: j starts again from the top.
    desk.evaluate(
        "(html) => { document.getElementById('rows').outerHTML ="
        " '<tbody id=\"rows\" data-nav-list>' + html + '</tbody>'; }",
        _rows([5, 6]),
    )
    desk.keyboard.press("j")
    assert _current(desk) == ["5"]
    desk.keyboard.press("j")
    assert _current(desk) == ["6"]
    desk.evaluate("() => document.activeElement.blur()")
    desk.keyboard.press("o")
    desk.wait_for_url(f"{ORIGIN}/staff/tickets/6/")


def test_shortcuts_on_a_ticket_page_j_k_go_to_the_next_and_previous_ticket(desk):
    desk.goto(f"{ORIGIN}/staff/tickets/5/")
    desk.wait_for_function("() => window.otklikShortcuts === true")

    desk.keyboard.press("?")
    builtin = [" ".join(t.split()) for t in desk.locator("[data-shortcut-builtin]:visible").all_inner_texts()]
    assert builtin[0] == "j / k Next / previous ticket"
    assert "r Answer" in " ".join(desk.locator("[data-shortcut-help-rows]").inner_text().split())
    desk.keyboard.press("Escape")

    desk.keyboard.press("r")
    assert _focused(desk) == "id_body"
    desk.keyboard.press("Escape")

    desk.keyboard.press("j")  # <link rel="next"> in the head
    desk.wait_for_url(f"{ORIGIN}/staff/tickets/6/")
    desk.wait_for_function("() => window.otklikShortcuts === true")
    desk.keyboard.press("k")  # <a rel="prev"> in the page
    desk.wait_for_url(f"{ORIGIN}/staff/tickets/5/")
