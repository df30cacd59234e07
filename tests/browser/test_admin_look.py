"""The configuration pages in the site's look, in a real browser: the top bar, the searchable multi-selects of
the SLA level page on one 1366x768 screen, and no sideways scrolling at 390 px.

Screenshots go to test-artifacts/browser/ (admin-*.png) and, when OTKLIK_SHOTS_DIR is set, there too.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from otklik.accounts.models import AccessLevel
from otklik.accounts.services import user_create
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.sla.models import CalendarException, ExceptionKind, SlaLevel
from tests.helpers import browser_login

pytestmark = [pytest.mark.browser]
WIDE = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def _shoot(page, artifacts: Path, name: str) -> None:
    path = artifacts / f"admin-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if extra := os.environ.get("OTKLIK_SHOTS_DIR"):
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)


def _page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_admin_picks_two_categories_by_search_and_pages_fit_a_phone(live_server, new_context, artifacts):
    base = live_server.url
    user_create(
        username="anna",
        email="anna@example.com",
        password="pass-Word-123",
        levels=(AccessLevel.ADMIN,),
        language="en",
    )
    for name in ("Billing", "Courier delays", "Returns and refunds", "Mobile app", "Accounts"):
        DictionaryEntry.objects.create(kind=DictionaryKind.CATEGORY, name_ru=name, name_en=name)
    level = SlaLevel.objects.create(name="Clients: standard", code="standard", response_time=4)
    CalendarException.objects.create(
        name="Company day", kind=ExceptionKind.HOLIDAY, first_day=date(2025, 3, 5), last_day=date(2025, 3, 5)
    )

    page = new_context().new_page()
    page.set_viewport_size(WIDE)
    browser_login(page, base, "anna")

    # 1. The index: the site's top bar with its menu, Configuration marked as the current page.
    page.goto(f"{base}/admin/")
    top = page.locator("header.top")
    assert top.locator(".brand").inner_text() == "Otklik"
    for link in ("Tickets", "Reports", "Knowledge base", "Configuration"):
        assert top.get_by_role("link", name=link, exact=True).count() == 1, link
    assert top.get_by_role("link", name="Configuration").get_attribute("aria-current") == "page"
    _shoot(page, artifacts, "index-1366")

    # 2. A changelist writes dates in the site's format.
    page.goto(f"{base}/admin/sla/calendarexception/")
    assert "05.03.2025" in page.locator("#result_list").inner_text()
    _shoot(page, artifacts, "changelist-1366")

    # 3. The SLA level page: every field and the save button on one screen, no two-list picker.
    page.goto(f"{base}/admin/sla/slalevel/{level.pk}/change/")
    assert page.locator(".selector").count() == 0
    assert page.locator(".ms").count() == 5
    _shoot(page, artifacts, "sla-1366")
    save = page.locator("input[name=_save]")
    box = save.bounding_box()
    assert box and box["y"] + box["height"] <= WIDE["height"], box
    assert _page_width(page) <= WIDE["width"]

    # Pick two categories by typing: Enter takes the only match, a click takes one of several.
    search = page.locator("#id_categories_filter")
    assert page.locator("label[for=id_categories_filter]").inner_text().startswith("Allowed categories")
    search.fill("couri")
    assert page.locator("#id_categories_options .ms-option:visible").count() == 1
    search.press("Enter")
    search.fill("re")
    page.locator("#id_categories_options .ms-option:visible", has_text="Returns and refunds").click()
    _shoot(page, artifacts, "sla-picking-1366")
    chips = page.locator("#id_categories + .ms .ms-chips")
    assert re.search(r"Courier delays.*Returns and refunds", chips.inner_text(), re.S)
    save.click()
    page.wait_for_url(re.compile(r"/admin/sla/slalevel/$"))
    level.refresh_from_db()
    assert sorted(level.categories.values_list("name_en", flat=True)) == [
        "Courier delays",
        "Returns and refunds",
    ]

    # Back on the page the chosen ones are chips, and a chip's button takes one away (keyboard reachable).
    page.goto(f"{base}/admin/sla/slalevel/{level.pk}/change/")
    remove = page.get_by_role("button", name="Remove: Courier delays")
    remove.focus()
    page.keyboard.press("Enter")
    assert page.evaluate(
        "[...document.getElementById('id_categories').selectedOptions].map(o => o.text)"
    ) == ["Returns and refunds"]

    # 4. A phone, 390 px wide: no sideways scrolling of the page.
    page.set_viewport_size(PHONE)
    for name, url in (
        ("index", "/admin/"),
        ("changelist", "/admin/sla/calendarexception/"),
        ("sla", f"/admin/sla/slalevel/{level.pk}/change/"),
    ):
        page.goto(base + url)
        assert _page_width(page) <= PHONE["width"], name
        _shoot(page, artifacts, f"{name}-390")
