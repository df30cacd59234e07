"""REST API v1: ticket list filters, sorting and paging, bad input, create and change, auth, me, schema."""

from __future__ import annotations

import dataclasses
import io
import json
import struct
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from otklik.core import clock
from otklik.dictionaries.models import DictionaryEntry
from otklik.sla.models import SlaLevel
from otklik.tickets import selectors, services
from otklik.tickets.api_schemas import TicketListQuery
from otklik.tickets.models import Attachment, Channel, Message, MessageKind, SpamState, Ticket
from tests.helpers import Api, png_1x1


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Hash the cast's passwords cheaply."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def bmp_bytes() -> bytes:
    """Return a valid 1x1 24-bit BMP (file header, info header, one padded row)."""
    pixels = b"\x00\x00\xff\x00"
    info = struct.pack("<IiiHHIIiiII", 40, 1, 1, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    header = struct.pack("<2sIHHI", b"BM", 14 + len(info) + len(pixels), 0, 0, 14 + len(info))
    return header + info + pixels


def entry(kind: str, code: str) -> DictionaryEntry:
    return DictionaryEntry.objects.get(kind=kind, code=code)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# -- list: filters, sorting, paging ----------------------------------------------------------
@pytest.fixture
def tickets(cast, make_ticket):
    """Four tickets with different attributes, created through the services."""
    pay = make_ticket(
        title="Payment fails",
        message="Card declined twice",
        category=entry("category", "payment"),
        criticality=entry("criticality", "high").pk,
    )
    pay = services.ticket_update(actor=cast.admin, ticket=pay, changes={"responsible": cast.staff2})
    other = make_ticket(actor=cast.other_client, title="Delivery late", message="Parcel is lost")
    services.ticket_update(
        actor=cast.admin,
        ticket=other,
        changes={"is_postponed": True, "difficulty": entry("difficulty", "hard")},
    )
    closed = make_ticket(title="Old question", message="Nevermind")
    services.ticket_close(actor=cast.client, ticket=closed)
    services.ticket_set_spam(actor=cast.admin, ticket=closed, state=SpamState.POSSIBLE)
    answered = make_ticket(title="Where is my invoice", message="Need the invoice")
    services.message_post(
        actor=cast.staff, ticket=answered, draft=services.MessageDraft(body="Sent it again")
    )
    services.message_post(
        actor=cast.client, ticket=answered, draft=services.MessageDraft(body="Thanks, got it")
    )
    return {"pay": pay.pk, "other": other.pk, "closed": closed.pk, "answered": answered.pk}


FILTER_CASES = [
    ({"category": "payment"}, ["pay"]),
    ({"criticality": "high"}, ["pay"]),
    ({"state": "closed"}, ["closed"]),
    ({"state": "open"}, ["pay", "other", "answered"]),
    ({"indicator": "grey"}, ["closed"]),
    ({"postponed": "true"}, ["other"]),
    ({"difficulty": "hard"}, ["other"]),
    ({"spam": "possible"}, ["closed"]),
    ({"spam": "none"}, ["pay", "other", "answered"]),
    ({"responsible_none": "true"}, ["other", "closed", "answered"]),
    ({"q": "parcel"}, ["other"]),
    ({"q": "invoice"}, ["answered"]),
    ({"messages_min": "3"}, ["answered"]),
    ({"title": "ignored", "author_text": "other"}, ["other"]),
]


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES, ids=[json.dumps(p) for p, _e in FILTER_CASES])
def test_api_ticket_list_filter_selects_matching_tickets(cast, tickets, params, expected):
    found = ids(Api(cast.admin).get("/api/v1/tickets", params))
    assert sorted(found) == sorted(tickets[name] for name in expected)


