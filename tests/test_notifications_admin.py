"""The notification configuration pages (F-11): the outbox (state, last error, retry, delete) and the mail
templates per event and language (every pair listed, edit, validation, preview, reset, used by real mail)."""

from __future__ import annotations

import html as html_lib
import itertools
import re

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from otklik.accounts.models import Profile
from otklik.core import clock
from otklik.notifications import catalog
from otklik.notifications.defaults import default_template
from otklik.notifications.models import MailTemplate, OutboxMessage, OutboxState
from otklik.tickets.services import TicketDraft, ticket_create
from tests.conftest import logged_in

OUTBOX = reverse("admin:notifications_outboxmessage_changelist")
TEMPLATES = reverse("admin:notifications_mailtemplate_changelist")
_serial = itertools.count(1)


@pytest.fixture
def admin(cast) -> Client:
    return logged_in(cast.admin)


def page(response) -> str:
    return response.content.decode()


def outbox_row(state: str = OutboxState.PENDING, **fields) -> OutboxMessage:
    """Write an outbox row as the notification services would (fixtures only; the admin never adds)."""
    n = next(_serial)
    now = clock.now()
    values = {
        "event": catalog.NEW_FOR_AUTHOR,
        "ticket_id": 4000 + n,
        "language": "en",
        "from_email": "support@example.com",
        "to": [f"reader{n}@example.com"],
        "subject": f"[TID#{4000 + n}] Message number {n}",
        "body_text": f"Body of message {n}\n",
        "body_html": f"<p>Body of message {n}</p>",
        "message_id": f"<otklik.test.{n}@example.com>",
        "created_at": now,
        "next_attempt_at": now,
        "state": state,
    }
    values.update(fields)
    return OutboxMessage.objects.create(**values)


def edit_url(event: str, language: str) -> str:
    return reverse("admin:notifications_mailtemplate_edit", args=[event, language])


def reset_url(event: str, language: str) -> str:
    return reverse("admin:notifications_mailtemplate_reset", args=[event, language])


# -- who may open the pages ------------------------------------------------------------------------
# Demo access sees these pages read-only (SPEC F-01): tests/test_demo_readonly.py.
@pytest.mark.parametrize("who", ["staff", "client"])
def test_notification_pages_non_admin_redirected_to_login(cast, who):
    row = outbox_row(state=OutboxState.FAILED)
    browser = logged_in(getattr(cast, who))
    urls = [
        OUTBOX,
        reverse("admin:notifications_outboxmessage_change", args=[row.pk]),
        TEMPLATES,
        edit_url(catalog.NEW_FOR_AUTHOR, "en"),
        reset_url(catalog.NEW_FOR_AUTHOR, "en"),
    ]
    for url in urls:
        response = browser.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url
    response = browser.post(OUTBOX, {"action": "retry_now", "_selected_action": [row.pk]}, follow=False)
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.state == OutboxState.FAILED


# -- the outbox --------------------------------------------------------------------------------------
def test_outbox_list_shows_rows_in_each_state(admin):
    rows = {state: outbox_row(state=state) for state in OutboxState.values}
    OutboxMessage.objects.filter(pk=rows[OutboxState.FAILED].pk).update(
        last_error="SMTP 550 mailbox unavailable", attempts=5
    )
    response = admin.get(OUTBOX)
    assert response.status_code == 200
    text = page(response)
    for state, row in rows.items():
        assert row.subject in text
        assert f"outbox-state-{state}" in text
    assert "SMTP 550 mailbox unavailable" in text
    ticket_href = reverse("tickets:staff_detail", kwargs={"ticket_id": rows[OutboxState.SENT].ticket_id})
    assert f'href="{ticket_href}"' in text
    assert reverse("admin:notifications_outboxmessage_add") not in text


def test_outbox_list_filter_by_state_shows_that_state_only(admin):
    failed = outbox_row(state=OutboxState.FAILED)
    sent = outbox_row(state=OutboxState.SENT)
    text = page(admin.get(OUTBOX, {"state__exact": OutboxState.FAILED}))
    assert failed.subject in text
    assert sent.subject not in text


def test_outbox_list_search_by_recipient_finds_the_row(admin):
    wanted = outbox_row(to=["boss@romashka.example"])
    other = outbox_row()
    text = page(admin.get(OUTBOX, {"q": "boss@romashka"}))
    assert wanted.subject in text
    assert other.subject not in text


