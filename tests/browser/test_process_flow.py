"""The three-tier process in a real browser (F-30): an L1 operator escalates, the incident manager classifies
the ticket as a change request, two board members vote and one takes the decision, the manager plans the
effort and assigns the developer, the developer finishes, the tester verifies, L1 answers and closes. The
client's page meanwhile shows only plain-language stages.

Screenshots: (with OTKLIK_DOCS_SCREENSHOTS=1) docs/screenshots/process-card.png (the staff card, desktop) and client-stage.png (the client's
page at 390 px), plus every step at both widths in test-artifacts/browser/process-*.png.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from otklik.accounts.models import AccessLevel
from otklik.accounts.services import user_create
from otklik.dictionaries.models import DictionaryEntry
from otklik.dictionaries.seed import load_dictionaries
from otklik.tickets import services
from otklik.tickets.models import Message, MessageKind, Ticket
from otklik.workflow.models import Move, ProcessVersion, Role, TicketProcess, Vote
from otklik.workflow.services import process_version_save
from tests.browser.helpers import publish_screenshot

pytestmark = [pytest.mark.browser]
PASSWORD = "pass-Word-123"
SHIPPED = Path(__file__).resolve().parents[2] / "src" / "otklik" / "workflow" / "shipped" / "three-tier.json"
PEOPLE = {
    "lena": ("Lena", "l1_operator"),
    "mark": ("Mark", "incident_manager"),
    "bob": ("Bob", "change_board"),
    "bella": ("Bella", "change_board"),
    "dan": ("Dan", "developer"),
    "tess": ("Tess", "tester"),
}
# Words a client must never read: internal notes, votes, roles and the names of moves.
INTERNAL = (
    "INTERNAL-NOTE-7", "VOTE-NOTE-9", "Change board", "Incident manager", "L1 operator", "name=\"vote\"", "data-move",
    "Escalate", "process-card", "Developer", "Tester",
)  # fmt: skip
PHONE = {"width": 390, "height": 844}


def _process_installed() -> None:
    """Put back the shipped process and its roles (an earlier transactional test's flush removes them)."""
    if not ProcessVersion.objects.filter(starts_new_tickets=True).exists():
        process_version_save(actor=None, data=json.loads(SHIPPED.read_text(encoding="utf-8")))


def _log_in(context, base: str, username: str):
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    return page


def _take(page, base: str, ticket_id: int, move: str, **fields: str) -> None:
    """Open the ticket, press the move's button, fill its inline form and submit; wait for the new page."""
    page.goto(f"{base}/staff/tickets/{ticket_id}/")
    page.locator(f'#process-card a[data-move="{move}"]').click()
    page.locator("#pc-form").wait_for()
    for name, value in fields.items():
        page.fill(f"#pc-{name}", value)
    before = TicketProcess.objects.get(ticket_id=ticket_id).entered_at
    with page.expect_navigation():  # the move answers HX-Redirect: the whole page shows the new state
        page.locator("#pc-form button[type=submit]").click()
    page.locator(".flash li.success").wait_for()
    assert TicketProcess.objects.get(ticket_id=ticket_id).entered_at != before


def _no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_process_flow_change_request_walks_to_closed_and_client_sees_only_stages(
    live_server, new_context, artifacts
):
    load_dictionaries(DictionaryEntry)
    _process_installed()
    base = live_server.url
    for username, (first, role) in PEOPLE.items():
        user = user_create(
            username=username, email=f"{username}@example.com", password=PASSWORD, levels=[AccessLevel.STAFF],
            first_name=first, last_name="Petrova", language="en",
        )  # fmt: skip
        Role.objects.get(code=role).users.add(user)
    author = user_create(
        username="ivan", email="ivan@example.com", password=PASSWORD, levels=[AccessLevel.CLIENT],
        first_name="Ivan", last_name="Orlov", language="en",
    )  # fmt: skip
    ticket = services.ticket_create(
        actor=author,
        draft=services.TicketDraft(title="Export to XLSX", message="Please add an XLSX export of reports."),
    )
    tid = ticket.pk
    client = _log_in(new_context(), base, "ivan")
    client_url = f"{base}/tickets/{tid}/"

    def client_stage() -> str:
        client.goto(client_url)
        stage = client.locator("#process-stage").inner_text()
        html = client.content()
        for word in INTERNAL:
            assert word not in html, word
        return stage

    assert "Registered by the first line of support" in client_stage()

    # 1. L1: a wrong submission keeps the form with the field's message (422 shown in place), then escalates.
    lena = _log_in(new_context(), base, "lena")
    lena.goto(f"{base}/staff/tickets/{tid}/")
    assert "L1 operator" in lena.locator("#pc-role").inner_text()
    lena.locator("#pc-role-help").click()  # "What do I do here?": the role's instructions
    lena.wait_for_url(re.compile(r"/staff/process/roles/l1_operator/$"))
    assert "You hold this role." in lena.locator("main").inner_text()
    assert "First line: classification" in lena.locator("main").inner_text()
    lena.screenshot(path=str(artifacts / "process-role.png"), full_page=True)
    lena.go_back()
    lena.locator('#process-card a[data-move="escalate"]').click()
    lena.locator("#pc-comment").wait_for()
    # The keyboard lands in the form: focus moves once htmx settles the swap, a moment after the element
    # exists, so wait for it (a timeout fails the test) rather than read it at once.
    lena.wait_for_function(
        "document.activeElement && document.activeElement.id === 'pc-comment'", timeout=5000
    )
    lena.locator("#pc-form button[type=submit]").click()
    lena.locator("#pc-comment-errors").wait_for()
    assert "required" in lena.locator("#pc-comment-errors").inner_text()
    lena.fill("#pc-comment", "INTERNAL-NOTE-7: reports module, not a bug")
    lena.locator("#pc-form button[type=submit]").click()
    lena.locator(".flash li.success").wait_for()
    assert "triage" in lena.locator("#process-title").inner_text()
    assert "With the second line of support" in client_stage()

    # 2. The ticket is in the incident manager's queue (and no longer in L1's); they classify it.
    mark = _log_in(new_context(), base, "mark")
    mark.goto(f"{base}/staff/tickets/")
    mark.locator('#inbox-nav a[data-inbox="queue"]').click()  # the sidebar's view "My process queue"
    mark.wait_for_url(re.compile(r"view=queue"))
    assert "Export to XLSX" in mark.locator("main").inner_text()
    mark.set_viewport_size(PHONE)
    _no_horizontal_scroll(mark)
    mark.screenshot(path=str(artifacts / "process-queue-390.png"), full_page=True)
    mark.set_viewport_size({"width": 1280, "height": 900})
    lena.goto(f"{base}/staff/tickets/?queue=on")
    assert "Export to XLSX" not in lena.locator("main").inner_text()
    _take(mark, base, tid, "change_request")
    assert "Change board" in mark.locator("#process-title").inner_text()
    assert "The change request is being reviewed" in client_stage()

    # 3. Two board members vote; the second takes the decision the votes favour.
    bob = _log_in(new_context(), base, "bob")
    bob.goto(f"{base}/staff/tickets/{tid}/")
    bob.check('#pc-votes input[value="approve"]')
    bob.fill("#pc-vote-comment", "VOTE-NOTE-9: worth it")
    bob.locator("#pc-votes button[type=submit]").click()
    bob.locator(".flash li.success").wait_for()
    bella = _log_in(new_context(), base, "bella")
    bella.goto(f"{base}/staff/tickets/{tid}/")
    bella.check('#pc-votes input[value="approve"]')
    bella.locator("#pc-votes button[type=submit]").click()
    bella.locator(".flash li.success").wait_for()
    assert "approve 2" in bella.locator("#pc-votes h3").inner_text()
    bella.locator("#process-card").screenshot(path=str(artifacts / "process-board.png"))
    _take(bella, base, tid, "approve")
    assert "The change is approved and being planned" in client_stage()

    # 4. The manager plans the effort (the expected date follows) and assigns the developer.
    _take(mark, base, tid, "plan", planned_effort="16")
    expected = Ticket.objects.get(pk=tid).expected_date
    assert expected is not None
    mark.locator('#process-card a[data-move="assign_developer"]').click()
    mark.locator("#pc-form").wait_for()
    mark.locator("#process-card details.pc-history summary").click()
    assert "Technical question: escalate" in mark.locator("#process-card .pc-facts").inner_text()
    mark.locator("#process-card").screenshot(path=str(artifacts / "process-card.png"))
    mark.screenshot(path=str(artifacts / "process-staff-page.png"), full_page=True)
    _no_horizontal_scroll(mark)
    mark.set_viewport_size(PHONE)
    _no_horizontal_scroll(mark)
    mark.locator("#process-card").screenshot(path=str(artifacts / "process-card-390.png"))
    with mark.expect_navigation():
        mark.locator("#pc-form button[type=submit]").click()
    mark.locator(".flash li.success").wait_for()
    assert Ticket.objects.get(pk=tid).responsible.username == "dan"
    client.set_viewport_size(PHONE)
    stage = client_stage()
    assert "A solution is being prepared, expected by" in stage and str(expected.year) in stage
    _no_horizontal_scroll(client)
    client.screenshot(path=str(artifacts / "client-stage.png"), full_page=True)

    # 5. The developer finishes, the tester verifies.
    dan = _log_in(new_context(), base, "dan")
    _take(dan, base, tid, "done", comment="XLSX export added")
    assert "The solution is being checked" in client_stage()
    tess = _log_in(new_context(), base, "tess")
    _take(tess, base, tid, "verified")
    assert "The first line is preparing the answer" in client_stage()

    # 6. L1 informs the initiator with a reply and closes.
    _take(lena, base, tid, "close", reply="Reports now have an XLSX export. Thank you for the idea!")
    assert Ticket.objects.get(pk=tid).closed_at is not None
    assert "Closed" in client_stage()
    client.get_by_text("Reports now have an XLSX export.").first.wait_for()
    _no_horizontal_scroll(client)
    client.screenshot(path=str(artifacts / "client-closed.png"), full_page=True)

    assert list(Move.objects.filter(ticket_id=tid).values_list("transition", flat=True)) == [
        "escalate", "change_request", "approve", "plan", "assign_developer", "done", "verified", "close",
    ]  # fmt: skip
    assert Vote.objects.filter(ticket_id=tid).count() == 2
    assert Message.objects.filter(ticket_id=tid, kind=MessageKind.PUBLIC).count() == 2
    for name in ("process-card", "client-stage"):
        publish_screenshot(artifacts / f"{name}.png", name)