def test_api_ticket_list_filter_by_ids_and_people_selects_matching_tickets(cast, tickets):
    api = Api(cast.admin)
    assert ids(api.get("/api/v1/tickets", {"id": tickets["other"]})) == [tickets["other"]]
    assert ids(api.get("/api/v1/tickets", {"author": cast.other_client.pk})) == [tickets["other"]]
    assert ids(api.get("/api/v1/tickets", {"responsible": cast.staff2.pk})) == [tickets["pay"]]
    category = entry("category", "payment").pk
    assert ids(api.get("/api/v1/tickets", {"category": str(category)})) == [tickets["pay"]]
    # An empty parameter means "any", the way HTML forms send it.
    assert len(ids(api.get("/api/v1/tickets", {"author": "", "postponed": ""}))) == 4


def test_api_ticket_list_date_filters_bound_creation_time(cast, make_ticket):
    start = clock.now().replace(microsecond=0)
    with clock.frozen(start - timedelta(days=10)):
        old = make_ticket(title="Old")
    new = make_ticket(title="New")
    api = Api(cast.admin)
    since = (start - timedelta(days=1)).isoformat()
    assert ids(api.get("/api/v1/tickets", {"created_from": since})) == [new.pk]
    assert ids(api.get("/api/v1/tickets", {"created_to": since})) == [old.pk]
    # A naive date-time is read in the caller's time zone instead of failing.
    naive = (start - timedelta(days=1)).replace(tzinfo=None).isoformat()
    assert ids(api.get("/api/v1/tickets", {"modified_from": naive})) == [new.pk]


def test_api_ticket_list_client_staff_filters_ignored_and_fields_hidden(cast, tickets):
    response = Api(cast.client).get("/api/v1/tickets", {"postponed": "true", "difficulty": "hard"})
    found = ids(response)
    assert sorted(found) == sorted([tickets["pay"], tickets["closed"], tickets["answered"]])
    for row in response.json()["results"]:
        assert "admin_comment" not in row and "spam" not in row and "difficulty" not in row


@pytest.mark.parametrize("key", list(selectors.SORT_FIELDS))
def test_api_ticket_list_sort_key_orders_both_ways(cast, tickets, key):
    api = Api(cast.admin)
    up = ids(api.get("/api/v1/tickets", {"sort": key}))
    down = ids(api.get("/api/v1/tickets", {"sort": f"-{key}"}))
    assert sorted(up) == sorted(down) == sorted(tickets.values())
    if key == "id":
        assert up == sorted(up) and down == sorted(down, reverse=True)
    if key == "title":
        titles = [Ticket.objects.get(pk=i).title for i in up]
        assert titles == sorted(titles)


def test_api_ticket_list_paging_splits_results_and_counts_all(cast, tickets):
    api = Api(cast.admin)
    pages = [api.get("/api/v1/tickets", {"sort": "id", "page": n, "page_size": 3}).json() for n in (1, 2, 3)]
    assert [p["count"] for p in pages] == [4, 4, 4]
    assert [len(p["results"]) for p in pages] == [3, 1, 0]
    assert pages[1]["page"] == 2 and pages[1]["page_size"] == 3
    assert [r["id"] for p in pages for r in p["results"]] == sorted(tickets.values())
    assert api.get("/api/v1/tickets").json()["page_size"] == 50


def test_api_ticket_list_row_shapes_dictionaries_people_and_indicator(cast, tickets):
    rows = {r["id"]: r for r in Api(cast.client).get("/api/v1/tickets").json()["results"]}
    pay = rows[tickets["pay"]]
    assert pay["category"]["code"] == "payment" and set(pay["category"]) == {"id", "code", "name"}
    assert pay["responsible"] == {"id": cast.staff2.pk, "username": "staff2", "name": "staff2"}
    assert pay["author"]["name"] == "Ivan Petrov"
    assert pay["indicator"] == "green" and pay["is_open"] is True and pay["mark"] is None
    assert rows[tickets["closed"]]["indicator"] == "grey" and rows[tickets["closed"]]["closed_at"]
    assert rows[tickets["answered"]]["message_count"] == 3


