"""An admin reads the process version page (diagram drawn inline, JSON), checks a broken edit that lists
its problems, and the page fits a 390 px phone; in a real browser.

Screenshots go to test-artifacts/browser/ (process-diagram.png, process-version-390.png).
"""

from __future__ import annotations

import copy
import json

import pytest

from otklik.accounts.models import AccessLevel
from otklik.accounts.services import user_create
from otklik.workflow.models import ProcessVersion
from otklik.workflow.services import process_version_save
from tests.helpers import browser_login
from tests.workflow.test_diagram import SHIPPED

pytestmark = [pytest.mark.browser]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_admin_reads_the_diagram_and_a_broken_edit_lists_its_problems(live_server, new_context, artifacts):
    base = live_server.url
    user_create(
        username="anna",
        email="anna@example.com",
        password="pass-Word-123",
        levels=(AccessLevel.ADMIN,),
        language="en",
    )
    # A transactional test may follow one that flushed the migration's rows: save the shipped one again.
    version = ProcessVersion.objects.filter(code="three-tier", active=True).first() or process_version_save(
        actor=None, data=SHIPPED
    )
    page = new_context().new_page()
    browser_login(page, base, "anna")

    # 1. The version page draws the process: every state's box is on screen, the text is real text.
    page.goto(f"{base}/admin/workflow/processversion/{version.pk}/")
    diagram = page.locator("#process-diagram svg")
    assert diagram.is_visible()
    for code in SHIPPED["states"]:
        box = page.locator(f'#process-diagram g[data-state="{code}"] rect.outer').bounding_box()
        assert box and box["width"] > 40 and box["height"] > 20, code
    assert "Change board" in diagram.text_content()
    # No two state boxes overlap.
    boxes = [
        page.locator(f'#process-diagram g[data-state="{code}"] rect.outer').bounding_box()
        for code in SHIPPED["states"]
    ]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert (
                a["x"] + a["width"] <= b["x"]
                or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"]
                or b["y"] + b["height"] <= a["y"]
            )
    diagram.screenshot(path=str(artifacts / "process-diagram.png"))

    # 2. "Edit as a new version" with a transition nobody may take: the problem is listed, nothing saved.
    page.locator("a", has_text="Edit as a new version").click()
    broken = copy.deepcopy(SHIPPED)
    next(t for t in broken["transitions"] if t["code"] == "done")["roles"] = []
    page.fill("#id_definition", json.dumps(broken, ensure_ascii=False))
    page.locator("input[name=_save]").click()
    problems = page.locator("#definition-problems").inner_text()
    assert "work.done" in problems and "no role" in problems
    assert ProcessVersion.objects.filter(code="three-tier").count() == 1
    page.screenshot(path=str(artifacts / "process-upload-problems.png"))
    page.goto(f"{base}/admin/workflow/role/")
    page.locator("a", has_text="developer").first.click()
    assert "work" in page.locator(".field-states_block").inner_text()
    page.screenshot(path=str(artifacts / "process-role.png"), full_page=True)

    # 3. On a 390 px phone the page does not scroll sideways: the diagram scrolls inside its frame.
    phone = new_context()
    phone_page = phone.new_page()
    phone_page.set_viewport_size({"width": 390, "height": 844})
    browser_login(phone_page, base, "anna")
    phone_page.goto(f"{base}/admin/workflow/processversion/{version.pk}/")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    phone_page.screenshot(path=str(artifacts / "process-version-390.png"))
