"""Macros (issue 18, P5): personal and shared, applied through the policy (all or nothing), to one ticket or a
selection, from the services, the web pages and the API."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otklik.accounts.models import Profile
from otklik.core.errors import NotFound, PermissionDenied, ReadOnlyAccess, ValidationFailed
from otklik.dictionaries.models import DictionaryEntry
from otklik.tickets.loglines import log_lines
from otklik.tickets.macro_selectors import macro_list_for, macro_summaries
from otklik.tickets.models import Macro, Message, MessageKind, Tag, Ticket, TicketTag
from otklik.tickets.services.macros import (
    MacroInput,
    macro_apply,
    macro_delete,
    macro_save,
    macros_apply,
)
from otklik.tickets.services.tags import TAGS_PER_TICKET_MAX, ticket_tag_names, ticket_tags_change
from tests.conftest import logged_in
from tests.helpers import Api

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_and_fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with translation.override("en"):
        yield


def entry(kind: str, code: str) -> DictionaryEntry:
    return DictionaryEntry.objects.get(kind=kind, code=code)


def personal(user, name="Waiting for client", **actions) -> Macro:
    reply = actions.pop("reply", "")
    return macro_save(
        actor=user,
        data=MacroInput(name=name, actions=actions or {"changes": {"is_postponed": True}}, reply=reply),
    )


def snapshot(ticket: Ticket) -> tuple:
    """What a refused macro must leave exactly as it was: messages, fields, tags."""
    fresh = Ticket.objects.get(pk=ticket.pk)
    return (
        list(Message.objects.filter(ticket=ticket).values_list("pk", flat=True)),
        fresh.status_id,
        fresh.mark_id,
        fresh.responsible_id,
        fresh.closed_at,
        fresh.modified_at,
        ticket_tag_names(fresh),
    )


@pytest.fixture
def forbidden_macro(cast) -> Macro:
    """A shared macro whose reply, status and tag staff may apply, but whose mark only the author may set."""
    return macro_save(
        actor=cast.admin,
        data=MacroInput(
            name="Rate it for them",
            shared=True,
            actions={
                "changes": {"status": entry("status", "solved").pk, "mark": entry("mark", "good").pk},
                "add_tags": ["rated"],
            },
            reply="We rated it for you.",
        ),
    )


# -- the required case: a change the user may not make --------------------------------------------------
def test_macro_apply_change_user_may_not_make_refused_nothing_applied(cast, make_ticket, forbidden_macro):
    ticket = make_ticket()
    before = snapshot(ticket)
    with pytest.raises(PermissionDenied) as caught:
        macro_apply(actor=cast.staff, macro=forbidden_macro, ticket=ticket)
    assert "mark" in caught.value.message
    assert snapshot(ticket) == before
    assert not Tag.objects.filter(name="rated").exists()
    assert not Message.objects.filter(ticket=ticket, body__contains="rated it").exists()


def test_macro_apply_refused_via_api_403_json_and_nothing_applied(cast, make_ticket, forbidden_macro):
    ticket = make_ticket()
    before = snapshot(ticket)
    response = Api(cast.staff).send("POST", f"/api/v1/tickets/{ticket.pk}/macros/{forbidden_macro.pk}")
    assert response.status_code == 403, response.content
    assert "mark" in response.json()["detail"]
    assert snapshot(ticket) == before


def test_macro_apply_refused_from_composer_shows_reason_and_applies_nothing(
    cast, make_ticket, forbidden_macro
):
    ticket = make_ticket()
    before = snapshot(ticket)
    client = logged_in(cast.staff)
    response = client.post(
        reverse("tickets:staff_macro_apply", args=[ticket.pk]), {"macro": forbidden_macro.pk}, follow=True
    )
    assert response.status_code == 200
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("not applied" in m and "mark" in m for m in shown), shown
    assert snapshot(ticket) == before


def test_macro_apply_by_demo_refused_read_only(cast, make_ticket):
    macro = macro_save(
        actor=cast.admin, data=MacroInput(name="Shared", shared=True, actions={"add_tags": ["x"]})
    )
    ticket = make_ticket()
    with pytest.raises(ReadOnlyAccess):
        macro_apply(actor=cast.demo, macro=macro, ticket=ticket)
    assert ticket_tag_names(ticket) == []


def test_macro_api_client_refused_403(cast, make_ticket):
    macro = macro_save(
        actor=cast.admin, data=MacroInput(name="Shared", shared=True, actions={"add_tags": ["x"]})
    )
    ticket = make_ticket()  # the client's own ticket
    api = Api(cast.client)
    assert api.get("/api/v1/macros").status_code == 403
    response = api.send("POST", f"/api/v1/tickets/{ticket.pk}/macros/{macro.pk}")
    assert response.status_code == 403 and response.json()["detail"]
    assert api.send("POST", "/api/v1/macros", {"name": "Mine", "actions": {"close": True}}).status_code == 403
    assert ticket_tag_names(ticket) == [] and not Macro.objects.filter(name="Mine").exists()


# -- applying: placeholders, the log line, all parts --------------------------------------------------
def test_macro_apply_fills_placeholders_changes_tags_and_logs_the_macro(cast, make_ticket):
    macro = macro_save(
        actor=cast.staff,
        data=MacroInput(
            name="Waiting for client",
            actions={
                "changes": {"status": entry("status", "in_progress").pk, "responsible": cast.staff.pk},
                "add_tags": ["waiting"],
            },
            reply="Dear {author.name}, ticket #{ticket.id} ({ticket.title}) is with me. {agent.name}",
        ),
    )
    ticket = make_ticket(title="Cannot pay")
    macro_apply(actor=cast.staff, macro=macro, ticket=ticket)
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.status == entry("status", "in_progress") and fresh.responsible == cast.staff
    assert ticket_tag_names(fresh) == ["waiting"]
    reply = Message.objects.get(ticket=ticket, kind=MessageKind.PUBLIC, by_support=True)
    assert reply.body == f"Dear Ivan Petrov, ticket #{ticket.pk} (Cannot pay) is with me. staff"
    line = Message.objects.filter(ticket=ticket, kind=MessageKind.LOG, data__0__code="macro").get()
    assert line.number < reply.number  # named first, then what it did
    assert log_lines(line.data) == ["Macro “Waiting for client” applied"]


def test_macro_hidden_note_reply_stays_hidden(cast, make_ticket):
    macro = macro_save(
        actor=cast.staff, data=MacroInput(name="Note", reply="Checked by {agent.name}", reply_hidden=True)
    )
    ticket = make_ticket()
    macro_apply(actor=cast.staff, macro=macro, ticket=ticket)
    note = Message.objects.get(ticket=ticket, body="Checked by staff")
    assert note.kind == MessageKind.HIDDEN


def test_macro_switched_off_not_offered_and_refused(cast, make_ticket):
    macro = personal(cast.staff)
    macro_save(
        actor=cast.staff,
        macro=macro,
        data=MacroInput(name=macro.name, actions=macro.actions, active=False),
    )
    macro.refresh_from_db()
    assert list(macro_list_for(cast.staff)) == []
    with pytest.raises(PermissionDenied):
        macro_apply(actor=cast.staff, macro=macro, ticket=make_ticket())


# -- personal and shared ------------------------------------------------------------------------------
def test_macro_personal_invisible_to_another_agent(cast, make_ticket):
    mine = personal(cast.staff, add_tags=["mine"])
    ticket = make_ticket()
    assert list(macro_list_for(cast.staff)) == [mine]
    assert list(macro_list_for(cast.staff2)) == []
    with pytest.raises(NotFound):
        macro_apply(actor=cast.staff2, macro=mine, ticket=ticket)
    # The web: neither the composer's apply nor the edit page finds it.
    web = logged_in(cast.staff2)
    assert (
        web.post(reverse("tickets:staff_macro_apply", args=[ticket.pk]), {"macro": mine.pk}).status_code
        == 404
    )
    assert web.get(reverse("tickets:macro_edit", args=[mine.pk])).status_code == 404
    assert "mine" not in web.get(reverse("tickets:macro_list")).content.decode()
    # The API: not listed, applying is a 404.
    api = Api(cast.staff2)
    assert api.get("/api/v1/macros").json() == []
    response = api.send("POST", f"/api/v1/tickets/{ticket.pk}/macros/{mine.pk}")
    assert response.status_code == 404 and response.json()["detail"]
    assert ticket_tag_names(ticket) == []


def test_macro_shared_created_only_by_admins(cast):
    with pytest.raises(PermissionDenied):
        macro_save(actor=cast.staff, data=MacroInput(name="Team", shared=True, actions={"close": True}))
    response = Api(cast.staff).send(
        "POST", "/api/v1/macros", {"name": "Team", "shared": True, "actions": {"close": True}}
    )
    assert response.status_code == 403
    assert not Macro.objects.exists()
    response = Api(cast.admin).send(
        "POST", "/api/v1/macros", {"name": "Team", "shared": True, "actions": {"close": True}}
    )
    assert response.status_code == 201, response.content
    shared = Macro.objects.get(name="Team")
    assert shared.owner is None and response.json()["shared"] is True
    # Staff see and use it, but do not change or delete it.
    assert list(macro_list_for(cast.staff)) == [shared]
    with pytest.raises(PermissionDenied):
        macro_save(actor=cast.staff, macro=shared, data=MacroInput(name="Mine now", actions={"close": True}))
    with pytest.raises(PermissionDenied):
        macro_delete(actor=cast.staff, macro=shared)
    assert Macro.objects.get(pk=shared.pk).name == "Team"


def test_macro_shared_checkbox_refused_for_staff_on_the_page(cast):
    client = logged_in(cast.staff)
    page = client.get(reverse("tickets:macro_new")).content.decode()
    assert 'name="shared"' not in page
    response = client.post(reverse("tickets:macro_new"), {"name": "Team", "shared": "on", "state": "close"})
    assert response.status_code == 403 or "Only a support admin" in response.content.decode()
    assert not Macro.objects.exists()


# -- a selection ----------------------------------------------------------------------------------------
def test_macros_apply_selection_mixed_result(cast, make_ticket):
    macro = personal(cast.staff, name="Triage", add_tags=["triaged"], reply="On it, {author.name}.")
    good = make_ticket(title="One")
    full = make_ticket(title="Two")
    ticket_tags_change(actor=cast.staff, ticket=full, add=[f"t{i}" for i in range(TAGS_PER_TICKET_MAX)])
    full_before = snapshot(full)
    result = macros_apply(actor=cast.staff, macro=macro, tickets=[good.pk, full.pk, 999_999])
    assert result.applied == [good.pk]
    assert set(result.refused) == {full.pk, 999_999}
    assert "at most" in result.refused[full.pk] and result.refused[999_999] == "Not found."
    assert ticket_tag_names(good) == ["triaged"]
    assert Message.objects.filter(ticket=good, body="On it, Ivan Petrov.").exists()
    assert snapshot(full) == full_before  # its reply rolled back with the refused tag


def test_macro_bulk_from_list_confirms_count_then_summarises(cast, make_ticket):
    macro = personal(cast.staff, name="Triage", add_tags=["triaged"])
    good = make_ticket(title="One")
    full = make_ticket(title="Two")
    ticket_tags_change(actor=cast.staff, ticket=full, add=[f"t{i}" for i in range(TAGS_PER_TICKET_MAX)])
    client = logged_in(cast.staff)
    bulk = reverse("tickets:staff_bulk")
    listing = client.get(reverse("tickets:staff_list")).content.decode()
    assert "Apply macro…" in listing and f'value="{macro.pk}"' in listing
    confirm = client.post(bulk, {"action": "macro", "macro": macro.pk, "ids": [good.pk, full.pk]})
    page = confirm.content.decode()
    assert confirm.status_code == 200 and "Triage" in page and "2 tickets" in page
    assert ticket_tag_names(good) == []  # nothing before the confirmation
    done = client.post(
        bulk,
        {"action": "macro", "macro": macro.pk, "ids": [good.pk, full.pk], "confirmed": "yes"},
        follow=True,
    )
    shown = [str(m) for m in get_messages(done.wsgi_request)]
    assert any("applied to 1 ticket" in m for m in shown), shown
    assert any(f"#{full.pk}" in m and "at most" in m for m in shown), shown
    assert ticket_tag_names(good) == ["triaged"]
    assert "triaged" not in ticket_tag_names(full)


def test_macro_bulk_without_macro_chosen_changes_nothing(cast, make_ticket):
    ticket = make_ticket()
    client = logged_in(cast.staff)
    response = client.post(
        reverse("tickets:staff_bulk"),
        {"action": "macro", "ids": [ticket.pk], "confirmed": "yes"},
        follow=True,
    )
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("Choose a macro" in m for m in shown), shown
    assert not Message.objects.filter(ticket=ticket, kind=MessageKind.LOG, data__0__code="macro").exists()


# -- the composer ------------------------------------------------------------------------------------
def test_macro_composer_lists_macros_with_what_they_do_and_applies_one(cast, make_ticket):
    macro = personal(cast.staff, name="Postpone", changes={"is_postponed": True}, add_tags=["later"])
    ticket = make_ticket()
    client = logged_in(cast.staff)
    page = client.get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    assert "Postpone" in page and "Add tags: later" in page
    response = client.post(
        reverse("tickets:staff_macro_apply", args=[ticket.pk]), {"macro": macro.pk}, follow=True
    )
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("Macro “Postpone” applied" in m for m in shown), shown
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.is_postponed and ticket_tag_names(fresh) == ["later"]
    assert "Macro “Postpone” applied" in response.content.decode()  # the log line on the page


# -- the management page -------------------------------------------------------------------------------
def test_macro_page_validation_messages_keep_input(cast):
    client = logged_in(cast.staff)
    url = reverse("tickets:macro_new")
    response = client.post(url, {"name": "  ", "reply": "Hello"})
    assert response.status_code == 400
    assert (
        "Enter the macro&#x27;s name." in response.content.decode()
        or "Enter the macro's name." in response.content.decode()
    )
    assert "Hello" in response.content.decode()
    response = client.post(url, {"name": "Nothing"})
    assert (
        response.status_code == 400 and "A macro must change something or reply." in response.content.decode()
    )
    response = client.post(url, {"name": "Bad tags", "add_tags": "a<b"})
    assert response.status_code == 400 and "angle brackets" in response.content.decode()
    personal(cast.staff, name="Twice")
    response = client.post(url, {"name": "twice", "state": "close", "active": "on"})
    assert response.status_code == 400 and "already exists" in response.content.decode()
    assert Macro.objects.count() == 1


def test_macro_page_create_edit_delete(cast):
    client = logged_in(cast.staff)
    response = client.post(
        reverse("tickets:macro_new"),
        {
            "name": "Solved",
            "status": str(entry("status", "solved").pk),
            "responsible": "none",
            "add_tags": "done, billing",
            "remove_tags": "new",
            "reply": "Solved, {author.name}.",
            "state": "close",
            "active": "on",
            "sort": "10",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    macro = Macro.objects.get(name="Solved")
    assert macro.owner == cast.staff and macro.sort == 10
    assert macro.actions == {
        "changes": {"status": entry("status", "solved").pk, "responsible": None},
        "add_tags": ["done", "billing"],
        "remove_tags": ["new"],
        "close": True,
    }
    edit = client.get(reverse("tickets:macro_edit", args=[macro.pk])).content.decode()
    assert "done, billing" in edit and "Solved, {author.name}." in edit
    listing = client.get(reverse("tickets:macro_list")).content.decode()
    assert "Status: Solved successfully" in listing and "Responsible: —" in listing
    delete = reverse("tickets:macro_delete", args=[macro.pk])
    assert "Delete" in client.get(delete).content.decode()
    assert Macro.objects.filter(pk=macro.pk).exists()  # asking changes nothing
    assert client.post(delete).status_code == 302
    assert not Macro.objects.filter(pk=macro.pk).exists()


def test_macro_web_bad_ids_answer_404_or_refusal_never_500(cast, make_ticket):
    macro = personal(cast.staff, add_tags=["x"])
    ticket = make_ticket()
    client = logged_in(cast.staff)
    huge = "9" * 30
    apply_url = reverse("tickets:staff_macro_apply", args=[ticket.pk])
    assert client.post(apply_url, {"macro": huge}).status_code == 404
    assert client.post(apply_url, {"macro": "abc"}).status_code == 404
    assert client.get(reverse("tickets:macro_edit", args=[10**25])).status_code == 404
    bulk = reverse("tickets:staff_bulk")
    data = {"action": "macro", "macro": macro.pk, "ids": [ticket.pk, huge]}
    assert client.post(bulk, data).status_code == 200
    done = client.post(bulk, {**data, "confirmed": "yes"}, follow=True)
    shown = [str(m) for m in get_messages(done.wsgi_request)]
    assert any(huge in m and "Not found." in m for m in shown), shown
    assert ticket_tag_names(ticket) == ["x"]


def test_macro_summaries_name_values_in_the_readers_language(cast):
    macro = personal(cast.staff, changes={"status": entry("status", "solved").pk}, close=True)
    assert macro_summaries([macro])[macro.pk] == ["Status: Solved successfully", "Close the ticket"]


# -- the API ---------------------------------------------------------------------------------------------
def test_macro_api_create_list_and_apply(cast, make_ticket):
    Profile.objects.filter(user=cast.staff).update(language="en")  # the summary in the caller's language
    api = Api(cast.staff)
    response = api.send(
        "POST",
        "/api/v1/macros",
        {"name": "In progress", "actions": {"changes": {"status": "in_progress"}, "add_tags": ["wip"]}},
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["actions"]["changes"] == {"status": entry("status", "in_progress").pk}
    assert created["summary"] == ["Status: Being solved", "Add tags: wip"]
    assert [m["name"] for m in api.get("/api/v1/macros").json()] == ["In progress"]
    ticket = make_ticket()
    response = api.send("POST", f"/api/v1/tickets/{ticket.pk}/macros/{created['id']}")
    assert response.status_code == 200, response.content
    assert response.json()["status"]["code"] == "in_progress"
    assert ticket_tag_names(ticket) == ["wip"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "  ", "actions": {"close": True}}, "name"),
        ({"name": "Nothing"}, "actions"),
        ({"name": "Author", "actions": {"changes": {"author": 1}}}, "changes"),
        ({"name": "Status", "actions": {"changes": {"status": 99_999}}}, "status"),
        ({"name": "Status", "actions": {"changes": {"status": "no-such-code"}}}, "status"),
        ({"name": "Category", "actions": {"changes": {"category": -1}}}, "category"),
        ({"name": "Who", "actions": {"changes": {"responsible": 99_999}}}, "responsible"),
        ({"name": "Tags", "actions": {"add_tags": "x"}}, "actions.add_tags"),
        ({"name": "Tags", "actions": {"add_tags": ["a,b"]}}, "add_tags"),
        ({"name": "Both", "actions": {"close": True, "reopen": True}}, "actions"),
        ({"name": "Extra", "actions": {"close": True}, "colour": "red"}, "colour"),
        ({"name": "Sort", "actions": {"close": True}, "sort": "first"}, "sort"),
    ],
)
def test_macro_api_bad_input_422_with_field_message(cast, body, field):
    response = Api(cast.staff).send("POST", "/api/v1/macros", body)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"], response.json()
    assert not Macro.objects.exists()


def test_macro_api_unreadable_body_400_json(cast):
    response = Api(cast.staff).send("POST", "/api/v1/macros", raw="{not json")
    assert response.status_code == 400 and response.json()["detail"]


def test_macro_api_apply_unknown_macro_or_invisible_ticket_404(cast, make_ticket):
    macro = personal(cast.staff)
    ticket = make_ticket()
    api = Api(cast.staff)
    assert api.send("POST", f"/api/v1/tickets/{ticket.pk}/macros/999999").status_code == 404
    assert api.send("POST", f"/api/v1/tickets/999999/macros/{macro.pk}").status_code == 404
    assert TicketTag.objects.count() == 0


def test_macro_save_bad_values_refused_with_every_field_named(cast):
    with pytest.raises(ValidationFailed) as caught:
        macro_save(
            actor=cast.staff,
            data=MacroInput(
                name="",
                actions={"changes": {"status": 99_999, "responsible": cast.client.pk}, "add_tags": ["<x>"]},
                sort=10**9,
            ),
        )
    assert {"name", "status", "responsible", "add_tags", "sort"} <= set(caught.value.errors)
    assert not Macro.objects.exists()


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=30)
    | st.sampled_from(["", "solved", "in_progress", "1", "-1", "9" * 30, "\x00", "²", "a,b", "<b>"])
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
_change_names = st.sampled_from(
    [
        "status",
        "category",
        "criticality",
        "difficulty",
        "mark",
        "sla",
        "responsible",
        "is_postponed",
        "author",
    ]
)
_actions = st.fixed_dictionaries(
    {},
    optional={
        "changes": st.dictionaries(_change_names, _values, max_size=4) | _values,
        "add_tags": st.lists(_scalars, max_size=3) | _values,
        "remove_tags": st.lists(_scalars, max_size=3),
        "close": _values,
        "reopen": _values,
    },
)
_bodies = st.fixed_dictionaries(
    {"name": st.text(max_size=120) | _values},
    optional={
        "actions": _actions | _values,
        "reply": _values,
        "shared": _values,
        "reply_hidden": _values,
        "active": _values,
        "sort": _values,
        "unknown": _values,
    },
)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=_bodies)
def test_macro_api_create_any_body_never_answers_5xx(cast, body):
    response = Api(cast.admin).send("POST", "/api/v1/macros", body)
    assert response.status_code in (201, 400, 403, 422), (response.status_code, body, response.content)
    assert response.json().get("detail") or response.status_code == 201


def test_macro_endpoints_are_in_the_openapi_schema():
    from otklik.api.api import api

    paths = api.get_openapi_schema()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/macros"])
    assert "post" in paths["/api/v1/tickets/{ticket_id}/macros/{macro_id}"]