@pytest.mark.parametrize("who", ["admin", "staff", "client"])
def test_api_ticket_list_query_count_does_not_grow_with_page_size(cast, make_ticket, who):
    categories = list(DictionaryEntry.objects.filter(kind="category"))
    for n in range(60):
        actor = cast.client if n % 2 else cast.colleague
        ticket = make_ticket(actor=actor, title=f"Ticket {n}", category=categories[n % len(categories)].pk)
        if n % 3 == 0:
            ticket = services.ticket_update(
                actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff}
            )
        if n % 4 == 0:
            services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Answer"))
    api = Api(getattr(cast, who))
    api.get("/api/v1/tickets", {"page_size": 1})  # the token's first use writes last_used_at once
    counts = {}
    for size in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            response = api.get("/api/v1/tickets", {"page_size": size})
        assert len(response.json()["results"]) == size
        counts[size] = len(queries)
    assert counts[5] == counts[50], counts
    assert counts[50] <= 12


def test_api_ticket_list_query_covers_every_ticket_filter_field():
    from otklik.tickets.panels import list_filters

    query_fields = set(TicketListQuery.model_fields)
    filter_fields = {f.name for f in dataclasses.fields(selectors.TicketFilter)} - {"extra"}
    # `extra` holds the filters apps above tickets register: each of them is a query field too.
    filter_fields |= {f.name for f in list_filters()}
    assert filter_fields <= query_fields, filter_fields - query_fields


def test_api_ticket_list_unset_and_process_filters(cast, make_ticket):
    from tests.conftest import logged_in

    ticket = make_ticket()
    assert ticket.category_id is not None and ticket.mark_id is None
    client = logged_in(cast.admin)
    assert client.get("/api/v1/tickets?unset=mark").json()["count"] == 1
    assert client.get("/api/v1/tickets?unset=mark,category").json()["count"] == 0
    bad = client.get("/api/v1/tickets?unset=title")
    assert bad.status_code == 422 and "unset" in bad.json()["errors"]
    assert client.get("/api/v1/tickets?l1_outcome=none").json()["count"] == 1
    assert client.get("/api/v1/tickets?process_state=nowhere").json()["count"] == 0


# -- bad input: 4xx with field errors, never 500 -------------------------------------------------
LIST_BAD = [
    ({"page": "abc"}, "page"),
    ({"page": "0"}, "page"),
    ({"page": "99999999999"}, "page"),
    ({"page_size": "100000"}, "page_size"),
    ({"page_size": "0"}, "page_size"),
    ({"sort": "nope"}, "sort"),
    ({"sort": "-"}, "sort"),
    ({"category": "nope"}, "category"),
    ({"status": "999999"}, "status"),
    ({"created_from": "yesterday"}, "created_from"),
    ({"modified_to": "2024-13-45"}, "modified_to"),
    ({"state": "maybe"}, "state"),
    ({"indicator": "blue"}, "indicator"),
    ({"spam": "maybe"}, "spam"),
    ({"id": "-1"}, "id"),
    ({"id": "99999999999999999999999999"}, "id"),
    ({"author": "x"}, "author"),
    ({"q": "x" * 600}, "q"),
    ({"q": "a\x00b"}, "q"),
    ({"postponed": "perhaps"}, "postponed"),
    ({"messages_min": "-3"}, "messages_min"),
]


@pytest.mark.parametrize(("params", "field"), LIST_BAD, ids=[f for _p, f in LIST_BAD])
def test_api_ticket_list_bad_query_answers_422_with_field_error(cast, params, field):
    response = Api(cast.admin).get("/api/v1/tickets", params)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["detail"] and body["errors"][field] and all(isinstance(m, str) for m in body["errors"][field])


