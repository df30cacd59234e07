"""The staff's bell in a real browser (issue 17): a client replies, the responsible's bell shows 1, the panel
opens, its line leads to the ticket's staff page and the count drops to 0.

Screenshots of the open panel at 1366 and 390 px wide go to /tmp/shots-bell/ and test-artifacts/browser/.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from otklik.accounts.models import AccessLevel
from otklik.accounts.services import user_create
from otklik.dictionaries.models import DictionaryEntry
from otklik.dictionaries.seed import load_dictionaries
from otklik.tickets import services

pytestmark = [pytest.mark.browser]
SHOTS = Path("/tmp/shots-bell")


def log_in(page, base: str, username: str, landing: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pass-Word-123")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(landing))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bell_client_reply_shows_one_opens_the_ticket_and_drops_to_zero(live_server, new_context, artifacts):
    load_dictionaries(DictionaryEntry)
    base = live_server.url
    people = {}
    for username, first, last, level in (
        ("nina", "Nina", "Orlova", AccessLevel.CLIENT),
        ("olga", "Olga", "Smirnova", AccessLevel.STAFF),
        ("boss", "Boris", "Admin", AccessLevel.ADMIN),
    ):
        people[username] = user_create(
            username=username,
            email=f"{username}@example.com",
            password="pass-Word-123",
            first_name=first,
            last_name=last,
            levels=(level,),
            language="en",
            email_confirmed=True,
        )
    ticket = services.ticket_create(
        actor=people["nina"],
        draft=services.TicketDraft(title="Payment page shows an error", message="Card payments fail."),
    )
    # The admin assigns it to Olga: her bell's first line; an older, read one fills the panel a little.
    services.ticket_update(actor=people["boss"], ticket=ticket, changes={"responsible": people["olga"]})
    from otklik.notifications.services import notifications_mark_all_read

    notifications_mark_all_read(user=people["olga"])

    staff = new_context().new_page()
    log_in(staff, base, "olga", r"/staff/tickets/$")
    button = staff.locator(".bell-button")
    staff.wait_for_function(
        "() => document.querySelector('.bell-button').getAttribute('aria-label') === 'Notifications, 0 unread'"
    )
    assert staff.locator(".bell-badge").count() == 0

    # The client replies on her ticket page.
    client = new_context().new_page()
    log_in(client, base, "nina", r"/")
    client.goto(f"{base}/tickets/{ticket.pk}/")
    client.fill("#reply textarea[name=body]", "It still fails with code 05.")
    with client.expect_navigation(timeout=30_000):  # the form posts and comes back to the same address
        client.locator("#reply button[type=submit]").click()
    client.get_by_text("It still fails with code 05.").first.wait_for()

    # Olga's bell counts it (a reload stands in for the 30-second poll).
    staff.reload()
    staff.locator(".bell-badge").filter(has_text="1").wait_for()
    staff.wait_for_function(
        "() => document.querySelector('.bell-button').getAttribute('aria-label') === 'Notifications, 1 unread'"
    )
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    line = staff.locator("#bell-panel li.unread a")
    line.filter(has_text=f"Nina Orlova replied on #{ticket.pk}").wait_for()
    assert staff.locator("#bell-panel li").count() == 2  # the unread reply first, then the read assignment
    assert "Olga" not in staff.locator("#bell-panel li").nth(0).inner_text()

    SHOTS.mkdir(parents=True, exist_ok=True)
    staff.set_viewport_size({"width": 1366, "height": 800})
    staff.screenshot(path=str(SHOTS / "bell-panel-1366.png"))
    staff.set_viewport_size({"width": 390, "height": 844})
    staff.wait_for_timeout(200)
    staff.screenshot(path=str(SHOTS / "bell-panel-390.png"))
    for name in ("bell-panel-1366.png", "bell-panel-390.png"):
        shutil.copy(SHOTS / name, artifacts / name)
    staff.set_viewport_size({"width": 1366, "height": 800})

    # Escape closes the panel; opening it again and clicking the line goes to the ticket.
    staff.keyboard.press("Escape")
    assert staff.locator("#bell-panel").is_hidden()
    button.click()
    line.first.click()
    staff.wait_for_url(re.compile(rf"/staff/tickets/{ticket.pk}/$"))
    staff.wait_for_function(
        "() => document.querySelector('.bell-button').getAttribute('aria-label') === 'Notifications, 0 unread'"
    )
    assert staff.locator(".bell-badge").count() == 0

    # The settings page: a compact table of kinds × {mail, in-app}.
    staff.goto(f"{base}/settings/notifications/")
    assert staff.locator("table.prefs input[type=checkbox]").count() >= 8
    staff.screenshot(path=str(SHOTS / "settings-1366.png"), full_page=True)

    # The client has no bell.
    assert client.locator(".bell-button").count() == 0
