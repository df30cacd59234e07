"""Fair assignment's configuration pages (issue 18, P7) in a real browser: an admin makes a pool, the next
new ticket goes to its member, and the pages do not scroll sideways at 390 px.

Screenshots go to test-artifacts/browser/ (pool-*.png).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType

from otklik.accounts.models import AccessLevel, SupportGroup
from otklik.accounts.services import support_group_add_member, user_create
from otklik.core import clock
from otklik.dictionaries.models import DictionaryEntry
from otklik.dictionaries.seed import load_dictionaries
from otklik.routing.models import AgentAbsence, AssignmentPool
from otklik.tickets import services
from tests.helpers import browser_login

pytestmark = [pytest.mark.browser]
PHONE = {"width": 390, "height": 844}


def _person(username: str, level: str, last_name: str = ""):
    return user_create(
        username=username,
        email=f"{username}@example.com",
        password="pass-Word-123",
        levels=(level,),
        language="en",
        last_name=last_name,
        email_confirmed=True,
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_admin_makes_a_pool_and_the_next_ticket_skips_the_absent_member(live_server, new_context, artifacts):
    load_dictionaries(DictionaryEntry)
    # An earlier transactional test's flush may have emptied the content types this process still caches:
    # the admin's change log must find (or make) the rows it points at.
    ContentType.objects.clear_cache()
    base = live_server.url
    _person("anna", AccessLevel.ADMIN)
    client = _person("client", AccessLevel.CLIENT)
    ivanova, petrov = (
        _person("ivanova", AccessLevel.STAFF, "Ivanova"),
        _person("petrov", AccessLevel.STAFF, "Petrov"),
    )
    group = SupportGroup.objects.create(name="L1 Moscow", kind=SupportGroup.Kind.STAFF)
    for person in (ivanova, petrov):
        support_group_add_member(group=group, user=person)
    now = clock.now()
    AgentAbsence.objects.create(
        user=ivanova, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=7)
    )

    page = new_context().new_page()
    browser_login(page, base, "anna")
    page.goto(f"{base}/admin/routing/assignmentpool/add/")
    page.fill("#id_name_ru", "L1 Москва")
    page.fill("#id_name_en", "L1 Moscow")
    page.select_option("#id_mode", "round_robin")
    page.select_option("#id_support_group", label="L1 Moscow")
    page.screenshot(path=str(artifacts / "pool-add-1280.png"), full_page=True)
    page.locator("input[name=_save]").click()
    page.wait_for_url(re.compile(r"/admin/routing/assignmentpool/$"))
    assert "L1 Moscow" in page.locator("#result_list").inner_text()
    pool = AssignmentPool.objects.get()
    assert pool.support_group == group and pool.active

    ticket = services.ticket_create(
        actor=client, draft=services.TicketDraft(title="Printer", message="It jams.")
    )
    assert ticket.responsible == petrov
    page.goto(f"{base}/admin/routing/assignmentpool/")
    assert "Petrov" in page.locator("#result_list").inner_text()  # the last assigned
    page.screenshot(path=str(artifacts / "pool-list-1280.png"), full_page=True)

    page.set_viewport_size(PHONE)
    for name, url in (
        ("list", "/admin/routing/assignmentpool/"),
        ("change", f"/admin/routing/assignmentpool/{pool.pk}/change/"),
        ("absences", "/admin/routing/agentabsence/"),
        ("absence-add", "/admin/routing/agentabsence/add/"),
        ("work-time-add", "/admin/routing/agentworktime/add/"),
    ):
        page.goto(base + url)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
        page.screenshot(path=str(artifacts / f"pool-{name}-390.png"), full_page=True)
