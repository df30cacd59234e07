"""An admin applies the production calendar to a timetable and reads the month view, in a real browser;
a staff member then sees the ticket's SLA card with the deadline the calendar gives.

Screenshots go to test-artifacts/browser/ (06-month-view.png, 07-sla-card.png).
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from otklik.accounts.models import AccessLevel
from otklik.accounts.services import user_create
from otklik.core import clock
from otklik.sla.models import SlaLevel, Timetable
from otklik.tickets import services
from tests.helpers import browser_login

pytestmark = [pytest.mark.browser]
MSK = ZoneInfo("Europe/Moscow")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_admin_applies_the_calendar_and_staff_see_the_deadline_it_gives(live_server, new_context, artifacts):
    base = live_server.url
    user_create(
        username="anna",
        email="anna@example.com",
        password="pass-Word-123",
        levels=(AccessLevel.ADMIN,),
        language="en",
    )
    timetable = Timetable.objects.create(
        code="msk-workdays-10-19", name="Moscow office", week=[[[36000, 68400]]] * 5 + [[], []]
    )

    # 1. The admin applies the 2025 calendar through the list's action and its confirmation page.
    admin = new_context().new_page()
    browser_login(admin, base, "anna")
    admin.goto(f"{base}/admin/sla/timetable/")
    admin.check(f"input[name=_selected_action][value='{timetable.pk}']")
    admin.select_option("select[name=action]", "apply_production_calendar")
    admin.locator("button[name=index]").click()
    admin.select_option("select[name=year]", "2025")
    admin.locator("input[name=apply]").click()
    admin.wait_for_url(re.compile(r"/admin/sla/timetable/$"))
    assert "Applied the 2025 production calendar" in admin.locator("ul.messagelist").last.inner_text()

    # 2. November 2025 in the month view: a short working Saturday and the holidays after it.
    admin.goto(f"{base}/admin/sla/timetable/{timetable.pk}/month/?month=2025-11")
    saturday = admin.locator("#day-2025-11-01").inner_text()
    assert "10:00" in saturday and "18:00" in saturday
    assert "no working time" in admin.locator("#day-2025-11-04").inner_text()
    assert "19:00" in admin.locator("#day-2025-11-05").inner_text()
    admin.screenshot(path=str(artifacts / "06-month-view.png"), full_page=True)

    # 3. A ticket filed on Friday 31 October at 17:00 with 6 working hours is due on Saturday at 14:00.
    sla = SlaLevel.objects.create(
        name="Clients: standard", response_time=6, timetable=timetable, is_default=True
    )
    ivan = user_create(username="ivan", email="ivan@example.com", password="pass-Word-123")
    with clock.frozen(datetime(2025, 10, 31, 17, 0, tzinfo=MSK)):
        ticket = services.ticket_create(
            actor=ivan, draft=services.TicketDraft(title="Order stuck", message="It does not move.")
        )
    assert ticket.sla == sla
    admin.goto(f"{base}/staff/tickets/{ticket.pk}/")
    card = admin.locator("#sla").inner_text()
    assert "01.11.2025 14:00:00" in card and "31.10.2025 17:00:00" in card
    admin.locator("#sla").screenshot(path=str(artifacts / "07-sla-card.png"))
    assert (artifacts / "06-month-view.png").stat().st_size > 1000
