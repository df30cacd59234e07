"""Knowledge-base deflection (F-20, F-25, issue 16): every number against a slow reference that walks the
deflection records and the tickets in Python, per section as the wizard files tickets."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import defaultdict

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from otklik.core import clock
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.kb import services as kb_services
from otklik.kb.models import Deflection, DeflectionKind, Section
from otklik.kb.wizard_services import wizard_section_configure
from otklik.reports import deflection as selectors
from otklik.reports.deflection import SectionNode, row_map
from otklik.reports.period import PeriodFilters
from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from tests.conftest import logged_in
from tests.helpers import MSK, msk
from tests.kb.kbdata import article, section
from tests.reports.charts import main_part

DAY = dt.date(2026, 3, 10)
PERIOD = PeriodFilters(DAY, DAY)
KIND_NAMES = {kind: name for name, kind in selectors.KINDS.items()}


def h(hour: int, minute: int = 0, day: int = 10) -> dt.datetime:
    return msk(2026, 3, day, hour, minute)


def category(code: str, en: str) -> DictionaryEntry:
    return DictionaryEntry.objects.create(kind=DictionaryKind.CATEGORY, code=code, name_ru=en, name_en=en)


def art(slug: str, sec: Section):
    return article(slug, sec, title_ru=slug, title_en=slug)


def record(when: dt.datetime, kind: str, user=None, *, at_section=None, at_article=None) -> Deflection:
    with clock.frozen(when):
        return kb_services.deflection_record(kind=kind, user=user, section=at_section, article=at_article)


@pytest.fixture
def kb(cast, make_ticket) -> dict:
    """Sections mapped to categories (two to one), unmapped ones, a staff-only one; a day of answers and
    tickets, with two answers and a ticket just outside the day (Moscow) and one answer whose article went."""
    payment, refund, misc = (
        category("rep-payment", "Payment"),
        category("rep-refund", "Refund"),
        category("rep-misc", "Misc"),
    )
    payments = section("payments", title_ru="Оплата", title_en="Payments", sort=10)
    cards = section("cards", parent=payments, title_ru="Карты", title_en="Cards")
    refunds = section("refunds", parent=cards, title_ru="Возвраты", title_en="Refunds")
    billing = section("billing", title_ru="Счета", title_en="Billing", sort=20)
    delivery = section("delivery", title_ru="Доставка", title_en="Delivery", sort=30)
    tracking = section("tracking", parent=delivery, title_ru="Трекинг", title_en="Tracking")
    internal = section("internal", staff=True, title_ru="Внутреннее", title_en="Internal", sort=40)
    for sec, cat in ((payments, payment), (refunds, refund), (billing, payment)):
        wizard_section_configure(section=sec, category=cat, ask_title=False, ask_coupon=False)
    card_art, refund_art = art("card-art", cards), art("refund-art", refunds)
    track_art, old_art = art("track-art", tracking), art("old-art", delivery)
    internal_art = art("internal-art", internal)

    w, a, s, ab = (DeflectionKind.WIZARD_ANSWERED, DeflectionKind.ARTICLE_ANSWERED,
                   DeflectionKind.SUGGESTION_LEFT, DeflectionKind.WIZARD_ABANDONED)  # fmt: skip
    record(h(9), w, cast.client, at_section=payments)
    record(h(10), w, None, at_section=cards)
    record(h(11), ab, cast.client, at_section=refunds)
    record(h(12), a, cast.other_client, at_article=card_art)
    record(h(23, 30), a, None, at_article=refund_art)  # 20:30 UTC: still the 10th in Moscow
    record(h(13), s, cast.client, at_article=refund_art)  # a ticket follows within two hours: not counted
    record(h(13), s, cast.other_client, at_article=track_art)
    record(h(14), s, None, at_article=card_art)
    record(h(15), w, cast.client, at_section=billing)
    record(h(16), a, cast.client, at_article=old_art)
    record(h(0, 30, day=11), w, cast.client, at_section=tracking)  # the 11th in Moscow: outside
    record(h(17), a, cast.staff, at_article=internal_art)
    record(h(23, 50, day=9), w, cast.client, at_section=payments)  # the 9th: outside
    record(h(9, 5), s, cast.colleague, at_article=card_art)  # the colleague's ticket comes 3 h later: counted
    record(h(18), ab, None, at_section=tracking)
    kb_services.article_delete(actor=cast.admin, article=old_art)

    def ticket(when: dt.datetime, **kw) -> Ticket:
        with clock.frozen(when):
            return make_ticket(**kw)

    mine = {"actor": cast.staff, "author": cast.client, "responsible": cast.staff}
    others = {"actor": cast.admin, "author": cast.client, "responsible": cast.staff2}
    ticket(h(14), category=refund)  # the client's own, after the suggestion
    ticket(h(12, 5), actor=cast.colleague, category=payment)
    ticket(h(10), category=payment, **mine)
    ticket(h(11), category=refund, **others)
    ticket(h(12), category=misc, **mine)
    ticket(h(13), **mine)
    ticket(h(0, 30, day=11), category=payment, **mine)
    ticket(h(0, 10), category=payment, **others)  # 21:10 UTC on the 9th: the 10th in Moscow
    return {"payments": payments, "refunds": refunds, "delivery": delivery, "internal": internal}


def reference(policy: TicketPolicy, start=None, end=None) -> dict:
    """Count by walking every record and ticket in Python: the wizard's rule, the two-hour window."""
    start, end = start or PERIOD.bounds(MSK)[0], end or PERIOD.bounds(MSK)[1]
    sections = {s.pk: s for s in Section.objects.all()}

    def chain(pk: int) -> list[Section]:
        out = [sections[pk]]
        while out[-1].parent_id is not None:
            out.append(sections[out[-1].parent_id])
        return out  # itself first, the top last

    def standing_for(category_id: int | None) -> int | None:
        mapped = [s for s in sections.values() if category_id is not None and s.category_id == category_id]
        return min(mapped, key=lambda s: (len(chain(s.pk)), s.sort, s.pk)).pk if mapped else None

    def row_of_section(pk: int | None) -> int | None:
        if pk is None:
            return None
        mapped = next((s for s in chain(pk) if s.category_id is not None), None)
        return standing_for(mapped.category_id) if mapped else chain(pk)[-1].pk

    rows: dict = defaultdict(lambda: dict.fromkeys(selectors.COUNTS, 0))
    for d in Deflection.objects.select_related("article"):
        if not start <= d.at < end:
            continue
        if d.kind == DeflectionKind.SUGGESTION_LEFT and d.user_id is not None:
            window = (d.at, d.at + dt.timedelta(hours=2))
            if any(window[0] <= t.created_at < window[1] for t in Ticket.objects.filter(author_id=d.user_id)):
                continue
        place = d.section_id or (d.article.section_id if d.article else None)
        row = rows[row_of_section(place)]
        name = KIND_NAMES[d.kind]
        row[name] += 1
        row["deflected"] += name in selectors.DEFLECTED
    for t in Ticket.objects.all():
        if policy.can_view(t) and start <= t.created_at < end:
            rows[standing_for(t.category_id)]["tickets"] += 1
    return dict(rows)