CREATE_BAD = [
    ({"title": "x" * 10_000, "message": "m"}, 422, "title"),
    ({"title": "   ", "message": "m"}, 422, "title"),
    ({"title": 5, "message": "m"}, 422, "title"),
    ({"title": None, "message": "m"}, 422, "title"),
    ({"message": "m"}, 422, "title"),
    ({"title": "t\x00", "message": "m"}, 422, "title"),
    ({"title": "t", "message": ""}, 422, "message"),
    ({"title": "t", "message": ["a"]}, 422, "message"),
    ({"title": "t", "message": "m" * 100_001}, 422, "message"),
    ({"title": "t", "message": "m", "category": "no_such_code"}, 422, "category"),
    ({"title": "t", "message": "m", "category": 999_999}, 422, "category"),
    ({"title": "t", "message": "m", "category": True}, 422, "category"),
    ({"title": "t", "message": "m", "category": 1.5}, 422, "category"),
    ({"title": "t", "message": "m", "criticality": "errors"}, 422, "criticality"),  # a category's code
    ({"title": "t", "message": "m", "criticality": "x" * 100}, 422, "criticality"),
    ({"title": "t", "message": "m", "colour": "red"}, 422, "colour"),
    ({"title": "t", "message": "m", "did": 7}, 422, "did"),
]


@pytest.mark.parametrize(
    ("body", "status", "field"), CREATE_BAD, ids=[f"{f}-{i}" for i, (_b, _s, f) in enumerate(CREATE_BAD)]
)
def test_api_ticket_create_bad_body_answers_4xx_with_field_error(cast, body, status, field):
    count = Ticket.objects.count()
    response = Api(cast.client).send("POST", "/api/v1/tickets", body)
    assert response.status_code == status, response.content
    assert response.json()["errors"][field]
    assert Ticket.objects.count() == count


STAFF_CREATE_BAD = [
    ({"responsible": 10**30}, "responsible"),
    ({"responsible": "staff"}, "responsible"),
    ({"auto_close_days": "x"}, "auto_close_days"),
    ({"auto_close_days": 100_000}, "auto_close_days"),
    ({"minutes": -5}, "minutes"),
    ({"author": 0}, "author"),
    ({"sla": 999_999}, "sla"),
    ({"status": "solvedd"}, "status"),
    ({"is_postponed": "perhaps"}, "is_postponed"),
]


@pytest.mark.parametrize(("extra", "field"), STAFF_CREATE_BAD, ids=[f for _e, f in STAFF_CREATE_BAD])
def test_api_ticket_create_bad_staff_field_answers_422_with_field_error(cast, extra, field):
    response = Api(cast.staff).send("POST", "/api/v1/tickets", {"title": "t", "message": "m", **extra})
    assert response.status_code == 422, response.content
    assert response.json()["errors"][field]


@pytest.mark.parametrize("raw", ["not json", "{", '["title"]', "42", '"title"', "null"])
def test_api_ticket_create_body_not_a_json_object_answers_4xx(cast, raw):
    response = Api(cast.client).send("POST", "/api/v1/tickets", raw=raw)
    assert response.status_code in (400, 422), response.content
    body = response.json()
    assert body["detail"] and body["errors"]


PATCH_BAD = [
    ({"expected_date": "31.01.2030"}, "expected_date"),
    ({"responsible": None, "title": ""}, "title"),
    ({"closed": "maybe"}, "closed"),
    ({"spam": "yes"}, "spam"),
    ({"planned_effort_minutes": -1}, "planned_effort_minutes"),
    ({"category": {"id": 1}}, "category"),
    ({"mark": "good", "priority": 1}, "priority"),
]


@pytest.mark.parametrize(("body", "field"), PATCH_BAD, ids=[f for _b, f in PATCH_BAD])
def test_api_ticket_patch_bad_body_answers_422_and_changes_nothing(cast, make_ticket, body, field):
    ticket = make_ticket()
    before = Ticket.objects.filter(pk=ticket.pk).values().get()
    response = Api(cast.admin).send("PATCH", f"/api/v1/tickets/{ticket.pk}", body)
    assert response.status_code == 422, response.content
    assert response.json()["errors"][field]
    assert Ticket.objects.filter(pk=ticket.pk).values().get() == before


def test_api_ticket_patch_responsible_without_rights_answers_422(cast, make_ticket):
    ticket = make_ticket()
    response = Api(cast.admin).send("PATCH", f"/api/v1/tickets/{ticket.pk}", {"responsible": cast.client.pk})
    assert response.status_code == 422
    assert response.json()["errors"]["responsible"]


