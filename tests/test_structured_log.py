"""Issue 12: log lines are data rendered in the reader's language, not text frozen in the writer's.

A change made under Russian reads in English for an English reader (staff page, history CSV, API, mail);
the SLA job's lines likewise; the migration turns the text written until now (either language) into data.
"""

from __future__ import annotations

import csv
import importlib
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from otklik.core import clock
from otklik.dictionaries.models import DictionaryEntry
from otklik.notifications import catalog as c
from otklik.notifications.models import OutboxMessage
from otklik.sla.models import SlaLevel
from otklik.tickets import services
from otklik.tickets.loglines import item_text, log_lines, log_value
from otklik.tickets.models import Message, MessageKind
from otklik.tickets.services.sla_tick import sla_tick
from tests.conftest import logged_in, make_user

pytestmark = pytest.mark.django_db

structured_log = importlib.import_module("otklik.tickets.migrations.0013_structured_log")


def entry(kind: str, code: str) -> DictionaryEntry:
    return DictionaryEntry.objects.get(kind=kind, code=code)


@pytest.fixture
def changed_in_russian(cast, make_ticket):
    """A ticket whose status and postponement staff changed with a Russian interface."""
    ticket = make_ticket()
    with translation.override("ru"):
        services.ticket_update(
            actor=cast.staff,
            ticket=ticket,
            changes={"status": entry("status", "in_progress"), "is_postponed": True},
        )
    return ticket


def english_status_line(ticket) -> str:
    status = entry("status", "in_progress")
    return f"status: {entry('status', 'accepted').name_en} → {status.name_en}"


def test_staff_page_change_made_in_russian_shown_in_english(cast, changed_in_russian):
    ticket = changed_in_russian
    page = logged_in(cast.staff, "en").get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    # The page shows each change as a sentence naming who made it, in the reader's language.
    assert (
        f"set status to {entry('status', 'in_progress').name_en}" in page and "set postponed to yes" in page
    )
    assert "Being solved" in page
    russian = (
        logged_in(cast.staff2, "ru").get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    )
    assert f": статус → {entry('status', 'in_progress').name_ru}" in russian


def test_history_csv_change_made_in_russian_in_readers_language(cast, changed_in_russian):
    ticket = changed_in_russian
    response = logged_in(cast.staff, "en").get(reverse("tickets:staff_history", args=[ticket.pk]))
    rows = list(csv.reader(io.StringIO(response.content.decode().lstrip("\ufeff"))))
    by_field = {row[3]: (row[4], row[5]) for row in rows[1:]}
    assert by_field["status"] == (entry("status", "accepted").name_en, entry("status", "in_progress").name_en)
    assert by_field["postponed"] == ("no", "yes")


def test_api_log_message_rendered_in_callers_language_with_data(cast, changed_in_russian):
    ticket = changed_in_russian
    rows = logged_in(cast.staff, "en").get(f"/api/v1/tickets/{ticket.pk}/messages").json()
    (log,) = [m for m in (rows["items"] if isinstance(rows, dict) else rows) if m["kind"] == "log"]
    assert english_status_line(ticket) in log["body"] and "postponed: no → yes" in log["body"]
    assert {
        "field": "is_postponed",
        "old": {"ru": "нет", "en": "no"},
        "new": {"ru": "да", "en": "yes"},
    } in log["data"]


def test_mail_listing_changes_in_recipients_language(cast):
    english = make_user("english", "client", language="en")
    ticket = services.ticket_create(
        actor=english, draft=services.TicketDraft(title="Printer", message="It jams.")
    )
    with translation.override("ru"):
        services.ticket_update(
            actor=cast.staff, ticket=ticket, changes={"status": entry("status", "in_progress")}
        )
    (mail,) = OutboxMessage.objects.filter(ticket_id=ticket.pk, event=c.CHANGED_BY_SUPPORT_FOR_AUTHOR)
    assert mail.language == "en"
    assert f"→ {entry('status', 'in_progress').name_en}" in mail.body_text
    assert entry("status", "in_progress").name_ru not in mail.body_text


def test_sla_job_overdue_line_shown_in_readers_language(cast, make_ticket):
    sla = SlaLevel.objects.create(name="Fast", response_time=1, response_unit="hours", is_default=True)
    ticket = make_ticket()
    assert ticket.sla_id == sla.pk and ticket.deadline_at
    with translation.override("ru"):
        assert sla_tick(ticket.deadline_at + timedelta(minutes=1)).overdue == 1
    english = (
        logged_in(cast.staff, "en").get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    )
    assert "Overdue: the response deadline passed." in english and "Просрочено" not in english
    russian = (
        logged_in(cast.staff2, "ru").get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    )
    assert "Overdue: the response deadline passed." not in russian


def test_auto_close_lines_in_readers_language(cast, make_ticket, settings):
    ticket = make_ticket()
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Try again, please.")
    )
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"auto_close_days": 1})
    assert sla_tick(clock.now() + timedelta(days=2)).auto_closed == 1
    log = Message.objects.filter(ticket=ticket, kind=MessageKind.LOG).order_by("-number").first()
    with translation.override("en"):
        assert log_lines(log.data) == ["Closed automatically: the client did not reply.", "closed: no → yes"]
    with translation.override("ru"):
        assert log_lines(log.data)[1] == "закрыто: нет → да"


def test_split_notes_shown_in_readers_language(cast, make_ticket):
    ticket = make_ticket()
    reply = services.message_post(
        actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Another problem: the printer.")
    )
    with translation.override("ru"):
        new = services.ticket_split(actor=cast.staff, ticket=ticket, message=reply)
    page = logged_in(cast.client, "en").get(reverse("tickets:client_detail", args=[new.pk])).content.decode()
    assert f"This ticket was split from ticket #{ticket.pk}." in page