def computed(result: selectors.Deflection) -> dict:
    return {row.key: row.counts for row in result.rows}


def run(policy: TicketPolicy, filters: PeriodFilters = PERIOD, language: str = "en") -> selectors.Deflection:
    return selectors.deflection(
        policy, filters, tz=MSK, language=language, none_name="none", hidden_name="hidden"
    )


@pytest.mark.parametrize("who", ["admin", "staff", "staff2", "demo"])
def test_deflection_every_number_equals_the_reference(kb, cast, who):
    policy = TicketPolicy(getattr(cast, who))
    result = run(policy)
    expected = reference(policy)
    assert computed(result) == expected
    assert result.totals == {name: sum(row[name] for row in expected.values()) for name in selectors.COUNTS}


def test_deflection_by_hand_for_the_admin(kb, cast):
    result = run(TicketPolicy(cast.admin))
    rows = {row.name: (row.key, row.counts) for row in result.rows}
    assert rows["Payments"] == (
        kb["payments"].pk,
        {"wizard_answered": 3, "article_answered": 1, "suggestion_left": 2, "abandoned": 0, "deflected": 6,
         "tickets": 3},
    )  # fmt: skip
    assert rows["Payments › Cards › Refunds"][1] == {
        "wizard_answered": 0, "article_answered": 1, "suggestion_left": 0, "abandoned": 1, "deflected": 1,
        "tickets": 2,
    }  # fmt: skip
    assert rows["Delivery"][1]["suggestion_left"] == 1 and rows["Delivery"][1]["abandoned"] == 1
    assert rows["Delivery"][1]["tickets"] == 0
    assert rows["Internal"][1]["article_answered"] == 1
    assert rows["none"] == (None, {"wizard_answered": 0, "article_answered": 1, "suggestion_left": 0,
                                   "abandoned": 0, "deflected": 1, "tickets": 2})  # fmt: skip
    assert result.rows[-1].key is None
    assert result.totals["deflected"] == 10 and result.totals["tickets"] == 7
    assert result.share == pytest.approx(10 / 17)
    assert next(row.share for row in result.rows if row.name == "Payments") == pytest.approx(6 / 9)


