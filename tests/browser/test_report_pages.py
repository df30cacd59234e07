"""Every report page in a real browser (issue 16) over the demo's history: each renders its charts as inline
SVG with their tables, fits a laptop (1366 px) and a phone (390 px) without scrolling sideways, and
answers in the viewer's language.

Screenshots: test-artifacts/browser/report-<page>-<width>.png for every page; (with OTKLIK_DOCS_SCREENSHOTS=1) docs/screenshots/reports-desk.png
and reports-sla.png for the README.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from otklik.accounts.models import Profile
from otklik.reports.facts import facts_rebuild
from otklik.workflow.models import ProcessVersion
from otklik.workflow.services import process_version_save
from tests.browser.helpers import publish_screenshot

pytestmark = [pytest.mark.browser]
PASSWORD = "pass-Word-123"
SHIPPED = Path(__file__).resolve().parents[2] / "src" / "otklik" / "workflow" / "shipped" / "three-tier.json"
WIDTHS = (1366, 390)
# (page, path, what must be on it)
PAGES = (
    ("desk", "/reports/", "table.desk"),
    ("load", "/reports/load/", "svg"),
    ("sla", "/reports/sla/", "svg"),
    ("response-times", "/reports/response-times/", "svg"),
    ("funnel", "/reports/funnel/", "svg"),
    ("deflection", "/reports/deflection/", "table"),
)


def _world() -> None:
    """Load the demo (tickets with history, the process, the knowledge base) and measure its answers."""
    # An earlier transactional test's flush may have removed the shipped process and its roles.
    if not ProcessVersion.objects.filter(starts_new_tickets=True).exists():
        process_version_save(actor=None, data=json.loads(SHIPPED.read_text(encoding="utf-8")))
    call_command("demo", "--tickets", "120", stdout=io.StringIO())
    facts_rebuild()
    from django.contrib.auth.models import User

    admin = User.objects.get(username="admin")
    admin.set_password(PASSWORD)
    admin.save()
    Profile.objects.filter(user=admin).update(language="en")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_report_page_renders_its_charts_and_fits_a_laptop_and_a_phone(
    live_server, new_context, artifacts
):
    _world()
    today = timezone.localdate()
    period = f"date_from={(today - dt.timedelta(days=89)).isoformat()}&date_to={today.isoformat()}&grain=week"
    page = new_context().new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, path, selector in PAGES:
            query = "" if name == "desk" else period
            response = page.goto(f"{live_server.url}{path}?{query}")
            assert response is not None and response.status == 200, path
            assert page.locator(selector).count() >= 1, (path, selector)
            assert page.locator(".rep-nav a[aria-current=page]").count() == 1
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll == width, (path, width, scroll)
            # Charts carry a name for screen readers and the table of their numbers.
            for chart in page.locator("figure.chart").all():
                assert chart.locator("svg[role=img]").count() == 1
                assert chart.locator("details table").count() == 1
            shot = artifacts / f"report-{name}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    for name, path in (("desk", "/reports/?by=responsible"), ("sla", f"/reports/sla/?{period}")):
        page.goto(f"{live_server.url}{path}")
        page.screenshot(path=str(artifacts / f"reports-{name}.png"), full_page=True)
        publish_screenshot(artifacts / f"reports-{name}.png", f"reports-{name}")
