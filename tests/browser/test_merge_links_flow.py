"""Merging and linking in Debian's chromium (issue 18, P1/P2): an agent links two tickets from the side
panel and merges one into the other by the keyboard, on a wide screen and on a 390 px phone.

Screenshots go to test-artifacts/browser/ (merge-*.png).
"""

from __future__ import annotations

import re

import pytest

from otklik.tickets import services
from otklik.tickets.models import Ticket, TicketLink
from tests.browser.helpers import client_and_agent, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def people():
    client, agent = client_and_agent()
    first = services.ticket_create(
        actor=client, draft=services.TicketDraft(title="Printer jams on page two", message="It jams.")
    )
    second = services.ticket_create(
        actor=client,
        draft=services.TicketDraft(title="Printer still jams", message="Same printer, still jams."),
    )
    return {"agent": agent, "first": first, "second": second}


def _sideways(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_agent_links_and_merges_two_tickets_by_keyboard(live_server, new_context, people, artifacts):
    first, second = people["first"], people["second"]
    page = staff_login(new_context(), live_server.url, "anna")
    page.goto(f"{live_server.url}/staff/tickets/{first.pk}/")

    # Link: open "Add a link", choose the kind, type the number, Enter (htmx swaps the card in place).
    card = page.locator("#ticket-links")
    card.locator("summary").click()
    card.locator("select[name=kind]").select_option("related")
    card.locator("input[name=ticket]").fill(str(second.pk))
    card.locator("input[name=ticket]").press("Enter")
    page.locator("#ticket-links a", has_text=f"#{second.pk} Printer still jams").wait_for()
    assert TicketLink.objects.filter(ticket=first, other=second).exists()
    page.screenshot(path=str(artifacts / "merge-links-card.png"))

    # Merge: the card's link, the number, Enter; the confirmation names the target; Enter merges.
    page.locator("#ticket-links a", has_text="Merge into another ticket").click()
    page.wait_for_url(re.compile(rf"/staff/tickets/{first.pk}/merge/"))
    page.locator("#merge-into").fill(f"#{second.pk}")
    page.locator("#merge-into").press("Enter")
    page.get_by_text("Printer still jams").first.wait_for()
    assert "Ivan Petrov" in page.content()
    page.screenshot(path=str(artifacts / "merge-confirm.png"))
    page.keyboard.press("Enter")  # the merge button has the focus
    page.wait_for_url(re.compile(rf"/staff/tickets/{second.pk}/$"))
    page.get_by_text(f"Ticket #{first.pk} is merged into this one.").wait_for()
    assert "It jams." in page.content()
    assert Ticket.objects.get(pk=first.pk).merged_into_id == second.pk

    # The old address leads to the target.
    page.goto(f"{live_server.url}/staff/tickets/{first.pk}/")
    page.wait_for_url(re.compile(rf"/staff/tickets/{second.pk}/$"))
    page.screenshot(path=str(artifacts / "merge-target.png"), full_page=True)


def test_links_card_and_merge_page_fit_a_phone(live_server, new_context, people, artifacts):
    first, second = people["first"], people["second"]
    services.ticket_link_add(actor=people["agent"], ticket=first, other=second, kind="child")
    context = new_context()
    page = staff_login(context, live_server.url, "anna")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/staff/tickets/{first.pk}/")
    page.locator("#ticket-links summary").click()
    assert _sideways(page) <= PHONE["width"]
    page.locator("#ticket-links").screenshot(path=str(artifacts / "merge-links-card-390.png"))
    page.goto(f"{live_server.url}/staff/tickets/{first.pk}/merge/?into={second.pk}")
    assert _sideways(page) <= PHONE["width"]
    page.screenshot(path=str(artifacts / "merge-confirm-390.png"), full_page=True)
