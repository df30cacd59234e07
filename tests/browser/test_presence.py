"""Presence in a real browser (F-14): agent A types in the answer box, agent B on the same ticket page sees
"answering now" for A within seconds, without reloading. Before the fix the page's inline script ran
before htmx (loaded with `defer`) existed and gave up, so nobody ever saw it.

Screenshots go to test-artifacts/browser/ (presence-a.png, presence-b.png).
"""

from __future__ import annotations

import pytest

from otklik.accounts.models import AccessLevel
from otklik.accounts.services import user_create
from otklik.tickets import services
from tests.browser.helpers import PASSWORD, staff_login

pytestmark = [pytest.mark.browser]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_presence_agent_typing_shows_answering_now_to_other_agent(live_server, new_context, artifacts):
    base = live_server.url
    client = user_create(
        username="ivan", email="ivan@example.com", password=PASSWORD, levels=[AccessLevel.CLIENT]
    )
    agent_a = user_create(
        username="anna", email="anna@example.com", password=PASSWORD, levels=[AccessLevel.STAFF],
        first_name="Anna", last_name="Smirnova",
    )  # fmt: skip
    user_create(username="boris", email="boris@example.com", password=PASSWORD, levels=[AccessLevel.STAFF])
    ticket = services.ticket_create(
        actor=client, draft=services.TicketDraft(title="Cannot pay", message="The payment page hangs.")
    )
    url = f"{base}/staff/tickets/{ticket.pk}/"

    a = staff_login(new_context(), base, "anna")
    b = staff_login(new_context(), base, "boris")
    b.goto(url)
    a.goto(url)
    assert "answering" not in b.locator("#presence").inner_text().lower()

    a.locator("#id_reply-body").press_sequentially("We are looking into it", delay=20)
    presence_b = b.locator("#presence .answering")
    presence_b.wait_for(state="visible", timeout=12_000)
    assert agent_a.get_full_name() in presence_b.inner_text()
    a.screenshot(path=str(artifacts / "presence-a.png"), full_page=True)
    b.screenshot(path=str(artifacts / "presence-b.png"), full_page=True)
