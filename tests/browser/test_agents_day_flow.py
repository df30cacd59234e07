"""The agent's day in Debian's chromium (issue 18): an agent tags a ticket, applies a macro from the composer
and to a selection in the list, and merges two tickets, all on the real pages, by the keyboard where it
counts.

Screenshots: every step in test-artifacts/browser/agents-day-*.png; (with OTKLIK_DOCS_SCREENSHOTS=1) docs/screenshots/agents-day-ticket.png
(the ticket page with its tags, links and the macro menu), agents-day-macro-bulk.png (the selection's
confirmation) and agents-day-merge.png (the merge's confirmation), shown in the README.
"""

from __future__ import annotations

import re

import pytest

from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.tickets import services
from otklik.tickets.models import Message, Ticket
from otklik.tickets.services.macros import MacroInput, macro_save
from otklik.tickets.services.tags import ticket_tag_names
from tests.browser.helpers import client_and_agent, publish_screenshot, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def day():
    client, agent = client_and_agent()

    def ticket(title: str, message: str) -> Ticket:
        return services.ticket_create(actor=client, draft=services.TicketDraft(title=title, message=message))

    tickets = {
        "printer": ticket("Printer jams on page two", "It jams on every second page."),
        "again": ticket("Printer still jams", "Same printer, it still jams."),
        "vpn": ticket("VPN drops every hour", "The tunnel drops at :00."),
        "mail": ticket("Mailbox is full", "I cannot receive mail."),
    }
    waiting = DictionaryEntry.objects.get(kind=DictionaryKind.STATUS, code="in_progress")
    macro = macro_save(
        actor=agent,
        data=MacroInput(
            name="Ask for details",
            actions={"changes": {"status": waiting.pk}, "add_tags": ["needs-info"]},
            reply="Hello, {author.name}! Could you send a photo of the error on ticket #{ticket.id}?",
        ),
    )
    return {"agent": agent, "macro": macro, "waiting": waiting, **tickets}


def _sideways(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_agent_tags_applies_macros_and_merges(live_server, new_context, day, artifacts):
    printer, again, vpn, mail = day["printer"], day["again"], day["vpn"], day["mail"]
    page = staff_login(new_context(), live_server.url, "anna")

    # 1. Tag the ticket from the side panel by the keyboard.
    page.goto(f"{live_server.url}/staff/tickets/{printer.pk}/")
    field = page.locator("#tag-add")
    field.fill("hardware")
    field.press("Enter")
    page.locator("#tags-row li.tagchip", has_text="hardware").wait_for()
    assert ticket_tag_names(printer) == ["hardware"]

    # 2. Apply the macro from the composer: one click, the reply is posted, the status and tag are set.
    page.locator("#macro-picker summary").click()
    item = page.locator("#macro-picker .macro-item", has_text="Ask for details")
    item.wait_for()
    page.screenshot(path=str(artifacts / "agents-day-ticket.png"))
    item.click()
    page.get_by_text("Macro “Ask for details” applied.").wait_for()
    printer.refresh_from_db()
    assert printer.status_id == day["waiting"].pk
    assert ticket_tag_names(printer) == ["hardware", "needs-info"]
    reply = Message.objects.get(ticket=printer, kind="public", by_support=True)
    assert reply.body == f"Hello, Ivan Petrov! Could you send a photo of the error on ticket #{printer.pk}?"
    page.locator("article.msg", has_text="Could you send a photo").first.wait_for()

    # 3. Apply it to a selection in the list: tick two rows, choose the action and the macro, confirm.
    page.goto(f"{live_server.url}/staff/tickets/")
    page.locator(f"input[name=ids][value='{vpn.pk}']").check()
    page.locator(f"input[name=ids][value='{mail.pk}']").check()
    page.locator("#bulk-action").select_option("macro")
    page.locator("#bulk-macro").select_option(str(day["macro"].pk))
    page.locator(".bulkbar button[type=submit]").click()
    page.get_by_role("heading", name=re.compile("Apply the macro “Ask for details” to 2 tickets")).wait_for()
    page.screenshot(path=str(artifacts / "agents-day-macro-bulk.png"))
    page.get_by_role("button", name="Apply to 2 tickets").click()
    page.get_by_text("Macro “Ask for details” applied to 2 tickets.").wait_for()
    for ticket in (vpn, mail):
        assert ticket_tag_names(ticket) == ["needs-info"]
        assert Message.objects.filter(ticket=ticket, kind="public", by_support=True).count() == 1

    # 4. Merge: the second printer ticket into the first, through the confirmation that names the target.
    page.goto(f"{live_server.url}/staff/tickets/{again.pk}/")
    page.locator("#ticket-links a", has_text="Merge into another ticket…").click()
    page.locator("#merge-into").fill(str(printer.pk))
    page.locator("#merge-into").press("Enter")
    page.get_by_role("button", name=f"Merge into #{printer.pk}").wait_for()
    page.screenshot(path=str(artifacts / "agents-day-merge.png"))
    page.get_by_role("button", name=f"Merge into #{printer.pk}").click()
    page.wait_for_url(re.compile(rf"/staff/tickets/{printer.pk}/"))
    page.locator("article.msg", has_text="Same printer, it still jams.").first.wait_for()
    again.refresh_from_db()
    assert again.merged_into_id == printer.pk and again.closed_at is not None
    # The old address leads to the target.
    page.goto(f"{live_server.url}/staff/tickets/{again.pk}/")
    page.wait_for_url(re.compile(rf"/staff/tickets/{printer.pk}/"))

    # The same ticket page on a phone: the new cards fit without sideways scrolling.
    page.set_viewport_size(PHONE)
    page.reload()
    assert _sideways(page) <= PHONE["width"]
    page.screenshot(path=str(artifacts / "agents-day-ticket-390.png"), full_page=True)

    for name in ("agents-day-ticket", "agents-day-macro-bulk", "agents-day-merge"):
        publish_screenshot(artifacts / f"{name}.png", name)