MESSAGE_BAD = [
    ({"body": ""}, "body"),
    ({"body": "   "}, "body"),
    ({}, "body"),  # the missing field is named, though "body" is also where ninja says it looked
    ({"body": "x" * 100_001}, "body"),
    ({"body": "ok", "minutes": -5}, "minutes"),
    ({"body": "ok", "minutes": "lots"}, "minutes"),
    ({"body": "ok", "on_behalf_of": 999_999}, "on_behalf_of"),
    ({"body": "ok", "hidden": "sometimes"}, "hidden"),
]


@pytest.mark.parametrize(
    ("body", "field"), MESSAGE_BAD, ids=[f"{f}-{i}" for i, (_b, f) in enumerate(MESSAGE_BAD)]
)
def test_api_message_post_bad_body_answers_422_with_field_error(cast, make_ticket, body, field):
    ticket = make_ticket()
    response = Api(cast.staff).send("POST", f"/api/v1/tickets/{ticket.pk}/messages", body)
    assert response.status_code == 422, response.content
    assert response.json()["errors"][field]
    assert Message.objects.filter(ticket=ticket).exclude(kind=MessageKind.LOG).count() == 1


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/tickets/999999",
        "/api/v1/tickets/99999999999999999999999",
        "/api/v1/tickets/{id}/messages/999",
        "/api/v1/attachments/999999",
        "/api/v1/dictionaries/nope",
        "/api/v1/tickets/abc",
    ],
)
def test_api_lookup_of_missing_object_answers_404(cast, make_ticket, url):
    ticket = make_ticket()
    api = Api(cast.admin)
    url = url.format(id=ticket.pk)
    response = api.get(url) if "messages" not in url else api.send("PATCH", url, {"body": "x"})
    assert response.status_code == 404


# -- create and change -----------------------------------------------------------------------
def test_api_ticket_create_by_client_with_codes_and_prompts_files_ticket(cast):
    body = {
        "title": "  Payment   fails ",
        "message": "Card declined",
        "category": "payment",
        "criticality": "high",
        "looked": "FAQ",
        "saw": "Error 402",
    }
    response = Api(cast.client).send("POST", "/api/v1/tickets", body)
    assert response.status_code == 201, response.content
    data = response.json()
    ticket = Ticket.objects.get(pk=data["id"])
    assert data["title"] == ticket.title == "Payment fails"
    assert ticket.category.code == "payment" and ticket.criticality.code == "high"
    assert ticket.created_via == Channel.API and ticket.author == cast.client
    first = ticket.messages.get(number=1)
    assert "Card declined" in first.body and "Error 402" in first.body and "FAQ" in first.body
    # Nothing to rate yet: the author rates once support has answered (issue 17).
    assert data["actions"]["editable_fields"] == ["criticality"]
    assert "admin_comment" not in data


def test_api_ticket_create_by_staff_with_staff_fields_sets_them(cast):
    sla = SlaLevel.objects.create(name="VIP", response_time=120, response_unit="minutes")
    body = {
        "title": "Phone call",
        "message": "Called about the invoice",
        "author": cast.client.pk,
        "status": entry("status", "in_progress").pk,
        "difficulty": "easy",
        "source": "phone",
        "responsible": cast.staff2.pk,
        "sla": sla.pk,
        "admin_comment": "VIP client",
        "auto_close_days": 0,
        "is_postponed": True,
        "minutes": 10,
        "not_change_status": True,
    }
    response = Api(cast.staff).send("POST", "/api/v1/tickets", body)
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert ticket.author == cast.client and ticket.created_by == cast.staff
    assert (
        ticket.status.code == "in_progress"
        and ticket.difficulty.code == "easy"
        and ticket.source.code == "phone"
    )
    assert ticket.responsible == cast.staff2 and ticket.sla == sla and ticket.auto_close_days == 0
    assert ticket.is_postponed and ticket.admin_comment == "VIP client" and ticket.time_spent_minutes == 10
    assert ticket.messages.get(number=1).kind == MessageKind.NO_STATUS


