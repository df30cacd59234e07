"""Issue 12 in a real browser: the staff and client ticket pages show the SLA and the log lines in the
reader's language, at 1366 and 390 px wide without horizontal scroll.

Screenshots go to test-artifacts/browser/bilingual-<page>-<language>-<width>.png.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import translation

from otklik.accounts.models import AccessLevel, Profile
from otklik.accounts.services import user_create
from otklik.dictionaries.models import DictionaryEntry
from otklik.dictionaries.seed import load_dictionaries
from otklik.sla.models import SlaLevel, Timetable
from otklik.tickets import services
from otklik.tickets.services.sla_tick import sla_tick

pytestmark = [pytest.mark.browser]

# The elements that stick out on the right, named in the failure message.
WIDEST = """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right) + ' ' + (e.innerText || '').slice(0, 60))"""
EXPECTED = {
    ("staff", "en"): ["SLA: Gold", "Office hours", "Overdue: the response deadline passed.", "status: "],
    ("staff", "ru"): ["SLA: Золотой", "Офисные часы", "Просрочено: срок ответа истёк.", "статус: "],
    ("client", "en"): ["Service level: Gold", "Answer within two hours."],
    ("client", "ru"): ["Золотой", "Ответ за два часа."],
}


def _session_cookie(user, base: str) -> dict:
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ticket_pages_show_sla_and_log_in_viewers_language_at_both_widths(live_server, chromium, artifacts):
    load_dictionaries(DictionaryEntry)  # an earlier plain flush in this worker may have taken the seeded ones
    base = live_server.url
    timetable = Timetable.objects.create(
        code="office", name_ru="Офисные часы", name_en="Office hours", week=[[[0, 86400]]] * 7
    )
    SlaLevel.objects.create(
        name_ru="Золотой",
        name_en="Gold",
        description_ru="Ответ за два часа.",
        description_en="Answer within two hours.",
        response_time=2,
        timetable=timetable,
        is_default=True,
    )
    client = user_create(
        username="ivan", email="ivan@example.com", password="pass-Word-123", levels=[AccessLevel.CLIENT]
    )
    staff = user_create(
        username="anna", email="anna@example.com", password="pass-Word-123", levels=[AccessLevel.STAFF]
    )
    ticket = services.ticket_create(
        actor=client, draft=services.TicketDraft(title="The printer jams", message="It jams on every page.")
    )
    with translation.override("ru"):
        status = DictionaryEntry.objects.get(kind="status", code="in_progress")
        services.ticket_update(actor=staff, ticket=ticket, changes={"status": status, "is_postponed": False})
        ticket.refresh_from_db()
        assert sla_tick(ticket.deadline_at + timedelta(minutes=1)).overdue == 1
        services.message_post(
            actor=staff, ticket=ticket, draft=services.MessageDraft(body="Проверяем. / We are checking.")
        )
        services.message_post(actor=client, ticket=ticket, draft=services.MessageDraft(body="Still jams."))
    pages = {"staff": (staff, f"/staff/tickets/{ticket.pk}/"), "client": (client, f"/tickets/{ticket.pk}/")}
    for (page_name, language), expected in EXPECTED.items():
        user, path = pages[page_name]
        Profile.objects.filter(user=user).update(language=language)
        for width in (1366, 390):
            context = chromium.new_context(viewport={"width": width, "height": 900})
            try:
                context.add_cookies([_session_cookie(user, base)])
                page = context.new_page()
                page.goto(base + path)
                text = page.locator("main").inner_text()
                page.screenshot(
                    path=str(artifacts / f"bilingual-{page_name}-{language}-{width}.png"), full_page=True
                )
                for snippet in expected:
                    assert snippet in text, (page_name, language, width, snippet)
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, (page_name, language, width, page.evaluate(WIDEST))
            finally:
                context.close()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sla_admin_form_edits_both_languages_side_by_side(live_server, chromium, artifacts):
    base = live_server.url
    sla = SlaLevel.objects.create(
        name_ru="Золотой", name_en="Gold", description_ru="Ответ за два часа.", description_en="Two hours."
    )
    admin = user_create(
        username="olga", email="olga@example.com", password="pass-Word-123", levels=[AccessLevel.ADMIN]
    )
    for language in ("en", "ru"):
        Profile.objects.filter(user=admin).update(language=language)
        for width in (1366, 390):
            context = chromium.new_context(viewport={"width": width, "height": 900})
            try:
                context.add_cookies([_session_cookie(admin, base)])
                page = context.new_page()
                page.goto(f"{base}/admin/sla/slalevel/{sla.pk}/change/")
                page.screenshot(path=str(artifacts / f"bilingual-sla-admin-{language}-{width}.png"))
                assert page.locator("#id_name_ru").input_value() == "Золотой"
                assert page.locator("#id_name_en").input_value() == "Gold"
                if width == 1366:  # side by side: the two names on one row
                    ru, en = (
                        page.locator("#id_name_ru").bounding_box(),
                        page.locator("#id_name_en").bounding_box(),
                    )
                    assert abs(ru["y"] - en["y"]) < 5 and en["x"] > ru["x"]
            finally:
                context.close()
