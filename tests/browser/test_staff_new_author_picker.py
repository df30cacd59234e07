"""Issue 17 in a real browser: a staff member sets a signature on the settings page, then files a ticket
for a client found by typing part of a name and chosen with the keyboard; both pages fit 1366 and 390 px.

Screenshots go to test-artifacts/browser/ (settings-1366.png, settings-390.png, new-ticket-1366.png,
new-ticket-390.png, new-ticket-picker.png).
"""

from __future__ import annotations

import re

import pytest

from otklik.accounts.models import AccessLevel, Profile
from otklik.accounts.services import user_create
from otklik.dictionaries.models import DictionaryEntry
from otklik.dictionaries.seed import load_dictionaries
from otklik.tickets.models import Ticket

pytestmark = [pytest.mark.browser]


def _person(username: str, first: str, last: str, *levels: str):
    return user_create(
        username=username,
        email=f"{username}@example.com",
        password="pass-Word-123",
        first_name=first,
        last_name=last,
        levels=levels or (AccessLevel.CLIENT,),
        language="en",
    )


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_staff_new_ticket_author_typed_and_chosen_by_keyboard_files_for_client(
    live_server, new_context, artifacts
):
    load_dictionaries(DictionaryEntry)  # an earlier transactional test's flush may have removed them
    base = live_server.url
    _person("olga", "Olga", "Smirnova", AccessLevel.STAFF)
    _person("ivan", "Ivan", "Petrov")
    irina = _person("irina", "Irina", "Petrova")
    _person("pavel", "Pavel", "Sokolov")

    page = new_context().new_page()
    page.goto(f"{base}/login/?next=/settings/")
    page.fill("#id_username", "olga")
    page.fill("#id_password", "pass-Word-123")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/settings/$"))

    # The settings page: the time zone is typed (a datalist suggests), the signature is saved.
    page.fill("#id_time_zone", "Asia/Novosibirsk")
    page.fill("#id_signature", "Olga Smirnova\nSupport, line 2")
    page.locator("main form button[type=submit]", has_text="Save").click()
    page.wait_for_url(re.compile(r"/settings/$"))
    page.get_by_text("Settings saved.").wait_for()
    profile = Profile.objects.get(user__username="olga")
    assert (profile.time_zone, profile.signature) == ("Asia/Novosibirsk", "Olga Smirnova\nSupport, line 2")
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"settings-{width}.png"), full_page=True)
        _fits(page, width)

    # The new-ticket page: type part of a surname, move down the list with the arrows, choose with Enter.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{base}/staff/tickets/new/")
    page.fill("#id_title", "Printer does not print")
    page.fill("#id_message", "Called at 10:05: the office printer is offline.")
    combo = page.locator("#id_author_query")
    combo.click()
    combo.press_sequentially("petro", delay=60)
    options = page.locator("#author-listbox [role=option]")
    options.first.wait_for()
    assert combo.get_attribute("aria-expanded") == "true"
    assert options.count() == 2  # Petrov, Petrova; never Sokolov, never the staff member
    combo.press("ArrowDown")
    combo.press("ArrowDown")
    active = combo.get_attribute("aria-activedescendant")
    assert active == f"author-option-{irina.pk}"
    assert page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    page.screenshot(path=str(artifacts / "new-ticket-picker.png"), full_page=True)
    combo.press("Enter")  # chooses; does not send the form
    assert page.locator("#author-listbox").is_hidden()
    assert page.locator("input[name=author]").input_value() == str(irina.pk)
    assert combo.input_value() == "Irina Petrova <irina@example.com>"
    assert re.search(r"/staff/tickets/new/$", page.url)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"new-ticket-{width}.png"), full_page=True)
        _fits(page, width)

    page.locator("main form button[type=submit]", has_text="Create").click()
    page.wait_for_url(re.compile(r"/staff/tickets/\d+/$"))
    ticket = Ticket.objects.get()
    assert (ticket.author_id, ticket.created_by.username) == (irina.pk, "olga")

    # An address that is nobody's is offered as a new client; the ticket is filed for the address.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{base}/staff/tickets/new/")
    page.fill("#id_title", "Invoice is missing")
    page.fill("#id_message", "A caller from a new company asks for last month's invoice.")
    combo.click()
    combo.press_sequentially("anna@newco.example", delay=30)
    page.locator("#author-option-new").wait_for()
    combo.press("ArrowDown")
    combo.press("Enter")
    assert combo.input_value() == "anna@newco.example"
    assert "no account is made" in page.locator("[data-picker-status]").inner_text()
    page.locator("main form button[type=submit]", has_text="Create").click()
    page.wait_for_url(re.compile(r"/staff/tickets/\d+/$"))
    second = Ticket.objects.exclude(pk=ticket.pk).get()
    assert (second.author_id, second.author_email) == (None, "anna@newco.example")