def test_log_value_keeps_both_languages_of_named_values():
    with translation.override("ru"):
        assert log_value(True) == {"ru": "да", "en": "yes"}
        assert log_value(None) is None and log_value("") is None
        assert log_value(3) == "3"


def test_item_text_unknown_code_and_text_shown_as_written():
    assert item_text({"text": "Что-то старое"}) == "Что-то старое"
    assert item_text({"code": "no-such-code"}) == "no-such-code"
    with translation.override("en"):
        assert (
            item_text({"field": "status", "old": None, "new": {"ru": "", "en": "Done"}}) == "status: — → Done"
        )
        assert (
            item_text({"field": "status", "old": None, "new": {"ru": "Готово", "en": ""}})
            == "status: — → Готово"
        )


# -- the migration's converter -------------------------------------------------------------------
VALUES = {
    ("status", "Новое"): {"ru": "Новое", "en": "New"},
    ("status", "New"): {"ru": "Новое", "en": "New"},
    ("status", "В работе"): {"ru": "В работе", "en": "In progress"},
    ("status", "In progress"): {"ru": "В работе", "en": "In progress"},
    ("closed", "нет"): {"ru": "нет", "en": "no"},
    ("closed", "да"): {"ru": "да", "en": "yes"},
    ("closed", "no"): {"ru": "нет", "en": "no"},
    ("closed", "yes"): {"ru": "да", "en": "yes"},
}
LABELS = {"статус": "status", "status": "status", "закрыто": "closed", "closed": "closed", "split": "split"}
LINES = {
    "Просрочено: срок ответа истёк.": "overdue",
    "Overdue: the response deadline passed.": "overdue",
    "Closed automatically: the client did not reply.": "auto_closed",
}


def convert(body: str) -> list:
    return structured_log.log_body_to_data(body, labels=LABELS, lines=LINES, values=VALUES)


def test_converter_reads_russian_change_lines():
    assert convert("Статус: Новое → В работе\nЗакрыто: нет → да") == [
        {
            "field": "status",
            "old": {"ru": "Новое", "en": "New"},
            "new": {"ru": "В работе", "en": "In progress"},
        },
        {"field": "closed", "old": {"ru": "нет", "en": "no"}, "new": {"ru": "да", "en": "yes"}},
    ]


def test_converter_reads_english_change_lines_and_system_lines():
    assert convert("Overdue: the response deadline passed.") == [{"code": "overdue"}]
    assert convert("Просрочено: срок ответа истёк.") == [{"code": "overdue"}]
    assert convert("Closed automatically: the client did not reply.\nclosed: no → yes") == [
        {"code": "auto_closed"},
        {"field": "closed", "old": {"ru": "нет", "en": "no"}, "new": {"ru": "да", "en": "yes"}},
    ]
    assert convert("status: New → Archived") == [
        {"field": "status", "old": {"ru": "Новое", "en": "New"}, "new": "Archived"}
    ]


def test_converter_keeps_unknown_text_and_reads_split_arrows():
    assert convert("split: — → → #12") == [{"field": "split", "old": None, "new": "→ #12"}]
    assert convert("Something else: entirely") == [{"text": "Something else: entirely"}]
    assert convert("") == []


def test_converter_vocabulary_has_labels_and_lines_in_both_languages():
    labels, lines, values = structured_log.vocabulary()
    assert labels["status"] == "status" and labels["статус"] == "status"
    assert lines["Overdue: the response deadline passed."] == "overdue"
    assert sum(1 for code in lines.values() if code == "overdue") == 2
    assert values[("closed", "да")] == {"ru": "да", "en": "yes"}


def test_migration_converts_stored_rows(cast, make_ticket):
    ticket = make_ticket()
    at = timezone.now()
    russian = Message.objects.create(
        ticket=ticket, number=50, kind=MessageKind.LOG, body="Отложено: нет → да", created_at=at
    )
    from django.apps import apps

    structured_log.forwards(apps, None)
    russian.refresh_from_db()
    assert russian.data == [
        {"field": "is_postponed", "old": {"ru": "нет", "en": "no"}, "new": {"ru": "да", "en": "yes"}}
    ]
    with translation.override("en"):
        assert russian.log_lines == ["postponed: no → yes"]


def test_creation_line_shown_in_readers_language(cast, db):
    SlaLevel.objects.create(name_ru="Золотой", name_en="Gold", response_time=2, is_default=True)
    with translation.override("ru"):
        ticket = services.ticket_create(
            actor=cast.client, draft=services.TicketDraft(title="Printer", message="It jams.")
        )
    english = (
        logged_in(cast.staff, "en").get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    )
    assert "SLA: Gold (the default level)" in english and "Золотой" not in english
    russian = (
        logged_in(cast.staff2, "ru").get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    )
    assert "SLA: Золотой" in russian


def test_edited_split_note_shows_the_admins_text(cast, make_ticket):
    ticket = make_ticket()
    reply = services.message_post(
        actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Another problem: the printer.")
    )
    new = services.ticket_split(actor=cast.staff, ticket=ticket, message=reply)
    note = Message.objects.filter(ticket=new, kind=MessageKind.NO_STATUS).first()
    assert note.data
    services.message_edit(actor=cast.admin, message=note, body="Split from the printer ticket.")
    note.refresh_from_db()
    assert note.data is None and note.shown_text == "Split from the printer ticket."
