"""The agent workspace in Debian's chromium (issue 17): the views and their counts against the database, a
reply with a status change in one send, an inline edit and its undo, a PNG pasted from the clipboard, a
client reply arriving on an open ticket page while the agent types, the keyboard on the real list.

Screenshots go to test-artifacts/browser/ (workspace-*.png); the README's come from test_readme_shots.
"""

from __future__ import annotations

import base64
import re
import time

import pytest

from otklik.accounts.models import AccessLevel
from otklik.accounts.services import user_create
from otklik.dictionaries.models import DictionaryEntry
from otklik.dictionaries.seed import load_dictionaries
from otklik.tickets import inboxes, services
from otklik.tickets.models import Attachment, Message, Ticket
from otklik.tickets.policies import TicketPolicy
from tests.browser.helpers import PASSWORD, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _png(width: int = 4, height: int = 3) -> bytes:
    """Return a small valid PNG: what a screenshot on the clipboard is, in small."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG_BASE64 = base64.b64encode(_png()).decode()


@pytest.fixture
def people():
    # The dictionaries come with the migrations; a transactional test that flushed before this one in the
    # same worker may have taken them away, so make sure they are there (only the missing ones are made).
    load_dictionaries(DictionaryEntry)
    client = user_create(
        username="ivan", email="ivan@example.com", password=PASSWORD, levels=[AccessLevel.CLIENT]
    )
    agent = user_create(
        username="anna", email="anna@example.com", password=PASSWORD, levels=[AccessLevel.STAFF],
        first_name="Anna", last_name="Smirnova", language="en",  # the sentences below are read in English
    )  # fmt: skip
    admin = user_create(
        username="root", email="root@example.com", password=PASSWORD, levels=[AccessLevel.ADMIN]
    )
    tickets = []
    for n in range(4):
        ticket = services.ticket_create(
            actor=client,
            draft=services.TicketDraft(title=f"Payment fails {n}", message="The card is declined."),
        )
        services.ticket_update(
            actor=admin, ticket=Ticket.objects.get(pk=ticket.pk), changes={"responsible": agent.pk}
        )
        tickets.append(Ticket.objects.get(pk=ticket.pk))
    services.message_post(
        actor=agent, ticket=tickets[3], draft=services.MessageDraft(body="Please try another card.")
    )
    return {"client": client, "agent": agent, "admin": admin, "tickets": tickets}


def test_views_show_the_database_counts_and_list_their_tickets(live_server, new_context, people, artifacts):
    page = staff_login(new_context(), live_server.url, "anna")
    policy = TicketPolicy(people["agent"])
    expected = inboxes.inbox_counts(policy)
    for inbox in inboxes.inbox_list(policy):
        shown = page.locator(f'#inbox-nav a[data-inbox="{inbox.key}"] .count').inner_text()
        assert int(shown) == expected[inbox.key], inbox.key
    page.locator('#inbox-nav a[data-inbox="awaiting"]').click()
    page.wait_for_url(re.compile(r"view=awaiting"))
    assert page.locator("tr[data-nav-row]").count() == expected["awaiting"] == 3
    page.screenshot(path=str(artifacts / "workspace-list.png"))


def test_keyboard_moves_through_the_list_and_opens_a_ticket(live_server, new_context, people):
    page = staff_login(new_context(), live_server.url, "anna")
    page.keyboard.press("j")
    page.keyboard.press("j")
    current = page.locator("tr[data-nav-row].is-current")
    assert current.count() == 1
    number = current.get_attribute("data-nav-row")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/staff/tickets/{number}/$"))
    page.keyboard.press("?")
    assert page.locator("#shortcut-help").is_visible()
    assert "Send and mark solved" in page.locator("#shortcut-help").inner_text()
    page.keyboard.press("Escape")
    assert not page.locator("#shortcut-help").is_visible()


def test_reply_and_status_change_in_one_send(live_server, new_context, people, artifacts):
    ticket = people["tickets"][0]
    status = DictionaryEntry.objects.filter(kind="status", active=True).exclude(pk=ticket.status_id).first()
    page = staff_login(new_context(), live_server.url, "anna")
    page.goto(f"{live_server.url}/staff/tickets/{ticket.pk}/")
    page.fill("#id_reply-body", "Your card issuer blocks the payment; call the bank.")
    page.select_option("#id_then-status", str(status.pk))
    page.screenshot(path=str(artifacts / "workspace-composer.png"), full_page=True)
    page.locator("#reply-form button[name=after][value='']").click()
    page.wait_for_url(re.compile(rf"/staff/tickets/{ticket.pk}/"))
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.status_id == status.pk
    assert Message.objects.filter(ticket=ticket, body__startswith="Your card issuer blocks").exists()
    # The status change shows as a quiet one-line event naming the agent.
    assert re.search(
        r"Anna Smirnova set .* to " + re.escape(status.name_en),
        page.locator("#conversation").inner_text(),
    )


def test_inline_edit_saves_at_once_and_undo_restores(live_server, new_context, people):
    ticket = people["tickets"][1]
    before = ticket.criticality_id
    other = DictionaryEntry.objects.filter(kind="criticality", active=True).exclude(pk=before).first()
    page = staff_login(new_context(), live_server.url, "anna")
    page.goto(f"{live_server.url}/staff/tickets/{ticket.pk}/")
    page.select_option("#props select[name='attr-criticality']", str(other.pk))
    toast = page.locator("#props [data-toast]")
    toast.wait_for(state="visible")
    assert Ticket.objects.get(pk=ticket.pk).criticality_id == other.pk
    toast.get_by_role("button").click()
    page.wait_for_function(
        "(value) => document.querySelector(\"#props select[name='attr-criticality']\").value === value",
        arg=str(before or ""),
    )
    assert Ticket.objects.get(pk=ticket.pk).criticality_id == before


def test_pasted_screenshot_is_sent_with_the_reply(live_server, new_context, people):
    ticket = people["tickets"][2]
    page = staff_login(new_context(), live_server.url, "anna")
    page.goto(f"{live_server.url}/staff/tickets/{ticket.pk}/")
    page.fill("#id_reply-body", "See the screenshot.")
    page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "image.png", { type: "image/png" }));
            const event = new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true });
            document.getElementById("id_reply-body").dispatchEvent(event);
        }""",
        PNG_BASE64,
    )
    chip = page.locator("#reply-dropped .file-chip")
    chip.wait_for(state="visible")
    assert re.match(r"screenshot-\d{8}-\d{6}\.png", chip.inner_text().strip("× \n"))
    assert page.locator("#reply-dropped .file-chip img").count() == 1
    page.locator("#reply-form button[name=after][value='']").click()
    page.wait_for_url(re.compile(rf"/staff/tickets/{ticket.pk}/"))
    [attachment] = Attachment.objects.filter(ticket=ticket)
    assert attachment.name.startswith("screenshot-") and attachment.content_type == "image/png"


