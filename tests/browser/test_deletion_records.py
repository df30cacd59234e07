"""An admin reads the list of deleted tickets in a real browser, on a desktop and on a phone.

Screenshots go to test-artifacts/browser/ (deletions-1366.png, deletions-390.png, deletions-390-ru.png).
"""

from __future__ import annotations

import pytest

from otklik.accounts.models import AccessLevel
from otklik.accounts.services import user_create
from otklik.mail.services import mail_ingest
from otklik.tickets import services
from otklik.tickets.models import Ticket
from tests.helpers import browser_login

pytestmark = [pytest.mark.browser]
PASSWORD = "pass-Word-123"


def _mail(sender: str, subject: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: support@otklik.localhost\r\nSubject: {subject}\r\n"
        "Message-ID: <deleted-%s@customer.example>\r\n\r\nHello.\r\n" % abs(hash(subject))
    ).encode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("language", ["en", "ru"])
def test_admin_reads_deleted_tickets_on_desktop_and_phone(live_server, new_context, artifacts, language):
    base = live_server.url
    admin = user_create(
        username="anna",
        email="anna@example.com",
        password=PASSWORD,
        levels=(AccessLevel.ADMIN,),
        language=language,
    )
    client = user_create(
        username="ivan",
        email="ivan@example.com",
        password=PASSWORD,
        levels=(AccessLevel.CLIENT,),
        language="ru",
    )
    ticket = services.ticket_create(
        actor=client, draft=services.TicketDraft(title="Не приходит письмо с паролем", message="Жду час.")
    )
    services.message_post(
        actor=admin, ticket=ticket, draft=services.MessageDraft(body="Проверьте папку «Спам».")
    )
    services.ticket_delete(actor=admin, ticket=Ticket.objects.get(pk=ticket.pk))
    by_mail = Ticket.objects.get(pk=mail_ingest(_mail("petr@customer.example", "Спам о скидках")).ticket)
    services.ticket_delete(actor=admin, ticket=by_mail)

    page = new_context().new_page()
    browser_login(page, base, "anna")
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"{base}/admin/tickets/ticketdeletion/")
        rows = page.locator("#result_list tbody tr")
        assert rows.count() == 2
        assert "petr@customer.example" in rows.nth(0).inner_text()  # newest first
        assert f"#{ticket.pk}" in rows.nth(1).inner_text()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow}px of horizontal scroll at {width}px"
        suffix = "" if language == "en" else f"-{language}"
        page.screenshot(path=str(artifacts / f"deletions-{width}{suffix}.png"), full_page=True)