@pytest.mark.parametrize("who", ["client", "staff"])
def test_api_ticket_create_answer_equals_a_fresh_read_of_the_ticket(cast, who):
    """The 201 answer is built from the ticket in memory: it must say exactly what a GET reads back."""
    api = Api(getattr(cast, who))
    body = {"title": "Printer", "message": "It jams.", "criticality": "high"}
    if who == "staff":
        body |= {"author": cast.client.pk, "difficulty": "easy", "source": "phone", "admin_comment": "VIP"}
    created = api.send("POST", "/api/v1/tickets", body)
    assert created.status_code == 201, created.content

    fresh = api.get(f"/api/v1/tickets/{created.json()['id']}")

    assert fresh.status_code == 200, fresh.content
    assert created.json() == fresh.json()


def test_api_ticket_patch_changes_only_fields_present(cast, make_ticket):
    ticket = make_ticket()
    ticket = services.ticket_update(
        actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff, "admin_comment": "keep me"}
    )
    response = Api(cast.admin).send("PATCH", f"/api/v1/tickets/{ticket.pk}", {"criticality": "low"})
    assert response.status_code == 200, response.content
    ticket.refresh_from_db()
    assert ticket.criticality.code == "low"
    assert ticket.responsible == cast.staff and ticket.admin_comment == "keep me"
    response = Api(cast.admin).send("PATCH", f"/api/v1/tickets/{ticket.pk}", {"responsible": None})
    assert response.status_code == 200 and response.json()["responsible"] is None
    ticket.refresh_from_db()
    assert ticket.responsible is None and ticket.admin_comment == "keep me"
    assert ticket.events.filter(field="criticality", via=Channel.API).exists()


def test_api_ticket_patch_refused_part_rolls_back_whole_request(cast, make_ticket):
    ticket = make_ticket()
    response = Api(cast.client).send(
        "PATCH", f"/api/v1/tickets/{ticket.pk}", {"criticality": "high", "status": "solved"}
    )
    assert response.status_code == 403
    assert response.json()["errors"]["status"]
    ticket.refresh_from_db()
    assert ticket.criticality.code == "middle"
    # Criticality allowed, closing allowed, spam not: nothing at all changes.
    response = Api(cast.client).send(
        "PATCH", f"/api/v1/tickets/{ticket.pk}", {"criticality": "high", "closed": True, "spam": "possible"}
    )
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.criticality.code == "middle" and ticket.closed_at is None


def test_api_ticket_patch_staff_gives_ticket_away_still_gets_answer(cast, make_ticket):
    ticket = make_ticket()
    response = Api(cast.staff).send("PATCH", f"/api/v1/tickets/{ticket.pk}", {"responsible": cast.staff2.pk})
    assert response.status_code == 200, response.content
    assert response.json()["responsible"]["id"] == cast.staff2.pk
    assert Api(cast.staff).get(f"/api/v1/tickets/{ticket.pk}").status_code == 404


def test_api_ticket_patch_close_and_reopen_restart_clock(cast, make_ticket):
    ticket = make_ticket()
    api = Api(cast.client)
    closed = api.send("PATCH", f"/api/v1/tickets/{ticket.pk}", {"closed": True}).json()
    assert closed["is_open"] is False and closed["indicator"] == "grey" and closed["actions"]["can_reopen"]
    opened = api.send("PATCH", f"/api/v1/tickets/{ticket.pk}", {"closed": False}).json()
    assert opened["is_open"] is True and opened["actions"]["can_close"]
    ticket.refresh_from_db()
    assert ticket.reopened_at is not None and ticket.awaits_support


def test_api_ticket_delete_by_admin_removes_ticket_and_files(cast, make_ticket):
    ticket = make_ticket(files=[services.Upload(name="a.png", fileobj=io.BytesIO(png_1x1()))])
    response = Api(cast.admin).send("DELETE", f"/api/v1/tickets/{ticket.pk}", None)
    assert response.status_code == 204
    assert not Ticket.objects.filter(pk=ticket.pk).exists() and not Attachment.objects.exists()
