"""The support desk (F-25, issue 16): every number against a slow reference that walks the tickets."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from otklik.accounts.models import SupportGroup
from otklik.accounts.services import support_group_add_member
from otklik.core import clock
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.reports import selectors
from otklik.reports.selectors import COUNTS, DeskFilters
from otklik.tickets import services
from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from tests.conftest import logged_in

MSK = ZoneInfo("Europe/Moscow")


def entry(kind: str, code: str, ru: str, en: str, sort: int = 100) -> DictionaryEntry:
    return DictionaryEntry.objects.create(kind=kind, code=code, name_ru=ru, name_en=en, sort=sort)


@pytest.fixture
def data(cast, make_ticket):
    """Tickets of two responsibles, two categories and none, replied, closed, some created on given days."""
    bug = entry(DictionaryKind.CATEGORY, "rep-bug", "Ошибка", "Bug", 1)
    question = entry(DictionaryKind.CATEGORY, "rep-question", "Вопрос", "Question", 2)
    high = entry(DictionaryKind.CRITICALITY, "rep-high", "Высокая", "High", 1)
    staff = lambda **kw: make_ticket(actor=cast.staff, author=cast.client, **kw)  # noqa: E731
    admin = lambda **kw: make_ticket(actor=cast.admin, author=cast.client, **kw)  # noqa: E731
    tickets = [
        staff(category=bug, responsible=cast.staff),  # open, client last
        staff(category=bug, responsible=cast.staff, criticality=high),  # support replies -> green
        staff(category=question, responsible=cast.staff),  # closed
        admin(category=bug, responsible=cast.staff2),  # invisible to staff
        admin(category=question, responsible=cast.staff2),  # invisible to staff, closed
        make_ticket(category=question),  # the client's own
    ]
    post = services.MessageDraft(body="We are looking into it.")
    services.message_post(actor=cast.staff, ticket=tickets[1], draft=post)
    services.ticket_close(actor=cast.staff, ticket=tickets[2])
    services.ticket_close(actor=cast.admin, ticket=tickets[4])
    return {"bug": bug, "question": question, "high": high, "tickets": tickets}


def reference(policy: TicketPolicy, by: str, start=None, end=None) -> dict:
    """Count by walking every ticket in Python: the slow, obvious definition of each cell."""
    out: dict = {}
    for t in Ticket.objects.select_related("category", "criticality", "status", "responsible"):
        if not policy.can_view(t):
            continue
        if (start and t.created_at < start) or (end and t.created_at >= end):
            continue
        if by == "responsible":
            key = t.responsible_id
        elif by == "sla":
            key = t.sla_id
        else:
            value = getattr(t, by)
            key = None if value is None else (value.code or str(value.pk))
        row = out.setdefault(key, dict.fromkeys(COUNTS, 0))
        is_open = t.closed_at is None
        row["open_client_last"] += is_open and not t.last_message_by_support
        row["open_support_last"] += is_open and t.last_message_by_support
        row["open"] += is_open
        row["closed"] += not is_open
        row["total"] += 1
    return out


def computed(desk: selectors.Desk) -> dict:
    return {row.key: {n: row.counts[n] for n in COUNTS} for row in desk.rows}


@pytest.mark.parametrize("by", ["responsible", "category", "criticality", "status", "sla", "source"])
@pytest.mark.parametrize("who", ["admin", "staff", "staff2", "demo"])
def test_desk_every_cell_equals_the_reference(data, cast, by, who):
    policy = TicketPolicy(getattr(cast, who))
    desk = selectors.desk(policy, DeskFilters(), by)
    expected = reference(policy, by)
    assert computed(desk) == expected
    for name in COUNTS:
        assert desk.totals[name] == sum(row[name] for row in expected.values())


def test_desk_counts_by_hand_for_admin_and_staff(data, cast):
    bug, question = data["bug"], data["question"]
    admin = computed(selectors.desk(TicketPolicy(cast.admin), DeskFilters(), "category"))
    assert admin["rep-bug"] == {
        "open_client_last": 2,
        "open_support_last": 1,
        "open": 3,
        "closed": 0,
        "total": 3,
    }
    assert admin["rep-question"]["closed"] == 2 and admin["rep-question"]["total"] == 3
    with translation.override("ru"):
        staff = selectors.desk(TicketPolicy(cast.staff), DeskFilters(), "category")
    mine = computed(staff)
    # staff2's two tickets are out of sight.
    assert mine["rep-bug"] == {
        "open_client_last": 1,
        "open_support_last": 1,
        "open": 2,
        "closed": 0,
        "total": 2,
    }
    assert staff.totals["total"] < sum(r["total"] for r in admin.values())
    names = {row.key: row.name for row in staff.rows}
    assert names["rep-bug"] == "Ошибка"  # the default language is Russian
    assert bug.pk and question.pk


def test_desk_names_follow_the_viewers_language(data, cast):
    client = logged_in(cast.admin, "en")
    body = client.get("/api/v1/reports/desk?by=category").json()
    names = {row["key"]: row["name"] for row in body["rows"]}
    assert names["rep-bug"] == "Bug" and names["rep-question"] == "Question"


def test_desk_staff_group_filter_counts_only_the_groups_responsibles(data, cast):
    team = SupportGroup.objects.create(name="Line 2", kind=SupportGroup.Kind.STAFF)
    support_group_add_member(group=team, user=cast.staff2)
    desk = selectors.desk(TicketPolicy(cast.admin), DeskFilters(group=team.pk), "responsible")
    assert computed(desk) == {
        cast.staff2.pk: {"open_client_last": 1, "open_support_last": 0, "open": 1, "closed": 1, "total": 2}
    }


def test_desk_period_boundaries_are_moscow_days(cast, make_ticket):
    late = datetime(2026, 3, 10, 23, 30, tzinfo=MSK)  # 20:30 UTC, still the 10th in Moscow
    early = datetime(2026, 3, 11, 0, 30, tzinfo=MSK)  # 21:30 UTC on the 10th, the 11th in Moscow
    for instant in (late, early):
        with clock.frozen(instant):
            make_ticket()
    policy = TicketPolicy(cast.admin)

    def total(start: date, end: date) -> int:
        f = DeskFilters(created_from=start, created_to=end)
        return selectors.desk(policy, f, "responsible", tz=MSK).totals["total"]

    assert total(date(2026, 3, 10), date(2026, 3, 10)) == 1
    assert total(date(2026, 3, 11), date(2026, 3, 11)) == 1
    assert total(date(2026, 3, 10), date(2026, 3, 11)) == 2
    assert total(date(2026, 3, 9), date(2026, 3, 9)) == 0
    client = logged_in(cast.admin)
    body = client.get("/api/v1/reports/desk?created_from=2026-03-10&created_to=2026-03-10").json()
    assert body["totals"]["total"] == 1


def _cells(html: str) -> list[tuple[str, str, int]]:
    """Return (column, link, number) of every linked cell of the desk page."""
    found = re.findall(r'data-col="(\w+)"><a href="([^"]+)">(\d+)</a>', html)
    return [(col, href.replace("&amp;", "&"), int(n)) for col, href, n in found]


@pytest.mark.parametrize("by", ["responsible", "category", "criticality", "mark", "sla"])
@pytest.mark.parametrize("who", ["admin", "staff"])
def test_desk_links_lead_to_lists_of_exactly_that_many_tickets(data, cast, by, who):
    client = logged_in(getattr(cast, who))
    page = client.get(reverse("reports:desk"), {"by": by, "created_from": "2020-01-01"})
    assert page.status_code == 200
    cells = _cells(page.content.decode())
    assert len(cells) >= 10  # at least one row and the totals
    for _col, href, number in cells:
        listed = client.get(href)
        assert listed.status_code == 200
        assert listed.context["page"].paginator.count == number, href


def test_desk_none_rows_link_to_the_lists_not_set_filter(data, cast):
    client = logged_in(cast.admin)
    page = client.get(reverse("reports:desk"), {"by": "mark"}).content.decode()
    none_row = page.split("(none)")[1].split("</tr>")[0]
    links = re.findall(r'href="([^"]+)">(\d+)</a>', none_row)
    assert links and all("mark=none" in href for href, _n in links)
    for href, number in links:
        listed = client.get(href.replace("&amp;", "&"))
        assert listed.context["page"].paginator.count == int(number), href


@pytest.mark.parametrize("by", ["process_state", "l1_outcome"])
def test_desk_process_rows_link_to_the_lists_process_filters(cast, make_ticket, by):
    # Tickets start the shipped process at the first line (its state), with no L1 outcome yet ("none").
    for _i in range(3):
        make_ticket(actor=cast.staff, author=cast.client, responsible=cast.staff)
    client = logged_in(cast.admin)
    page = client.get(reverse("reports:desk"), {"by": by})
    cells = _cells(page.content.decode())
    assert any(f"{by}=" in href for _c, href, _n in cells)
    for _col, href, number in cells:
        assert client.get(href).context["page"].paginator.count == number, href


def test_staff_list_last_by_filter(data, cast):
    client = logged_in(cast.admin)
    url = reverse("tickets:staff_list")
    support = client.get(url, {"state": "open", "last_by": "support"}).context["page"].paginator.count
    client_last = client.get(url, {"state": "open", "last_by": "client"}).context["page"].paginator.count
    assert (support, client_last) == (1, 3)
    api = client.get("/api/v1/tickets?state=open&last_by=support").json()
    assert api["count"] == 1


def _page_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_desk_query_count_does_not_grow_with_the_data(cast, make_ticket):
    client = logged_in(cast.staff)
    categories = [entry(DictionaryKind.CATEGORY, f"rep-c{i}", f"К{i}", f"C{i}") for i in range(30)]
    for i in range(3):
        make_ticket(actor=cast.staff, author=cast.client, responsible=cast.staff, category=categories[i])
    urls = [
        reverse("reports:desk") + "?by=category",
        reverse("reports:desk") + "?by=responsible",
        "/api/v1/reports/desk?by=category",
    ]
    small = [_page_queries(client, url) for url in urls]
    for i in range(3, 30):
        make_ticket(actor=cast.staff, author=cast.client, responsible=cast.staff, category=categories[i])
    assert [_page_queries(client, url) for url in urls] == small
    assert _api_rows(client) == 30


def _api_rows(client) -> int:
    return len(client.get("/api/v1/reports/desk?by=category").json()["rows"])


def test_desk_exports_csv_and_xlsx(data, cast):
    client = logged_in(cast.admin, "en")
    response = client.get(reverse("reports:desk"), {"by": "category", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["Category", "Waiting for us", "Waiting for the client", "Open", "Closed", "Total"]
    assert rows[1][:6] == ["Bug", "2", "1", "3", "0", "3"]
    assert rows[-1][0] == "Total" and rows[-1][5] == "6"
    response = client.get(reverse("reports:desk"), {"by": "category", "format": "xlsx"})
    book = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "Bug" in sheet and "Question" in sheet


def test_desk_api_shape(data, cast):
    body = logged_in(cast.admin).get("/api/v1/reports/desk?by=category").json()
    assert set(body) == {"by", "rows", "totals"}
    assert body["by"] == "category"
    assert set(body["rows"][0]) == {"key", "name", *COUNTS}
    assert set(body["totals"]) == set(COUNTS)
    assert body["rows"][-1]["key"] is None or all(r["key"] is not None for r in body["rows"])
    assert body["totals"]["total"] == Ticket.objects.count()


@pytest.mark.parametrize(
    "query",
    ["by=planet", "created_from=yesterday", "created_from=2026-02-02&created_to=2026-02-01", "sla=0"],
)
def test_desk_api_bad_input_is_422(cast, query):
    response = logged_in(cast.staff).get(f"/api/v1/reports/desk?{query}")
    assert response.status_code == 422
    assert "detail" in response.json()


def test_desk_refuses_clients(data, cast):
    client = logged_in(cast.client)
    assert client.get("/api/v1/reports/desk").status_code == 403
    assert client.get(reverse("reports:desk")).status_code == 403


def test_desk_page_for_demo_shows_everything(data, cast):
    page = logged_in(cast.demo).get(reverse("reports:desk"), {"by": "responsible"})
    assert page.status_code == 200
    assert "Reports" in page.content.decode() or "Отчёты" in page.content.decode()


@pytest.mark.parametrize("by", ["process_state", "l1_outcome"])
def test_desk_by_process_matches_the_tickets_places(data, cast, by):
    from otklik.workflow.models import TicketProcess

    places = {p.ticket_id: p for p in TicketProcess.objects.all()}
    expected: dict = {}
    for t in Ticket.objects.all():
        place = places.get(t.pk)
        key = (place.state if by == "process_state" else place.l1_outcome) if place else None
        row = expected.setdefault(key or None, dict.fromkeys(COUNTS, 0))
        row["total"] += 1
        row["closed"] += t.closed_at is not None
    desk = selectors.desk(TicketPolicy(cast.admin), DeskFilters(), by)
    assert {r.key: {"total": r.counts["total"], "closed": r.counts["closed"]} for r in desk.rows} == {
        k: {"total": v["total"], "closed": v["closed"]} for k, v in expected.items()
    }
    assert all(row.name for row in desk.rows)
