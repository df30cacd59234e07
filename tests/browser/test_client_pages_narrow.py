"""The client's pages on a phone (issue 17): the list, a ticket and the new-ticket form at 390 x 844 never
scroll sideways (the list's table becomes cards); the rating appears only once support has answered; a
closed ticket says so at the top and no longer offers its criticality.

Screenshots at 1366 and 390 pixels wide go to test-artifacts/browser/ (client-<page>-<width>.png).
"""

from __future__ import annotations

import re

import pytest

from otklik.accounts.models import AccessLevel
from otklik.accounts.services import user_create
from otklik.dictionaries.models import DictionaryEntry
from otklik.dictionaries.seed import load_dictionaries
from otklik.tickets import services
from otklik.tickets.models import Ticket
from tests.helpers import browser_login

pytestmark = [pytest.mark.browser]
PASSWORD = "pass-Word-123"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
# A title with a long unbroken run, as pasted error codes and addresses are: it must wrap, not widen.
LONG_TITLE = "Checkout fails: https://shop.example.com/checkout/step-2/payment?order=A-2024-000123456789"


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.fixture
def phone_and_desktop(chromium):
    """Open one client context per width (same user logged in each), closed after the test."""
    contexts = []

    def _open(viewport):
        context = chromium.new_context(locale="en-US", viewport=viewport)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_client_pages_at_390_fit_the_screen_rating_after_answer_closed_notice(
    live_server, phone_and_desktop, artifacts
):
    load_dictionaries(DictionaryEntry)  # an earlier transactional test's flush may have removed the seed
    base = live_server.url
    client = user_create(
        username="nina", email="nina@example.com", password=PASSWORD, levels=[AccessLevel.CLIENT],
        first_name="Nina", last_name="Orlova", language="en",
    )  # fmt: skip
    staff = user_create(
        username="olga", email="olga@example.com", password=PASSWORD, levels=[AccessLevel.STAFF],
        first_name="Olga", last_name="Smirnova", language="en",
    )  # fmt: skip
    ticket = services.ticket_create(
        actor=client,
        draft=services.TicketDraft(title=LONG_TITLE, message="The card form says “declined” every time."),
    )
    for n, title in enumerate(("Invoice for March is missing", "Delivery address cannot be changed")):
        other = services.ticket_create(
            actor=client, draft=services.TicketDraft(title=title, message=f"Details {n}.")
        )
        services.message_post(actor=staff, ticket=other, draft=services.MessageDraft(body="We are on it."))
    services.ticket_close(actor=staff, ticket=Ticket.objects.get(title="Invoice for March is missing"))

    phone = phone_and_desktop(PHONE)
    browser_login(phone, base, "nina")
    desktop = phone_and_desktop(DESKTOP)
    browser_login(desktop, base, "nina")

    # The list: cards on the phone, a table on the desktop; nothing wider than the screen.
    for page, width in ((phone, 390), (desktop, 1366)):
        page.goto(f"{base}/tickets/")
        assert scroll_width(page) <= width, f"the list scrolls sideways at {width}"
        page.screenshot(path=str(artifacts / f"client-list-{width}.png"), full_page=True)
    card = phone.locator("table.table-cards tbody tr").first
    assert card.locator("td[data-label='Status']").evaluate("td => getComputedStyle(td).display") == "grid"
    assert phone.locator("table.table-cards thead").bounding_box()["height"] <= 1

    # The ticket, not answered yet: no rating, a line saying when it comes.
    url = f"{base}/tickets/{ticket.pk}/"
    phone.goto(url)
    assert phone.locator("#mark").count() == 0
    assert "once support has answered" in phone.locator("#rate-later").inner_text()
    assert phone.locator("#criticality").is_visible()
    assert scroll_width(phone) <= 390

    # Support answers: now the rating is offered, and it works from the phone.
    services.message_post(
        actor=staff, ticket=Ticket.objects.get(pk=ticket.pk), draft=services.MessageDraft(body="Fixed.")
    )
    phone.reload()
    good = DictionaryEntry.objects.get(kind="mark", code="good")
    phone.select_option("#mark", value=str(good.pk))
    phone.locator("form:has(#mark) button[type=submit]").click()
    phone.wait_for_url(re.compile(rf"/tickets/{ticket.pk}/$"))
    assert phone.locator("#mark").input_value() == str(good.pk)
    assert scroll_width(phone) <= 390
    desktop.goto(url)
    desktop.screenshot(path=str(artifacts / "client-ticket-1366.png"), full_page=True)
    phone.screenshot(path=str(artifacts / "client-ticket-390.png"), full_page=True)

    # Closed: said plainly at the top, with the way back; the criticality is no longer offered.
    phone.locator('button[name="action"][value="close"]').click()
    phone.wait_for_url(re.compile(rf"/tickets/{ticket.pk}/$"))
    notice = phone.locator("#closed-notice")
    assert "This ticket is closed" in notice.inner_text()
    assert notice.locator('button[value="reopen"]').is_visible()
    assert notice.get_by_role("link", name="Write a new ticket").is_visible()
    assert phone.locator("#criticality").count() == 0
    assert phone.locator("#mark").is_visible()  # a closed ticket can still be rated
    notice_box, title_box = notice.bounding_box(), phone.locator("h1").bounding_box()
    assert notice_box["y"] < 844 and notice_box["y"] > title_box["y"]  # right under the title
    assert scroll_width(phone) <= 390
    phone.screenshot(path=str(artifacts / "client-closed-390.png"), full_page=True)
    desktop.goto(url)
    desktop.screenshot(path=str(artifacts / "client-closed-1366.png"), full_page=True)

    # The new-ticket form: one column on the phone, the prompts side by side on the desktop.
    for page, width in ((phone, 390), (desktop, 1366)):
        page.goto(f"{base}/tickets/new/")
        assert scroll_width(page) <= width, f"the form scrolls sideways at {width}"
        page.screenshot(path=str(artifacts / f"client-new-{width}.png"), full_page=True)
    looked, did = (phone.locator(f"#id_{name}").bounding_box() for name in ("looked", "did"))
    assert looked["x"] == did["x"] and did["y"] > looked["y"]
    looked, did = (desktop.locator(f"#id_{name}").bounding_box() for name in ("looked", "did"))
    assert did["x"] > looked["x"] and did["y"] == looked["y"]
    title, message = (desktop.locator(f"#id_{name}").bounding_box() for name in ("title", "message"))
    category = desktop.locator("#id_category").bounding_box()
    assert title["y"] < message["y"] < category["y"]  # what the person writes comes first
    # The keyboard walks the form in reading order: title, message, category, criticality.
    desktop.focus("#id_title")
    order = []
    for _step in range(3):
        desktop.keyboard.press("Tab")
        order.append(desktop.evaluate("document.activeElement.id"))
    assert order[-2:] == ["id_category", "id_criticality"]
    assert "id_message" in order