def test_outbox_list_query_count_stays_constant_as_rows_grow(admin):
    for state in OutboxState.values:
        outbox_row(state=state, cc=["cc@example.com"], bcc=["bcc@example.com"])
    admin.get(OUTBOX)  # warm up the session and the content types
    with CaptureQueriesContext(connection) as few:
        assert admin.get(OUTBOX).status_code == 200
    for n in range(30):
        outbox_row(state=OutboxState.values[n % 4], last_error="timeout" if n % 4 == 3 else "")
    with CaptureQueriesContext(connection) as many:
        assert admin.get(OUTBOX).status_code == 200
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_outbox_detail_shows_last_error_and_bodies_safely(admin):
    row = outbox_row(
        state=OutboxState.FAILED,
        last_error="SMTPRecipientsRefused: 550 <reader@example.com> unknown",
        body_text="Hello,\n\n<b>not bold</b> here\n",
        body_html='<p>Hi</p><script>alert("x")</script>',
        cc=["copy@example.com"],
        names={"copy@example.com": "Copy Person"},
    )
    response = admin.get(reverse("admin:notifications_outboxmessage_change", args=[row.pk]))
    assert response.status_code == 200
    text = page(response)
    assert "SMTPRecipientsRefused: 550 &lt;reader@example.com&gt; unknown" in text
    assert '<pre class="outbox-text">Hello,\n\n&lt;b&gt;not bold&lt;/b&gt; here\n</pre>' in text
    # The HTML part sits escaped in a sandboxed frame's srcdoc, never as live markup of the page.
    frame = re.search(r"<iframe[^>]*>", text).group(0)
    assert "sandbox" in frame
    assert "<script>" not in frame
    assert html_lib.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1)) == row.body_html
    assert "<script>alert" not in text
    assert "Copy Person &lt;copy@example.com&gt;" in text
    assert 'name="_retry"' in text
    # Read-only: no save button and no delete link on the page.
    assert 'name="_save"' not in text
    assert reverse("admin:notifications_outboxmessage_delete", args=[row.pk]) not in text


def test_outbox_detail_post_cannot_change_the_content(admin):
    row = outbox_row(state=OutboxState.FAILED)
    url = reverse("admin:notifications_outboxmessage_change", args=[row.pk])
    response = admin.post(url, {"subject": "changed", "_save": "Save"})
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.subject != "changed"


def test_outbox_retry_action_puts_failed_row_back_to_pending(admin):
    failed = outbox_row(state=OutboxState.FAILED, attempts=5, last_error="timeout")
    sent = outbox_row(state=OutboxState.SENT)
    with translation.override("en"):
        response = admin.post(
            OUTBOX, {"action": "retry_now", "_selected_action": [failed.pk, sent.pk]}, follow=True
        )
    assert response.status_code == 200
    text = page(response)
    assert "1 message is back in line for delivery." in text
    assert "1 message was left alone" in text
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert failed.state == OutboxState.PENDING
    assert sent.state == OutboxState.SENT


def test_outbox_retry_button_on_detail_page_puts_row_back(admin):
    failed = outbox_row(state=OutboxState.FAILED, attempts=5)
    url = reverse("admin:notifications_outboxmessage_change", args=[failed.pk])
    response = admin.post(url, {"_retry": "Retry now"}, follow=True)
    assert response.status_code == 200
    assert "back in line for delivery" in page(response)
    failed.refresh_from_db()
    assert failed.state == OutboxState.PENDING


def test_outbox_delete_only_through_confirmed_action(admin):
    row = outbox_row(state=OutboxState.SENT)
    assert admin.get(reverse("admin:notifications_outboxmessage_delete", args=[row.pk])).status_code == 403
    data = {"action": "delete_selected", "_selected_action": [row.pk]}
    confirm = admin.post(OUTBOX, data)
    assert confirm.status_code == 200
    assert "Are you sure" in page(confirm)
    assert OutboxMessage.objects.filter(pk=row.pk).exists()
    admin.post(OUTBOX, {**data, "post": "yes"})
    assert not OutboxMessage.objects.filter(pk=row.pk).exists()


# -- mail templates ---------------------------------------------------------------------------------
def test_template_list_shows_every_event_language_pair(admin):
    MailTemplate.objects.create(
        event=catalog.OVERDUE, language="en", subject="Late: {{ title }}", body="Late."
    )
    response = admin.get(TEMPLATES)
    assert response.status_code == 200
    text = page(response)
    pairs = re.findall(r'<tr id="template-([a-z_]+)-([a-z]+)" class="([a-z-]+)"', text)
    assert len(pairs) == len(catalog.EVENTS) * len(settings.LANGUAGES)
    assert {(e, lang) for e, lang, _css in pairs} == {
        (e, lang) for e, _l in catalog.EVENTS for lang, _n in settings.LANGUAGES
    }
    states = {(e, lang): css for e, lang, css in pairs}
    assert states[(catalog.OVERDUE, "en")] == "customised"
    assert states[(catalog.OVERDUE, "ru")] == "built-in"
    assert "Late: {{ title }}" in text
    assert html_lib.escape(default_template(catalog.NEW_FOR_AUTHOR, "en")[0]) in text


