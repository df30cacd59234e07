"""Demo access (SPEC F-01, issue 12): sees every configuration page read-only, never a mail's quoted history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from otklik.mail.services import mail_ingest
from otklik.tickets import services
from otklik.tickets.models import Message
from otklik.tickets.policies import TicketPolicy
from otklik.ui.admin_site import admin_site
from tests.conftest import logged_in
from tests.test_login_required import example_url, named_patterns
from tests.test_mail_ingest import mail

pytestmark = pytest.mark.django_db
# Pages that only write (add, delete, set another user's password): refused to demo as to anybody
# without the right.
# Pages that only write: demo access may not open them (403), or they take POST only (405).
WRITE_ONLY_SUFFIXES = ("_add", "_delete", "_password_change", "_generate", "_deactivate")


def admin_routes() -> list[tuple[str, str]]:
    return [
        (name, example_url(name, pattern))
        for name, pattern in named_patterns()
        if name.startswith("admin:") and name not in ("admin:logout", "admin:login", "admin:autocomplete")
    ]


def existing_change_pages() -> list[str]:
    pages = []
    for model in admin_site._registry:
        obj = model.objects.order_by("pk").first()
        if obj is not None:
            name = f"admin:{model._meta.app_label}_{model._meta.model_name}_change"
            pages.append(reverse(name, args=[obj.pk]))
    return pages


def snapshot() -> dict[str, list[dict]]:
    return {str(model._meta): list(model.objects.order_by("pk").values()) for model in admin_site._registry}


@pytest.fixture
def configured(cast, make_ticket):
    """Something on every configuration page: a ticket, mail in and out, a mailbox."""
    from otklik.mail.models import Mailbox

    make_ticket()
    services.module_options_ensure()  # reading the options does not create their row
    mail_ingest(mail())
    Mailbox.objects.create(name="Support", protocol="imap", host="imap.example", username="support")
    return cast


def test_demo_opens_every_configuration_page(configured):
    demo = logged_in(configured.demo)
    assert demo.get(reverse("admin:index")).status_code == 200
    refused = []
    for name, url in admin_routes():
        status = demo.get(url).status_code
        # Dummy arguments find no object (404 or a redirect); the real pages are opened below. 286 is htmx's
        # "stop polling" answer of a progress line with nothing in progress.
        expected = (403, 404, 405) if name.endswith(WRITE_ONLY_SUFFIXES) else (200, 286, 302, 404)
        if status not in expected:
            refused.append((name, url, status))
    assert refused == [], "\n".join(map(str, refused))
    from otklik.sla.models import Timetable

    custom = [
        reverse("admin:notifications_mailtemplate_changelist"),
        reverse("admin:notifications_mailtemplate_edit", args=["ticket_new_for_author", "en"]),
        reverse("admin:notifications_outboxmessage_changelist"),
        reverse("admin:mail_inboundmail_changelist"),
        reverse("admin:mail_mailbox_changelist"),
        reverse("admin:sla_slalevel_changelist"),
        reverse("admin:tickets_moduleoptions_changelist"),
    ]
    timetable = Timetable.objects.first()
    if timetable is not None:
        custom.append(reverse("admin:sla_timetable_month", args=[timetable.pk]))
    for url in custom:
        response = demo.get(url)
        assert response.status_code in (200, 302), url
        assert 'name="_save"' not in response.content.decode(), url


def test_demo_change_pages_show_no_save_buttons(configured):
    demo = logged_in(configured.demo)
    pages = existing_change_pages()
    assert len(pages) >= 8
    for url in pages:
        response = demo.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert 'name="_save"' not in html and 'name="_continue"' not in html, url


def test_demo_every_configuration_post_refused_with_a_message_nothing_saved(configured):
    demo = logged_in(configured.demo)
    before = snapshot()
    urls = [url for _name, url in admin_routes()] + existing_change_pages()
    for url in urls:
        response = demo.post(url, {"action": "delete_selected", "_selected_action": ["1"], "post": "yes"})
        assert response.status_code == 302 and response["Location"] == url, url
    page = demo.get(urls[-1], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Demo access is read-only" in page
    assert snapshot() == before


def test_demo_configuration_lists_offer_no_actions(configured):
    demo = logged_in(configured.demo)
    html = demo.get(reverse("admin:dictionaries_dictionaryentry_changelist")).content.decode()
    assert 'name="action"' not in html
    admin = logged_in(configured.admin)
    assert (
        'name="action"'
        in admin.get(reverse("admin:dictionaries_dictionaryentry_changelist")).content.decode()
    )


# -- quoted history -------------------------------------------------------------------------------------------
@pytest.fixture
def quoted_reply(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(
        actor=cast.staff,
        ticket=ticket,
        draft=services.MessageDraft(body="Internal: the customer owes us money", hidden=True),
    )
    reply = services.message_post(
        actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Thanks!")
    )
    # As the mail channel keeps it: the history the client's mail quoted.
    Message.objects.filter(pk=reply.pk).update(quoted="QUOTED-SECRET internal remark")
    return ticket, reply


def test_policy_sees_quoted_staff_admin_only(cast):
    assert TicketPolicy(cast.staff).sees_quoted and TicketPolicy(cast.admin).sees_quoted
    assert not TicketPolicy(cast.demo).sees_quoted and not TicketPolicy(cast.client).sees_quoted


def test_demo_staff_page_and_api_never_show_quoted_history(cast, quoted_reply):
    ticket, _reply = quoted_reply
    demo, staff = logged_in(cast.demo), logged_in(cast.staff)
    url = reverse("tickets:staff_detail", args=[ticket.pk])
    assert "QUOTED-SECRET" in staff.get(url).content.decode()
    assert "QUOTED-SECRET" not in demo.get(url).content.decode()
    api = f"/api/v1/tickets/{ticket.pk}/messages"
    assert "QUOTED-SECRET" in staff.get(api).content.decode()
    demo_answer = demo.get(api)
    assert demo_answer.status_code == 200 and "QUOTED-SECRET" not in demo_answer.content.decode()


def test_demo_never_downloads_inbound_original(cast):
    from otklik.mail.models import InboundMail

    mail_ingest(mail(body="Hello\n\n> QUOTED-SECRET earlier"))
    row = InboundMail.objects.get()
    demo = logged_in(cast.demo)
    page = demo.get(reverse("admin:mail_inboundmail_change", args=[row.pk])).content.decode()
    assert "QUOTED-SECRET" not in page
    assert demo.get(reverse("admin:mail_inboundmail_original", args=[row.pk])).status_code == 404


def test_demo_user_page_shows_the_confirmed_box_read_only(cast):
    html = logged_in(cast.demo).get(reverse("admin:auth_user_change", args=[cast.client.pk])).content.decode()
    assert "field-email_confirmed" in html and "icon-yes" in html and 'name="email_confirmed"' not in html


def test_demo_mail_template_preview_works_save_refused(cast):
    from otklik.notifications.models import MailTemplate

    demo = logged_in(cast.demo)
    url = reverse("admin:notifications_mailtemplate_edit", args=["ticket_new_for_author", "en"])
    data = {"subject": "Zebra {{ title }}", "body": "Zebra-body of {{ title }}"}
    preview = demo.post(url, {**data, "_preview": "1"})
    assert preview.status_code == 200 and "Zebra-body" in preview.content.decode()
    saved = demo.post(url, {**data, "_save": "1"})
    assert saved.status_code == 302 and not MailTemplate.objects.exists()
