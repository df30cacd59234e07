"""Tags (issue 18, P4): the ticket page's tags row, the list's chips, filter and bulk actions, the CSV
column, the API, search and the admin. Clients never see, find or change tags."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from otklik.tickets import services
from otklik.tickets.models import Tag, Ticket, TicketEvent
from otklik.tickets.services.tags import tags_ensure, ticket_tag_names
from otklik.tickets.tag_selectors import tag_ink, tag_suggest, tags_filter_q
from tests.conftest import logged_in
from tests.helpers import Api
from tests.test_web_queries import LIST_CEILING

pytestmark = pytest.mark.django_db
LIST = reverse("tickets:staff_list")
BULK = reverse("tickets:staff_bulk")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _tag(cast, ticket: Ticket, *names: str) -> list[str]:
    return services.ticket_tags_change(actor=cast.staff, ticket=ticket, add=list(names))


def _list_ids(client, params: dict) -> set[int]:
    response = client.get(LIST, params)
    assert response.status_code == 200
    return {t.pk for t, _ind in response.context["rows"]}


@pytest.fixture
def tagged(cast, make_ticket):
    """Four tickets: vip+billing, vip, billing, none."""
    both = make_ticket(title="Both")
    vip = make_ticket(title="Only vip")
    billing = make_ticket(title="Only billing")
    plain = make_ticket(title="Plain")
    _tag(cast, both, "VIP", "billing")
    _tag(cast, vip, "vip")
    _tag(cast, billing, "Billing")
    return {"both": both, "vip": vip, "billing": billing, "plain": plain}


# -- the ticket page -------------------------------------------------------------------------
def test_ticket_page_tags_add_and_remove_in_place_answers_the_row(cast, make_ticket):
    ticket = make_ticket()
    Tag.objects.create(name="Urgent", key="urgent", colour="#b42318", created_at=ticket.created_at)
    staff = logged_in(cast.staff)
    url = reverse("tickets:staff_tags", args=[ticket.pk])

    added = staff.post(url, {"add": "urgent, Callback"}, **HTMX)
    assert added.status_code == 200
    html = added.content.decode()
    assert 'id="tags-row"' in html and "<html" not in html  # the row alone, for htmx to swap
    assert "background:#b42318" in html and "color:#ffffff" in html  # the admin's colour, readable ink
    assert ticket_tag_names(ticket) == ["Callback", "Urgent"]  # the existing tag's spelling is kept
    assert TicketEvent.objects.filter(ticket=ticket, field="tags").count() == 1

    removed = staff.post(url, {"remove": "Urgent"}, **HTMX)
    assert removed.status_code == 200
    assert ticket_tag_names(ticket) == ["Callback"]
    assert 'value="Urgent"' not in removed.content.decode()

    page = staff.get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    assert 'id="tags-row"' in page and "Callback" in page and 'name="add"' in page


def test_ticket_page_tags_bad_name_answers_400_with_the_reason_and_keeps_the_text(cast, make_ticket):
    ticket = make_ticket()
    response = logged_in(cast.staff).post(
        reverse("tickets:staff_tags", args=[ticket.pk]), {"add": "a" * 60}, **HTMX
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "at most 50 characters" in html and 'value="' + "a" * 60 + '"' in html
    assert ticket_tag_names(ticket) == []


def test_ticket_page_tags_without_htmx_go_back_to_the_page(cast, make_ticket):
    ticket = make_ticket()
    response = logged_in(cast.staff).post(reverse("tickets:staff_tags", args=[ticket.pk]), {"add": "x"})
    assert response.status_code == 302 and response["Location"].endswith(f"/staff/tickets/{ticket.pk}/")
    assert ticket_tag_names(ticket) == ["x"]


def test_ticket_page_demo_sees_tags_without_the_add_field(cast, make_ticket):
    ticket = make_ticket()
    _tag(cast, ticket, "seen-by-demo")
    page = logged_in(cast.demo).get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    assert "seen-by-demo" in page and 'name="add"' not in page and 'name="remove"' not in page


def test_client_neither_sees_nor_changes_tags_on_the_web(cast, make_ticket):
    ticket = make_ticket()
    _tag(cast, ticket, "secretlabel")
    client = logged_in(cast.client)
    page = client.get(reverse("tickets:client_detail", args=[ticket.pk])).content.decode()
    assert "secretlabel" not in page
    assert client.post(reverse("tickets:staff_tags", args=[ticket.pk]), {"add": "mine"}).status_code == 403
    assert (
        client.post(reverse("tickets:staff_tags", args=[ticket.pk]), {"remove": "secretlabel"}).status_code
        == 403
    )
    assert client.get(reverse("tickets:tags_suggest"), {"q": "sec"}).status_code == 403
    assert ticket_tag_names(ticket) == ["secretlabel"]


# -- suggestions -----------------------------------------------------------------------------
def test_tags_suggest_prefix_first_at_most_ten(cast, make_ticket):
    ticket = make_ticket()
    _tag(cast, ticket, "rebill", "billing", "Bill-later", *[f"billz{n:02}" for n in range(12)])
    names = tag_suggest("bill")
    assert len(names) == 10
    assert names[:2] == ["Bill-later", "billing"]  # starting with the text, before those only containing it
    assert "rebill" not in names  # pushed out by the eleven prefix matches
    assert tag_suggest("REB") == ["rebill"]


def test_tags_suggest_endpoint_completes_the_last_name_of_a_list(cast, make_ticket):
    ticket = make_ticket()
    _tag(cast, ticket, "vip", "billing", "bills")
    response = logged_in(cast.staff).get(reverse("tickets:tags_suggest"), {"tag": "vip, bil"})
    assert response.status_code == 200
    assert response.content.decode().strip() == (
        '<option value="vip, billing"></option><option value="vip, bills"></option>'
    )


# -- the list: chips, filter, bulk -----------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tag": ["vip"]}, {"both", "vip"}),
        ({"tag": ["vip", "billing"]}, {"both", "vip", "billing"}),
        ({"tag": ["vip", "billing"], "tag_mode": "any"}, {"both", "vip", "billing"}),
        ({"tag": ["VIP", "Billing"], "tag_mode": "all"}, {"both"}),
        ({"tag": "vip, billing", "tag_mode": "all"}, {"both"}),
        ({"tag": ["vip"], "tag_mode": "none"}, {"billing", "plain"}),
        ({"tag": ["vip", "billing"], "tag_mode": "none"}, {"plain"}),
        ({"tag": ["nosuchtag"]}, set()),
        ({"tag": ["nosuchtag"], "tag_mode": "none"}, {"both", "vip", "billing", "plain"}),
    ],
)
def test_staff_list_tag_filter_modes_select_exact_tickets(cast, tagged, params, expected):
    ids = _list_ids(logged_in(cast.admin), params)
    assert ids == {tagged[key].pk for key in expected}


def test_staff_list_tag_filter_all_uses_one_exists_per_tag(db):
    tags_ensure(["a", "b", "c", *(f"t{n}" for n in range(15))])
    sql = str(Ticket.objects.filter(tags_filter_q(["a", "b", "c"], "all")).query).upper()
    assert sql.count("EXISTS") == 3
    capped = str(Ticket.objects.filter(tags_filter_q([f"t{n}" for n in range(15)], "all")).query).upper()
    assert capped.count("EXISTS") == 10


def test_staff_list_tag_filter_probes_tag_ids_not_a_join_to_the_tags(db):
    """The tag rows are matched by id: PostgreSQL then estimates a common tag from the ticket-tag
    statistics and walks the list's own order (13 ms at 10⁶ tickets for a tag on 5% of them), instead of
    joining every tagged ticket and sorting them (1.4 s)."""
    tags_ensure(["VIP", "billing"])
    for mode in ("any", "all", "none"):
        sql = str(Ticket.objects.filter(tags_filter_q(["vip", "Billing"], mode)).query)
        assert '"tickets_tag"' not in sql, (mode, sql)
        assert "tag_id" in sql, (mode, sql)
    # A name no tag has: "any" and "all" select nothing, "none" everything, without a statement.
    with CaptureQueriesContext(connection) as ctx:
        assert list(Ticket.objects.filter(tags_filter_q(["nosuchtag", "vip"], "all"))) == []
    assert len(ctx.captured_queries) == 1  # the tags' ids; the list itself is known to be empty


def test_staff_list_more_than_ten_tags_is_a_form_error_not_a_filter(cast, tagged):
    response = logged_in(cast.admin).get(LIST, {"tag": [f"t{n}" for n in range(11)]})
    assert response.status_code == 200
    assert "tag" in response.context["form"].errors
    assert len(response.context["rows"]) == 4  # the wrong filter is ignored, as the others are


def test_staff_list_shows_tag_chips_on_rows_and_one_filter_chip_per_tag(cast, tagged):
    Tag.objects.filter(name="VIP").update(colour="#fde68a")
    response = logged_in(cast.admin).get(LIST, {"tag": ["vip", "billing"], "tag_mode": "all"})
    html = response.content.decode()
    assert 'class="tagchip" style="background:#fde68a;border-color:#fde68a;color:#000000"' in html
    chips = {label: query for name, label, query in response.context["chips"] if name == "tag"}
    assert set(chips) == {"Tags: vip", "Tags: billing"}
    assert chips["Tags: vip"] == "tag_mode=all&tag=billing"
    assert ("tag_mode", "Tags match: all of them") in [(n, lbl) for n, lbl, _q in response.context["chips"]]


def test_staff_list_filter_by_tag_is_ignored_for_clients(cast, tagged):
    # The client list reads only its own form; the staff filter never reaches a client's query.
    from otklik.tickets import selectors
    from otklik.tickets.policies import TicketPolicy

    flt = selectors.TicketFilter(tag=("vip",), tag_mode="all")
    ids = set(selectors.ticket_list(TicketPolicy(cast.client), flt).values_list("pk", flat=True))
    assert ids == {t.pk for t in tagged.values()}


def test_staff_list_query_count_bounded_with_tags_on_rows(cast, make_ticket):
    for n in range(25):
        ticket = make_ticket(title=f"Ticket {n}")
        _tag(cast, ticket, f"tag{n}", "common", *(["extra"] if n % 2 else []))
    Tag.objects.filter(name="common").update(colour="#1f6feb")
    client = logged_in(cast.staff)
    counts = {}
    for size in (20, 50):
        client.get(LIST, {"size": size})
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(LIST, {"size": size})
        counts[size] = len(ctx.captured_queries)
        for t, _ind in response.context["rows"]:
            number = t.title.split()[-1]
            expected = sorted(["common", f"tag{number}", *(["extra"] if int(number) % 2 else [])])
            assert [tag.name for tag in t.tag_list] == expected
    assert len(response.context["rows"]) == 25
    assert counts[20] == counts[50], counts
    assert counts[50] <= LIST_CEILING
    assert not any("tickets_tickettag" in q["sql"] and "IN (" in q["sql"] for q in ctx.captured_queries)


def test_bulk_tag_add_and_remove_confirmed_report_refused_tickets(cast, tagged):
    admin = logged_in(cast.admin)
    chosen = [tagged["plain"], tagged["billing"]]
    ask = admin.post(BULK, {"action": "tag_add", "ids": [t.pk for t in chosen], "tag": " Escalated "})
    assert ask.status_code == 200  # the confirmation step: nothing changed yet
    assert "Escalated" in ask.content.decode() and ticket_tag_names(tagged["plain"]) == []
    assert 'name="tag" value="Escalated"' in ask.content.decode()

    done = admin.post(
        BULK,
        {
            "action": "tag_add",
            "ids": [*[t.pk for t in chosen], 999999],
            "tag": "Escalated",
            "confirmed": "yes",
        },
    )
    assert done.status_code == 302
    flashes = [str(m) for m in get_messages(done.wsgi_request)]
    assert "Done for 2 tickets." in flashes and "Ticket #999999: Not found." in flashes
    assert ticket_tag_names(tagged["plain"]) == ["Escalated"]
    assert ticket_tag_names(tagged["billing"]) == ["billing", "Escalated"]  # the first spelling

    admin.post(
        BULK, {"action": "tag_remove", "ids": [tagged["billing"].pk], "tag": "escalated", "confirmed": "yes"}
    )
    assert ticket_tag_names(tagged["billing"]) == ["billing"]
    assert ticket_tag_names(tagged["plain"]) == ["Escalated"]


def test_bulk_tag_bad_name_refused_before_confirmation_nothing_changed(cast, tagged):
    response = logged_in(cast.admin).post(
        BULK, {"action": "tag_add", "ids": [tagged["plain"].pk], "tag": "", "confirmed": "yes"}
    )
    assert response.status_code == 302
    assert any("cannot be empty" in str(m) for m in get_messages(response.wsgi_request))
    assert ticket_tag_names(tagged["plain"]) == []


def test_bulk_tag_service_refuses_a_bad_name_for_every_ticket(cast, tagged):
    from otklik.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.tickets_bulk(actor=cast.staff, ticket_ids=[tagged["plain"].pk], action="tag_add", tag="<b>")


# -- CSV export ------------------------------------------------------------------------------
def test_csv_export_has_a_formula_safe_tags_column(cast, tagged):
    _tag(cast, tagged["plain"], "=HYPERLINK(1)")
    response = logged_in(cast.admin).get(LIST, {"export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[-1] == "tags"
    by_id = {int(row[0]): row[-1] for row in body}
    assert by_id[tagged["both"].pk] == "billing, VIP"
    assert by_id[tagged["vip"].pk] == "VIP"  # one tag, one spelling: the first one used
    assert by_id[tagged["plain"].pk] == "'=HYPERLINK(1)"


def test_csv_export_tags_cost_no_query_per_row(cast, tagged):
    client = logged_in(cast.admin)

    def export(params: dict) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(LIST, {**params, "export": "csv"})
            b"".join(response.streaming_content)
        return len(ctx.captured_queries)

    assert export({"id": tagged["both"].pk}) == export({})


# -- search ----------------------------------------------------------------------------------
def test_search_finds_a_ticket_by_tag_for_staff_not_for_clients(cast, make_ticket):
    ticket = make_ticket(title="Printer is jammed")
    _tag(cast, ticket, "zebrafish")
    assert _list_ids(logged_in(cast.staff), {"q": "zebrafish"}) == {ticket.pk}
    client_list = logged_in(cast.client).get(reverse("tickets:client_list"), {"q": "zebrafish"})
    assert [t.pk for t, *_rest in client_list.context["rows"]] == []
    assert Api(cast.client).get("/api/v1/tickets", {"q": "zebrafish"}).json()["count"] == 0
    assert Api(cast.staff).get("/api/v1/tickets", {"q": "zebrafish"}).json()["count"] == 1

    services.ticket_tags_change(actor=cast.staff, ticket=ticket, remove=["zebrafish"])
    assert _list_ids(logged_in(cast.staff), {"q": "zebrafish"}) == set()


def test_search_document_keeps_tags_when_rebuilt_for_another_reason(cast, make_ticket):
    ticket = make_ticket(title="Old title")
    _tag(cast, ticket, "okapi")
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"title": "New title"})
    services.search_document_refresh(Ticket.objects.get(pk=ticket.pk))
    assert _list_ids(logged_in(cast.staff), {"q": "okapi"}) == {ticket.pk}


# -- API -------------------------------------------------------------------------------------
def test_api_tags_get_and_put_replace_the_list(cast, make_ticket):
    ticket = make_ticket()
    api = Api(cast.staff)
    url = f"/api/v1/tickets/{ticket.pk}/tags"
    assert api.get(url).json() == []
    put = api.send("PUT", url, ["vip", " Billing ", "VIP"])
    assert put.status_code == 200 and put.json() == ["Billing", "vip"]
    assert api.get(url).json() == ["Billing", "vip"]
    assert api.send("PUT", url, ["billing"]).json() == ["Billing"]
    assert api.send("PUT", url, []).json() == []
    event = TicketEvent.objects.filter(ticket=ticket, field="tags").order_by("-id").first()
    assert event.via == "api"


@pytest.mark.parametrize(
    ("body", "raw", "status", "field"),
    [
        (["<script>"], None, 422, "tags"),
        (["a" * 51], None, 422, "tags"),
        ([""], None, 422, "tags"),
        ([f"t{n}" for n in range(31)], None, 422, "tags"),
        ({"tags": ["a"]}, None, 422, "__all__"),
        ([1, 2], None, 422, "0"),
        (None, "not json", 400, "__all__"),
    ],
)
def test_api_tags_put_bad_input_answers_4xx_json_with_field(cast, make_ticket, body, raw, status, field):
    ticket = make_ticket()
    response = Api(cast.staff).send("PUT", f"/api/v1/tickets/{ticket.pk}/tags", body, raw=raw)
    assert response.status_code == status, response.content
    assert field in response.json()["errors"]
    assert ticket_tag_names(ticket) == []


def test_api_tags_refused_to_clients_and_hidden_from_others(cast, make_ticket):
    ticket = make_ticket()
    _tag(cast, ticket, "internal")
    url = f"/api/v1/tickets/{ticket.pk}/tags"
    own = Api(cast.client)
    for response in (own.get(url), own.send("PUT", url, ["mine"])):
        assert response.status_code == 403 and "tags" in response.json()["errors"]
    stranger = Api(cast.other_client)
    assert stranger.get(url).status_code == 404
    assert stranger.send("PUT", url, ["x"]).status_code == 404
    assert Api(cast.demo).send("PUT", url, ["x"]).status_code == 403
    assert ticket_tag_names(ticket) == ["internal"]


def test_api_ticket_representation_has_tags_for_staff_only(cast, tagged):
    staff, client = Api(cast.admin), Api(cast.client)
    detail = staff.get(f"/api/v1/tickets/{tagged['both'].pk}").json()
    assert detail["tags"] == ["billing", "VIP"]
    assert "tags" not in client.get(f"/api/v1/tickets/{tagged['both'].pk}").json()
    rows = {row["id"]: row for row in staff.get("/api/v1/tickets").json()["results"]}
    assert rows[tagged["vip"].pk]["tags"] == ["VIP"] and rows[tagged["plain"].pk]["tags"] == []
    assert all("tags" not in row for row in client.get("/api/v1/tickets").json()["results"])


def test_api_ticket_list_filters_by_tag(cast, tagged):
    api = Api(cast.admin)

    def ids(params) -> set[int]:
        response = api.get("/api/v1/tickets", params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids({"tag": ["vip", "billing"], "tag_mode": "all"}) == {tagged["both"].pk}
    assert ids({"tag": "vip"}) == {tagged["both"].pk, tagged["vip"].pk}
    assert ids({"tag": "vip,billing", "tag_mode": "none"}) == {tagged["plain"].pk}
    too_many = api.get("/api/v1/tickets", {"tag": [f"t{n}" for n in range(11)]})
    assert too_many.status_code == 422 and "tag" in too_many.json()["errors"]
    assert api.get("/api/v1/tickets", {"tag_mode": "some"}).status_code == 422


def test_openapi_documents_the_tags_endpoints():
    from otklik.api.api import api

    paths = api.get_openapi_schema()["paths"]
    operations = paths["/api/v1/tickets/{ticket_id}/tags"]
    assert set(operations) == {"get", "put"}
    assert operations["put"]["requestBody"]["content"]["application/json"]["schema"]["type"] == "array"


# -- admin and colours -----------------------------------------------------------------------
def test_admin_tag_form_uses_a_colour_input_and_saves_no_colour(cast, make_ticket):
    ticket = make_ticket()
    _tag(cast, ticket, "painted")
    tag = Tag.objects.get(name="painted")
    admin = logged_in(cast.admin)
    url = reverse("admin:tickets_tag_change", args=[tag.pk])
    page = admin.get(url)
    assert page.status_code == 200 and 'type="color"' in page.content.decode()
    admin.post(url, {"name": "Painted", "colour": "#1f6feb"})
    tag.refresh_from_db()
    assert (tag.name, tag.colour) == ("Painted", "#1f6feb")
    admin.post(url, {"name": "Painted", "colour": "#1f6feb", "no_colour": "on"})
    tag.refresh_from_db()
    assert tag.colour == ""
    taken = admin.post(reverse("admin:tickets_tag_add"), {"name": "PAINTED", "colour": "#000000"})
    assert taken.status_code == 200 and Tag.objects.count() == 1


@pytest.mark.parametrize(
    ("colour", "ink"),
    [
        ("#ffffff", "#000000"),
        ("#000000", "#ffffff"),
        ("#fde68a", "#000000"),
        ("#1f3a8a", "#ffffff"),
        ("", ""),
    ],
)
def test_tag_ink_reads_on_its_colour(colour, ink):
    assert tag_ink(colour) == ink