def test_deflection_row_map_follows_the_wizards_category_rule():
    nodes = [
        SectionNode(1, None, 100, sort=10),  # mapped root
        SectionNode(2, 1, None),  # inherits 1
        SectionNode(3, 2, 200),  # its own category
        SectionNode(4, 3, None),  # inherits 3
        SectionNode(5, None, 100, sort=20),  # the same category as 1: 1 stands for both
        SectionNode(6, None, None),  # unmapped root: its own row
        SectionNode(7, 6, None),
        SectionNode(8, 9, None),  # a cycle 8 <-> 9 ends the walk
        SectionNode(9, 8, None),
        SectionNode(10, 99, None),  # a parent that is not there
    ]
    rows = row_map(nodes)
    assert rows.of_section == {1: 1, 2: 1, 3: 3, 4: 3, 5: 1, 6: 6, 7: 6, 8: 9, 9: 8, 10: 10}
    assert rows.of_category == {100: 1, 200: 3}
    assert rows.paths[4] == [1, 2, 3, 4]


def test_deflection_moscow_day_boundaries(kb, cast):
    policy = TicketPolicy(cast.admin)
    days = [DAY.replace(day=day) for day in (9, 10, 11)]
    totals = [run(policy, PeriodFilters(day, day)).totals for day in days]
    assert [(t["deflected"], t["tickets"]) for t in totals] == [(1, 0), (10, 7), (1, 1)]
    start, end = PeriodFilters(days[0], days[2]).bounds(MSK)
    assert computed(run(policy, PeriodFilters(days[0], days[2]))) == reference(policy, start, end)
    body = logged_in(cast.admin).get("/api/v1/reports/deflection?date_from=2026-03-11&date_to=2026-03-11")
    assert body.json()["totals"]["deflected"] == 1  # the viewer's zone: Moscow by default


def test_deflection_buckets(kb, cast):
    policy = TicketPolicy(cast.admin)
    result = run(policy, PeriodFilters(DAY.replace(day=9), DAY.replace(day=11), "day"))
    assert [(b.start.day, b.deflected, b.tickets) for b in result.buckets] == [
        (9, 1, 0),
        (10, 10, 7),
        (11, 1, 1),
    ]
    staff = run(TicketPolicy(cast.staff), PeriodFilters(DAY, DAY))
    assert staff.buckets[0].tickets == staff.totals["tickets"]


def test_deflection_staff_count_their_tickets_and_every_answer(kb, cast):
    admin, staff = run(TicketPolicy(cast.admin)), run(TicketPolicy(cast.staff))
    assert staff.totals["deflected"] == admin.totals["deflected"]
    assert 0 < staff.totals["tickets"] < admin.totals["tickets"]


def test_deflection_hides_the_names_of_sections_the_viewer_cannot_read(kb, cast):
    demo = {row.key: row.name for row in run(TicketPolicy(cast.demo)).rows}
    admin = {row.key: row.name for row in run(TicketPolicy(cast.admin)).rows}
    assert demo[kb["internal"].pk] == "hidden" and admin[kb["internal"].pk] == "Internal"
    assert demo[kb["payments"].pk] == "Payments"


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


URLS = (
    "/reports/deflection/?date_from=2026-03-01&date_to=2026-03-31",
    "/reports/deflection/?date_from=2026-03-01&date_to=2026-03-31&format=csv",
    "/reports/deflection/?date_from=2026-03-01&date_to=2026-03-31&format=xlsx&table=buckets",
    "/api/v1/reports/deflection?date_from=2026-03-01&date_to=2026-03-31&grain=week",
)


@pytest.mark.parametrize("who", ["admin", "demo"])
def test_deflection_query_count_does_not_grow_with_the_data(cast, make_ticket, who):
    client = logged_in(getattr(cast, who))
    sections = [section(f"s{i}", title_en=f"S{i}") for i in range(12)]
    cats = [category(f"rep-c{i}", f"C{i}") for i in range(12)]
    for sec, cat in zip(sections, cats, strict=True):
        wizard_section_configure(section=sec, category=cat, ask_title=False, ask_coupon=False)

    def more(indexes: range) -> None:
        for i in indexes:
            record(h(9, day=2 + i), DeflectionKind.WIZARD_ANSWERED, None, at_section=sections[i])
            record(h(10, day=2 + i), DeflectionKind.SUGGESTION_LEFT, cast.client,
                   at_article=art(f"a{i}", sections[i]))  # fmt: skip
            with clock.frozen(h(11, day=2 + i)):
                make_ticket(category=cats[i])

    more(range(2))
    small = [_queries(client, url) for url in URLS]
    more(range(2, 12))
    assert [_queries(client, url) for url in URLS] == small
    assert len(client.get(URLS[3]).json()["rows"]) == 12


