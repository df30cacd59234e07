"""Issue 12: SLA level, timetable and exception names are stored in Russian and English and shown in the
viewer's language (they were single "ru · en" strings)."""

from __future__ import annotations

import importlib
from datetime import date

import pytest
from django.urls import reverse
from django.utils import translation

from otklik.notifications import catalog as c
from otklik.notifications.models import OutboxMessage
from otklik.sla.models import CalendarException, SlaLevel, Timetable, in_active_language
from otklik.sla.services import timetable_apply_calendar
from otklik.tickets import services
from tests.conftest import logged_in, make_user

pytestmark = pytest.mark.django_db

split_migration = importlib.import_module("otklik.sla.migrations.0004_bilingual_names")


@pytest.fixture
def gold(db) -> SlaLevel:
    timetable = Timetable.objects.create(
        code="office", name_ru="Офисные часы", name_en="Office hours", week=[[[0, 86400]]] * 7
    )
    return SlaLevel.objects.create(
        name_ru="Золотой",
        name_en="Gold",
        description_ru="Ответ за два часа.",
        description_en="Answer within two hours.",
        response_time=2,
        timetable=timetable,
        is_default=True,
    )


@pytest.mark.parametrize(
    ("language", "shown", "hidden"),
    [
        ("en", ["Gold", "Answer within two hours."], ["Золотой"]),
        ("ru", ["Золотой", "Ответ за два часа."], ["Gold"]),
    ],
)
def test_client_ticket_page_sla_shown_in_viewers_language(cast, gold, language, shown, hidden):
    ticket = services.ticket_create(
        actor=cast.client, draft=services.TicketDraft(title="Printer", message="It jams.")
    )
    page = logged_in(cast.client, language).get(reverse("tickets:client_detail", args=[ticket.pk]))
    text = page.content.decode()
    assert all(s in text for s in shown) and not any(h in text for h in hidden)


@pytest.mark.parametrize(
    ("language", "shown", "hidden"), [("en", "Office hours", "Офисные"), ("ru", "Офисные часы", "Office")]
)
def test_staff_ticket_page_sla_card_shown_in_viewers_language(cast, gold, language, shown, hidden):
    ticket = services.ticket_create(
        actor=cast.client, draft=services.TicketDraft(title="Printer", message="It jams.")
    )
    text = (
        logged_in(cast.staff, language)
        .get(reverse("tickets:staff_detail", args=[ticket.pk]))
        .content.decode()
    )
    name = "Gold" if language == "en" else "Золотой"
    assert f": {name}</h2>" in text and shown in text and hidden not in text


@pytest.mark.parametrize(("language", "name"), [("en", "Gold"), ("ru", "Золотой")])
def test_sla_admin_list_names_in_viewers_language(cast, gold, language, name):
    text = logged_in(cast.admin, language).get(reverse("admin:sla_slalevel_changelist")).content.decode()
    other = "Золотой" if language == "en" else "Gold"
    assert f">{name}</a>" in text and other not in text


def test_new_ticket_mail_sla_name_in_each_recipients_language(cast, gold):
    make_user("english_admin", "admin", language="en")
    ticket = services.ticket_create(
        actor=cast.client, draft=services.TicketDraft(title="Printer", message="It jams.")
    )
    bodies = {
        m.language: m.body_text
        for m in OutboxMessage.objects.filter(ticket_id=ticket.pk, event=c.NEW_FOR_SUPPORT)
    }
    assert "Service level: Gold" in bodies["en"] and "Золотой" not in bodies["en"]
    assert "Уровень поддержки: Золотой" in bodies["ru"] and "Gold" not in bodies["ru"]


def test_api_ticket_sla_name_in_callers_language_and_both(cast, gold):
    ticket = services.ticket_create(
        actor=cast.client, draft=services.TicketDraft(title="Printer", message="It jams.")
    )
    client = logged_in(cast.client, "en")
    sla = client.get(f"/api/v1/tickets/{ticket.pk}", HTTP_ACCEPT_LANGUAGE="en").json()["sla"]
    assert sla["name_ru"] == "Золотой" and sla["name_en"] == "Gold"
    assert sla["description_en"] == "Answer within two hours."


def test_name_empty_in_one_language_falls_back_to_the_other():
    assert in_active_language("Золотой", "") == "Золотой"
    with translation.override("en"):
        assert in_active_language("Золотой", "") == "Золотой"
        assert SlaLevel(name_ru="", name_en="Gold").name == "Gold"
    with translation.override("ru"):
        assert SlaLevel(name_ru="", name_en="Gold").name == "Gold"


def test_sla_without_any_name_is_refused_with_field_message():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        SlaLevel(name_ru=" ", name_en="").clean()
    assert "name_ru" in error.value.message_dict


def test_calendar_exceptions_get_names_in_both_languages(db):
    timetable = Timetable.objects.create(code="msk", name="Moscow", week=[[[36000, 68400]]] * 5 + [[], []])
    timetable_apply_calendar(timetable, 2025)
    new_year = CalendarException.objects.filter(timetable=timetable, first_day=date(2025, 1, 1)).get()
    assert (new_year.name_ru, new_year.name_en) == ("Праздничные дни", "Public holidays")
    short = CalendarException.objects.filter(timetable=timetable, kind="holiday_time").first()
    assert (short.name_ru, short.name_en) == ("Предпраздничный сокращённый день", "Pre-holiday short day")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Клиенты: VIP · Clients: VIP", ("Клиенты: VIP", "Clients: VIP")),
        ("VIP", ("VIP", "VIP")),
        ("", ("", "")),
        ("Круглосуточно · Around the clock (24/7)", ("Круглосуточно", "Around the clock (24/7)")),
    ],
)
def test_migration_split_puts_russian_first_and_english_second(value, expected):
    assert split_migration.split(value) == expected


def test_migration_split_description_also_on_slash():
    text = "Ответ в течение 4 рабочих часов. / Answer within 4 working hours."
    assert split_migration.split(text, (" · ", " / ")) == (
        "Ответ в течение 4 рабочих часов.",
        "Answer within 4 working hours.",
    )
