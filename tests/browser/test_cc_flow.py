"""CC in the browser (issue 18, P3): the author copies a colleague on a phone (htmx, a refused address
explained), the colleague then reads the ticket, and the staff side panel lists the copies and followers;
no page scrolls sideways at 390 px.

Screenshots go to test-artifacts/browser/ (cc-client-390.png, cc-staff-390.png).
"""

from __future__ import annotations

import pytest

from otklik.accounts.models import AccessLevel, SupportGroup
from otklik.accounts.services import support_group_add_member, user_create
from otklik.dictionaries.models import DictionaryEntry
from otklik.dictionaries.seed import load_dictionaries
from otklik.tickets import services
from tests.helpers import browser_login

pytestmark = [pytest.mark.browser]
PASSWORD = "pass-Word-123"
PHONE = {"width": 390, "height": 844}
LONG = "procurement.department.head.of.logistics@very-long-subsidiary-name.example.com"


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_cc_author_copies_a_colleague_who_then_sees_the_ticket_at_390(live_server, chromium, artifacts):
    load_dictionaries(DictionaryEntry)
    base = live_server.url

    def person(username: str, level: str):
        return user_create(
            username=username, email=f"{username}@example.com", password=PASSWORD, levels=[level],
            email_confirmed=True, language="en",
        )  # fmt: skip

    author, colleague = person("nina", AccessLevel.CLIENT), person("pavel", AccessLevel.CLIENT)
    person("olga", AccessLevel.ADMIN)
    company = SupportGroup.objects.create(name="Romashka", kind=SupportGroup.Kind.CLIENT)
    support_group_add_member(group=company, user=author)
    support_group_add_member(group=company, user=colleague, can_view=False)
    ticket = services.ticket_create(
        actor=author, draft=services.TicketDraft(title="Printer offline", message="Since this morning.")
    )
    url = f"{base}/tickets/{ticket.pk}/"

    contexts = []
    try:

        def phone_page(username: str):
            context = chromium.new_context(locale="en-US", viewport=PHONE)
            context.set_default_timeout(15_000)
            contexts.append(context)
            page = context.new_page()
            browser_login(page, base, username)
            return page

        # The colleague cannot see the ticket before being copied.
        pavel = phone_page("pavel")
        assert pavel.goto(url).status == 404

        nina = phone_page("nina")
        nina.goto(url)
        card = nina.locator("#cc-card")
        card.locator("input[name=emails]").fill("not an address")
        card.get_by_role("button", name="Add").click()
        nina.locator("#cc-card .errorlist").wait_for()
        assert "is not a valid e-mail address" in nina.locator("#cc-card").inner_text()
        nina.locator("#cc-card input[name=emails]").fill(f"pavel@example.com, {LONG}")
        nina.locator("#cc-card").get_by_role("button", name="Add").click()
        nina.locator("#cc-card .cc-list li").nth(1).wait_for()
        assert nina.locator("#cc-card .cc-list li").count() == 2
        assert scroll_width(nina) <= PHONE["width"]
        nina.screenshot(path=str(artifacts / "cc-client-390.png"), full_page=True)

        # Now copied, the colleague reads the ticket and may answer it.
        assert pavel.goto(url).status == 200
        assert "Since this morning." in pavel.content()
        assert pavel.locator("#reply textarea").count() == 1

        olga = phone_page("olga")
        olga.goto(f"{base}/staff/tickets/{ticket.pk}/")
        olga.locator("#props form[action$='/follow/'] button").click()
        olga.locator("#props button[aria-pressed=true]").wait_for()
        olga.locator("#cc-card p.small", has_text="olga").wait_for()
        assert LONG in olga.locator("#cc-card").inner_text()
        assert scroll_width(olga) <= PHONE["width"]
        olga.screenshot(path=str(artifacts / "cc-staff-390.png"), full_page=True)
    finally:
        for context in contexts:
            context.close()