def test_deflection_exports_csv_and_xlsx(kb, cast):
    client = logged_in(cast.admin, "en")
    url = reverse("reports:deflection")
    params = {"date_from": "2026-03-10", "date_to": "2026-03-10", "format": "csv"}
    rows = list(csv.reader(io.StringIO(client.get(url, params).content.decode("utf-8-sig"))))
    assert rows[0] == ["Section", "Answered by the wizard", "Answered by an article", "Left after a suggested article",
                       "Wizard abandoned", "Deflected", "Tickets filed", "Share deflected, %"]  # fmt: skip
    assert rows[1] == ["Delivery", "0", "0", "1", "1", "1", "0", "100.0"]
    assert ["Payments", "3", "1", "2", "0", "6", "3", "66.7"] in rows
    assert rows[-1] == ["Total", "3", "4", "3", "2", "10", "7", "58.8"]
    days = list(
        csv.reader(io.StringIO(client.get(url, {**params, "table": "buckets"}).content.decode("utf-8-sig")))
    )
    assert days == [["Period", "Deflected", "Tickets filed"], ["10 Mar", "10", "7"]]
    book = client.get(url, {**params, "format": "xlsx"})
    assert book["Content-Disposition"].endswith('deflection-sections.xlsx"')
    sheet = zipfile.ZipFile(io.BytesIO(b"".join(book.streaming_content))).read("xl/worksheets/sheet1.xml")
    assert "Payments › Cards › Refunds".encode() in sheet


@pytest.mark.parametrize(
    ("language", "payments", "none"), [("en", "Payments", "(no section)"), ("ru", "Оплата", None)]
)
def test_deflection_names_follow_the_viewers_language(kb, cast, language, payments, none):
    client = logged_in(cast.admin, language)
    body = client.get("/api/v1/reports/deflection?date_from=2026-03-10&date_to=2026-03-10").json()
    names = {row["key"]: row["name"] for row in body["rows"]}
    assert names[kb["payments"].pk] == payments
    if none:
        assert names[None] == none
    page = client.get(reverse("reports:deflection"), {"date_from": "2026-03-10", "date_to": "2026-03-10"})
    html = page.content.decode()
    assert payments in html and main_part(html).count("<svg") == 2
    assert [item["url"] for item in page.context["nav"] if item["active"]] == [reverse("reports:deflection")]


def test_deflection_api_shape(kb, cast):
    body = (
        logged_in(cast.admin).get("/api/v1/reports/deflection?date_from=2026-03-10&date_to=2026-03-10").json()
    )
    assert set(body) == {"date_from", "date_to", "rows", "totals", "buckets"}
    assert set(body["rows"][0]) == {"key", "name", *selectors.COUNTS, "share"}
    assert set(body["totals"]) == {*selectors.COUNTS, "share"}
    expected = reference(TicketPolicy(cast.admin))
    assert {row["key"]: {n: row[n] for n in selectors.COUNTS} for row in body["rows"]} == expected
    delivery = next(row for row in body["rows"] if row["key"] == kb["delivery"].pk)
    assert delivery["share"] == 1.0
    assert body["totals"]["share"] == pytest.approx(10 / 17)


def test_deflection_share_is_null_when_nothing_happened(cast):
    body = logged_in(cast.admin).get("/api/v1/reports/deflection").json()
    assert body["rows"] == [] and body["totals"]["share"] is None


@pytest.mark.parametrize(
    "query",
    ["date_from=yesterday", "date_from=2026-02-02&date_to=2026-02-01", "grain=hour", "date_to=2026-13-01",
     "date_from=2000-01-01&date_to=2026-01-01", "date_to=9999-12-31", "date_from=0001-01-01"],
)  # fmt: skip
def test_deflection_api_bad_input_is_422(cast, query):
    response = logged_in(cast.staff).get(f"/api/v1/reports/deflection?{query}")
    assert response.status_code == 422
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_from": "2026-03-10", "date_to": "2026-03-01"}, "date_to"),
        ({"date_to": "9999-12-31"}, "date_to"),
    ],
)
def test_deflection_page_bad_input_shows_the_message_and_the_default(kb, cast, params, field):
    page = logged_in(cast.admin).get(reverse("reports:deflection"), params)
    assert page.status_code == 200
    assert field in page.context["form"].errors and 'role="alert"' in page.content.decode()
    assert page.context["filters"] == PeriodFilters.default()


def test_deflection_refuses_clients(cast):
    client = logged_in(cast.client)
    assert client.get("/api/v1/reports/deflection").status_code == 403
    assert client.get(reverse("reports:deflection")).status_code == 403


def test_deflection_is_in_the_openapi_schema(db):
    from django.test import Client

    schema = Client().get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/reports/deflection"]["get"]
    assert "200" in operation["responses"] and "422" in operation["responses"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == {"date_from", "date_to", "grain"}
    assert parameters["date_to"].get("description")