def test_client_reply_appears_within_5_seconds_with_a_notice_while_typing(
    live_server, new_context, people, artifacts
):
    ticket = people["tickets"][3]
    page = staff_login(new_context(), live_server.url, "anna")
    page.goto(f"{live_server.url}/staff/tickets/{ticket.pk}/")
    page.locator("#id_reply-body").press_sequentially("Let me check", delay=10)
    services.message_post(
        actor=people["client"], ticket=Ticket.objects.get(pk=ticket.pk),
        draft=services.MessageDraft(body="Another card worked, thanks!"),
    )  # fmt: skip
    started = time.monotonic()
    page.locator("#conversation", has_text="Another card worked, thanks!").wait_for(timeout=5_000)
    assert time.monotonic() - started <= 5
    assert page.locator("#live-notice").is_visible()
    assert page.locator("#id_reply-body").input_value() == "Let me check"  # nothing the agent typed is lost
    # The message that arrived live can be quoted like the others (a Markdown quote under the text).
    page.locator("#conversation article.msg", has_text="Another card worked").locator("a.quote").click()
    assert (
        page.locator("#id_reply-body").input_value() == "Let me check\n\n> Another card worked, thanks!\n\n"
    )
    page.screenshot(path=str(artifacts / "workspace-live.png"), full_page=True)