def test_template_edit_page_documents_placeholders_and_shows_built_in_text(admin):
    response = admin.get(edit_url(catalog.NEW_FOR_SUPPORT, "en"))
    assert response.status_code == 200
    text = page(response)
    for name, _description in catalog.PLACEHOLDERS:
        assert f"<code>{{{{ {name} }}}}</code>" in text
    subject, _body = default_template(catalog.NEW_FOR_SUPPORT, "en")
    assert f'value="{html_lib.escape(subject)}"' in text
    assert "built-in" in text


def test_template_edit_unknown_pair_is_404(admin):
    assert admin.get(edit_url("no_such_event", "en")).status_code == 404
    assert admin.get(edit_url(catalog.NEW_FOR_AUTHOR, "de")).status_code == 404


def test_template_edit_saves_and_records_the_admin(admin, cast):
    data = {
        "subject": "We got it: {{ title }}",
        "body": "Ticket {{ ticket_id }} is ours now.\n",
        "_save": "Save",
    }
    response = admin.post(edit_url(catalog.NEW_FOR_AUTHOR, "en"), data)
    assert response.status_code == 302
    assert response["Location"] == TEMPLATES
    saved = MailTemplate.objects.get(event=catalog.NEW_FOR_AUTHOR, language="en")
    assert saved.subject == "We got it: {{ title }}"
    assert saved.updated_by == cast.admin
    # Saving again changes the same row.
    admin.post(edit_url(catalog.NEW_FOR_AUTHOR, "en"), {**data, "subject": "Again: {{ title }}"})
    assert MailTemplate.objects.filter(event=catalog.NEW_FOR_AUTHOR).count() == 1
    assert (
        MailTemplate.objects.get(event=catalog.NEW_FOR_AUTHOR, language="en").subject == "Again: {{ title }}"
    )


@pytest.mark.parametrize(
    ("field", "source", "message"),
    [
        ("subject", "Hello {% if title %}", "syntax error"),
        ("body", "Hello {{ title|no_such_filter }}", "syntax error"),
        ("body", "{% load i18n %}{% trans 'x' %}", "syntax error"),
        ("body", "{% include 'other.txt' %}", "fails when it is filled in"),
    ],
)
def test_template_edit_bad_template_gives_field_error(admin, field, source, message):
    data = {"subject": "Fine {{ title }}", "body": "Fine {{ title }}", field: source, "_save": "Save"}
    with translation.override("en"):
        response = admin.post(edit_url(catalog.OVERDUE, "en"), data)
    assert response.status_code == 200
    text = page(response)
    errors = re.search(
        rf'<div class="form-row errors field-{field}">\s*<ul class="errorlist"[^>]*>(.*?)</ul>', text, re.S
    )
    assert errors, text
    assert message in errors.group(1)
    assert not MailTemplate.objects.filter(event=catalog.OVERDUE).exists()


def test_template_preview_renders_unsaved_input_with_sample_values(admin):
    data = {
        "subject": "About {{ title }}",
        "body": "Dear {{ author }},\n{{ message }}\n<b>{{ sla }}</b>\n",
        "_preview": "Preview",
    }
    response = admin.post(edit_url(catalog.CHANGED_BY_SUPPORT_FOR_AUTHOR, "en"), data)
    assert response.status_code == 200
    text = page(response)
    subject = re.search(r'<p class="subject" id="preview-subject">(.*?)</p>', text).group(1)
    assert subject == "[TID#1234] About The password e-mail does not arrive"
    body = re.search(r'<pre class="mail-text" id="preview-text">(.*?)</pre>', text, re.S).group(1)
    assert "Dear Ivan Petrov," in body
    assert "Please check the spam folder." in body
    assert "&lt;b&gt;VIP&lt;/b&gt;" in body
    frame = re.search(r'<iframe[^>]*id="preview-html"[^>]*>', text).group(0)
    assert "sandbox" in frame
    srcdoc = html_lib.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
    assert "Dear Ivan Petrov," in srcdoc
    # The HTML part lives only inside the sandboxed frame: the page itself shows no live markup of it.
    assert "<b>VIP</b>" not in text
    # The form keeps the input, and nothing is saved.
    assert "About {{ title }}" in text
    assert not MailTemplate.objects.exists()


