"""Admin pages of incoming mail: mailboxes (write-only passwords, checked patterns), the quarantine, re-processing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from otklik.mail.models import InboundMail, Mailbox, Outcome
from otklik.mail.services import mail_ingest
from tests.conftest import logged_in
from tests.test_mail_ingest import mail

pytestmark = pytest.mark.django_db
ADD_MAILBOX = reverse("admin:mail_mailbox_add")
INBOUND = reverse("admin:mail_inboundmail_changelist")


@pytest.fixture
def admin(cast) -> Client:
    return logged_in(cast.admin)


def mailbox_form(**values) -> dict:
    form = {
        "code": "support",
        "name": "Support",
        "protocol": "imap",
        "active": "on",
        "host": "imap.example.com",
        "port": "993",
        "security": "tls",
        "username": "support@example.com",
        "password": "S3cret-pass",
        "folder": "INBOX",
        "user_lookup": "on",
        "append_security": "address",
        "subject_patterns": r"\[TID#(\d+)\]",
    }
    form.update(values)
    return {k: v for k, v in form.items() if v is not None}


def test_mailbox_password_is_stored_never_shown_and_kept_when_left_empty(admin):
    response = admin.post(ADD_MAILBOX, mailbox_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    box = Mailbox.objects.get(code="support")
    assert box.password == "S3cret-pass"
    change = reverse("admin:mail_mailbox_change", args=[box.pk])
    assert "S3cret-pass" not in admin.get(change).content.decode()
    admin.post(change, mailbox_form(password="", name="Support desk"))
    box.refresh_from_db()
    assert (box.name, box.password) == ("Support desk", "S3cret-pass")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"subject_patterns": r"\[TID#\d+"}, "subject_patterns"),
        ({"subject_patterns": r"TID#\d+"}, "subject_patterns"),  # no group for the number
        ({"host": ""}, "host"),
        ({"username": ""}, "username"),
    ],
)
def test_mailbox_bad_values_answer_with_a_field_error(admin, values, field):
    response = admin.post(ADD_MAILBOX, mailbox_form(**values))
    assert response.status_code == 200 and field in response.context["adminform"].form.errors
    assert not Mailbox.objects.exists()


def test_inbound_list_shows_outcomes_and_filters_the_quarantine(admin, cast):
    mail_ingest(mail(subject="Taken in"))
    mail_ingest(mail(sender="", subject="Nobody sent me"))
    page = admin.get(INBOUND).content.decode()
    assert "Taken in" in page and "no_sender" in page
    quarantine = admin.get(INBOUND, {"outcome__exact": "quarantined"}).content.decode()
    assert "Nobody sent me" in quarantine and "Taken in" not in quarantine


def test_inbound_original_is_shown_escaped_and_downloadable_byte_for_byte(admin, cast):
    raw = mail(subject="<script>alert(1)</script>", body="Текст <b>письма</b>")
    inbound = InboundMail.objects.get(pk=mail_ingest(raw).inbound)
    detail = admin.get(reverse("admin:mail_inboundmail_change", args=[inbound.pk])).content.decode()
    assert "<script>alert(1)</script>" not in detail and "Download the original" in detail
    download = admin.get(reverse("admin:mail_inboundmail_original", kwargs={"object_id": inbound.pk}))
    assert download.status_code == 200 and download.content == raw
    assert download["Content-Type"] == "message/rfc822" and download["X-Content-Type-Options"] == "nosniff"


def test_inbound_process_again_action_takes_in_the_fixed_message(admin, cast, monkeypatch):
    from otklik.mail import services as mail_services

    monkeypatch.setattr(mail_services.ticket_services, "ticket_create", lambda **kw: 1 / 0)
    inbound = InboundMail.objects.get(pk=mail_ingest(mail(subject="Second chance")).inbound)
    assert inbound.outcome == Outcome.QUARANTINED
    monkeypatch.undo()

    response = admin.post(INBOUND, {"action": "process_again", "_selected_action": [inbound.pk]}, follow=True)

    assert "1 message was taken in." in response.content.decode()
    inbound.refresh_from_db()
    assert inbound.outcome == Outcome.CREATED and inbound.ticket_id


def test_inbound_pages_are_for_support_admins_only(cast):
    for who in (cast.staff, cast.client):
        response = logged_in(who).get(INBOUND)
        assert response.status_code in (302, 403)


# -- the original e-mail from the ticket page -------------------------------------------------------------------
def test_staff_ticket_page_links_each_mail_message_to_its_original(cast):
    from otklik.tickets.models import Ticket

    raw = mail(subject="Оригинал")
    ticket = Ticket.objects.get(pk=mail_ingest(raw).ticket)
    first = ticket.messages.get(number=1)
    staff = logged_in(cast.admin)
    page = staff.get(reverse("tickets:staff_detail", kwargs={"ticket_id": ticket.pk})).content.decode()
    link = reverse("mail:message_original", kwargs={"message_id": first.pk})
    assert link in page and "original e-mail" in page

    download = staff.get(link)

    assert download.status_code == 200 and download.content == raw
    assert (
        download["Content-Disposition"].startswith("attachment")
        and download["X-Content-Type-Options"] == "nosniff"
    )


def test_message_original_hidden_from_clients_and_from_messages_not_from_mail(cast, make_ticket):
    from otklik.tickets.models import Ticket

    ticket = Ticket.objects.get(pk=mail_ingest(mail(sender=cast.client.email)).ticket)
    first = ticket.messages.get(number=1)
    link = reverse("mail:message_original", kwargs={"message_id": first.pk})
    assert logged_in(cast.client).get(link).status_code == 404  # even the author: originals are support's
    web_message = make_ticket().messages.get(number=1)
    not_mail = reverse("mail:message_original", kwargs={"message_id": web_message.pk})
    assert logged_in(cast.admin).get(not_mail).status_code == 404
    assert (
        logged_in(cast.admin).get(reverse("mail:message_original", kwargs={"message_id": 999999})).status_code
        == 404
    )


# -- the quoted history, folded ----------------------------------------------------------------------------------
QUOTING_REPLY = (
    "Спасибо, теперь работает.\n\n"
    "23.11.2026, 10:15, Поддержка <support@otklik.localhost> пишет:\n"
    "> Очистите, пожалуйста, кэш браузера.\n"
    "> С уважением, поддержка\n"
)


def test_mail_quoted_history_is_kept_folded_for_staff_and_not_shown_to_the_client(cast, make_ticket):
    from otklik.tickets.models import Message, TicketSearchDocument
    from otklik.tickets.services import search_document_refresh

    ticket = make_ticket()  # the client's; the reply comes from the client's own address
    result = mail_ingest(
        mail(sender=cast.client.email, subject=f"Re: [TID#{ticket.pk}] Вход", body=QUOTING_REPLY)
    )
    assert result.outcome == "appended"
    reply = Message.objects.get(ticket=ticket, number=2)
    assert reply.body == "Спасибо, теперь работает."
    assert reply.quoted.startswith("23.11.2026, 10:15, Поддержка") and "> Очистите" in reply.quoted

    staff_page = logged_in(cast.admin).get(reverse("tickets:staff_detail", kwargs={"ticket_id": ticket.pk}))
    html = staff_page.content.decode()
    folded = html.split('<details class="quoted">', 1)
    assert len(folded) == 2 and "quoted history" in folded[1].split("</summary>")[0]
    assert "Очистите, пожалуйста, кэш браузера." in folded[1].split("</details>")[0]

    client_page = logged_in(cast.client).get(
        reverse("tickets:client_detail", kwargs={"ticket_id": ticket.pk})
    )
    assert client_page.status_code == 200
    assert "Спасибо, теперь работает." in client_page.content.decode()
    assert "кэш браузера" not in client_page.content.decode()

    # Not searched: a rebuild of the search text leaves the history out, as the append did.
    appended = TicketSearchDocument.objects.get(ticket=ticket).staff_text
    search_document_refresh(ticket)
    rebuilt = TicketSearchDocument.objects.get(ticket=ticket).staff_text
    assert appended == rebuilt and "теперь работает" in rebuilt and "кэш браузера" not in rebuilt
