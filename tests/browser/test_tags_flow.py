"""Tags in Debian's chromium (issue 18, P4): an agent tags a ticket from the side panel by the keyboard (type,
a suggestion, Enter; × removes), sees the coloured chips on the list, filters by tag, on a wide screen and
on a 390 px phone.

Screenshots go to test-artifacts/browser/ (tags-*.png).
"""

from __future__ import annotations

import pytest

from otklik.core import clock
from otklik.tickets import services
from otklik.tickets.models import Tag
from otklik.tickets.services.tags import ticket_tag_names
from tests.browser.helpers import client_and_agent, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def people():
    client, agent = client_and_agent()
    printer = services.ticket_create(
        actor=client, draft=services.TicketDraft(title="Printer jams on page two", message="It jams.")
    )
    invoice = services.ticket_create(
        actor=client, draft=services.TicketDraft(title="Invoice has the wrong address", message="Fix it.")
    )
    Tag.objects.create(name="Hardware", key="hardware", colour="#1f3a8a", created_at=clock.now())
    Tag.objects.create(name="Billing", key="billing", colour="#fde68a", created_at=clock.now())
    services.ticket_tags_change(actor=agent, ticket=invoice, add=["Billing"])
    return {"agent": agent, "printer": printer, "invoice": invoice}


def _sideways(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_agent_tags_by_keyboard_and_filters_the_list(live_server, new_context, people, artifacts):
    printer = people["printer"]
    page = staff_login(new_context(), live_server.url, "anna")
    page.goto(f"{live_server.url}/staff/tickets/{printer.pk}/")

    # Type part of a name: the datalist offers the existing tag; Enter adds it, the row is swapped in place.
    field = page.locator("#tag-add")
    field.click()
    field.type("hard")
    page.locator("#tag-suggestions option[value=Hardware]").wait_for(state="attached")
    field.fill("Hardware")
    field.press("Enter")
    page.locator("#tags-row li.tagchip", has_text="Hardware").wait_for()
    field = page.locator("#tag-add")
    field.fill("urgent")
    field.press("Enter")
    page.locator("#tags-row li.tagchip", has_text="urgent").wait_for()
    assert ticket_tag_names(printer) == ["Hardware", "urgent"]
    chip = page.locator("#tags-row li.tagchip", has_text="Hardware")
    assert chip.evaluate("e => getComputedStyle(e).color") == "rgb(255, 255, 255)"  # white on dark blue
    page.locator("#tags-row").screenshot(path=str(artifacts / "tags-side-row.png"))

    # × removes, by the keyboard too.
    page.locator("#tags-row button[aria-label='Remove the tag urgent']").focus()
    page.keyboard.press("Enter")
    page.locator("#tags-row li.tagchip", has_text="urgent").wait_for(state="detached")
    assert ticket_tag_names(printer) == ["Hardware"]

    # The list shows the chips and filters by tag; the filter is a chip of its own.
    page.goto(f"{live_server.url}/staff/tickets/?tag=hardware")
    page.locator("tr", has_text="Printer jams").locator(".tagchip", has_text="Hardware").wait_for()
    assert page.locator("tr", has_text="Invoice has the wrong address").count() == 0
    page.locator(".chips .chip", has_text="Tags: hardware").wait_for()
    page.goto(f"{live_server.url}/staff/tickets/?tag=hardware&tag=billing&tag_mode=none")
    page.get_by_text("No tickets match the filter.").wait_for()
    page.goto(f"{live_server.url}/staff/tickets/")
    page.screenshot(path=str(artifacts / "tags-list.png"))


def test_tags_row_and_list_fit_a_phone(live_server, new_context, people, artifacts):
    printer = people["printer"]
    long_names = ["a-rather-long-tag-name-that-must-wrap-somewhere", "VIP", "Hardware", "callback", "night"]
    services.ticket_tags_change(actor=people["agent"], ticket=printer, add=long_names)
    page = staff_login(new_context(), live_server.url, "anna")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/staff/tickets/{printer.pk}/")
    page.locator("#tags-row").scroll_into_view_if_needed()
    assert _sideways(page) <= PHONE["width"]
    page.locator("#tags-row").screenshot(path=str(artifacts / "tags-side-row-390.png"))
    page.goto(f"{live_server.url}/staff/tickets/")
    assert _sideways(page) <= PHONE["width"]
    page.screenshot(path=str(artifacts / "tags-list-390.png"), full_page=True)