def test_template_preview_in_russian_uses_russian_sample_values(admin):
    data = {"subject": "{{ title }}", "body": "{{ author }}", "_preview": "Preview"}
    text = page(admin.post(edit_url(catalog.NEW_FOR_AUTHOR, "ru"), data))
    assert "[TID#1234] Не приходит письмо с паролем" in text
    assert "Иван Петров" in text


def test_template_reset_asks_then_restores_built_in_text(admin):
    MailTemplate.objects.create(event=catalog.REMINDER, language="en", subject="Mine", body="Mine")
    confirm = admin.get(reset_url(catalog.REMINDER, "en"))
    assert confirm.status_code == 200
    assert "This cannot be undone." in page(confirm)
    assert MailTemplate.objects.filter(event=catalog.REMINDER).exists()
    response = admin.post(reset_url(catalog.REMINDER, "en"))
    assert response.status_code == 302
    assert not MailTemplate.objects.filter(event=catalog.REMINDER).exists()
    text = page(admin.get(edit_url(catalog.REMINDER, "en")))
    assert f'value="{html_lib.escape(default_template(catalog.REMINDER, "en")[0])}"' in text


def test_template_saved_by_admin_is_used_by_real_notification(admin, cast):
    Profile.objects.filter(user=cast.client).update(language="en")
    data = {
        "subject": "Admin's subject: {{ title }}",
        "body": "Admin's text for ticket {{ ticket_id }} by {{ author }}.\n",
        "_save": "Save",
    }
    assert admin.post(edit_url(catalog.NEW_FOR_AUTHOR, "en"), data).status_code == 302
    client = User.objects.get(pk=cast.client.pk)
    ticket = ticket_create(
        actor=client, draft=TicketDraft(title="Printer on fire", message="Smoke everywhere.")
    )
    mail = OutboxMessage.objects.get(ticket_id=ticket.pk, event=catalog.NEW_FOR_AUTHOR)
    assert mail.subject == f"[TID#{ticket.pk}] Admin's subject: Printer on fire"
    assert mail.body_text == f"Admin's text for ticket {ticket.pk} by Ivan Petrov.\n"
    assert mail.to == [client.email]


# -- module options ----------------------------------------------------------------------------------
def test_module_options_page_shows_mail_and_responsible_options(admin):
    from otklik.tickets.selectors import options_get

    options = options_get()
    response = admin.get(reverse("admin:tickets_moduleoptions_change", args=[options.pk]))
    assert response.status_code == 200
    text = page(response)
    for name in (
        "responsible_order",
        "default_responsible",
        "notify_overdue",
        "bcc_admins",
        "postponed_pauses_sla",
    ):
        assert f'name="{name}"' in text, name
    assert "Other" not in re.findall(r"<h2[^>]*>(.*?)</h2>", text)


# -- the services behind the pages ---------------------------------------------------------------------------
def test_mail_template_save_service_saves_then_updates_one_row(cast):
    from otklik.notifications.services import mail_template_save

    first = mail_template_save(
        actor=cast.admin, event="ticket_reminder", language="en", subject="Hurry {{ ticket_id }}", body="Now"
    )
    again = mail_template_save(
        actor=cast.staff, event="ticket_reminder", language="en", subject="S", body="B"
    )
    assert again.pk == first.pk and MailTemplate.objects.count() == 1
    assert (again.subject, again.body, again.updated_by) == ("S", "B", cast.staff)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"event": "no_such_event"}, "event"),
        ({"language": "de"}, "language"),
        ({"subject": "  "}, "subject"),
        ({"subject": "Two\nlines"}, "subject"),
        ({"subject": "{% if %}"}, "subject"),
        ({"body": "{% for x in %}"}, "body"),
        ({"body": "{% url 'nowhere' %}"}, "body"),
    ],
)
def test_mail_template_save_service_refuses_bad_input_with_field_error(cast, values, field):
    from otklik.core.errors import ValidationFailed
    from otklik.notifications.services import mail_template_save

    args = {"event": "ticket_reminder", "language": "en", "subject": "S", "body": "B"} | values
    with pytest.raises(ValidationFailed) as refused:
        mail_template_save(actor=cast.admin, **args)
    assert field in refused.value.errors
    assert MailTemplate.objects.count() == 0


def test_mail_template_reset_service_removes_the_saved_text_only_once(cast):
    from otklik.notifications.services import mail_template_reset, mail_template_save

    mail_template_save(actor=cast.admin, event="ticket_reminder", language="ru", subject="S", body="B")
    assert mail_template_reset(event="ticket_reminder", language="ru") is True
    assert mail_template_reset(event="ticket_reminder", language="ru") is False
    assert MailTemplate.objects.count() == 0
